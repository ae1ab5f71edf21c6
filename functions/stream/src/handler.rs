//! One batch of stream records. Each record's old and new image go through the one pure
//! derivation; the events go first to the events queue (durable: a failure returns the record,
//! and Lambda retries from it, so order is kept), then to the WebSocket connections (best
//! effort, one connections query per batch).

use baton_aws::lambda::BatchResponse;
use baton_aws::stream::events;
use baton_domain::events::Event;
use baton_domain::ports::{EventSink, Notifier};
use serde_json::Value;
use tracing::{error, warn};

/// SendMessageBatch's size: events of consecutive records are published together.
const CHUNK: usize = 10;

pub async fn handle(sink: &dyn EventSink, notifier: &dyn Notifier, event: Value) -> BatchResponse {
    let mut response = BatchResponse::default();
    // (sequence number, events) per record, in stream order.
    let mut derived: Vec<(String, Vec<Event>)> = Vec::new();
    for record in events(&event) {
        match record {
            Ok((sequence, events)) => derived.push((sequence, events)),
            // A record that cannot be decoded never will be: log it and go on.
            Err((sequence, why)) => error!(sequence, why, "undecodable stream record skipped"),
        }
    }

    let mut published: Vec<Event> = Vec::new();
    let mut pending: Vec<(usize, Event)> = Vec::new();
    let flush = async |pending: &mut Vec<(usize, Event)>, published: &mut Vec<Event>| -> Result<(), usize> {
        if pending.is_empty() {
            return Ok(());
        }
        let first_record = pending[0].0;
        let events: Vec<Event> = pending.iter().map(|(_, e)| e.clone()).collect();
        match sink.publish(&events).await {
            Ok(()) => {
                published.extend(events);
                pending.clear();
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "events not published; the records will be retried");
                Err(first_record)
            }
        }
    };
    let mut failed_from: Option<usize> = None;
    'records: for (index, (_, events)) in derived.iter().enumerate() {
        for event in events {
            if pending.len() == CHUNK
                && let Err(first) = flush(&mut pending, &mut published).await
            {
                failed_from = Some(first);
                break 'records;
            }
            pending.push((index, event.clone()));
        }
    }
    if failed_from.is_none()
        && let Err(first) = flush(&mut pending, &mut published).await
    {
        failed_from = Some(first);
    }
    if let Some(first) = failed_from {
        // Lambda retries from the lowest reported sequence number on.
        response.fail(derived[first].0.clone());
    }
    notifier.notify(published).await;
    response
}
