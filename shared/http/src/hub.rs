//! `Hub`: the WebSocket connections of the local runtime, as a `Notifier`.
//!
//! Publishing never waits on a client: each connection has a bounded buffer, and a client
//! that lets it fill is disconnected with a close reason instead of stalling the executors.

use async_trait::async_trait;
use baton_domain::events::{Event, Subscription};
use baton_domain::ports::Notifier;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Frames buffered per connection before it counts as too slow.
pub const DEFAULT_BUFFER: usize = 1024;

struct Connection {
    subscription: Subscription,
    frames: mpsc::Sender<Arc<str>>,
    /// Fired once, with the reason, when the hub drops the connection.
    kick: Option<oneshot::Sender<String>>,
}

/// A registered connection's receiving ends.
pub struct Registration {
    pub id: u64,
    pub frames: mpsc::Receiver<Arc<str>>,
    pub kicked: oneshot::Receiver<String>,
}

pub struct Hub {
    connections: Mutex<HashMap<u64, Connection>>,
    next_id: AtomicU64,
    buffer: usize,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(DEFAULT_BUFFER)
    }
}

use baton_domain::sync::lock;

impl Hub {
    pub fn new(buffer: usize) -> Self {
        Self { connections: Mutex::new(HashMap::new()), next_id: AtomicU64::new(1), buffer: buffer.max(1) }
    }

    pub fn register(&self) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.buffer);
        let (kick_tx, kick_rx) = oneshot::channel();
        lock(&self.connections)
            .insert(id, Connection { subscription: Subscription::default(), frames: tx, kick: Some(kick_tx) });
        Registration { id, frames: rx, kicked: kick_rx }
    }

    pub fn subscribe(&self, id: u64, subscription: Subscription) {
        if let Some(c) = lock(&self.connections).get_mut(&id) {
            c.subscription = subscription;
        }
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.connections).remove(&id);
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.connections).len()
    }

    /// Hands each event to every interested connection; never blocks.
    pub fn publish(&self, events: &[Event]) {
        let mut conns = lock(&self.connections);
        let mut slow = Vec::new();
        for event in events {
            let mut frame: Option<Arc<str>> = None;
            for (id, conn) in conns.iter() {
                if !conn.subscription.wants(event) || slow.contains(id) {
                    continue;
                }
                let frame = frame
                    .get_or_insert_with(|| Arc::from(serde_json::to_string(event).unwrap_or_default().as_str()))
                    .clone();
                match conn.frames.try_send(frame) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                    // The socket task is gone; its unregister is on the way.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        for id in slow {
            if let Some(mut conn) = conns.remove(&id)
                && let Some(kick) = conn.kick.take()
            {
                let reason = format!("client too slow: more than {} events waiting", self.buffer);
                let _ = kick.send(reason);
            }
        }
    }
}

#[async_trait]
impl Notifier for Hub {
    async fn notify(&self, events: Vec<Event>) {
        self.publish(&events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_domain::model::Platform;
    use serde_json::json;

    fn event(name: &str, platform: Option<Platform>) -> Event {
        Event { event: name.into(), data: json!({}), id: "x".into(), ts: "t".into(), platform }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_dropped_with_a_reason_and_others_keep_receiving() {
        let hub = Hub::new(2);
        let mut slow = hub.register();
        let mut fast = hub.register();
        for _ in 0..3 {
            hub.publish(&[event("action:queued", Some(Platform::Slack))]);
            fast.frames.recv().await.expect("fast client keeps up");
        }
        let reason = slow.kicked.await.expect("kicked");
        assert!(reason.contains("too slow"), "{reason}");
        assert_eq!(hub.connection_count(), 1);
        assert!(slow.frames.recv().await.is_some(), "what was buffered can still be flushed");
    }
}
