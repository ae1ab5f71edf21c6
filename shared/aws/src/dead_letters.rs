//! `SqsDeadLetters`: moves what a priority queue dead-lettered back into that queue — the
//! work item again (the action is still in the table; the executor decides what it needs).
//! Each message is sent before it is deleted, so a crash in between repeats a work item (which
//! the executor's lease makes harmless) and never loses one.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use baton_domain::model::Priority;
use baton_domain::ports::{DeadLetters, QueueError};

pub struct SqsDeadLetters {
    client: Client,
    /// By `Priority::index()`: each priority queue's dead-letter queue, and the queue.
    dead: [String; 4],
    live: [String; 4],
}

impl SqsDeadLetters {
    pub fn new(client: Client, dead: [String; 4], live: [String; 4]) -> Self {
        Self { client, dead, live }
    }
}

fn err(e: impl std::fmt::Display) -> QueueError {
    QueueError(e.to_string())
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn redrive(&self, priority: Priority, max: usize) -> Result<usize, QueueError> {
        let (from, to) = (&self.dead[priority.index()], &self.live[priority.index()]);
        if from.is_empty() || to.is_empty() {
            return Err(QueueError(format!("no dead-letter queue is configured for {priority}")));
        }
        let mut moved = 0;
        while moved < max {
            let got = self
                .client
                .receive_message()
                .queue_url(from)
                .max_number_of_messages((max - moved).min(10) as i32)
                .visibility_timeout(60)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(err)?;
            let messages = got.messages();
            if messages.is_empty() {
                break;
            }
            let mut sends = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body().unwrap_or_default())
                    .build()
                    .map_err(err)?;
                sends.push(entry);
            }
            let sent =
                self.client.send_message_batch().queue_url(to).set_entries(Some(sends)).send().await.map_err(err)?;
            let ok: Vec<usize> = sent.successful().iter().filter_map(|s| s.id().parse().ok()).collect();
            let mut deletes = Vec::new();
            for i in &ok {
                let Some(handle) = messages[*i].receipt_handle() else { continue };
                deletes.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(err)?,
                );
            }
            if !deletes.is_empty() {
                self.client
                    .delete_message_batch()
                    .queue_url(from)
                    .set_entries(Some(deletes))
                    .send()
                    .await
                    .map_err(err)?;
            }
            moved += ok.len();
            if ok.len() < messages.len() {
                // What was not sent stays (visible again after the timeout) for the next run.
                break;
            }
        }
        Ok(moved)
    }
}
