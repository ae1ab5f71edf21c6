//! The workflows table in memory, with the store's conditions and its open index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::table::MemoryTable;
use crate::error::StoreError;
use crate::ports::WorkflowStore;
use crate::workflow::{Workflow, WorkflowStatus};

#[derive(Default)]
pub struct MemoryWorkflows {
    pub table: MemoryTable<Workflow>,
}

#[async_trait]
impl WorkflowStore for MemoryWorkflows {
    async fn insert(&self, workflow: &Workflow) -> Result<(), StoreError> {
        self.table.insert(workflow)
    }

    async fn get(&self, id: &str) -> Result<Option<Workflow>, StoreError> {
        Ok(self.table.get(id))
    }

    async fn replace(&self, old: &Workflow, new: &Workflow) -> Result<(), StoreError> {
        self.table.replace(old, new)
    }

    async fn open(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        let mut open: Vec<Workflow> =
            self.table.all().into_iter().filter(|w| w.due_at().is_some_and(|d| d <= until)).collect();
        open.sort_by_key(|w| (w.due_at(), w.id.clone()));
        open.truncate(limit);
        Ok(open)
    }

    async fn recent(&self, status: Option<WorkflowStatus>, limit: usize) -> Result<Vec<Workflow>, StoreError> {
        let mut all: Vec<Workflow> =
            self.table.all().into_iter().filter(|w| status.is_none_or(|s| w.status == s)).collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all.truncate(limit);
        Ok(all)
    }
}

/// The workflows use case over in-memory workflows and keys, submitting through `approvals`'
/// ports.
pub fn workflows_over(approvals: crate::usecases::Approvals) -> crate::usecases::Workflows {
    crate::usecases::Workflows {
        workflows: std::sync::Arc::new(MemoryWorkflows::default()),
        keys: std::sync::Arc::new(super::MemoryKeys::default()),
        actions: approvals.actions.clone(),
        submitter: approvals.submitter.clone(),
        clock: approvals.clock.clone(),
        approvals,
    }
}
