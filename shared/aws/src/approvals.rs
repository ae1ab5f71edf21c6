//! `DynamoApprovalStore`: the approvals table. Every write is conditional on the version it
//! replaces. Open approvals are found through the sparse `pending-by-expiry` index (its keys
//! exist only while an approval is open, sorted by when the sweep must look at it next), the
//! newest through `recent` by day: no Scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use baton_domain::StoreError;
use baton_domain::approval::{Approval, ApprovalStatus};
use baton_domain::ports::{ApprovalStore, Page};
use chrono::{Duration as ChronoDuration, Utc};
use std::time::Duration;

use crate::codec::{Item, cursor_of, decode, encode, start_key};
use crate::tables::TableDef;

/// Attribute names of the approvals table's index keys (only on the stored item).
pub mod key {
    /// A constant, present only while the approval is open: the sparse index's partition.
    pub const OPEN: &str = "openShard";
    /// `dueAt#id`: when the sweep must look at the approval next.
    pub const DUE: &str = "dueAt";
    /// Epoch seconds after which a settled approval may be deleted (DynamoDB TTL).
    pub const PURGE_AT: &str = "purgeAt";
}

pub mod index {
    pub const OPEN: &str = "pending-by-expiry";
}

const KEYS: crate::items::OpenIndex =
    crate::items::OpenIndex { index: index::OPEN, open: key::OPEN, due: key::DUE, ttl: key::PURGE_AT };

pub const APPROVALS: TableDef = TableDef {
    logical: "approvals",
    hash: "id",
    range: None,
    indexes: &KEYS.indexes(),
    ttl_attribute: Some(key::PURGE_AT),
};

#[derive(Clone)]
pub struct DynamoApprovalStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoApprovalStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self { client, table: table.into(), retention }
    }

    fn retention(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(30))
    }

    /// The stored form: the approval plus the index keys its state calls for.
    pub fn encode(&self, a: &Approval) -> Result<Item, StoreError> {
        let mut item = encode(a)?;
        let purge = a.resolved_at.unwrap_or(a.updated_at) + self.retention();
        KEYS.keys(&mut item, &a.id, a.created_at, a.due_at(), purge);
        Ok(item)
    }

    fn decode(item: &Item) -> Result<Approval, StoreError> {
        decode(item, "approval item")
    }
}

#[async_trait]
impl ApprovalStore for DynamoApprovalStore {
    async fn insert(&self, approval: &Approval) -> Result<(), StoreError> {
        crate::items::put_new(&self.client, &self.table, self.encode(approval)?).await
    }

    async fn get(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        crate::items::get_by_id(&self.client, &self.table, id).await?.as_ref().map(Self::decode).transpose()
    }

    async fn replace(&self, old: &Approval, new: &Approval) -> Result<(), StoreError> {
        crate::items::put_at_version(&self.client, &self.table, self.encode(new)?, old.version).await
    }

    async fn open(
        &self,
        until: Option<chrono::DateTime<Utc>>,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<Approval>, StoreError> {
        let (items, last) = KEYS.list_open(&self.client, &self.table, until, limit, start_key(after)?).await?;
        let items = items.iter().map(Self::decode).collect::<Result<_, _>>()?;
        Ok(Page { items, next: cursor_of(last.as_ref())? })
    }

    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError> {
        let first_day = (Utc::now() - self.retention()).date_naive();
        let items =
            crate::items::recent_by_day(&self.client, &self.table, first_day, status.map(|s| s.as_str()), limit)
                .await?;
        items.iter().map(Self::decode).collect()
    }
}
