//! Handler of the `admin-api` function (to be written).
