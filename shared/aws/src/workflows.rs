//! `DynamoWorkflowStore`: the workflows table. Every write is conditional on the version it
//! replaces. Unfinished workflows are found through the sparse `open` index (its keys exist
//! only while a workflow runs, sorted by when the sweep must look at it), the newest through
//! `recent` by day: no Scan. The idempotency keys of workflow submissions are items of the
//! same table (`DynamoKeys` over it), claimed by a conditional write.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use baton_domain::StoreError;
use baton_domain::ports::WorkflowStore;
use baton_domain::workflow::{Workflow, WorkflowStatus};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::time::Duration;

use crate::codec::{Item, decode, encode};
use crate::tables::TableDef;

pub mod key {
    /// A constant, present only while the workflow runs: the sparse index's partition.
    pub const OPEN: &str = "openShard";
    /// `dueAt#id`: when the sweep must look at the workflow next.
    pub const DUE: &str = "dueAt";
    /// Epoch seconds after which an item may be deleted (DynamoDB TTL): a finished workflow
    /// after the retention, an idempotency key after a day.
    pub const EXPIRES_AT: &str = "expiresAt";
}

pub mod index {
    pub const OPEN: &str = "open-by-due";
}

const KEYS: crate::items::OpenIndex =
    crate::items::OpenIndex { index: index::OPEN, open: key::OPEN, due: key::DUE, ttl: key::EXPIRES_AT };

pub const WORKFLOWS: TableDef = TableDef {
    logical: "workflows",
    hash: "id",
    range: None,
    indexes: &KEYS.indexes(),
    ttl_attribute: Some(key::EXPIRES_AT),
};

#[derive(Clone)]
pub struct DynamoWorkflowStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoWorkflowStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self { client, table: table.into(), retention }
    }

    fn retention(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(30))
    }

    /// The stored form: the workflow plus the index keys its state calls for.
    pub fn encode(&self, w: &Workflow) -> Result<Item, StoreError> {
        let mut item = encode(w)?;
        let purge = w.completed_at.unwrap_or(w.updated_at) + self.retention();
        KEYS.keys(&mut item, &w.id, w.created_at, w.due_at(), purge);
        Ok(item)
    }

    fn decode(item: &Item) -> Result<Workflow, StoreError> {
        decode(item, "workflow item")
    }
}

#[async_trait]
impl WorkflowStore for DynamoWorkflowStore {
    async fn insert(&self, workflow: &Workflow) -> Result<(), StoreError> {
        crate::items::put_new(&self.client, &self.table, self.encode(workflow)?).await
    }

    async fn get(&self, id: &str) -> Result<Option<Workflow>, StoreError> {
        crate::items::get_by_id(&self.client, &self.table, id).await?.as_ref().map(Self::decode).transpose()
    }

    async fn replace(&self, old: &Workflow, new: &Workflow) -> Result<(), StoreError> {
        crate::items::put_at_version(&self.client, &self.table, self.encode(new)?, old.version).await
    }

    async fn open(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        let (items, _) = KEYS.list_open(&self.client, &self.table, Some(until), limit, None).await?;
        items.iter().map(Self::decode).collect()
    }

    async fn recent(&self, status: Option<WorkflowStatus>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        let first_day = (Utc::now() - self.retention()).date_naive();
        let items =
            crate::items::recent_by_day(&self.client, &self.table, first_day, status.map(|s| s.as_str()), limit)
                .await?;
        items.iter().map(Self::decode).collect()
    }
}
