//! Handler of the `wecom-callback` function (to be written).
