//! The contract's error codes, the error envelope clients receive, and the domain's errors.
//!
//! Pure: adapters classify their own SDK / HTTP failures into these types, exactly once each.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

use crate::model::Platform;

/// The contract's 11 standardized error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    AuthError,
    RateLimited,
    NotFound,
    ValidationError,
    NetworkError,
    ServiceDown,
    QuotaExceeded,
    PermissionDenied,
    DuplicateError,
    TimeoutError,
    UnknownError,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::AuthError,
        ErrorCode::RateLimited,
        ErrorCode::NotFound,
        ErrorCode::ValidationError,
        ErrorCode::NetworkError,
        ErrorCode::ServiceDown,
        ErrorCode::QuotaExceeded,
        ErrorCode::PermissionDenied,
        ErrorCode::DuplicateError,
        ErrorCode::TimeoutError,
        ErrorCode::UnknownError,
    ];

    /// The contract's "Retriable" column.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::NetworkError
                | ErrorCode::ServiceDown
                | ErrorCode::TimeoutError
                | ErrorCode::UnknownError
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthError => "AUTH_ERROR",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::NetworkError => "NETWORK_ERROR",
            ErrorCode::ServiceDown => "SERVICE_DOWN",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::DuplicateError => "DUPLICATE_ERROR",
            ErrorCode::TimeoutError => "TIMEOUT_ERROR",
            ErrorCode::UnknownError => "UNKNOWN_ERROR",
        }
    }

    /// The HTTP status a request-level error with this code is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::AuthError => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::DuplicateError => 409,
            ErrorCode::ValidationError => 400,
            ErrorCode::RateLimited => 429,
            ErrorCode::QuotaExceeded => 429,
            ErrorCode::TimeoutError => 504,
            ErrorCode::ServiceDown | ErrorCode::NetworkError => 503,
            ErrorCode::UnknownError => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field: its path from the request body's root, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// The envelope every client error is sent in: `{"error": {code, message, retriable, ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub retriable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Seconds, on RATE_LIMITED answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

impl ErrorEnvelope {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code,
                message: message.into(),
                retriable: code.is_retriable(),
                platform: None,
                details: None,
                retry_after: None,
            },
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.error.details = Some(details);
        self
    }

    /// A VALIDATION_ERROR naming every invalid field; the message leads with the first.
    pub fn invalid(fields: &[FieldError]) -> Self {
        let message = match fields {
            [] => "invalid request".to_owned(),
            [one] => one.to_string(),
            [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        };
        Self::new(ErrorCode::ValidationError, message).with_details(json!({ "fields": fields }))
    }
}

/// A failure reported by a platform client, already classified into the contract's codes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PlatformError {
    pub code: ErrorCode,
    pub message: String,
    /// The platform asked us to wait at least this long (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl PlatformError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after: None }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

/// Failures of the store and queue ports.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone else changed the item first.
    #[error("conflicting write")]
    Conflict,
    /// An item with this id exists already.
    #[error("item already exists")]
    AlreadyExists,
    /// The store could not be reached or refused for a transient reason.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else (malformed item, bad request): not worth retrying.
    #[error("store failure: {0}")]
    Internal(String),
}

/// What a use case can fail with; each variant knows its contract code.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (not an approver, their own action).
    #[error("{0}")]
    Forbidden(String),
    /// A decision on an approval that is no longer pending: its status now.
    #[error("approval {id} is already {status}")]
    AlreadyResolved { id: String, status: String },
    /// Not in a state that allows what was asked (an action executing or finished).
    #[error("{what} {id} is {status}")]
    InState { what: &'static str, id: String, status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("queue unavailable: {0}")]
    Queue(String),
}

impl DomainError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::Invalid(_) => ErrorCode::ValidationError,
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::Duplicate(_) | DomainError::Conflict(_) => ErrorCode::DuplicateError,
            DomainError::AlreadyResolved { .. } | DomainError::InState { .. } => ErrorCode::DuplicateError,
            DomainError::Forbidden(_) => ErrorCode::PermissionDenied,
            DomainError::Store(StoreError::Conflict | StoreError::AlreadyExists) => ErrorCode::DuplicateError,
            DomainError::Store(StoreError::Unavailable(_)) | DomainError::Queue(_) => ErrorCode::ServiceDown,
            DomainError::Store(StoreError::Internal(_)) => ErrorCode::UnknownError,
        }
    }

    pub fn is_retriable(&self) -> bool {
        self.code().is_retriable()
    }

    /// The envelope a client sees. Internal detail (store text) never leaves the process.
    pub fn envelope(&self) -> ErrorEnvelope {
        match self {
            DomainError::Invalid(fields) => ErrorEnvelope::invalid(fields),
            DomainError::NotFound(what) => ErrorEnvelope::new(ErrorCode::NotFound, format!("{what} not found")),
            DomainError::Duplicate(msg) | DomainError::Conflict(msg) => {
                ErrorEnvelope::new(ErrorCode::DuplicateError, msg.clone())
            }
            DomainError::Forbidden(msg) => ErrorEnvelope::new(ErrorCode::PermissionDenied, msg.clone()),
            DomainError::AlreadyResolved { id, status } => {
                ErrorEnvelope::new(ErrorCode::DuplicateError, format!("approval {id} is already {status}"))
                    .with_details(json!({ "approvalId": id, "status": status }))
            }
            DomainError::InState { what, id, status } => {
                ErrorEnvelope::new(ErrorCode::DuplicateError, format!("{what} {id} is {status}"))
                    .with_details(json!({ "id": id, "status": status }))
            }
            DomainError::Store(StoreError::Conflict | StoreError::AlreadyExists) => {
                ErrorEnvelope::new(ErrorCode::DuplicateError, "conflicting write; try again")
            }
            DomainError::Store(StoreError::Unavailable(_)) | DomainError::Queue(_) => {
                ErrorEnvelope::new(ErrorCode::ServiceDown, "storage is unavailable; try again")
            }
            DomainError::Store(StoreError::Internal(_)) => {
                ErrorEnvelope::new(ErrorCode::UnknownError, "internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retriable_column_matches_the_contract() {
        let retriable: Vec<_> = ErrorCode::ALL.iter().filter(|c| c.is_retriable()).map(|c| c.as_str()).collect();
        assert_eq!(retriable, ["RATE_LIMITED", "NETWORK_ERROR", "SERVICE_DOWN", "TIMEOUT_ERROR", "UNKNOWN_ERROR"]);
    }

    #[test]
    fn codes_serialize_as_the_contract_spells_them() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).expect("json"), code.as_str());
        }
    }

    #[test]
    fn the_envelope_names_the_first_field_and_lists_all() {
        let env = ErrorEnvelope::invalid(&[
            FieldError::new("action.data.database_id", "required"),
            FieldError::new("action.priority", "must be one of critical, high, normal, low"),
        ]);
        let json = serde_json::to_value(&env).expect("json");
        assert_eq!(json["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(json["error"]["retriable"], false);
        assert_eq!(json["error"]["message"], "action.data.database_id: required (and 1 more)");
        assert_eq!(json["error"]["details"]["fields"][1]["field"], "action.priority");
    }

    #[test]
    fn store_internals_never_reach_the_client() {
        let err = DomainError::Store(StoreError::Internal("sqlite: disk I/O error at page 7".into()));
        let text = serde_json::to_string(&err.envelope()).expect("json");
        assert!(!text.contains("sqlite"));
    }
}
