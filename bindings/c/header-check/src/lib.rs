//! Nothing to link: the check is `tests/header.rs` (cbindgen run over `bindings/c`).
