//! Step outputs: `{{steps.<name>.result.<path>}}` in any string of a step's action (or its
//! rollback) names a value of an earlier step's result. A string that is only a reference
//! takes the value's JSON type; inside text it is the value's text.
//!
//! Pure; must not import any adapter crate.

use serde_json::Value;

/// One step of a path into a result: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub step: String,
    pub path: Vec<Segment>,
    /// As written between the braces (trimmed): `steps.create_file.result.id`.
    pub text: String,
}

impl Reference {
    /// What a dry run shows in its place: `<steps.create_file.result.id>`.
    pub fn placeholder(&self) -> Value {
        Value::String(format!("<{}>", self.text))
    }

    /// The value it names in `result` (the referenced step's result), if there is one.
    pub fn pick(&self, result: &Value) -> Option<Value> {
        let mut at = result;
        for segment in &self.path {
            at = match segment {
                Segment::Key(k) => at.get(k)?,
                Segment::Index(i) => at.get(*i)?,
            };
        }
        (!at.is_null()).then(|| at.clone())
    }
}

/// Parses the text between `{{` and `}}`.
pub fn parse_reference(inner: &str) -> Result<Reference, String> {
    let text = inner.trim();
    let bad = || format!("'{{{{{text}}}}}' is not a reference of the form {{{{steps.<name>.result.<path>}}}}");
    let rest = text.strip_prefix("steps.").ok_or_else(bad)?;
    let (step, rest) = rest.split_once('.').ok_or_else(bad)?;
    if step.is_empty() || !step.chars().all(super::name_char) {
        return Err(bad());
    }
    let rest = rest.strip_prefix("result").ok_or_else(bad)?;
    let mut path = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    key.push(n);
                    chars.next();
                }
                if key.is_empty() {
                    return Err(bad());
                }
                path.push(Segment::Key(key));
            }
            '[' => {
                let mut digits = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    digits.push(n);
                }
                path.push(Segment::Index(digits.parse().map_err(|_| bad())?));
            }
            _ => return Err(bad()),
        }
    }
    Ok(Reference { step: step.to_owned(), path, text: text.to_owned() })
}

/// The `{{...}}` spans of a string: byte range and what they parse to.
fn spans(s: &str) -> Vec<(usize, usize, Result<Reference, String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("{{").map(|i| i + from) {
        let Some(close) = s[open + 2..].find("}}").map(|i| i + open + 2) else { break };
        out.push((open, close + 2, parse_reference(&s[open + 2..close])));
        from = close + 2;
    }
    out
}

/// Every reference in `value`, with the path of the string holding it (`<prefix>.data.text`,
/// `<prefix>.data.values[0][2]`), for validation.
pub fn references(value: &Value, prefix: &str) -> Vec<(String, Result<Reference, String>)> {
    let mut out = Vec::new();
    walk(value, prefix, &mut out);
    out
}

fn walk(value: &Value, path: &str, out: &mut Vec<(String, Result<Reference, String>)>) {
    match value {
        Value::String(s) => out.extend(spans(s).into_iter().map(|(_, _, r)| (path.to_owned(), r))),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// `value` with every reference replaced by what `lookup` gives for it. `Err` names the
/// first reference with no value.
pub fn resolve(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => resolve_text(s, lookup)?,
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, lookup)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), resolve(v, lookup)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

fn resolve_text(s: &str, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Result<Value, String> {
    let found = spans(s);
    if found.is_empty() {
        return Ok(Value::String(s.to_owned()));
    }
    let value_of = |r: &Result<Reference, String>| -> Result<Value, String> {
        let r = r.as_ref().map_err(Clone::clone)?;
        lookup(r).ok_or_else(|| format!("{{{{{}}}}} has no value", r.text))
    };
    if let [(start, end, only)] = found.as_slice()
        && s[..*start].trim().is_empty()
        && s[*end..].trim().is_empty()
    {
        return value_of(only);
    }
    let mut text = String::with_capacity(s.len());
    let mut at = 0;
    for (start, end, r) in &found {
        text.push_str(&s[at..*start]);
        match value_of(r)? {
            Value::String(v) => text.push_str(&v),
            other => text.push_str(&other.to_string()),
        }
        at = *end;
    }
    text.push_str(&s[at..]);
    Ok(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reference_parses_into_step_and_path() {
        let r = parse_reference(" steps.query.result.results[0].id ").expect("present");
        assert_eq!(r.step, "query");
        assert_eq!(r.path, vec![Segment::Key("results".into()), Segment::Index(0), Segment::Key("id".into())]);
        assert!(parse_reference("step.x.result").is_err());
        assert!(parse_reference("steps.x.output.id").is_err());
        assert!(parse_reference("steps.x.result.a[b]").is_err());
    }

    #[test]
    fn a_whole_reference_keeps_the_type_and_text_takes_its_text() {
        let results = json!({"file": {"id": "f-1", "size": 12, "tags": ["a"]}});
        let lookup = |r: &Reference| r.pick(&results[r.step.as_str()]);
        let v = json!({"id": "{{steps.file.result.id}}", "n": "{{ steps.file.result.size }}",
            "tags": "{{steps.file.result.tags}}", "text": "file {{steps.file.result.id}} is {{steps.file.result.size}} bytes",
            "plain": "no braces", "list": ["{{steps.file.result.tags[0]}}"]});
        assert_eq!(
            resolve(&v, &lookup).expect("present"),
            json!({"id": "f-1", "n": 12, "tags": ["a"], "text": "file f-1 is 12 bytes", "plain": "no braces", "list": ["a"]})
        );
        let err = resolve(&json!({"x": "{{steps.file.result.missing}}"}), &lookup).expect_err("an error");
        assert!(err.contains("steps.file.result.missing"), "{err}");
    }

    #[test]
    fn references_are_listed_with_the_path_of_their_string() {
        let v = json!({"data": {"values": [["a", "{{steps.f.result.link}}"]], "text": "x {{nope}}"}});
        let found = references(&v, "steps[1].action");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "steps[1].action.data.text");
        assert!(found[0].1.is_err());
        assert_eq!(found[1].0, "steps[1].action.data.values[0][1]");
        assert_eq!(found[1].1.as_ref().expect("present").step, "f");
    }
}
