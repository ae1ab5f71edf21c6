//! One SQS batch: each record is "work on action X". A retriable failure changes the
//! message's visibility to the backoff delay and reports it as a batch item failure, so SQS
//! delivers it again then; everything else is acknowledged. A message whose action is
//! already finished is acknowledged (at-least-once delivery, single execution).

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use baton_aws::lambda::BatchResponse;
use baton_aws::sqs::SqsActionQueue;
use baton_domain::model::{Priority, WorkItem};
use baton_domain::usecases::{Executor, Outcome};
use std::time::Duration;
use tracing::{error, info, warn};

/// Puts off the next delivery of an in-flight message.
#[async_trait]
pub trait Redeliver: Send + Sync {
    async fn redeliver_after(&self, priority: Priority, receipt_handle: &str, delay: Duration) -> Result<(), String>;
}

#[async_trait]
impl Redeliver for SqsActionQueue {
    async fn redeliver_after(&self, priority: Priority, receipt_handle: &str, delay: Duration) -> Result<(), String> {
        SqsActionQueue::redeliver_after(self, priority, receipt_handle, delay).await.map_err(|e| e.to_string())
    }
}

/// Whether the record must come back (`true`) or is done.
async fn one(executor: &Executor, redeliver: &dyn Redeliver, record: &SqsMessage) -> bool {
    let body = record.body.as_deref().unwrap_or_default();
    let item: WorkItem = match serde_json::from_str(body) {
        Ok(item) => item,
        Err(e) => {
            // It can never succeed; acknowledging keeps it from blocking the queue.
            error!(message_id = ?record.message_id, error = %e, "dropping a malformed work item");
            return false;
        }
    };
    match executor.execute(&item).await {
        Ok(Outcome::Completed | Outcome::Failed(_)) => false,
        Ok(Outcome::Skipped(why)) => {
            info!(action_id = %item.action_id, why, "nothing to do");
            false
        }
        Ok(Outcome::RetryIn(delay) | Outcome::NotYet(delay)) => {
            let receipt = record.receipt_handle.as_deref().unwrap_or_default();
            if let Err(e) = redeliver.redeliver_after(item.priority, receipt, delay).await {
                warn!(action_id = %item.action_id, error = %e, "visibility change failed; default redelivery applies");
            }
            true
        }
        Err(e) => {
            warn!(action_id = %item.action_id, error = %e, retriable = e.is_retriable(), "execution did not finish");
            true
        }
    }
}

pub async fn handle(executor: &Executor, redeliver: &dyn Redeliver, event: SqsEvent) -> BatchResponse {
    let outcomes = futures_util::future::join_all(event.records.iter().map(|r| one(executor, redeliver, r))).await;
    let mut response = BatchResponse::default();
    for (record, again) in event.records.iter().zip(outcomes) {
        if again {
            response.fail(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}
