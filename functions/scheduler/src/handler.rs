//! Every run: re-drive actions whose queue message may be lost (the safety net of the
//! serverless path), expire overdue approvals and finish what is left of open ones (through
//! the sparse pending-by-expiry index), and publish `queue:updated` when the queues' depth
//! changed since this sandbox last looked (a cold sandbox publishes once).

use baton_domain::events::{QueueSnapshot, queue_updated};
use baton_domain::ports::{ActionQueue, ActionStore, Clock, EventSink, Notifier};
use baton_domain::usecases::{Approvals, redrive};
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use tracing::{info, warn};

/// A message not taken this long after its action was due is presumed lost.
pub const REDRIVE_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub redriven: usize,
    pub redrive_failed: usize,
    /// Approvals expired by this run.
    pub approvals_expired: usize,
    /// Unfinished workflows nobody advanced for a while, looked at again.
    pub workflows_reconciled: usize,
    pub queue_updated: bool,
    /// `metrics:updated` went out (to the events queue and the connections).
    pub metrics_published: bool,
}

pub struct Scheduler<'a> {
    pub store: &'a dyn ActionStore,
    pub queue: &'a dyn ActionQueue,
    pub clock: &'a dyn Clock,
    pub sink: &'a dyn EventSink,
    pub notifier: &'a dyn Notifier,
    /// The depth published last by this sandbox.
    pub last_depth: &'a Mutex<Option<[u64; 4]>>,
    pub approvals: &'a Approvals,
    /// `None` where the stack has no workflows (tests of the other duties).
    pub workflows: Option<&'a baton_domain::usecases::Workflows>,
    /// `None` where the stack counts no metrics (tests of the other duties).
    pub metrics: Option<&'a baton_domain::usecases::Metrics>,
}

impl Scheduler<'_> {
    pub async fn run(&self) -> Result<Summary, String> {
        let redriven = redrive(self.store, self.queue, self.clock, REDRIVE_AFTER).await.map_err(|e| e.to_string())?;
        if redriven.sent + redriven.failed > 0 {
            info!(sent = redriven.sent, failed = redriven.failed, "re-sent stranded actions");
        }
        // A failed sweep does not stop the rest of the run; the next run sweeps again.
        let approvals_expired = match self.approvals.sweep(self.clock.now()).await {
            Ok(report) => report.expired,
            Err(e) => {
                warn!(error = %e, "approval sweep failed");
                0
            }
        };
        let workflows_reconciled = match self.workflows {
            Some(w) => w.sweep(self.clock.now()).await.unwrap_or_else(|e| {
                warn!(error = %e, "workflow sweep failed");
                0
            }),
            None => 0,
        };
        let stats = self.queue.stats().await;
        let changed = {
            let mut last = self.last_depth.lock().unwrap_or_else(|p| p.into_inner());
            let changed = *last != Some(stats.depth);
            *last = Some(stats.depth);
            changed
        };
        if changed {
            let event = queue_updated(&QueueSnapshot::of(&stats), self.clock.now());
            if let Err(e) = self.sink.publish(std::slice::from_ref(&event)).await {
                warn!(error = %e, "queue:updated not published");
            }
            self.notifier.notify(vec![event]).await;
        }
        let metrics_published = match self.metrics {
            Some(m) => match m.updated(stats.depth.iter().sum()).await {
                Ok(event) => {
                    let durable = self.sink.publish(std::slice::from_ref(&event)).await;
                    if let Err(e) = &durable {
                        warn!(error = %e, "metrics:updated not published");
                    }
                    self.notifier.notify(vec![event]).await;
                    durable.is_ok()
                }
                Err(e) => {
                    warn!(error = %e, "metrics:updated not computed");
                    false
                }
            },
            None => false,
        };
        Ok(Summary {
            redriven: redriven.sent,
            redrive_failed: redriven.failed,
            approvals_expired,
            workflows_reconciled,
            queue_updated: changed,
            metrics_published,
        })
    }
}
