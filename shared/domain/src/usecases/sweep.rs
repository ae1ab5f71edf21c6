//! Making unfinished work runnable again: `recover` after a restart of the local runtime,
//! `redrive` as the serverless path's safety net (the scheduler).
//!
//! Must not import any adapter crate.

use std::time::Duration;
use tracing::warn;

use crate::error::{DomainError, StoreError};
use crate::model::{Priority, Status, WorkItem};
use crate::ports::{ActionQueue, ActionStore, Clock, PendingEntry};

/// Entries read per page of the pending index.
const PAGE: usize = 1000;

async fn each_pending(
    store: &dyn ActionStore,
    mut visit: impl AsyncFnMut(Priority, PendingEntry) -> Result<(), DomainError>,
) -> Result<(), DomainError> {
    for priority in Priority::ALL.iter().copied() {
        let mut after = None;
        loop {
            let page = store.pending(priority, PAGE, after.take()).await?;
            for entry in page.items {
                visit(priority, entry).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    Ok(())
}

/// Makes every unfinished action runnable again after the workers of a previous run are
/// gone (the local runtime's restart): an `executing` action whose worker is not one of
/// ours is turned back to `retrying` (counted as interrupted). A finished action whose
/// fallback is not settled is work too. Returns the work items to enqueue, with delays.
pub async fn recover(
    store: &dyn ActionStore,
    clock: &dyn Clock,
    live_worker_prefix: &str,
) -> Result<Vec<(WorkItem, Duration)>, DomainError> {
    let mut work = Vec::new();
    each_pending(store, async |priority, entry| {
        let now = clock.now();
        let mut ready_at = entry.ready_at();
        if entry.status == Status::Executing
            && !entry.worker_id.as_deref().is_some_and(|w| w.starts_with(live_worker_prefix))
        {
            // The index holds no data: read the whole action to write its next state.
            let Some(action) = store.get(&entry.id).await? else { return Ok(()) };
            if action.status != Status::Executing {
                return Ok(());
            }
            let recovered = action.recover_interrupted(now).map_err(|e| DomainError::Conflict(e.to_string()))?;
            match store.replace(&action, &recovered).await {
                Ok(()) => ready_at = recovered.ready_at(),
                Err(StoreError::Conflict) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        if entry.status.is_terminal() {
            ready_at = now;
        }
        let delay = (ready_at - now).to_std().unwrap_or_default();
        work.push((WorkItem::new(entry.id.clone(), priority), delay));
        Ok(())
    })
    .await?;
    Ok(work)
}

/// What one re-drive did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redriven {
    pub sent: usize,
    pub failed: usize,
}

/// The safety net of the serverless path: re-sends the work item of actions whose queue
/// message may be lost — runnable for longer than `period` past their due time, executing
/// past their lease, or finished with a fallback not settled for that long. Each is sent at
/// most once per `period` (a conditional mark on the action), in batches, and a failed send
/// does not stop the others. A duplicate message is harmless (the lease admits one worker).
pub async fn redrive(
    store: &dyn ActionStore,
    queue: &dyn ActionQueue,
    clock: &dyn Clock,
    period: Duration,
) -> Result<Redriven, DomainError> {
    let now = clock.now();
    let period = chrono::Duration::from_std(period).unwrap_or(chrono::Duration::minutes(15));
    let mut batch = Vec::new();
    each_pending(store, async |priority, entry| {
        let stuck = match entry.status {
            Status::Queued | Status::Retrying => entry.ready_at() + period <= now,
            Status::Executing => entry.lease_until.is_some_and(|l| l <= now),
            s => s.is_terminal() && entry.ready_at() + period <= now,
        };
        let due = entry.redriven_at.is_none_or(|t| t + period <= now);
        if stuck && due && store.mark_redriven(&entry.id, entry.redriven_at, now).await? {
            batch.push((WorkItem::new(entry.id.clone(), priority), Duration::ZERO));
        }
        Ok(())
    })
    .await?;
    let mut done = Redriven::default();
    let ids: Vec<String> = batch.iter().map(|(i, _)| i.action_id.clone()).collect();
    for (id, result) in ids.iter().zip(queue.enqueue_many(batch).await) {
        match result {
            Ok(()) => done.sent += 1,
            Err(e) => {
                done.failed += 1;
                warn!(action_id = %id, error = %e, "re-drive send failed; the next period tries again");
            }
        }
    }
    Ok(done)
}
