//! DynamoDB Streams records → (old, new) images → the pure derivations: actions, approvals
//! and workflows table records give their events, platform state records give `health:changed`.
//! Tolerates what emulators and Streams do: records without an old image, repeated records,
//! REMOVE records (TTL deletions).

use aws_lambda_events::event::dynamodb::EventRecord;
use baton_domain::approval::Approval;
use baton_domain::events::{Change, Event, derive_events};
use baton_domain::limits::{PlatformState, derive_health_events};
use baton_domain::model::Action;
use baton_domain::workflow::Workflow;
use serde::de::DeserializeOwned;

fn image<T: DeserializeOwned>(item: &serde_dynamo::Item, which: &str) -> Result<Option<T>, String> {
    if item.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(item.clone()).map(Some).map_err(|e| format!("{which} cannot be read: {e}"))
}

/// Whether a record belongs to the platform state table (its items carry a breaker).
fn is_platform_state(record: &EventRecord) -> bool {
    [&record.change.new_image, &record.change.old_image].iter().any(|i| i.contains_key("breaker"))
}

/// The record's sequence number: what a partial batch failure names.
pub fn sequence(record: &EventRecord) -> String {
    record.change.sequence_number.clone().unwrap_or_default()
}

/// Whether a record belongs to the approvals table (its items carry a quorum).
fn is_approval(record: &EventRecord) -> bool {
    [&record.change.new_image, &record.change.old_image].iter().any(|i| i.contains_key("requiredApprovals"))
}

/// Whether a record belongs to the workflows table (its items carry steps).
fn is_workflow(record: &EventRecord) -> bool {
    [&record.change.new_image, &record.change.old_image].iter().any(|i| i.contains_key("steps"))
}

/// Whether a record is a workflow idempotency key (same table, nothing to derive).
fn is_key(record: &EventRecord) -> bool {
    [&record.change.new_image, &record.change.old_image]
        .iter()
        .any(|i| i.contains_key("fingerprint") && !i.contains_key("steps") && i.contains_key("target"))
}

/// A record read: which table's item changed, from what to what (images boxed: they are large).
#[derive(Debug, Clone)]
pub enum Record {
    Action {
        old: Option<Box<Action>>,
        new: Box<Action>,
    },
    Approval {
        old: Option<Box<Approval>>,
        new: Box<Approval>,
    },
    Platform {
        old: Option<Box<PlatformState>>,
        new: Box<PlatformState>,
    },
    Workflow {
        old: Option<Box<Workflow>>,
        new: Box<Workflow>,
    },
    /// No new image: a REMOVE (a TTL deletion), which means nothing.
    Removed,
}

/// Reads a record, or says why it cannot be read (it never will be).
pub fn read_record(record: &EventRecord) -> Result<Record, String> {
    let change = &record.change;
    if is_platform_state(record) {
        let old = image::<PlatformState>(&change.old_image, "OldImage")?.map(Box::new);
        return Ok(image(&change.new_image, "NewImage")?
            .map_or(Record::Removed, |new| Record::Platform { old, new: Box::new(new) }));
    }
    if is_approval(record) {
        let old = image::<Approval>(&change.old_image, "OldImage")?.map(Box::new);
        return Ok(image(&change.new_image, "NewImage")?
            .map_or(Record::Removed, |new| Record::Approval { old, new: Box::new(new) }));
    }
    if is_key(record) {
        return Ok(Record::Removed);
    }
    if is_workflow(record) {
        let old = image::<Workflow>(&change.old_image, "OldImage")?.map(Box::new);
        return Ok(image(&change.new_image, "NewImage")?
            .map_or(Record::Removed, |new| Record::Workflow { old, new: Box::new(new) }));
    }
    let old = image::<Action>(&change.old_image, "OldImage")?.map(Box::new);
    Ok(image(&change.new_image, "NewImage")?.map_or(Record::Removed, |new| Record::Action { old, new: Box::new(new) }))
}

impl Record {
    /// The events the change means.
    pub fn events(&self) -> Vec<Event> {
        match self {
            Record::Action { old, new } => derive_events(Change::Action { old: old.as_deref(), new }),
            Record::Approval { old, new } => derive_events(Change::Approval { old: old.as_deref(), new }),
            Record::Platform { old, new } => derive_health_events(old.as_deref(), new),
            Record::Workflow { old, new } => derive_events(Change::Workflow { old: old.as_deref(), new }),
            Record::Removed => Vec::new(),
        }
    }
}

/// One record's events, or why it cannot be read (it never will be).
pub fn record_events(record: &EventRecord) -> Result<Vec<Event>, String> {
    read_record(record).map(|r| r.events())
}
