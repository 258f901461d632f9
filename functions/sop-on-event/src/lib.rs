//! Handler of the `sop-on-event` function (to be written).
