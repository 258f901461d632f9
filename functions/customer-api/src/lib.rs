//! Handler of the `customer-api` function (to be written).
