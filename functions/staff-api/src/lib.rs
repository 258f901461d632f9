//! Handler of the `staff-api` function (to be written).
