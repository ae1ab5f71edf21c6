//! `DynamoActionStore`: the actions table on DynamoDB (or the embedded emulator, same code).
//!
//! Every transition is a conditional write pinned to the version of the image it replaces,
//! so two workers can never both move an action out of the same state. Every read path is a
//! GetItem or a Query on an index: no Scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::model::{Action, Priority, Status};
use baton_domain::ports::{ActionStore, Page, PendingEntry, RecentPage, RecentQuery};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use std::time::Duration;

use crate::codec::{Item, decode, encode};
use crate::tables::{attr, index};

mod by_user;
mod in_flight;
pub mod recent;
mod upgrade;
pub use recent::{COUNT_PAGES, LIST_PAGES};

/// Human-readable text of an SDK error with its whole source chain (for logs, never clients).
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> String {
    format!("{}", DisplayErrorContext(err))
}

/// The one place DynamoDB failures are classified.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = describe(&err);
    match err.code() {
        Some("ConditionalCheckFailedException" | "TransactionConflictException") => StoreError::Conflict,
        Some(
            "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ThrottlingException"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "LimitExceededException",
        ) => StoreError::Unavailable(text),
        Some(_) => StoreError::Internal(text),
        // No service answer at all: connection refused, timeout, dispatch failure.
        None => StoreError::Unavailable(text),
    }
}

pub(crate) fn sortable(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Clone)]
pub struct DynamoActionStore {
    client: Client,
    table: String,
    /// How long finished actions are kept (TTL) and how far back `recent` looks by default.
    retention: Duration,
}

impl DynamoActionStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self { client, table: table.into(), retention }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn retention(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(30))
    }

    /// The stored form: the action's fields plus the index keys its state calls for.
    pub fn encode(&self, a: &Action) -> Result<Item, StoreError> {
        let mut item = encode(a)?;
        let phase = crate::tables::phase(a.status);
        // In flight, an action is found through the pending index alone: accepting it writes
        // one index entry, and it enters `recent` once it is held or settled.
        if phase != crate::tables::IN_FLIGHT {
            item.insert(attr::DAY.into(), AttributeValue::S(a.created_at.format("%Y-%m-%d").to_string()));
        }
        item.insert(attr::TIME.into(), AttributeValue::S(format!("{}#{}", sortable(a.created_at), a.id)));
        item.insert(attr::PHASE.into(), AttributeValue::S(phase.into()));
        // Unfinished work, and a failure whose fallback is not yet known to be submitted.
        let pending = (!a.status.is_terminal() && a.status != Status::PendingApproval) || a.fallback_pending;
        if pending {
            item.insert(attr::PENDING_PRIORITY.into(), AttributeValue::S(a.priority.as_str().into()));
            item.insert(attr::PENDING_AT.into(), AttributeValue::S(format!("{}#{}", sortable(a.ready_at()), a.id)));
        }
        if a.status.is_terminal() {
            let done = a.completed_at.unwrap_or(a.updated_at);
            let expires = (done + self.retention()).timestamp();
            item.insert(attr::EXPIRES_AT.into(), AttributeValue::N(expires.to_string()));
        }
        Ok(item)
    }

    pub fn decode(item: &Item) -> Result<Action, StoreError> {
        decode(item, "action item")
    }
}

#[async_trait]
impl ActionStore for DynamoActionStore {
    async fn insert(&self, action: &Action) -> Result<(), StoreError> {
        crate::items::put_new(&self.client, &self.table, self.encode(action)?).await
    }

    async fn get(&self, id: &str) -> Result<Option<Action>, StoreError> {
        crate::items::get_by_id(&self.client, &self.table, id).await?.as_ref().map(Self::decode).transpose()
    }

    async fn replace(&self, old: &Action, new: &Action) -> Result<(), StoreError> {
        crate::items::put_at_version(&self.client, &self.table, self.encode(new)?, old.version).await
    }

    async fn recent(&self, q: &RecentQuery) -> Result<RecentPage, StoreError> {
        self.read_recent(q).await
    }

    async fn mark_redriven(
        &self,
        id: &str,
        seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.into()))
            .update_expression("SET #r = :now")
            .expression_attribute_names("#r", "redrivenAt")
            .expression_attribute_values(":now", crate::codec::attribute(&now)?);
        req = match seen {
            None => req.condition_expression("attribute_exists(id) AND attribute_not_exists(#r)"),
            Some(t) => req
                .condition_expression("attribute_exists(id) AND #r = :seen")
                .expression_attribute_values(":seen", crate::codec::attribute(&t)?),
        };
        match req.send().await.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<PendingEntry>, StoreError> {
        let start = crate::codec::start_key(after)?;
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::PENDING)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attr::PENDING_PRIORITY)
            .expression_attribute_values(":p", AttributeValue::S(priority.as_str().into()))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        // The index holds keys only: the entries' fields (status, lease) are read from the
        // items, and one that left the index since (finished, re-prioritised) is left out.
        let mut wanted = PendingEntry::FIELDS.to_vec();
        wanted.push(attr::PENDING_PRIORITY);
        let ids = crate::items::ids_of(resp.items());
        let items = crate::items::get_many_of(&self.client, &self.table, &ids, &wanted)
            .await?
            .iter()
            .filter(|item| {
                item.get(attr::PENDING_PRIORITY).and_then(|v| v.as_s().ok()).map(String::as_str)
                    == Some(priority.as_str())
            })
            .map(|item| decode::<PendingEntry>(item, "pending entry"))
            .collect::<Result<Vec<_>, _>>()?;
        let next = crate::codec::cursor_of(resp.last_evaluated_key())?;
        Ok(Page { items, next })
    }
}
