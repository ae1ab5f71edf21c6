//! DynamoDB Streams records → (old, new) images → the pure derivations: actions table
//! records give action events, platform state records give `health:changed`. Tolerates what
//! emulators and Streams do: records without an old image, repeated records, REMOVE records
//! (TTL deletions).

use baton_domain::events::{Event, derive_events};
use baton_domain::limits::{PlatformState, derive_health_events};
use baton_domain::model::Action;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::codec::from_dynamodb_json;

fn image<T: DeserializeOwned>(record: &Value, key: &str) -> Result<Option<T>, String> {
    match record.get("dynamodb").and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(img) => {
            let plain = from_dynamodb_json(img)?;
            serde_json::from_value(plain).map(Some).map_err(|e| format!("{key} cannot be read: {e}"))
        }
    }
}

/// Whether a record belongs to the platform state table (its items carry a breaker).
fn is_platform_state(record: &Value) -> bool {
    let d = record.get("dynamodb");
    ["NewImage", "OldImage"].iter().any(|k| d.and_then(|d| d.get(*k)).and_then(|i| i.get("breaker")).is_some())
}

/// One record's events, by its sequence number; or why it could not be read.
pub type RecordEvents = Result<(String, Vec<Event>), (String, String)>;

/// The events of every record, in stream order: actions table records through the action
/// derivation, platform state records through the health derivation. An undecodable record
/// is an `Err` with its sequence number.
pub fn events(event: &Value) -> Vec<RecordEvents> {
    let records = event.get("Records").and_then(Value::as_array).cloned().unwrap_or_default();
    records
        .iter()
        .map(|r| {
            let sequence = r
                .get("dynamodb")
                .and_then(|d| d.get("SequenceNumber"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let derived = if is_platform_state(r) {
                let old: Option<PlatformState> = image(r, "OldImage").map_err(|e| (sequence.clone(), e))?;
                let new: Option<PlatformState> = image(r, "NewImage").map_err(|e| (sequence.clone(), e))?;
                new.map(|n| derive_health_events(old.as_ref(), &n)).unwrap_or_default()
            } else {
                let old: Option<Action> = image(r, "OldImage").map_err(|e| (sequence.clone(), e))?;
                let new: Option<Action> = image(r, "NewImage").map_err(|e| (sequence.clone(), e))?;
                // No new image: a REMOVE (TTL), not an event.
                new.map(|n| derive_events(old.as_ref(), &n)).unwrap_or_default()
            };
            Ok((sequence, derived))
        })
        .collect()
}
