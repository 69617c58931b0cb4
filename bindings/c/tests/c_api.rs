//! The C ABI called from Rust as a C program would call it: error codes and messages, NULL
//! handling. .ci/run also builds and runs it for aarch64 under qemu, which makes the static library
//! the aarch64 C example links against in the same build as the other aarch64 tests.
use leann_edge::ErrorCode;
use leann_edge_c::*;
use std::ffi::{CStr, CString};

fn name(code: i32) -> String {
    // SAFETY: leann_error_name returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(leann_error_name(code)) }
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn error_names_are_the_library_codes() {
    for c in ErrorCode::ALL {
        assert_eq!(name(c.number()), c.name());
    }
    assert_eq!(name(LEANN_OK), "ok");
    assert_eq!(name(999), "unknown");
}

#[test]
fn errors_are_codes_and_messages_not_crashes() {
    // SAFETY: NULL and a valid C string are what the functions document.
    let e = unsafe { leann_engine_open(std::ptr::null(), std::ptr::null()) };
    assert!(e.is_null());
    assert_eq!(leann_last_error_code(), ErrorCode::InvalidParam.number());
    let p = CString::new("/nonexistent/x.leann").unwrap();
    // SAFETY: as above.
    let e = unsafe { leann_engine_open(p.as_ptr(), std::ptr::null()) };
    assert!(e.is_null());
    assert_eq!(leann_last_error_code(), ErrorCode::IndexNotFound.number());
    // SAFETY: the message pointer is valid until the next call on this thread.
    let m = unsafe { CStr::from_ptr(leann_last_error_message()) };
    assert!(m.to_str().unwrap().contains("does not exist"));
    let bad = CString::new("{\"nope\": 1}").unwrap();
    // SAFETY: as above.
    let e = unsafe { leann_engine_open(p.as_ptr(), bad.as_ptr()) };
    assert!(e.is_null());
    assert_eq!(leann_last_error_code(), ErrorCode::InvalidParam.number());
    // SAFETY: NULL handles are documented as errors.
    let r = unsafe { leann_engine_search(std::ptr::null(), p.as_ptr(), 3) };
    assert!(r.is_null());
    assert_eq!(leann_last_error_code(), ErrorCode::InvalidParam.number());
}
