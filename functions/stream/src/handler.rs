//! One batch of stream records. Each record's old and new image go through the one pure
//! derivation; the events go first to the events queue (durable: a failure returns the record,
//! and Lambda retries from it, so order is kept), then to the WebSocket connections (best
//! effort, one connections query per batch). An action's change that sets something in motion
//! (an approval's Slack request that ended) goes to the `Reactor`; a failed reaction returns
//! the record too. Before all that, the accepted actions of the priorities the submitters hand
//! off are queued, batched ([`Handoff`]). A record that can never be read is parked whole on the failure queue — the
//! record itself, not only a log line — and the batch goes on.

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use baton_aws::events_queue::{MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, SqsParking};
use baton_aws::stream::{Record, read_record, sequence};
use baton_domain::events::Event;
use baton_domain::model::WorkItem;
use baton_domain::ports::{ActionQueue, EventSink, Notifier};
use baton_domain::usecases::{Handoff, Reactor};
use std::time::Duration;
use tracing::{error, warn};

/// SendMessageBatch's size: events of consecutive records are published together.
const CHUNK: usize = 10;

/// Where unreadable records go.
#[async_trait]
pub trait Parking: Send + Sync {
    async fn park(&self, record: &str) -> Result<(), String>;
}

#[async_trait]
impl Parking for SqsParking {
    async fn park(&self, record: &str) -> Result<(), String> {
        SqsParking::park(self, record).await.map_err(|e| e.to_string())
    }
}

fn failure(sequence: String) -> DynamoDbEventResponse {
    let mut item = DynamoDbBatchItemFailure::default();
    item.item_identifier = Some(sequence);
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(item);
    response
}

/// Where a batch's results go, and what reacts to its changes.
pub struct Outlets<'a> {
    pub sink: &'a dyn EventSink,
    pub notifier: &'a dyn Notifier,
    pub parking: &'a dyn Parking,
    pub reactor: Option<&'a Reactor>,
    /// Counts what ended (the records acknowledged only: ADD is not idempotent).
    pub metrics: Option<&'a baton_domain::usecases::Metrics>,
    /// Queues the accepted actions of the priorities handed off by the submitters.
    pub queue: Option<(&'a dyn ActionQueue, Handoff)>,
}

/// Queues, batched, the work of the accepted actions among `reads` that `handoff` covers;
/// returns the index of the first record whose work was not queued (it and the records after
/// it are retried: a second delivery of the others is harmless, the executor leases once).
async fn hand_off(queue: &dyn ActionQueue, handoff: Handoff, reads: &[Result<Record, String>]) -> Option<usize> {
    let wanted: Vec<(usize, WorkItem)> = reads
        .iter()
        .enumerate()
        .filter_map(|(i, read)| match read {
            Ok(Record::Action { old, new }) => handoff.wants(old.as_deref(), new).map(|w| (i, w)),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let items = wanted.iter().map(|(_, w)| (w.clone(), Duration::ZERO)).collect();
    let results = queue.enqueue_many(items).await;
    let (first, error) = wanted.iter().zip(results).find_map(|((i, _), r)| r.err().map(|e| (*i, e)))?;
    warn!(error = %error, "accepted actions not queued; their records will be retried");
    Some(first)
}

pub async fn handle(outlets: &Outlets<'_>, event: StreamEvent) -> DynamoDbEventResponse {
    let Outlets { sink, notifier, parking, reactor, metrics, queue } = *outlets;
    let reads: Vec<Result<Record, String>> = event.records.iter().map(read_record).collect();
    // Records from `upto` on wait for a retry: their actions' work is not queued yet.
    let upto = match queue {
        Some((queue, handoff)) => hand_off(queue, handoff, &reads).await.unwrap_or(reads.len()),
        None => reads.len(),
    };
    let mut ended: Vec<(usize, Option<Box<baton_domain::model::Action>>, Box<baton_domain::model::Action>)> =
        Vec::new();
    let mut published: Vec<Event> = Vec::new();
    // (record index, event) not yet published, and their size on the wire.
    let mut pending: Vec<(usize, Event)> = Vec::new();
    let mut pending_bytes = 0;
    let flush = async |pending: &mut Vec<(usize, Event)>, published: &mut Vec<Event>| -> Result<(), usize> {
        let Some(first) = pending.first().map(|(i, _)| *i) else { return Ok(()) };
        let events: Vec<Event> = pending.iter().map(|(_, e)| e.clone()).collect();
        match sink.publish(&events).await {
            Ok(()) => {
                published.extend(events);
                pending.clear();
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "events not published; the records will be retried");
                Err(first)
            }
        }
    };
    let mut failed_from: Option<usize> = None;
    'records: for (index, (record, read)) in event.records.iter().zip(reads).enumerate().take(upto) {
        let read = match read {
            Ok(read) => read,
            Err(why) => {
                error!(sequence = sequence(record), why, "unreadable stream record parked");
                let whole = serde_json::to_string(record).unwrap_or_default();
                if let Err(e) = parking.park(&whole).await {
                    warn!(error = %e, "could not park the record; it will be retried");
                    failed_from = Some(pending.first().map_or(index, |(i, _)| *i));
                    break 'records;
                }
                continue;
            }
        };
        if let (Some(reactor), Record::Action { old, new }) = (reactor, &read)
            && Reactor::wants(old.as_deref(), new)
            && let Err(e) = reactor.react(old.as_deref(), new).await
        {
            warn!(sequence = sequence(record), error = %e, "reaction failed; the record will be retried");
            failed_from = Some(pending.first().map_or(index, |(i, _)| *i));
            break 'records;
        }
        if let Record::Action { old, new } = &read
            && baton_domain::metrics::counts(old.as_deref(), new)
        {
            ended.push((index, old.clone(), new.clone()));
        }
        for event in read.events() {
            let size = serde_json::to_string(&event).map_or(0, |t| t.len().min(MAX_MESSAGE_BYTES));
            if (pending.len() == CHUNK || pending_bytes + size > MAX_BATCH_BYTES)
                && let Err(first) = flush(&mut pending, &mut published).await
            {
                failed_from = Some(first);
                break 'records;
            }
            if pending.is_empty() {
                pending_bytes = 0;
            }
            pending_bytes += size;
            pending.push((index, event));
        }
    }
    if failed_from.is_none()
        && let Err(first) = flush(&mut pending, &mut published).await
    {
        failed_from = Some(first);
    }
    if failed_from.is_none() && upto < event.records.len() {
        failed_from = Some(upto);
    }
    notifier.notify(published).await;
    if let Some(metrics) = metrics {
        let upto = failed_from.unwrap_or(usize::MAX);
        let counted = ended.iter().filter(|(i, _, _)| *i < upto).map(|(_, o, n)| (o.as_deref(), n.as_ref()));
        if let Err(e) = metrics.record(counted).await {
            // Best effort: failing the batch would deliver its events twice.
            warn!(error = %e, "metrics not counted for this batch");
        }
    }
    match failed_from {
        // Lambda retries from the lowest reported sequence number on.
        Some(first) => failure(sequence(&event.records[first])),
        None => DynamoDbEventResponse::default(),
    }
}
