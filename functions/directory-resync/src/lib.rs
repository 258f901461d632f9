//! Handler of the `directory-resync` function (to be written).
