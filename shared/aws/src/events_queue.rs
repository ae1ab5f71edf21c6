//! `SqsEventPublisher`: every event onto the SQS events queue the reasoning engine reads.
//!
//! The queue is FIFO: the message group is the action, so each action's events arrive in the
//! order they happened, and the deduplication id is the event's deterministic id, so a
//! stream record processed twice does not publish twice.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use baton_domain::events::Event;
use baton_domain::ports::{EventSink, Notifier};
use tracing::warn;

/// SQS's most entries per `SendMessageBatch`.
const BATCH: usize = 10;
/// SQS's limits: a message of 256 KiB at most, a batch of 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The events' bodies, each within a message (an oversized result is replaced by a reference
/// to the action, as on the WebSocket), grouped into batches within SQS's count and bytes.
pub fn batches(events: &[Event]) -> Vec<Vec<(&Event, String)>> {
    let mut out: Vec<Vec<(&Event, String)>> = Vec::new();
    let mut bytes = 0;
    for event in events {
        let body = baton_domain::events::frame_within(event, MAX_MESSAGE_BYTES - 1024);
        let fits = out.last().is_some_and(|b| b.len() < BATCH && bytes + body.len() <= MAX_BATCH_BYTES);
        if !fits {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += body.len();
        if let Some(last) = out.last_mut() {
            last.push((event, body));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("publishing events failed: {0}")]
pub struct PublishError(pub String);

#[derive(Clone)]
pub struct SqsEventPublisher {
    client: Client,
    url: String,
}

/// SQS allows 128 characters of `[A-Za-z0-9!-~]` (printable ASCII) in group and dedup ids.
fn sqs_id(text: &str) -> String {
    let clean: String = text.chars().filter(|c| c.is_ascii_graphic()).collect();
    if clean.len() <= 128 { clean } else { clean[clean.len() - 128..].to_owned() }
}

impl SqsEventPublisher {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        for chunk in batches(events) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, (event, body)) in chunk.iter().enumerate() {
                let group = event.data.get("actionId").and_then(|v| v.as_str()).unwrap_or(&event.event);
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body.clone())
                    .message_group_id(sqs_id(group))
                    .message_deduplication_id(sqs_id(&event.id))
                    .build()
                    .map_err(|e| PublishError(e.to_string()))?;
                entries.push(entry);
            }
            let resp = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError(format!("{}", DisplayErrorContext(&e))))?;
            if let Some(failed) = resp.failed().first() {
                return Err(PublishError(format!(
                    "{} of {} events refused, first: {} {}",
                    resp.failed().len(),
                    chunk.len(),
                    failed.code(),
                    failed.message().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl EventSink for SqsEventPublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), String> {
        SqsEventPublisher::publish(self, events).await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Notifier for SqsEventPublisher {
    async fn notify(&self, events: Vec<Event>) {
        if let Err(e) = SqsEventPublisher::publish(self, &events).await {
            warn!(error = %e, "events not published");
        }
    }
}

/// Where what can never be processed is parked whole, for a person to look at (the stream
/// function's failure queue): not only a log line.
#[derive(Clone)]
pub struct SqsParking {
    client: Client,
    url: String,
}

impl SqsParking {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub async fn park(&self, body: &str) -> Result<(), PublishError> {
        let mut body = body.to_owned();
        if body.len() > MAX_MESSAGE_BYTES {
            let mut end = MAX_MESSAGE_BYTES - 64;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            body.truncate(end);
        }
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| PublishError(format!("{}", DisplayErrorContext(&e))))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(i: usize, bytes: usize) -> Event {
        Event {
            event: "action:completed".into(),
            data: json!({"actionId": format!("a-{i}"), "result": {"blob": "x".repeat(bytes)}}),
            id: format!("a-{i}:3:action:completed"),
            ts: "t".into(),
            platform: None,
        }
    }

    #[test]
    fn batches_keep_to_ten_entries_a_mebibyte_and_messages_of_256_kib() {
        let small: Vec<Event> = (0..25).map(|i| event(i, 100)).collect();
        assert_eq!(batches(&small).iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        let big: Vec<Event> = (0..6).map(|i| event(i, 200 * 1024)).collect();
        let b = batches(&big);
        assert!(b.iter().all(|batch| batch.iter().map(|(_, body)| body.len()).sum::<usize>() <= MAX_BATCH_BYTES));
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [5, 1]);
        let huge = [event(0, 600 * 1024)];
        let (_, body) = &batches(&huge)[0][0];
        assert!(body.len() <= MAX_MESSAGE_BYTES, "an oversized result becomes a reference");
        assert!(body.contains("/api/actions/a-0"));
    }

    #[test]
    fn ids_keep_to_what_sqs_accepts() {
        assert_eq!(sqs_id("a-1:3:action:completed"), "a-1:3:action:completed");
        assert_eq!(sqs_id("with space\u{e9}"), "withspace");
        assert_eq!(sqs_id(&"x".repeat(300)).len(), 128);
    }
}
