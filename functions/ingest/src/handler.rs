//! One batch of ingress messages (`{"event": "action:ready", "data": {...}}`). A message that
//! can never be accepted is recorded — an `ingest:rejected` event on the events queue and a
//! log line — and acknowledged, so it never blocks the queue. Only transient trouble (store,
//! queue or events queue unavailable) returns a record for redelivery; after the queue's
//! `maxReceiveCount` it goes to the DLQ. Batch item failures keep one bad record from
//! replaying its neighbours.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use baton_domain::events::ingest_rejected;
use baton_domain::ports::EventSink;
use baton_domain::usecases::{IngestOutcome, Ingestor};
use chrono::Utc;
use tracing::{info, warn};

/// How much of a rejected body the event repeats.
const EXCERPT: usize = 512;

fn excerpt(body: &str) -> &str {
    let mut end = body.len().min(EXCERPT);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    &body[..end]
}

async fn one(ingestor: &Ingestor, sink: &dyn EventSink, record: &SqsMessage) -> bool {
    let id = record.message_id.as_deref().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    // A message whose action has no id names it: redelivered, it is the same action again.
    match ingestor.ingest(body, Some(id)).await {
        Ok(IngestOutcome::Accepted(receipt)) => {
            info!(message_id = id, action_id = %receipt.action_id, "accepted");
            false
        }
        Ok(IngestOutcome::Held(receipt)) => {
            info!(message_id = id, action_id = %receipt.action_id, approval_id = %receipt.approval_id, "held for approval");
            false
        }
        Ok(IngestOutcome::FeedbackReceived(action_id)) => {
            info!(message_id = id, action_id, "feedback kept");
            false
        }
        Ok(IngestOutcome::Started(receipt)) => {
            info!(message_id = id, workflow_id = %receipt.workflow_id, "workflow started");
            false
        }
        Ok(IngestOutcome::AlreadyAccepted(action_id)) => {
            info!(message_id = id, action_id, "already accepted (redelivery)");
            false
        }
        Ok(IngestOutcome::Rejected { reason, fields }) => {
            warn!(message_id = id, reason, "ingress message rejected");
            let event = ingest_rejected(id, &reason, &fields, excerpt(body), Utc::now());
            match sink.publish(&[event]).await {
                Ok(()) => false,
                Err(e) => {
                    warn!(message_id = id, error = %e, "rejection not published; retrying the message");
                    true
                }
            }
        }
        Err(e) => {
            warn!(message_id = id, error = %e, "transient failure; the message will be redelivered");
            true
        }
    }
}

pub async fn handle(ingestor: &Ingestor, sink: &dyn EventSink, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        if one(ingestor, sink, record).await {
            response.add_failure(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}
