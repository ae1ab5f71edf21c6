//! Requests that carry an idempotency key run once: the key is claimed with the request's
//! fingerprint by a conditional write, the work it does is named by an id derived from the
//! key (so running it again finds the same work), and its answer is kept for a day.
//!
//! Must not import any adapter crate.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

use crate::error::DomainError;
use crate::ports::{IdempotencyStore, KeyRecord};

/// How long a key is kept.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// Hex SHA-256 of a JSON value. `serde_json` keeps object keys sorted, so two bodies that
/// mean the same fingerprint the same however their keys were ordered.
pub fn fingerprint(body: &Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// An id derived from a key, for the work the keyed request creates (`<prefix>-<hash>`).
pub fn derived_id(prefix: &str, key: &str) -> String {
    format!("{prefix}-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..32])
}

/// The answer to a keyed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Keyed {
    /// Done now, for the first time.
    Fresh(Value),
    /// Done before under this key: the answer it gave.
    Replayed(Value),
}

/// Runs `work` once per `key`. `work` gets the target id (derived by the first request) and
/// must itself be idempotent under it: a request that finds the key claimed but unanswered
/// (its first run crashed, or is still running) runs it again and gets the same answer.
/// The same key with a different body is `Duplicate`.
pub async fn once<F, Fut>(
    store: &dyn IdempotencyStore,
    key: &str,
    body: &Value,
    target: String,
    work: F,
) -> Result<Keyed, DomainError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Value, DomainError>>,
{
    let record = KeyRecord { fingerprint: fingerprint(body), target, response: None };
    let (target, fresh) = match store.claim(key, &record, KEY_TTL).await? {
        None => (record.target, true),
        Some(existing) if existing.fingerprint != record.fingerprint => {
            return Err(DomainError::Duplicate("this Idempotency-Key was used with a different request body".into()));
        }
        Some(KeyRecord { response: Some(answer), .. }) => return Ok(Keyed::Replayed(answer)),
        Some(existing) => (existing.target, false),
    };
    let answer = work(target).await?;
    store.complete(key, &answer).await?;
    Ok(if fresh { Keyed::Fresh(answer) } else { Keyed::Replayed(answer) })
}
