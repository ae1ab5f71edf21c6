//! The payload (`data`) of every event, as OpenAPI schemas: what WebSocket frames and the
//! events queue carry. Names are the events' (`action:completed` → `ActionCompletedEvent`).
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::schemas::{ByPriority, ErrorCode, FieldError, Platform, Priority};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionQueuedEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    priority: Priority,
    queue_position: u64,
    /// Milliseconds.
    estimated_wait: u64,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutingEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    priority: Priority,
    worker_id: String,
    #[schema(format = DateTime)]
    start_time: String,
    queue_time: u64,
    attempt: u32,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionRetryingEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    priority: Priority,
    retries: u32,
    error: String,
    error_code: ErrorCode,
    #[schema(format = DateTime)]
    next_attempt_at: String,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionCompletedEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    /// The platform's result (a reference to `GET /api/actions/{id}` when too large).
    result: Value,
    execution_time: u64,
    queue_time: u64,
    retries: u32,
    #[schema(format = DateTime)]
    timestamp: String,
    metadata: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionFailedEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    error: String,
    error_code: ErrorCode,
    retriable: bool,
    retries: u32,
    #[schema(format = DateTime)]
    timestamp: String,
    metadata: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionCancelledEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    #[schema(format = DateTime)]
    timestamp: String,
    metadata: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueUpdatedEvent {
    total_queued: u64,
    by_priority: ByPriority,
    avg_wait_time: u64,
    worker_utilization: f64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakerSummary {
    /// CLOSED, OPEN or HALF_OPEN.
    state: String,
    failure_count: u32,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthChangedEvent {
    platform: Platform,
    /// healthy, degraded or down.
    previous_status: String,
    current_status: String,
    circuit_breaker: BreakerSummary,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// On the events queue only: an ingress message that can never be accepted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestRejectedEvent {
    message_id: String,
    reason: String,
    fields: Vec<FieldError>,
    /// The first 512 bytes of the message.
    body: String,
    #[schema(format = DateTime)]
    timestamp: String,
}
