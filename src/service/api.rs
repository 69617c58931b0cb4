//! What requests carry and what errors say: the service's typed requests (shared by HTTP and MCP)
//! and [`ApiError`], the one error shape every route answers with
//! (`{"error": {"code", "message"}}` and an HTTP status).
use crate::error::Error;

pub use crate::engine::{documents_to_records, Clauses, DocumentIn, SearchRequest, MAX_DOCUMENTS};

/// Largest search beam a request may ask for.
pub const MAX_SERVED_EF: usize = 1024;
/// Most passages one request recomputes (the default recomputes 20).
pub const MAX_SERVED_RECOMPUTE: usize = 256;

/// An error answer: HTTP status, a stable machine code and a one-line message.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code (`invalid_param`, `not_found`, `read_only`, `busy`, …).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }
    /// 400 `invalid_param`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_param", message)
    }
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    /// 403 with `code`.
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    /// 409 with `code`.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }
    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl From<Error> for ApiError {
    /// The library's stable code and the status it maps to ([`crate::ErrorCode`]).
    fn from(e: Error) -> Self {
        let code = e.code();
        Self::new(code.http_status(), code.name(), e.to_string())
    }
}
