//! Handler of the `points-expiry-sweep` function (to be written).
