//! The local runtime's timers: `queue:updated` when the depth changes, and the sweeps that
//! expire approvals and look again at workflows nobody advanced for a while.

use baton_domain::events::{QueueSnapshot, queue_updated};
use baton_domain::ports::{ActionQueue, Clock, Notifier};
use baton_domain::usecases::{Approvals, Workflows};
use baton_domain::workflow::STALE_SECS;
use std::sync::Arc;
use std::time::Duration;

use crate::scheduler::LocalQueue;

/// How often `metrics:updated` is sent while anyone is connected.
const METRICS_EVERY: Duration = Duration::from_secs(10);

/// `metrics:updated` every ten seconds while the hub has a connection.
pub async fn publish_metrics(
    metrics: baton_domain::usecases::Metrics,
    queue: Arc<LocalQueue>,
    hub: Arc<baton_http::hub::Hub>,
) {
    let mut every = tokio::time::interval(METRICS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        if hub.connection_count() == 0 {
            continue;
        }
        let depth = queue.stats().await.depth.iter().sum();
        match metrics.updated(depth).await {
            Ok(event) => hub.publish(&[event]),
            Err(e) => tracing::warn!(error = %e, "metrics:updated not computed"),
        }
    }
}

/// How often `queue:updated` may be sent (only when the depth changed).
const QUEUE_UPDATE_EVERY: Duration = Duration::from_secs(1);
/// How often the approvals are swept: an approval expires within about this long of its time.
const APPROVAL_SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Approval sweeps per workflow sweep.
const WORKFLOW_SWEEP_RATIO: u32 = 5;

pub async fn publish_queue_updates(queue: Arc<LocalQueue>, notifier: Arc<dyn Notifier>, clock: Arc<dyn Clock>) {
    let mut last: Option<[u64; 4]> = None;
    let mut every = tokio::time::interval(QUEUE_UPDATE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let stats = queue.stats().await;
        if last == Some(stats.depth) {
            continue;
        }
        last = Some(stats.depth);
        notifier.notify(vec![queue_updated(&QueueSnapshot::of(&stats), clock.now())]).await;
    }
}

/// Expires overdue approvals and finishes what is left of open ones, every second; every
/// five, reconciles the workflows not written for a while. The first round takes every
/// unfinished workflow: what a previous run left goes on at once.
pub async fn sweep(approvals: Approvals, workflows: Workflows, clock: Arc<dyn Clock>) {
    let mut every = tokio::time::interval(APPROVAL_SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut round = 0u32;
    loop {
        every.tick().await;
        if let Err(e) = approvals.sweep(clock.now()).await {
            tracing::warn!(error = %e, "approval sweep failed; the next one retries");
        }
        if round.is_multiple_of(WORKFLOW_SWEEP_RATIO) {
            let until = if round == 0 { clock.now() + chrono::Duration::seconds(STALE_SECS) } else { clock.now() };
            if let Err(e) = workflows.sweep(until).await {
                tracing::warn!(error = %e, "workflow sweep failed; the next one retries");
            }
        }
        round = round.wrapping_add(1);
    }
}
