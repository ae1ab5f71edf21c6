//! `SqsActionQueue`: one SQS queue per priority; the message body is a `WorkItem`.
//!
//! SQS can delay a message by at most 15 minutes; a longer backoff is delivered early and the
//! executor answers `NotYet`, which the handler turns into a visibility change.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use baton_domain::model::{Priority, WorkItem};
use baton_domain::ports::{ActionQueue, QueueError, QueueStats};
use std::time::Duration;
use tracing::warn;

/// SQS's ceiling on `DelaySeconds`.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS's ceiling on a message's visibility timeout.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// SQS counts delays in whole seconds. Rounding down would deliver a retry before its
/// backoff is over, only for the executor to send it back again; so round up.
fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn queue_error<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> QueueError {
    QueueError(format!("{}", DisplayErrorContext(&err)))
}

/// How long queue depths are reused: estimates need not cost four API calls per submission.
const STATS_TTL: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SqsActionQueue {
    client: Client,
    stats_cache: std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, QueueStats)>>>,
    stats_ttl: Duration,
    /// Queue URLs by `Priority::index()`.
    urls: [String; 4],
    /// The event source mappings' maximum concurrency per priority (for estimates).
    capacity: [u32; 4],
}

impl SqsActionQueue {
    pub fn new(client: Client, urls: [String; 4], capacity: [u32; 4]) -> Self {
        Self { client, urls, capacity, stats_cache: Default::default(), stats_ttl: STATS_TTL }
    }

    /// How long `stats` reuses depths it read (default 5 s; zero reads every time).
    pub fn with_stats_ttl(mut self, ttl: Duration) -> Self {
        self.stats_ttl = ttl;
        self
    }

    pub fn url(&self, priority: Priority) -> &str {
        &self.urls[priority.index()]
    }

    /// Makes an in-flight message come back after `delay` instead of the queue's visibility
    /// timeout: this is how a retry's backoff is applied on the serverless path.
    pub async fn redeliver_after(
        &self,
        priority: Priority,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(self.url(priority))
            .receipt_handle(receipt_handle)
            .visibility_timeout(whole_seconds_up(delay.min(MAX_VISIBILITY)) as i32)
            .send()
            .await
            .map_err(queue_error)?;
        Ok(())
    }

    /// The delay SQS can apply itself; the rest is the executor's `NotYet`.
    pub fn sqs_delay(delay: Duration) -> i32 {
        whole_seconds_up(delay.min(MAX_DELAY)) as i32
    }
}

#[async_trait]
impl ActionQueue for SqsActionQueue {
    async fn enqueue(&self, item: WorkItem, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(&item).map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(self.url(item.priority))
            .message_body(body)
            .delay_seconds(Self::sqs_delay(delay))
            .send()
            .await
            .map_err(queue_error)?;
        Ok(())
    }

    /// `SendMessageBatch`, ten at a time per priority queue; a refused entry or a failed batch
    /// fails only its own items.
    async fn enqueue_many(&self, items: Vec<(WorkItem, Duration)>) -> Vec<Result<(), QueueError>> {
        let mut results: Vec<Result<(), QueueError>> = (0..items.len()).map(|_| Ok(())).collect();
        for p in Priority::ALL.iter().copied() {
            let mine: Vec<usize> = (0..items.len()).filter(|i| items[*i].0.priority == p).collect();
            for chunk in mine.chunks(10) {
                let mut entries = Vec::with_capacity(chunk.len());
                for &i in chunk {
                    let (item, delay) = &items[i];
                    let entry = serde_json::to_string(item).map_err(|e| QueueError(e.to_string())).and_then(|body| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(body)
                            .delay_seconds(Self::sqs_delay(*delay))
                            .build()
                            .map_err(|e| QueueError(e.to_string()))
                    });
                    match entry {
                        Ok(e) => entries.push(e),
                        Err(e) => results[i] = Err(e),
                    }
                }
                if entries.is_empty() {
                    continue;
                }
                match self.client.send_message_batch().queue_url(self.url(p)).set_entries(Some(entries)).send().await {
                    Ok(resp) => {
                        for failed in resp.failed() {
                            if let Ok(i) = failed.id().parse::<usize>()
                                && i < results.len()
                            {
                                results[i] = Err(QueueError(format!(
                                    "{}: {}",
                                    failed.code(),
                                    failed.message().unwrap_or_default()
                                )));
                            }
                        }
                    }
                    Err(e) => {
                        let e = queue_error(e);
                        for &i in chunk {
                            results[i] = Err(QueueError(e.0.clone()));
                        }
                    }
                }
            }
        }
        results
    }

    async fn stats(&self) -> QueueStats {
        if let Ok(cache) = self.stats_cache.lock()
            && let Some((at, stats)) = *cache
            && at.elapsed() < self.stats_ttl
        {
            return stats;
        }
        let stats = self.fetch_stats().await;
        if let Ok(mut cache) = self.stats_cache.lock() {
            *cache = Some((std::time::Instant::now(), stats));
        }
        stats
    }
}

impl SqsActionQueue {
    /// `ApproximateNumberOfMessages` (+ delayed) per queue, and in-flight ones as busy.
    async fn fetch_stats(&self) -> QueueStats {
        let mut stats = QueueStats { capacity: self.capacity, ..QueueStats::default() };
        for p in Priority::ALL {
            let resp = self
                .client
                .get_queue_attributes()
                .queue_url(self.url(*p))
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await;
            let attrs = match resp {
                Ok(r) => r.attributes().cloned().unwrap_or_default(),
                Err(e) => {
                    warn!(priority = %p, error = %queue_error(e), "queue depth unavailable");
                    continue;
                }
            };
            let num = |name: QueueAttributeName| -> u64 { attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0) };
            stats.depth[p.index()] = num(QueueAttributeName::ApproximateNumberOfMessages)
                + num(QueueAttributeName::ApproximateNumberOfMessagesDelayed);
            stats.busy += num(QueueAttributeName::ApproximateNumberOfMessagesNotVisible) as u32;
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_whole_seconds_and_stop_at_the_limits() {
        assert_eq!(SqsActionQueue::sqs_delay(Duration::from_millis(1150)), 2);
        assert_eq!(SqsActionQueue::sqs_delay(Duration::from_secs(3)), 3);
        assert_eq!(SqsActionQueue::sqs_delay(Duration::ZERO), 0);
        assert_eq!(SqsActionQueue::sqs_delay(Duration::from_secs(3600)), 900);
    }
}
