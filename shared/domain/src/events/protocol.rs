//! The WebSocket protocol both paths speak: subscriptions, client messages, frames within
//! API Gateway's size limit, and the frames Baton sends of its own (greetings, replies).
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{EVENT_NAMES, Event, timestamp};
use crate::error::FieldError;
use crate::model::Platform;

/// What a WebSocket connection wants to receive. Empty lists mean everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub events: Vec<String>,
    pub platforms: Vec<Platform>,
}

impl Subscription {
    pub fn wants(&self, event: &Event) -> bool {
        let event_ok = self.events.is_empty() || self.events.iter().any(|p| pattern_matches(p, &event.event));
        let platform_ok = match event.platform {
            None => true,
            Some(p) => self.platforms.is_empty() || self.platforms.contains(&p),
        };
        event_ok && platform_ok
    }
}

/// A message a WebSocket client sends (API Gateway routes on its `action`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Subscribe(Subscription),
    Ping,
}

/// Parses a client's WebSocket message; errors name the field.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, FieldError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| FieldError::new("message", format!("must be JSON: {e}")))?;
    match value.get("action").and_then(Value::as_str) {
        Some("ping") => Ok(ClientMessage::Ping),
        Some("subscribe") => {
            let mut sub = Subscription::default();
            match value.get("events") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pattern = item.as_str().unwrap_or_default();
                        let known = pattern.ends_with('*') && EVENT_NAMES.iter().any(|n| pattern_matches(pattern, n))
                            || EVENT_NAMES.contains(&pattern);
                        if !known {
                            return Err(FieldError::new(
                                format!("events[{i}]"),
                                format!(
                                    "unknown event {item}; known: {} (a trailing * matches a prefix)",
                                    EVENT_NAMES.join(", ")
                                ),
                            ));
                        }
                        sub.events.push(pattern.to_owned());
                    }
                }
                Some(_) => return Err(FieldError::new("events", "must be an array of event names or patterns")),
            }
            match value.get("platforms") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str().and_then(Platform::parse) {
                            Some(p) => sub.platforms.push(p),
                            None => {
                                return Err(FieldError::new(
                                    format!("platforms[{i}]"),
                                    format!("unknown platform {item}; allowed: {}", Platform::allowed()),
                                ));
                            }
                        }
                    }
                }
                Some(_) => return Err(FieldError::new("platforms", "must be an array of platforms")),
            }
            Ok(ClientMessage::Subscribe(sub))
        }
        Some(other) => Err(FieldError::new("action", format!("unknown action '{other}'; allowed: subscribe, ping"))),
        None => Err(FieldError::new("action", "required (subscribe or ping)")),
    }
}

/// A frame Baton sends of its own accord (`connected`, `subscribed`, `pong`, `error`), in
/// the same shape as event frames. Both WebSocket paths build their replies here.
pub fn reply_frame(event: &str, data: Value, now: DateTime<Utc>) -> String {
    json!({"event": event, "data": data, "id": format!("{event}:{}", now.timestamp_micros()), "ts": timestamp(now)})
        .to_string()
}

/// The answer to a client's message: what to do with the subscription, and the reply.
pub fn answer_client(text: &str, now: DateTime<Utc>) -> (Option<Subscription>, String) {
    match parse_client_message(text) {
        Ok(ClientMessage::Subscribe(sub)) => {
            let data = json!({"events": sub.events, "platforms": sub.platforms});
            (Some(sub), reply_frame("subscribed", data, now))
        }
        Ok(ClientMessage::Ping) => (None, reply_frame("pong", json!({"events": EVENT_NAMES}), now)),
        Err(field) => (None, reply_frame("error", json!(crate::error::ErrorEnvelope::invalid(&[field])), now)),
    }
}

/// API Gateway's WebSocket frame limit is 32 KiB; frames are kept under this.
pub const MAX_FRAME_BYTES: usize = 32 * 1024 - 512;

/// The event as a frame of at most `max` bytes. An oversized result (the usual cause) is
/// replaced by a reference to `GET /api/actions/{id}`, where the whole of it can be read.
pub fn frame_within(event: &Event, max: usize) -> String {
    let text = serde_json::to_string(event).unwrap_or_default();
    if text.len() <= max {
        return text;
    }
    let mut slim = event.clone();
    let id = slim.data.get("actionId").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(obj) = slim.data.as_object_mut() {
        let reference = json!({"truncated": true, "bytes": text.len(), "ref": format!("/api/actions/{id}")});
        for key in ["result", "error"] {
            if obj.contains_key(key) {
                obj.insert(key.into(), reference.clone());
            }
        }
    }
    let text = serde_json::to_string(&slim).unwrap_or_default();
    if text.len() <= max {
        return text;
    }
    // Nothing left to trim safely: send the bare facts.
    let data = json!({"actionId": id, "truncated": true, "ref": format!("/api/actions/{id}")});
    serde_json::to_string(&Event { data, ..slim }).unwrap_or_default()
}

/// Whether `name` matches a subscription pattern (`*`, `action:*`, or an exact name).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::ACTION_COMPLETED;

    #[test]
    fn subscription_patterns_match_by_prefix_wildcard() {
        assert!(pattern_matches("action:*", "action:completed"));
        assert!(pattern_matches("*", "queue:updated"));
        assert!(pattern_matches("queue:updated", "queue:updated"));
        assert!(!pattern_matches("action:*", "queue:updated"));
        assert!(!pattern_matches("action:failed", "action:completed"));
    }
    #[test]
    fn subscriptions_filter_by_event_pattern_and_platform() {
        let ev = |name: &str, platform| Event {
            event: name.into(),
            data: json!({}),
            id: "x".into(),
            ts: "t".into(),
            platform,
        };
        let sub = Subscription { events: vec!["action:*".into()], platforms: vec![Platform::Notion] };
        assert!(sub.wants(&ev("action:completed", Some(Platform::Notion))));
        assert!(!sub.wants(&ev("action:completed", Some(Platform::Slack))));
        assert!(!sub.wants(&ev("queue:updated", None)));
        let platforms_only = Subscription { events: vec![], platforms: vec![Platform::Slack] };
        assert!(platforms_only.wants(&ev("queue:updated", None)), "platform-less events pass a platform filter");
    }

    #[test]
    fn oversized_frames_carry_a_reference_instead_of_the_result() {
        let event = Event {
            event: ACTION_COMPLETED.into(),
            data: json!({"actionId": "a-1", "result": {"blob": "x".repeat(100_000)}, "retries": 0}),
            id: "a-1:3:action:completed".into(),
            ts: "t".into(),
            platform: Some(Platform::Slack),
        };
        let frame = frame_within(&event, MAX_FRAME_BYTES);
        assert!(frame.len() <= MAX_FRAME_BYTES);
        let v: Value = serde_json::from_str(&frame).expect("json");
        assert_eq!(v["data"]["result"]["ref"], "/api/actions/a-1");
        assert_eq!(v["data"]["retries"], 0, "the rest of the event stays");
        let small = Event { data: json!({"actionId": "a-1"}), ..event };
        assert_eq!(frame_within(&small, MAX_FRAME_BYTES), serde_json::to_string(&small).expect("json"));
    }

    #[test]
    fn client_messages_parse_and_bad_ones_name_the_field() {
        let sub = parse_client_message(r#"{"action":"subscribe","events":["action:*"],"platforms":["notion"]}"#);
        assert_eq!(
            sub.expect("valid"),
            ClientMessage::Subscribe(Subscription {
                events: vec!["action:*".into()],
                platforms: vec![Platform::Notion]
            })
        );
        assert_eq!(parse_client_message(r#"{"action":"ping"}"#).expect("ping"), ClientMessage::Ping);
        assert_eq!(
            parse_client_message(r#"{"action":"subscribe","events":["nope"]}"#).expect_err("bad").field,
            "events[0]"
        );
        assert_eq!(
            parse_client_message(r#"{"action":"subscribe","platforms":["jira"]}"#).expect_err("bad").field,
            "platforms[0]"
        );
        assert_eq!(parse_client_message("{").expect_err("bad").field, "message");
        assert_eq!(parse_client_message(r#"{"action":"dance"}"#).expect_err("bad").field, "action");
    }
}
