//! Use-case tests against the in-memory ports: a `World` of fakes, one module per use case.

mod approvals;
mod execute;
mod guarded;
mod ingest;
mod operate;
mod submit;
mod sweep;
mod workflows;

use crate::error::ErrorCode;
use crate::error::PlatformError;
use crate::fakes::*;
use crate::model::Status;
use crate::model::{Platform, Priority, WorkItem};
use crate::ports::{ActionStore, Clock, PlatformRegistry};
use crate::usecases::{Executor, IngestOutcome, Ingestor, Outcome, Submitter, recover, redrive};
use crate::validation::parse_submission;
use chrono::Utc;
use serde_json::Value;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub(super) struct World {
    pub store: Arc<MemoryStore>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ManualClock>,
    pub platform: Arc<ScriptedPlatform>,
}

impl World {
    pub fn new(script: Vec<Result<Value, PlatformError>>) -> Self {
        Self {
            store: Arc::new(MemoryStore::default()),
            queue: Arc::new(MemoryQueue::default()),
            clock: Arc::new(ManualClock::new(Utc::now())),
            platform: Arc::new(ScriptedPlatform::new(Platform::Slack, script)),
        }
    }

    pub fn submitter(&self) -> Submitter {
        Submitter {
            store: self.store.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            handoff: crate::usecases::Handoff::NONE,
        }
    }

    /// Approvals over this world's actions (their own table; Slack not configured).
    pub fn approvals(&self) -> crate::usecases::Approvals {
        crate::usecases::Approvals {
            approvals: Arc::new(MemoryApprovals::default()),
            actions: self.store.clone(),
            submitter: self.submitter(),
            platforms: Arc::new(PlatformRegistry::new().with(self.platform.clone())),
            clock: self.clock.clone(),
            slack: crate::usecases::SlackNotices::default(),
        }
    }

    pub fn executor(&self, worker: &str) -> Executor {
        Executor {
            store: self.store.clone(),
            platforms: Arc::new(PlatformRegistry::new().with(self.platform.clone())),
            clock: self.clock.clone(),
            worker_id: worker.into(),
            lease_grace: Duration::from_secs(5),
            guard: None,
            fallbacks: None,
        }
    }

    pub async fn submit(&self, extra: Value) -> String {
        let mut action = json!({"type": "notify", "platform": "slack", "priority": "normal",
                                "data": {"channel": "#ops", "text": "hi"}});
        if let (Some(a), Value::Object(e)) = (action.as_object_mut(), extra) {
            a.extend(e);
        }
        let sub = parse_submission(&json!({ "action": action })).expect("valid");
        self.submitter().submit(sub).await.expect("accepted").action_id
    }
}

pub(super) fn item(id: &str) -> WorkItem {
    WorkItem::new(id, Priority::Normal)
}

pub(super) fn down() -> Result<Value, PlatformError> {
    Err(PlatformError::new(ErrorCode::ServiceDown, "HTTP 500"))
}
