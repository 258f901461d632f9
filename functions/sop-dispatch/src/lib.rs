//! Handler of the `sop-dispatch` function (to be written).
