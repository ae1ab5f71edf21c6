//! `ApiGwNotifier`: events to the WebSocket connections API Gateway holds, by
//! `PostToConnection` (API Gateway management API).
//!
//! A 410 `GoneException` means *that* connection is gone: it is deleted, and delivery to the
//! others goes on. Each connection gets its frames in the order of the events. Delivery to WebSocket clients is best effort; the events queue is the
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
        // One connection's frames go one after another, in order; connections in parallel.
        let mut per_connection: Vec<(&str, Vec<&str>)> = Vec::new();
        for c in &connections {
            let mine: Vec<&str> =
                frames.iter().filter(|(event, _)| c.subscription.wants(event)).map(|(_, f)| f.as_str()).collect();
            if !mine.is_empty() {
                per_connection.push((c.id.as_str(), mine));
            }
        }
        let gone = std::sync::Mutex::new(std::collections::BTreeSet::new());
        futures_util::stream::iter(per_connection)
            .for_each_concurrent(self.concurrency, |(id, frames)| {
                let gone = &gone;
                async move {
                    for frame in frames {
                        match self.post(id, frame).await {
                            Ok(()) => {}
                            Err(PostError::Gone) => {
                                baton_domain::sync::lock(gone).insert(id);
                                return;
                            }
                            Err(PostError::Failed(e)) => {
                                warn!(connection_id = id, error = %e, "post to connection failed")
                            }
                        }
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
