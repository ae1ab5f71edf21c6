//! `Checker`: collects field errors under a path prefix, with the typed reads every schema uses.
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use crate::error::FieldError;

/// The longest id, correlation id or tag accepted.
pub const MAX_ID_LEN: usize = 128;

/// Collects field errors under a path prefix.
pub struct Checker<'a> {
    pub errors: &'a mut Vec<FieldError>,
    pub prefix: String,
}

impl<'a> Checker<'a> {
    pub fn at(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}.{key}", self.prefix) }
    }

    pub fn err(&mut self, key: &str, reason: impl Into<String>) {
        let field = self.at(key);
        self.errors.push(FieldError::new(field, reason));
    }

    pub fn object<'v>(&mut self, value: Option<&'v Value>, key: &str) -> Option<&'v Map<String, Value>> {
        match value {
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.err(key, format!("must be an object, got {}", kind(other)));
                None
            }
        }
    }

    pub fn req_str<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.err(key, "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.err(key, format!("must be a string, got {}", kind(other)));
                None
            }
        }
    }

    /// A platform id that goes into a request path: letters, digits, `-` and `_` only, so it
    /// is always exactly one path segment (`../databases/x`, `a?b`, `a#b` are refused).
    pub fn req_ref<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        let s = self.req_str(obj, key)?;
        self.check_ref(key, s).then_some(s)
    }

    pub fn opt_ref<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(_) => self.req_ref(obj, key),
        }
    }

    fn check_ref(&mut self, key: &str, s: &str) -> bool {
        if s.len() > MAX_ID_LEN {
            self.err(key, format!("must be at most {MAX_ID_LEN} characters"));
            false
        } else if !is_platform_id(s) {
            self.err(key, "must be a platform id: letters, digits, - and _ only");
            false
        } else {
            true
        }
    }

    /// A required, non-empty array of platform ids.
    pub fn ref_array(&mut self, obj: &Map<String, Value>, key: &str) {
        if let Some(ids) = self.str_array(obj, key, true) {
            for (i, id) in ids.iter().enumerate() {
                self.check_ref(&format!("{key}[{i}]"), id);
            }
        }
    }

    pub fn opt_str<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(_) => self.req_str(obj, key),
        }
    }

    pub fn opt_id(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        let s = self.opt_str(obj, key)?;
        if s.len() > MAX_ID_LEN {
            self.err(key, format!("must be at most {MAX_ID_LEN} characters"));
            return None;
        }
        Some(s.to_owned())
    }

    pub fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.err(key, format!("must be a boolean, got {}", kind(other)));
                false
            }
        }
    }

    pub fn str_array(&mut self, obj: &Map<String, Value>, key: &str, required: bool) -> Option<Vec<String>> {
        match obj.get(key) {
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.clone()),
                        Value::String(_) => self.err(&format!("{key}[{i}]"), "must not be empty"),
                        other => self.err(&format!("{key}[{i}]"), format!("must be a string, got {}", kind(other))),
                    }
                }
                if required && items.is_empty() {
                    self.err(key, "must not be empty");
                }
                Some(out)
            }
            Some(other) => {
                self.err(key, format!("must be an array of strings, got {}", kind(other)));
                None
            }
        }
    }

    pub fn opt_object(&mut self, obj: &Map<String, Value>, key: &str) {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(other) => self.err(key, format!("must be an object, got {}", kind(other))),
        }
    }

    pub fn req_object(&mut self, obj: &Map<String, Value>, key: &str) {
        self.object(obj.get(key), key);
    }

    pub fn opt_timestamp(&mut self, obj: &Map<String, Value>, key: &str) {
        if let Some(s) = self.opt_str(obj, key)
            && !is_iso8601(s)
        {
            self.err(key, "must be an ISO 8601 date or timestamp");
        }
    }

    pub fn req_u64(&mut self, obj: &Map<String, Value>, key: &str, min: u64, max: u64) -> Option<u64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.err(key, format!("must be a whole number from {min} to {max}"));
                    None
                }
            },
            Some(other) => {
                self.err(key, format!("must be a number, got {}", kind(other)));
                None
            }
        }
    }

    pub fn req_enum<T: Copy>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        parse: fn(&str) -> Option<T>,
        allowed: String,
    ) -> Option<T> {
        let text = self.req_str(obj, key)?;
        let parsed = parse(text);
        if parsed.is_none() {
            self.err(key, format!("'{text}' is not allowed; allowed: {allowed}"));
        }
        parsed
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Letters, digits, `-` and `_`: what every platform id in a URL path may hold.
pub fn is_platform_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// RFC 3339 timestamps and plain `YYYY-MM-DD` dates.
pub fn is_iso8601(s: &str) -> bool {
    DateTime::parse_from_rfc3339(s).is_ok() || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}
