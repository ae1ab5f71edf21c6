//! `ApiGwNotifier`: events to the WebSocket connections API Gateway holds, by
//! `PostToConnection` (API Gateway management API).
//!
//! A 410 `GoneException` means *that* connection is gone: it is deleted, and delivery to the
//! others goes on. Delivery to WebSocket clients is best effort; the events queue is the
//! durable channel.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use baton_domain::events::{Event, MAX_FRAME_BYTES, frame_within};
use baton_domain::ports::{ConnectionStore, Notifier};
use futures_util::StreamExt;
use std::sync::Arc;
use tracing::{debug, warn};

/// Posts in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 16;

#[derive(Debug, PartialEq, Eq)]
pub enum PostError {
    /// The client disconnected; its record should go.
    Gone,
    Failed(String),
}

#[derive(Clone)]
pub struct ApiGwNotifier {
    client: Client,
    connections: Arc<dyn ConnectionStore>,
    concurrency: usize,
}

impl ApiGwNotifier {
    pub fn new(client: Client, connections: Arc<dyn ConnectionStore>) -> Self {
        Self { client, connections, concurrency: DEFAULT_CONCURRENCY }
    }

    /// Sends one text frame to one connection.
    pub async fn post(&self, connection_id: &str, frame: &str) -> Result<(), PostError> {
        match self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.as_bytes().to_vec()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Err(PostError::Gone),
            Err(e) => Err(PostError::Failed(describe(&e))),
        }
    }
}

fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> String {
    format!("{}", DisplayErrorContext(err))
}

#[async_trait]
impl Notifier for ApiGwNotifier {
    async fn notify(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let connections = match self.connections.all().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "cannot list WebSocket connections; events not pushed");
                return;
            }
        };
        let frames: Vec<(Event, String)> = events
            .into_iter()
            .map(|e| {
                let f = frame_within(&e, MAX_FRAME_BYTES);
                (e, f)
            })
            .collect();
        let mut posts: Vec<(&str, &str)> = Vec::new();
        for c in &connections {
            for (event, frame) in &frames {
                if c.subscription.wants(event) {
                    posts.push((c.id.as_str(), frame.as_str()));
                }
            }
        }
        let gone = std::sync::Mutex::new(std::collections::BTreeSet::new());
        futures_util::stream::iter(posts)
            .for_each_concurrent(self.concurrency, |(id, frame)| {
                let gone = &gone;
                async move {
                    if gone.lock().is_ok_and(|g| g.contains(id)) {
                        return;
                    }
                    match self.post(id, frame).await {
                        Ok(()) => {}
                        Err(PostError::Gone) => {
                            if let Ok(mut g) = gone.lock() {
                                g.insert(id);
                            }
                        }
                        Err(PostError::Failed(e)) => warn!(connection_id = id, error = %e, "post to connection failed"),
                    }
                }
            })
            .await;
        // Delete each gone connection once: *that* connection, not the sender's.
        for id in gone.into_inner().unwrap_or_default() {
            debug!(connection_id = id, "connection gone; removing it");
            if let Err(e) = self.connections.delete(id).await {
                warn!(connection_id = id, error = %e, "could not remove a gone connection");
            }
        }
    }
}
