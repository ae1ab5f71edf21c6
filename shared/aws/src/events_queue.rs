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
        for chunk in events.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, event) in chunk.iter().enumerate() {
                let group = event.data.get("actionId").and_then(|v| v.as_str()).unwrap_or(&event.event);
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(event).map_err(|e| PublishError(e.to_string()))?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_to_what_sqs_accepts() {
        assert_eq!(sqs_id("a-1:3:action:completed"), "a-1:3:action:completed");
        assert_eq!(sqs_id("with space\u{e9}"), "withspace");
        assert_eq!(sqs_id(&"x".repeat(300)).len(), 128);
    }
}
