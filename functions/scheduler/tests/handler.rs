//! The scheduled run: re-drive and queue:updated only on change.

use baton_domain::fakes::{ManualClock, MemoryQueue, MemoryStore, RecordingSink, approvals_over};
use baton_domain::ports::PlatformRegistry;
use scheduler::handler::Scheduler;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn queue_updated_is_published_only_when_the_depth_changes() {
    let (store, queue) = (Arc::new(MemoryStore::default()), Arc::new(MemoryQueue::default()));
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let approvals = approvals_over(store.clone(), queue.clone(), clock.clone(), PlatformRegistry::new());
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let last = Mutex::new(None);
    let s = Scheduler {
        store: store.as_ref(),
        queue: queue.as_ref(),
        clock: clock.as_ref(),
        sink: &sink,
        notifier: &sockets,
        last_depth: &last,
        approvals: &approvals,
        workflows: None,
        metrics: None,
    };
    assert!(s.run().await.expect("ran").queue_updated);
    assert!(!s.run().await.expect("ran").queue_updated);
    assert_eq!(sink.names(), ["queue:updated"]);
    assert_eq!(sockets.names(), ["queue:updated"]);
}
