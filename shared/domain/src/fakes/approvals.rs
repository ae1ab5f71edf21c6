//! The approvals table in memory, with the store's conditions and its open index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::approval::{Approval, ApprovalStatus};
use crate::error::StoreError;
use crate::ports::{ApprovalStore, Page};
use crate::sync::lock;

#[derive(Default)]
pub struct MemoryApprovals {
    items: Mutex<HashMap<String, Approval>>,
    /// Every successful write, in order: (old, new).
    pub writes: Mutex<Vec<(Option<Approval>, Approval)>>,
}

impl MemoryApprovals {
    pub fn snapshot(&self, id: &str) -> Option<Approval> {
        lock(&self.items).get(id).cloned()
    }
}

#[async_trait]
impl ApprovalStore for MemoryApprovals {
    async fn insert(&self, approval: &Approval) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        if items.contains_key(&approval.id) {
            return Err(StoreError::AlreadyExists);
        }
        items.insert(approval.id.clone(), approval.clone());
        lock(&self.writes).push((None, approval.clone()));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        Ok(lock(&self.items).get(id).cloned())
    }

    async fn replace(&self, old: &Approval, new: &Approval) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        match items.get(&old.id) {
            Some(current) if current.version == old.version => {
                items.insert(new.id.clone(), new.clone());
                lock(&self.writes).push((Some(old.clone()), new.clone()));
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn open(
        &self,
        until: Option<DateTime<Utc>>,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<Approval>, StoreError> {
        let mut open: Vec<(String, Approval)> = lock(&self.items)
            .values()
            .filter_map(|a| a.due_at().map(|due| (format!("{}#{}", crate::events::timestamp(due), a.id), a.clone())))
            .filter(|(_, a)| until.is_none_or(|u| a.due_at().is_some_and(|d| d <= u)))
            .filter(|(key, _)| after.as_ref().is_none_or(|after| key > after))
            .collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        let next = (open.len() > limit).then(|| open[limit - 1].0.clone());
        Ok(Page { items: open.into_iter().take(limit).map(|(_, a)| a).collect(), next })
    }

    async fn recent(&self, status: Option<ApprovalStatus>, limit: usize) -> Result<Vec<Approval>, StoreError> {
        let mut all: Vec<Approval> =
            lock(&self.items).values().filter(|a| status.is_none_or(|s| a.status == s)).cloned().collect();
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
        submitter: crate::usecases::Submitter { store: actions.clone(), queue, clock: clock.clone() },
        actions,
        platforms: std::sync::Arc::new(platforms),
        clock,
        slack: crate::usecases::SlackNotices::default(),
    }
}
