//! DynamoDB Streams records of the actions table → (old, new) action images, for the one
//! pure event derivation. Tolerates what emulators and Streams do: records without an old
//! image, repeated records, REMOVE records (TTL deletions), and images of items that are not
//! actions.

use baton_domain::model::Action;
use serde_json::Value;

use crate::codec::from_dynamodb_json;

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The record's sequence number: the item identifier for a partial batch failure.
    pub sequence: String,
    pub old: Option<Action>,
    pub new: Option<Action>,
}

fn image(record: &Value, key: &str) -> Result<Option<Action>, String> {
    match record.get("dynamodb").and_then(|d| d.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(img) => {
            let plain = from_dynamodb_json(img)?;
            serde_json::from_value(plain).map(Some).map_err(|e| format!("{key} is not an action: {e}"))
        }
    }
}

/// Every record of a stream event, decoded; a record that cannot be decoded is an `Err` with
/// its sequence number and why.
pub fn changes(event: &Value) -> Vec<Result<Change, (String, String)>> {
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
            let old = image(r, "OldImage").map_err(|e| (sequence.clone(), e))?;
            let new = image(r, "NewImage").map_err(|e| (sequence.clone(), e))?;
            Ok(Change { sequence, old, new })
        })
        .collect()
}
