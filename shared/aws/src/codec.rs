//! Items ⇄ domain types, by `serde_dynamo`: the one place a DynamoDB item is (de)serialized.
//! Nested objects become maps, so items stay readable in the console.

use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn encode<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Internal(format!("cannot store: {e}")))
}

pub fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    serde_dynamo::from_item(item.clone()).map_err(|e| StoreError::Internal(format!("malformed {what}: {e}")))
}

pub fn attribute<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Internal(format!("cannot store: {e}")))
}

/// A page's `LastEvaluatedKey` (all string keys) as an opaque cursor; `None` on the last page.
pub fn cursor_of(last: Option<&Item>) -> Result<Option<String>, StoreError> {
    match last {
        Some(k) if !k.is_empty() => {
            let plain: HashMap<&str, &str> =
                k.iter().filter_map(|(name, v)| v.as_s().ok().map(|s| (name.as_str(), s.as_str()))).collect();
            serde_json::to_string(&plain).map(Some).map_err(|e| StoreError::Internal(e.to_string()))
        }
        _ => Ok(None),
    }
}

/// The `ExclusiveStartKey` a cursor of [`cursor_of`] resumes from.
pub fn start_key(cursor: Option<String>) -> Result<Option<Item>, StoreError> {
    let Some(cursor) = cursor else { return Ok(None) };
    let keys: HashMap<String, String> =
        serde_json::from_str(&cursor).map_err(|_| StoreError::Internal("bad page cursor".into()))?;
    Ok(Some(keys.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn json_round_trips_through_items() {
        let v = json!({"s": "x", "n": 12345678901234567u64, "f": 1.5, "neg": -3, "b": true, "null": null,
                       "list": [1, "a", {"deep": [[]]}], "empty": "", "obj": {}});
        let item = encode(&v).expect("encode");
        assert_eq!(decode::<Value>(&item, "test").expect("decode"), v);
    }
}
