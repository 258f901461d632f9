//! The fake WeCom server (being written).
