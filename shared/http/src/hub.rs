//! `Hub`: the WebSocket connections of the local runtime, as a `Notifier`.
//!
//! Publishing never waits on a client: each connection has a bounded buffer, and a client
//! that lets it fill is disconnected with a close reason instead of stalling the executors.
//!
//! Under load the hub hands events out in rounds at most one `window` apart: an event that
//! follows a round within the window waits for the next, together with whatever else comes
//! meanwhile, so each socket wakes and writes once per round instead of once per event
//! (1,000 dashboards × 1,000 events/s is a million wake-ups and writes a second otherwise).
//! An event after a quiet spell goes out at once.

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use baton_domain::events::{Event, Subscription};
use baton_domain::ports::Notifier;
use baton_domain::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Frames buffered per connection before it counts as too slow.
pub const DEFAULT_BUFFER: usize = 1024;
/// The least time between two rounds of hand-outs, once events come faster than that, with
/// many connections: each round wakes every socket, and rounds this far apart keep 1,000 of
/// them to 200,000 wake-ups a second.
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(5);
/// The window per connection, up to [`DEFAULT_WINDOW`]: one dashboard is not held back for
/// the sake of a thousand (at 5 µs, 200,000 wake-ups a second at most, whatever the count).
pub const WINDOW_PER_CONNECTION: Duration = Duration::from_micros(5);

/// The frames of one publication that one connection wants, in order: handed over at once,
/// so a socket writes what has piled up with one flush instead of one per frame.
pub type Frames = Vec<Utf8Bytes>;

struct Connection {
    subscription: Subscription,
    frames: mpsc::UnboundedSender<Frames>,
    /// Frames handed over and not yet written (the socket task takes them off).
    waiting: Arc<AtomicUsize>,
    /// Fired once, with the reason, when the hub drops the connection.
    kick: Option<oneshot::Sender<String>>,
}

/// A registered connection's receiving ends.
pub struct Registration {
    pub id: u64,
    pub frames: mpsc::UnboundedReceiver<Frames>,
    pub kicked: oneshot::Receiver<String>,
    waiting: Arc<AtomicUsize>,
}

impl Registration {
    /// Tells the hub that `n` frames have left; they no longer count against the buffer.
    pub fn written(&self, n: usize) {
        self.waiting.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Events waiting for the next round.
#[derive(Default)]
struct Outbox {
    events: Vec<Event>,
    /// When the scheduled round is due; new events join it.
    due: Option<Instant>,
    /// When the last round went out.
    last: Option<Instant>,
}

/// How late a scheduled round may be before a publication hands it out itself (its timer's
/// runtime may have stopped).
const OVERDUE: Duration = Duration::from_secs(1);

struct Shared {
    connections: Mutex<HashMap<u64, Connection>>,
    outbox: Mutex<Outbox>,
    buffer: usize,
    window: Duration,
    per_connection: Duration,
}

pub struct Hub {
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Self::build(DEFAULT_BUFFER, DEFAULT_WINDOW, WINDOW_PER_CONNECTION)
    }
}

impl Hub {
    /// A hub that hands every publication out at once.
    pub fn new(buffer: usize) -> Self {
        Self::with_window(buffer, Duration::ZERO)
    }

    /// A hub whose rounds of hand-outs are at least `window` apart, however few connect.
    pub fn with_window(buffer: usize, window: Duration) -> Self {
        Self::build(buffer, window, window)
    }

    /// Rounds `per_connection` × connections apart, `window` at most.
    fn build(buffer: usize, window: Duration, per_connection: Duration) -> Self {
        let shared = Shared {
            connections: Mutex::new(HashMap::new()),
            outbox: Mutex::new(Outbox::default()),
            buffer: buffer.max(1),
            window,
            per_connection,
        };
        Self { shared: Arc::new(shared), next_id: AtomicU64::new(1) }
    }

    pub fn register(&self) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let (kick_tx, kick_rx) = oneshot::channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let conn = Connection {
            subscription: Subscription::default(),
            frames: tx,
            waiting: waiting.clone(),
            kick: Some(kick_tx),
        };
        lock(&self.shared.connections).insert(id, conn);
        Registration { id, frames: rx, kicked: kick_rx, waiting }
    }

    pub fn subscribe(&self, id: u64, subscription: Subscription) {
        if let Some(c) = lock(&self.shared.connections).get_mut(&id) {
            c.subscription = subscription;
        }
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.shared.connections).remove(&id);
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.shared.connections).len()
    }

    /// Hands `events` out now, or in the next round when the last was less than a window
    /// ago; never blocks, and keeps the order of publications.
    pub fn publish(&self, events: &[Event]) {
        let shared = &self.shared;
        let mut outbox = lock(&shared.outbox);
        let now = Instant::now();
        if let Some(due) = outbox.due {
            outbox.events.extend_from_slice(events);
            if now > due + OVERDUE {
                shared.round(&mut outbox);
            }
            return;
        }
        let next = outbox.last.map(|last| last + shared.window_now()).filter(|next| *next > now);
        let runtime = tokio::runtime::Handle::try_current();
        let (Some(next), Ok(runtime)) = (next, runtime) else {
            outbox.last = Some(now);
            shared.hand_out(events);
            return;
        };
        outbox.events.extend_from_slice(events);
        outbox.due = Some(next);
        let shared = shared.clone();
        runtime.spawn(async move {
            tokio::time::sleep_until(next.into()).await;
            shared.round(&mut lock(&shared.outbox));
        });
    }
}

impl Shared {
    /// The window for as many connections as there are now.
    fn window_now(&self) -> Duration {
        if self.per_connection >= self.window {
            return self.window;
        }
        self.window.min(self.per_connection * lock(&self.connections).len() as u32)
    }

    /// Hands out what waits in the outbox, as one round.
    fn round(&self, outbox: &mut Outbox) {
        let events = std::mem::take(&mut outbox.events);
        outbox.due = None;
        outbox.last = Some(Instant::now());
        if !events.is_empty() {
            self.hand_out(&events);
        }
    }

    /// Hands each connection, at once, the events it wants (each encoded once for all).
    /// A connection whose unwritten frames would pass the buffer is dropped.
    fn hand_out(&self, events: &[Event]) {
        let mut encoded: Vec<Option<Utf8Bytes>> = vec![None; events.len()];
        let mut conns = lock(&self.connections);
        let mut slow = Vec::new();
        for (id, conn) in conns.iter() {
            let mut frames = Frames::new();
            for (event, frame) in events.iter().zip(encoded.iter_mut()) {
                if conn.subscription.wants(event) {
                    let frame = frame.get_or_insert_with(|| serde_json::to_string(event).unwrap_or_default().into());
                    frames.push(frame.clone());
                }
            }
            if frames.is_empty() {
                continue;
            }
            if conn.waiting.load(Ordering::Acquire) + frames.len() > self.buffer {
                slow.push(*id);
                continue;
            }
            conn.waiting.fetch_add(frames.len(), Ordering::AcqRel);
            // A closed channel means the socket task is gone; its unregister is on the way.
            let _ = conn.frames.send(frames);
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
            let batch = fast.frames.recv().await.expect("fast client keeps up");
            fast.written(batch.len());
        }
        let reason = slow.kicked.await.expect("kicked");
        assert!(reason.contains("too slow"), "{reason}");
        assert_eq!(hub.connection_count(), 1);
        assert!(slow.frames.recv().await.is_some(), "what was buffered can still be flushed");
    }

    #[tokio::test]
    async fn a_publication_reaches_each_connection_as_one_batch_of_what_it_subscribed_to() {
        let hub = Hub::new(8);
        let mut all = hub.register();
        let mut slack = hub.register();
        hub.subscribe(slack.id, Subscription { events: vec![], platforms: vec![Platform::Slack] });
        hub.publish(&[
            event("action:queued", Some(Platform::Slack)),
            event("action:queued", Some(Platform::Notion)),
            event("action:executing", Some(Platform::Slack)),
        ]);
        let batch = all.frames.recv().await.expect("a batch");
        assert_eq!(batch.len(), 3);
        let batch = slack.frames.recv().await.expect("a batch");
        assert_eq!(batch.len(), 2, "{batch:?}");
        assert!(all.frames.try_recv().is_err() && slack.frames.try_recv().is_err(), "one batch each");
    }

    #[tokio::test]
    async fn events_that_follow_a_round_within_the_window_go_out_together_in_order() {
        let hub = Hub::with_window(64, Duration::from_millis(50));
        let mut client = hub.register();
        hub.publish(&[event("action:queued", None)]);
        assert_eq!(client.frames.recv().await.expect("at once").len(), 1, "the first goes out at once");
        let started = Instant::now();
        for name in ["action:executing", "action:completed", "action:queued"] {
            hub.publish(&[event(name, None)]);
        }
        assert!(client.frames.try_recv().is_err(), "held for the next round");
        let batch = client.frames.recv().await.expect("the next round");
        assert!(started.elapsed() >= Duration::from_millis(40), "{:?}", started.elapsed());
        let names: Vec<&str> = batch.iter().map(|f| f.as_str().split('"').nth(3).unwrap_or("")).collect();
        assert_eq!(names, ["action:executing", "action:completed", "action:queued"]);
        assert!(client.frames.try_recv().is_err(), "one round");
    }

    #[tokio::test]
    async fn the_window_grows_with_the_connections_up_to_its_bound() {
        let hub = Hub::default();
        let mut first = hub.register();
        for name in ["action:queued", "action:executing"] {
            hub.publish(&[event(name, None)]);
            first.frames.recv().await.expect("a round");
        }
        let mut held = false;
        let _others: Vec<Registration> = (0..999).map(|_| hub.register()).collect();
        for _ in 0..3 {
            hub.publish(&[event("action:completed", None)]);
            held |= first.frames.try_recv().is_err();
        }
        assert!(held, "with 1,000 connections an event right after a round waits for the next");
    }

    #[test]
    fn a_round_whose_timer_is_gone_goes_out_with_the_next_publication() {
        let hub = Hub::with_window(64, Duration::from_millis(200));
        let mut client = hub.register();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        runtime.block_on(async {
            hub.publish(&[event("action:queued", None)]);
            hub.publish(&[event("action:executing", None)]);
        });
        drop(runtime); // and with it the task of the round that was due
        std::thread::sleep(Duration::from_millis(200) + OVERDUE);
        hub.publish(&[event("action:completed", None)]);
        assert_eq!(client.frames.try_recv().expect("the first at once").len(), 1);
        assert_eq!(client.frames.try_recv().expect("the held one, with the next").len(), 2);
    }
}
