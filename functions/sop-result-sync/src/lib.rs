//! Handler of the `sop-result-sync` function (to be written).
