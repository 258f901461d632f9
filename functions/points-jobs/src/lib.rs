//! Handler of the `points-jobs` function (to be written).
