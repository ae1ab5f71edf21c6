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

/// An approval announced: what a decider needs to see.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalPendingEvent {
    approval_id: String,
    action_id: String,
    action: Value,
    reason: String,
    context: Option<Value>,
    slack_message_ts: Option<String>,
    #[schema(format = DateTime)]
    expires_at: String,
    /// The exact platform request(s) the action sends (secrets redacted).
    preview: Value,
    approvers: Vec<String>,
    required_approvals: u32,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResolvedEvent {
    approval_id: String,
    action_id: String,
    /// approved, rejected, timeout or cancelled.
    status: String,
    resolved_by: Option<String>,
    reason: Option<String>,
    /// Who approved.
    approvals: Vec<String>,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRef {
    name: String,
    action_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStartedEvent {
    workflow_id: String,
    name: Option<String>,
    transactional: bool,
    dry_run: bool,
    steps: Vec<StepRef>,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// A step's status changed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStepEvent {
    workflow_id: String,
    step: String,
    action_id: String,
    status: crate::workflow_schemas::StepStatus,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCompletedEvent {
    workflow_id: String,
    name: Option<String>,
    /// How many steps.
    steps: u64,
    /// Milliseconds from submission.
    duration: i64,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// The first step failed for good (a transactional workflow starts rolling back).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowFailedEvent {
    workflow_id: String,
    name: Option<String>,
    failed_step: Option<String>,
    error: Option<crate::schemas::ActionError>,
    transactional: bool,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRolledBackEvent {
    workflow_id: String,
    name: Option<String>,
    /// rolled_back or rollback_failed.
    status: String,
    failed_step: Option<String>,
    compensated: Vec<String>,
    not_compensated: Vec<String>,
    #[schema(format = DateTime)]
    timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCancelledEvent {
    workflow_id: String,
    name: Option<String>,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Feedback kept on an action.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackReceivedEvent {
    action_id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: Platform,
    /// success, failure or modified.
    outcome: String,
    execution_quality: u8,
    notes: Option<String>,
    learning_points: Vec<String>,
    user_modifications: Option<Value>,
    /// How many feedbacks the action has now.
    feedback_count: u64,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Every 10 s while anyone is connected (and on the events queue).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsUpdatedEvent {
    /// Over the last 5 minutes.
    actions_per_minute: f64,
    success_rate: f64,
    avg_execution_time: u64,
    queue_depth: u64,
    #[schema(format = DateTime)]
    timestamp: String,
}
