//! The one mapping from failures to HTTP answers: always the contract's envelope, never
//! internal text. 5xx causes are logged here, once, with their source.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::{DomainError, ErrorCode, ErrorEnvelope, FieldError};
use serde_json::Value;
use tracing::error;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub envelope: ErrorEnvelope,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, envelope: ErrorEnvelope::new(code, message) }
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, envelope: ErrorEnvelope::invalid(&fields) }
    }

    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, reason)])
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.envelope.error.details = Some(details);
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let status = match &err {
            DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
            other => StatusCode::from_u16(other.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        if status.is_server_error() {
            error!(error = %err, source = ?std::error::Error::source(&err), "request failed");
        }
        Self { status, envelope: err.envelope() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.envelope)).into_response()
    }
}

/// The `Idempotency-Key` header, if the request has one: 1–255 printable characters.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    let max = baton_domain::usecases::idempotency::MAX_KEY_LEN;
    if text.is_empty() || text.len() > max || !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::field("header.Idempotency-Key", format!("must be 1 to {max} printable characters")));
    }
    Ok(Some(text.to_owned()))
}

/// A keyed request's answer: `202` the first time, `200` with `Idempotent-Replayed: true` after.
pub fn keyed_response(keyed: baton_domain::usecases::idempotency::Keyed) -> Response {
    use baton_domain::usecases::idempotency::Keyed;
    match keyed {
        Keyed::Fresh(body) => (StatusCode::ACCEPTED, Json(body)).into_response(),
        Keyed::Replayed(body) => (StatusCode::OK, [("idempotent-replayed", "true")], Json(body)).into_response(),
    }
}

/// The largest request body accepted (DESIGN §5).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Reads a JSON body: 413 past the size limit, 400 naming the position of a syntax error.
pub fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                envelope: ErrorEnvelope::invalid(&[FieldError::new(
                    "body",
                    format!("exceeds the limit of {MAX_BODY_BYTES} bytes"),
                )]),
            });
        }
        Err(rejection) => return Err(ApiError::field("body", format!("could not be read: {}", rejection.body_text()))),
    };
    if bytes.is_empty() {
        return Err(ApiError::field("body", "required: a JSON object"));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::field("body", format!("is not valid JSON: {e}")))
}
