//! JSON ⇄ DynamoDB attribute values. Numbers keep their exact text; nested objects become
//! maps so the items stay readable in the console.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

pub fn from_attr(attr: &AttributeValue) -> Result<Value, String> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?),
        AttributeValue::M(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), from_attr(v)?))).collect::<Result<Map<_, _>, String>>()?,
        ),
        AttributeValue::Ss(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(items) => {
            Value::Array(items.iter().map(|n| parse_number(n).map(Value::Number)).collect::<Result<_, _>>()?)
        }
        other => return Err(format!("unsupported attribute type {other:?}")),
    })
}

fn parse_number(text: &str) -> Result<Number, String> {
    serde_json::from_str::<Number>(text).map_err(|e| format!("bad number {text}: {e}"))
}

/// An object's fields as an item. Anything but an object gives an empty item.
pub fn to_item(value: &Value) -> Item {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect(),
        _ => Item::new(),
    }
}

pub fn from_item(item: &Item) -> Result<Value, String> {
    Ok(Value::Object(item.iter().map(|(k, v)| Ok((k.clone(), from_attr(v)?))).collect::<Result<Map<_, _>, String>>()?))
}

/// Decodes DynamoDB's JSON wire form of an item (`{"name": {"S": "x"}, ...}`), as DynamoDB
/// Streams records carry it, into plain JSON.
pub fn from_dynamodb_json(item: &Value) -> Result<Value, String> {
    let Value::Object(map) = item else { return Err("an item must be an object".into()) };
    map.iter().map(|(k, v)| Ok((k.clone(), from_typed(v)?))).collect::<Result<Map<_, _>, String>>().map(Value::Object)
}

fn from_typed(v: &Value) -> Result<Value, String> {
    let Value::Object(tagged) = v else { return Err(format!("not a typed attribute: {v}")) };
    let Some((tag, inner)) = tagged.iter().next() else { return Err("empty attribute".into()) };
    Ok(match (tag.as_str(), inner) {
        ("S", Value::String(s)) => Value::String(s.clone()),
        ("N", Value::String(n)) => Value::Number(parse_number(n)?),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("L", Value::Array(items)) => Value::Array(items.iter().map(from_typed).collect::<Result<_, _>>()?),
        ("M", m @ Value::Object(_)) => from_dynamodb_json(m)?,
        ("SS", Value::Array(items)) => Value::Array(items.clone()),
        ("NS", Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|n| {
                    n.as_str().ok_or("NS member is not a string".to_owned()).and_then(parse_number).map(Value::Number)
                })
                .collect::<Result<_, _>>()?,
        ),
        (other, _) => return Err(format!("unsupported attribute type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values() {
        let v = json!({"s": "x", "n": 12345678901234567u64, "f": 1.5, "neg": -3, "b": true, "null": null,
                       "list": [1, "a", {"deep": [[]]}], "empty": "", "obj": {}});
        assert_eq!(from_item(&to_item(&v)).expect("decode"), v);
    }

    #[test]
    fn the_streams_wire_form_decodes() {
        let wire = json!({"id": {"S": "a"}, "n": {"N": "2.5"}, "ok": {"BOOL": true}, "nil": {"NULL": true},
                          "l": {"L": [{"S": "x"}, {"N": "1"}]}, "m": {"M": {"k": {"S": "v"}}}});
        assert_eq!(
            from_dynamodb_json(&wire).expect("decode"),
            json!({"id": "a", "n": 2.5, "ok": true, "nil": null, "l": ["x", 1], "m": {"k": "v"}})
        );
        assert!(from_dynamodb_json(&json!({"b": {"B": "AA=="}})).is_err());
    }
}
