//! API keys and scopes: who may call what. A key is `bk_<id>_<secret>` — a readable id and 32
//! random bytes — shown once at creation; only its SHA-256 hash is kept, and keys are looked
//! up by that hash, so no secret is ever compared.
//!
//! - [`limits`]: the contract's API rate limits, per key and route group, and per address.
//! - [`slack`]: Slack's request signature, which authenticates its interaction callbacks.
//!
//! Pure; must not import any adapter crate.

pub mod blocks;
pub mod cached;
pub mod limits;
pub mod slack;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::FieldError;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Submit, events, cancel, replay, feedback.
    #[serde(rename = "actions:write")]
    ActionsWrite,
    /// Get, recent, queue, health, metrics, WebSocket events.
    #[serde(rename = "actions:read")]
    ActionsRead,
    /// Approve, reject.
    #[serde(rename = "approvals:write")]
    ApprovalsWrite,
    /// `/api/context/*`.
    #[serde(rename = "context:read")]
    ContextRead,
    /// Everything, and key management.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] =
        [Scope::ActionsWrite, Scope::ActionsRead, Scope::ApprovalsWrite, Scope::ContextRead, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ActionsWrite => "actions:write",
            Scope::ActionsRead => "actions:read",
            Scope::ApprovalsWrite => "approvals:write",
            Scope::ContextRead => "context:read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn allowed() -> String {
        Scope::ALL.map(Scope::as_str).join(", ")
    }
}

/// A key's own limits, above the defaults (the reasoning engine submits more than 100 a minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRateLimit {
    /// Requests a minute in each route group.
    pub per_minute: u64,
    /// Requests an hour in all.
    pub per_hour: u64,
}

/// A stored key: everything but its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<KeyRateLimit>,
    /// The operator's automation key (`BATON_ADMIN_KEY`): not rate limited.
    #[serde(default)]
    pub exempt: bool,
}

/// Who is calling: what a verified key (or the authorizer, on AWS) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    pub scopes: Vec<Scope>,
    pub exempt: bool,
    pub rate_limit: Option<KeyRateLimit>,
}

impl Principal {
    pub fn of(key: &ApiKey) -> Self {
        Self { key_id: key.id.clone(), scopes: key.scopes.clone(), exempt: key.exempt, rate_limit: key.rate_limit }
    }

    /// `admin` may do everything.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }
}

/// Why a request is not authenticated (all answered `401 AUTH_ERROR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("an API key is required: Authorization: Bearer <key>")]
    Missing,
    #[error("this API key is not known")]
    Unknown,
    #[error("this API key has expired")]
    Expired,
    #[error("this API key was revoked")]
    Revoked,
}

pub const KEY_PREFIX: &str = "bk_";

/// Hex SHA-256 of a presented key: what the store is keyed by.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new key's secret text (shown once) and its record.
pub fn generate(
    name: &str,
    scopes: Vec<Scope>,
    expires_at: Option<DateTime<Utc>>,
    rate_limit: Option<KeyRateLimit>,
    now: DateTime<Utc>,
) -> Result<(ApiKey, String), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a key: {e}"))?;
    let mut id_bytes = [0u8; 6];
    getrandom::fill(&mut id_bytes).map_err(|e| format!("no randomness for a key: {e}"))?;
    let id = hex::encode(id_bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let text = format!("{KEY_PREFIX}{id}_{secret}");
    let key = ApiKey {
        id,
        name: name.to_owned(),
        scopes,
        hash: hash_key(&text),
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
        rate_limit,
        exempt: false,
    };
    Ok((key, text))
}

/// Whether a stored key (found by the presented key's hash) may be used at `now`.
pub fn check(key: Option<ApiKey>, now: DateTime<Utc>) -> Result<ApiKey, AuthFailure> {
    let key = key.ok_or(AuthFailure::Unknown)?;
    if key.revoked_at.is_some() {
        return Err(AuthFailure::Revoked);
    }
    if key.expires_at.is_some_and(|t| t <= now) {
        return Err(AuthFailure::Expired);
    }
    Ok(key)
}

/// `POST /api/keys`: `{name, scopes, expiresAt?, rateLimit?}`, with field paths.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRequest {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit: Option<KeyRateLimit>,
}

pub fn parse_key_request(body: &serde_json::Value, now: DateTime<Utc>) -> Result<KeyRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new("body", "must be an object {name, scopes, expiresAt?, rateLimit?}")]);
    };
    for key in obj.keys() {
        if !["name", "scopes", "expiresAt", "rateLimit"].contains(&key.as_str()) {
            errors.push(FieldError::new(key.as_str(), "unknown field; allowed: name, scopes, expiresAt, rateLimit"));
        }
    }
    let name = match obj.get("name").and_then(|v| v.as_str()).map(str::trim) {
        Some(n) if !n.is_empty() && n.len() <= 100 => n.to_owned(),
        _ => {
            errors.push(FieldError::new("name", "required: 1 to 100 characters"));
            String::new()
        }
    };
    let mut scopes = Vec::new();
    match obj.get("scopes").and_then(|v| v.as_array()) {
        Some(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(Scope::parse) {
                    Some(s) if !scopes.contains(&s) => scopes.push(s),
                    Some(_) => {}
                    None => errors.push(FieldError::new(
                        format!("scopes[{i}]"),
                        format!("unknown scope {item}; allowed: {}", Scope::allowed()),
                    )),
                }
            }
        }
        _ => errors.push(FieldError::new("scopes", format!("required: a non-empty list of {}", Scope::allowed()))),
    }
    let expires_at = match obj.get("expiresAt") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            Some(t) if t.with_timezone(&Utc) > now => Some(t.with_timezone(&Utc)),
            Some(_) => {
                errors.push(FieldError::new("expiresAt", "must be in the future"));
                None
            }
            None => {
                errors.push(FieldError::new("expiresAt", "must be an RFC 3339 timestamp"));
                None
            }
        },
    };
    let rate_limit = match obj.get("rateLimit") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).filter(|n| (1..=10_000_000).contains(n));
            match (n("perMinute"), n("perHour")) {
                (Some(per_minute), Some(per_hour)) => Some(KeyRateLimit { per_minute, per_hour }),
                _ => {
                    errors.push(FieldError::new(
                        "rateLimit",
                        "must be {perMinute, perHour}: whole numbers from 1 to 10000000",
                    ));
                    None
                }
            }
        }
    };
    if errors.is_empty() { Ok(KeyRequest { name, scopes, expires_at, rate_limit }) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_generated_key_has_a_readable_prefix_a_long_secret_and_only_its_hash_is_kept() {
        let now = Utc::now();
        let (key, text) = generate("dash", vec![Scope::ActionsRead], None, None, now).expect("key");
        assert!(text.starts_with(&format!("bk_{}_", key.id)), "{text}");
        assert!(text.len() >= 3 + 12 + 1 + 43, "32 random bytes: {text}");
        assert_eq!(key.hash, hash_key(&text));
        assert!(!serde_json::to_string(&key).expect("json").contains(&text[16..]), "no secret in the record");
        let (other, other_text) = generate("dash", vec![Scope::ActionsRead], None, None, now).expect("key");
        assert_ne!((other.id, other_text), (key.id.clone(), text));
    }

    #[test]
    fn unknown_revoked_and_expired_keys_are_refused() {
        let now = Utc::now();
        let (key, _) =
            generate("k", vec![Scope::Admin], Some(now + chrono::Duration::hours(1)), None, now).expect("key");
        assert!(check(Some(key.clone()), now).is_ok());
        assert_eq!(check(None, now), Err(AuthFailure::Unknown));
        assert_eq!(check(Some(key.clone()), now + chrono::Duration::hours(2)), Err(AuthFailure::Expired));
        let revoked = ApiKey { revoked_at: Some(now), ..key };
        assert_eq!(check(Some(revoked), now), Err(AuthFailure::Revoked));
    }

    #[test]
    fn admin_allows_every_scope_and_others_only_their_own() {
        let admin = Principal { key_id: "a".into(), scopes: vec![Scope::Admin], exempt: false, rate_limit: None };
        assert!(Scope::ALL.iter().all(|s| admin.allows(*s)));
        let reader = Principal { scopes: vec![Scope::ActionsRead], ..admin };
        assert!(
            reader.allows(Scope::ActionsRead) && !reader.allows(Scope::ActionsWrite) && !reader.allows(Scope::Admin)
        );
    }

    #[test]
    fn key_requests_are_checked_with_field_paths() {
        let now = Utc::now();
        let ok = parse_key_request(
            &json!({"name": "engine", "scopes": ["actions:write", "actions:write"],
            "rateLimit": {"perMinute": 5000, "perHour": 100000}}),
            now,
        )
        .expect("valid");
        assert_eq!(ok.scopes, vec![Scope::ActionsWrite]);
        assert_eq!(ok.rate_limit, Some(KeyRateLimit { per_minute: 5000, per_hour: 100_000 }));
        let bad = parse_key_request(
            &json!({"name": "", "scopes": ["root"], "expiresAt": "2000-01-01T00:00:00Z",
            "color": 1}),
            now,
        )
        .expect_err("invalid");
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["color", "name", "scopes[0]", "expiresAt"]);
    }
}
