//! The approvals table in memory, with the store's conditions and its open index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::table::MemoryTable;
use crate::approval::{Approval, ApprovalStatus};
use crate::error::StoreError;
use crate::ports::{ApprovalStore, Page};

#[derive(Default)]
pub struct MemoryApprovals {
    pub table: MemoryTable<Approval>,
}

impl MemoryApprovals {
    pub fn snapshot(&self, id: &str) -> Option<Approval> {
        self.table.get(id)
    }
}

#[async_trait]
impl ApprovalStore for MemoryApprovals {
    async fn insert(&self, approval: &Approval) -> Result<(), StoreError> {
        self.table.insert(approval)
    }

    async fn get(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        Ok(self.table.get(id))
    }

    async fn replace(&self, old: &Approval, new: &Approval) -> Result<(), StoreError> {
        self.table.replace(old, new)
    }

    async fn open(
        &self,
        until: Option<DateTime<Utc>>,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<Approval>, StoreError> {
        let mut open: Vec<(String, Approval)> = self
            .table
            .all()
            .into_iter()
            .filter_map(|a| a.due_at().map(|due| (format!("{}#{}", crate::events::timestamp(due), a.id), a)))
            .filter(|(_, a)| until.is_none_or(|u| a.due_at().is_some_and(|d| d <= u)))
            .filter(|(key, _)| after.as_ref().is_none_or(|after| key > after))
            .collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        let next = (open.len() > limit).then(|| open[limit - 1].0.clone());
        Ok(Page { items: open.into_iter().take(limit).map(|(_, a)| a).collect(), next })
    }

    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError> {
        let mut all: Vec<Approval> =
            self.table.all().into_iter().filter(|a| status.is_none_or(|s| a.status == s)).collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all.truncate(limit);
        Ok(all)
    }
}

/// The approvals use case over in-memory approvals and the given ports (Slack not
/// configured; previews from `platforms`).
pub fn approvals_over(
    actions: std::sync::Arc<dyn crate::ports::ActionStore>,
    queue: std::sync::Arc<dyn crate::ports::ActionQueue>,
    clock: std::sync::Arc<dyn crate::ports::Clock>,
    platforms: crate::ports::PlatformRegistry,
) -> crate::usecases::Approvals {
    crate::usecases::Approvals {
        approvals: std::sync::Arc::new(MemoryApprovals::default()),
        submitter: crate::usecases::Submitter {
            store: actions.clone(),
            queue,
            clock: clock.clone(),
            handoff: crate::usecases::Handoff::NONE,
        },
        actions,
        platforms: std::sync::Arc::new(platforms),
        clock,
        slack: crate::usecases::SlackNotices::default(),
    }
}
