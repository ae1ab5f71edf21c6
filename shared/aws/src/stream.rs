//! DynamoDB Streams records → (old, new) images → the pure derivations: actions table
//! records give action events, platform state records give `health:changed`. Tolerates what
//! emulators and Streams do: records without an old image, repeated records, REMOVE records
//! (TTL deletions).

use aws_lambda_events::event::dynamodb::EventRecord;
use baton_domain::events::{Event, derive_events};
use baton_domain::limits::{PlatformState, derive_health_events};
use baton_domain::model::Action;
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

/// One record's events, or why it cannot be read (it never will be).
pub fn record_events(record: &EventRecord) -> Result<Vec<Event>, String> {
    let change = &record.change;
    if is_platform_state(record) {
        let old: Option<PlatformState> = image(&change.old_image, "OldImage")?;
        let new: Option<PlatformState> = image(&change.new_image, "NewImage")?;
        return Ok(new.map(|n| derive_health_events(old.as_ref(), &n)).unwrap_or_default());
    }
    let old: Option<Action> = image(&change.old_image, "OldImage")?;
    let new: Option<Action> = image(&change.new_image, "NewImage")?;
    // No new image: a REMOVE (TTL), not an event.
    Ok(new.map(|n| derive_events(old.as_ref(), &n)).unwrap_or_default())
}
