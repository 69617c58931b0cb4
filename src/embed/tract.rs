//! tract encoder (in progress).
