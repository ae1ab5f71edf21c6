//! One SQS batch: each record is "work on action X", executed concurrently.
//!
//! Waiting is not failing: a retry's backoff or a wait for the platform's limit re-sends the
//! work item as a new message with that delay and acknowledges this one, so it never uses up
//! the receive count that leads to the dead-letter queue. Only when re-sending fails, or the
//! executor itself failed (the store was unavailable), does the record come back — after a
//! short, backed-off visibility, not the queue's full visibility timeout. A message whose
//! action is finished is acknowledged (at-least-once delivery, single execution).

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use baton_aws::sqs::SqsActionQueue;
use baton_domain::model::{Priority, WorkItem};
use baton_domain::policy::redelivery_after_error;
use baton_domain::ports::ActionQueue;
use baton_domain::usecases::{Executor, Outcome};
use std::time::Duration;
use tracing::{error, info, warn};

/// How work items come back.
#[async_trait]
pub trait Redeliver: Send + Sync {
    /// A new message for `item`, delivered after `delay`.
    async fn resend(&self, item: &WorkItem, delay: Duration) -> Result<(), String>;
    /// Puts off the next delivery of the message in hand.
    async fn redeliver_after(&self, priority: Priority, receipt_handle: &str, delay: Duration) -> Result<(), String>;
}

#[async_trait]
impl Redeliver for SqsActionQueue {
    async fn resend(&self, item: &WorkItem, delay: Duration) -> Result<(), String> {
        self.enqueue(item.clone(), delay).await.map_err(|e| e.to_string())
    }

    async fn redeliver_after(&self, priority: Priority, receipt_handle: &str, delay: Duration) -> Result<(), String> {
        SqsActionQueue::redeliver_after(self, priority, receipt_handle, delay).await.map_err(|e| e.to_string())
    }
}

fn receive_count(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1)
}

/// Whether the record must come back (`true`) or is done.
async fn one(
    executor: &Executor,
    redeliver: &dyn Redeliver,
    record: &SqsMessage,
    deadline: Option<tokio::time::Instant>,
) -> bool {
    let body = record.body.as_deref().unwrap_or_default();
    let item: WorkItem = match serde_json::from_str(body) {
        Ok(item) => item,
        Err(e) => {
            // Not a work item Baton wrote: it can never succeed, and holds no accepted action.
            error!(message_id = ?record.message_id, error = %e, "dropping a malformed work item");
            return false;
        }
    };
    let receipt = record.receipt_handle.as_deref().unwrap_or_default();
    let later = async |delay: Duration| -> bool {
        if let Err(e) = redeliver.redeliver_after(item.priority, receipt, delay).await {
            warn!(action_id = %item.action_id, error = %e, "visibility change failed; default redelivery applies");
        }
        true
    };
    match executor.execute_within(&item, deadline).await {
        Ok(Outcome::Completed | Outcome::Failed(_)) => false,
        Ok(Outcome::Skipped(why)) => {
            info!(action_id = %item.action_id, why, "nothing to do");
            false
        }
        Ok(Outcome::RetryIn(delay) | Outcome::NotYet(delay)) => match redeliver.resend(&item, delay).await {
            Ok(()) => false,
            Err(e) => {
                warn!(action_id = %item.action_id, error = %e, "re-send failed; this message comes back instead");
                later(delay).await
            }
        },
        Err(e) => {
            let delay = redelivery_after_error(&e, receive_count(record));
            warn!(action_id = %item.action_id, error = %e, ?delay, "execution did not finish");
            later(delay).await
        }
    }
}

pub async fn handle(
    executor: &Executor,
    redeliver: &dyn Redeliver,
    event: SqsEvent,
    deadline: Option<tokio::time::Instant>,
) -> SqsBatchResponse {
    let outcomes =
        futures_util::future::join_all(event.records.iter().map(|r| one(executor, redeliver, r, deadline))).await;
    let mut response = SqsBatchResponse::default();
    for (record, again) in event.records.iter().zip(outcomes) {
        if again {
            response.add_failure(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// The invocation's deadline as an instant (Lambda gives milliseconds since the epoch).
pub fn deadline_of(context: &lambda_runtime::Context) -> tokio::time::Instant {
    let left = context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
    tokio::time::Instant::now() + left
}
