//! `/api/keys`: create (the secret shown once), list (never a secret), revoke. Admin only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_domain::auth::{ApiKey, parse_key_request};
use baton_domain::events::timestamp;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, json_body};

/// A key as listed: its record, never its secret or hash.
pub fn shown(k: &ApiKey) -> Value {
    let mut v = json!({
        "id": k.id,
        "name": k.name,
        "scopes": k.scopes,
        "createdAt": timestamp(k.created_at),
        "exempt": k.exempt,
    });
    let opt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(timestamp);
    for (name, t) in
        [("expiresAt", opt(k.expires_at)), ("revokedAt", opt(k.revoked_at)), ("lastUsedAt", opt(k.last_used_at))]
    {
        if let Some(t) = t {
            v[name] = json!(t);
        }
    }
    if let Some(r) = k.rate_limit {
        v["rateLimit"] = json!(r);
    }
    v
}

/// `POST /api/keys` `{name, scopes, expiresAt?, rateLimit?}` → `201 {id, key, name, scopes}`.
#[utoipa::path(post, path = "/api/keys", tag = "keys", operation_id = "createKey",
    request_body = crate::key_schemas::KeyRequest,
    responses((status = 201, description = "The key, its secret shown this once", body = crate::key_schemas::CreatedKey)))]
pub async fn create(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let request = parse_key_request(&body, chrono::Utc::now()).map_err(ApiError::invalid)?;
    let (key, text) = state.access.create_key(request).await?;
    let mut shown = shown(&key);
    shown["key"] = json!(text);
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

/// `GET /api/keys`.
#[utoipa::path(get, path = "/api/keys", tag = "keys", operation_id = "listKeys",
    responses((status = 200, description = "Every key, never a secret", body = crate::key_schemas::KeyList)))]
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys: Vec<Value> = state.access.list_keys().await?.iter().map(shown).collect();
    Ok(Json(json!({"keys": keys})).into_response())
}

/// `DELETE /api/keys/{id}`: revoked at once (on AWS, an authorizer's cached answer lasts up to
/// its cache time).
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "keys", operation_id = "revokeKey",
    params(("id" = String, Path, description = "The key's id (after `bk_`)")),
    responses(
        (status = 200, description = "The key, revoked", body = crate::key_schemas::Key),
        (status = 404, description = "No such key", body = crate::schemas::ErrorEnvelope),
        (status = 409, description = "The operator's key (BATON_ADMIN_KEY) is retired in the environment, not here", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(shown(&state.access.revoke_key(&id).await?)).into_response())
}
