//! The scheduled run: re-drive and queue:updated only on change.

use baton_domain::fakes::{ManualClock, MemoryQueue, MemoryStore, RecordingSink};
use scheduler::handler::Scheduler;
use std::sync::Mutex;

#[tokio::test]
async fn queue_updated_is_published_only_when_the_depth_changes() {
    let (store, queue, clock) = (MemoryStore::default(), MemoryQueue::default(), ManualClock::new(chrono::Utc::now()));
    let (sink, sockets) = (RecordingSink::default(), RecordingSink::default());
    let last = Mutex::new(None);
    let s =
        Scheduler { store: &store, queue: &queue, clock: &clock, sink: &sink, notifier: &sockets, last_depth: &last };
    assert!(s.run().await.expect("ran").queue_updated);
    assert!(!s.run().await.expect("ran").queue_updated);
    assert_eq!(sink.names(), ["queue:updated"]);
    assert_eq!(sockets.names(), ["queue:updated"]);
}
