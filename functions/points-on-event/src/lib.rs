//! Handler of the `points-on-event` function (to be written).
