//! The shapes of `/api/keys`, as OpenAPI schemas (see [`crate::schemas`]).

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub enum Scope {
    #[serde(rename = "actions:write")]
    ActionsWrite,
    #[serde(rename = "actions:read")]
    ActionsRead,
    #[serde(rename = "approvals:write")]
    ApprovalsWrite,
    #[serde(rename = "context:read")]
    ContextRead,
    #[serde(rename = "admin")]
    Admin,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRateLimit {
    per_minute: u64,
    per_hour: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRequest {
    name: String,
    scopes: Vec<Scope>,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    rate_limit: Option<KeyRateLimit>,
}

/// A key's record: never its secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    id: String,
    name: String,
    scopes: Vec<Scope>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    rate_limit: Option<KeyRateLimit>,
    exempt: bool,
}

/// A new key: its secret, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    id: String,
    /// `bk_<id>_<secret>`.
    key: String,
    name: String,
    scopes: Vec<Scope>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<Key>,
}
