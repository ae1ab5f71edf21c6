//! `DynamoApprovalStore`: the approvals table. Every write is conditional on the version it
//! replaces. Open approvals are found through the sparse `pending-by-expiry` index (its keys
//! exist only while an approval is open, sorted by when the sweep must look at it next), the
//! newest through `recent` by day: no Scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::approval::{Approval, ApprovalStatus};
use baton_domain::ports::{ApprovalStore, Page};
use chrono::{Duration as ChronoDuration, Utc};
use std::time::Duration;

use crate::codec::{Item, cursor_of, decode, encode, start_key};
use crate::store::{classify, sortable};
use crate::tables::{TableDef, open_and_recent};

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

const OPEN_SHARD: &str = "open";
const KEYS: crate::items::OpenIndex = crate::items::OpenIndex { open: key::OPEN, due: key::DUE, ttl: key::PURGE_AT };

pub const APPROVALS: TableDef = TableDef {
    logical: "approvals",
    hash: "id",
    range: None,
    indexes: &open_and_recent(index::OPEN, key::OPEN, key::DUE),
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
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::OPEN)
            .expression_attribute_names("#o", key::OPEN)
            .expression_attribute_values(":o", AttributeValue::S(OPEN_SHARD.into()))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start_key(after)?);
        query = match until {
            // `#` then any id character sorts below DEL: every item due by `until` is included.
            Some(t) => query
                .key_condition_expression("#o = :o AND #d <= :until")
                .expression_attribute_names("#d", key::DUE)
                .expression_attribute_values(":until", AttributeValue::S(format!("{}#\u{7f}", sortable(t)))),
            None => query.key_condition_expression("#o = :o"),
        };
        let resp = query.send().await.map_err(classify)?;
        let fresh = crate::items::get_many(&self.client, &self.table, &crate::items::ids_of(resp.items())).await?;
        // One settled since the index was read is no longer open.
        let items = fresh.iter().filter(|i| i.contains_key(key::OPEN)).map(Self::decode).collect::<Result<_, _>>()?;
        Ok(Page { items, next: cursor_of(resp.last_evaluated_key())? })
    }

    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError> {
        let first_day = (Utc::now() - self.retention()).date_naive();
        let items =
            crate::items::recent_by_day(&self.client, &self.table, first_day, status.map(|s| s.as_str()), limit)
                .await?;
        items.iter().map(Self::decode).collect()
    }
}
