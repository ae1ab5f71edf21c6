//! The shapes of the API, as OpenAPI schemas: request and response bodies, the error
//! envelope, the WebSocket frame, client messages and every event payload. Only the document
//! reads these types; the answers themselves come from the domain. `schemathesis` checks in
//! CI that every answer conforms to them.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    Create,
    Update,
    Delete,
    Notify,
    File,
    Log,
    Query,
    Approve,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Notion,
    Trello,
    Slack,
    Drive,
    Sheets,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Critical,
    High,
    Normal,
    Low,
}

/// Baton's exact lifecycle state of an action.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    PendingApproval,
    Queued,
    Executing,
    Retrying,
    Success,
    Failed,
    Cancelled,
    Rejected,
    Expired,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    max_retries: Option<u32>,
    /// Milliseconds.
    initial_delay: Option<u64>,
    backoff_multiplier: Option<f64>,
    /// Milliseconds.
    max_delay: Option<u64>,
}

/// The contract's Action (what a submitter sends). `data` follows the platform's schema for
/// the operation the type (or `data.operation`) chooses.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAction {
    /// Letters, digits and `- _ . :`; assigned when absent.
    id: Option<String>,
    #[serde(rename = "type")]
    action_type: ActionType,
    platform: Platform,
    priority: Priority,
    requires_approval: Option<bool>,
    data: Value,
    correlation_id: Option<String>,
    user_id: Option<String>,
    source: Option<String>,
    /// Execution timeout, ms (at most 840000).
    timeout: Option<u64>,
    retry_config: Option<RetryConfig>,
    tags: Option<Vec<String>>,
    /// Build the platform request and store it instead of sending it.
    dry_run: Option<bool>,
    /// Another action to run if this one fails for good.
    fallback: Option<Value>,
    workflow_id: Option<String>,
    step: Option<String>,
    metadata: Option<Value>,
}

/// `POST /api/actions` (the `action:ready` payload).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    action: NewAction,
    context: Option<Value>,
    correlation_id: Option<String>,
}

/// `POST /api/events`: the ingress envelope, as on the SQS ingress queue.
#[derive(Serialize, ToSchema)]
pub struct IngressEnvelope {
    /// `action:ready`, `action:requires_approval` or `workflow:ready`.
    event: String,
    data: Value,
}

/// The answer to an accepted submission.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    action_id: String,
    status: State,
    queue_position: u64,
    estimated_wait: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionError {
    code: ErrorCode,
    message: String,
    retriable: bool,
}

/// A stored action: the contract's fields and its whole lifecycle.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    id: String,
    #[serde(rename = "type")]
    action_type: ActionType,
    platform: Platform,
    priority: Priority,
    data: Value,
    status: State,
    version: u64,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    queue_position: u64,
    estimated_wait: u64,
    attempts: u32,
    retries: u32,
    result: Option<Value>,
    error: Option<ActionError>,
    execution_time: Option<u64>,
    queue_time: Option<u64>,
    /// A workflow step: its workflow and step name.
    workflow_id: Option<String>,
    step: Option<String>,
    /// The approval it is (or was) held for.
    approval_id: Option<String>,
    /// A replay: the action it repeats; an original: its replays.
    replay_of: Option<String>,
    replayed_by: Option<Vec<String>>,
    cancel_reason: Option<String>,
    /// Feedback, newest first.
    feedback: Option<Vec<crate::operate_schemas::Feedback>>,
}

/// One entry of `GET /api/actions/recent`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentAction {
    id: String,
    #[serde(rename = "type")]
    action_type: ActionType,
    platform: Platform,
    priority: Priority,
    /// The contract's coarse view: pending, executing, success or failed.
    status: String,
    state: State,
    retries: u32,
    #[schema(format = DateTime)]
    timestamp: String,
    result: Option<Value>,
    error: Option<String>,
    error_code: Option<ErrorCode>,
    execution_time: Option<u64>,
    queue_time: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentPage {
    actions: Vec<RecentAction>,
    /// How many match in all (a lower bound when `totalExact` is false).
    total: u64,
    limit: u64,
    offset: u64,
    total_exact: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedAction {
    action_id: String,
    #[serde(rename = "type")]
    action_type: ActionType,
    platform: Platform,
    #[schema(format = DateTime)]
    queued_at: String,
    estimated_wait: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Queues {
    critical: Vec<QueuedAction>,
    high: Vec<QueuedAction>,
    normal: Vec<QueuedAction>,
    low: Vec<QueuedAction>,
}

#[derive(Serialize, ToSchema)]
pub struct ByPriority {
    critical: u64,
    high: u64,
    normal: u64,
    low: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    total_queued: u64,
    by_priority: ByPriority,
    avg_wait_time: u64,
    /// 0–1.
    worker_utilization: f64,
}

#[derive(Serialize, ToSchema)]
pub struct QueueStatus {
    queues: Queues,
    stats: QueueStats,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// CLOSED, OPEN or HALF_OPEN.
    state: String,
    failure_count: u32,
    #[schema(format = DateTime)]
    last_failure: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    current: f64,
    limit: f64,
    #[schema(format = DateTime)]
    reset_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorHealth {
    /// healthy, degraded or down.
    status: String,
    configured: bool,
    circuit_breaker: CircuitBreaker,
    rate_limit: RateLimit,
    #[schema(format = DateTime)]
    last_success: Option<String>,
    avg_response_time: f64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueHealth {
    depth: u64,
    #[schema(format = DateTime)]
    oldest_action: Option<String>,
    worker_utilization: f64,
}

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    /// healthy, degraded or critical.
    overall: String,
    /// By platform.
    executors: std::collections::BTreeMap<String, ExecutorHealth>,
    queue: QueueHealth,
}

#[derive(Serialize, ToSchema)]
pub struct Healthz {
    status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    AuthError,
    RateLimited,
    NotFound,
    ValidationError,
    NetworkError,
    ServiceDown,
    QuotaExceeded,
    PermissionDenied,
    DuplicateError,
    TimeoutError,
    UnknownError,
}

#[derive(Serialize, ToSchema)]
pub struct FieldError {
    /// The path from the body's (or the query's) root, e.g. `action.data.database_id`.
    field: String,
    reason: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    code: ErrorCode,
    message: String,
    retriable: bool,
    platform: Option<Platform>,
    /// `fields` for VALIDATION_ERROR, `requiredScope` for PERMISSION_DENIED.
    details: Option<Value>,
    /// Seconds, on RATE_LIMITED.
    retry_after: Option<u64>,
}

/// Every error is answered in this envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    error: ErrorBody,
}

/// A WebSocket frame: an event, or one of Baton's replies (`connected`, `subscribed`, `pong`,
/// `error`).
#[derive(Serialize, ToSchema)]
pub struct Frame {
    /// The event's name, e.g. `action:completed`.
    event: String,
    /// The event's payload (see the `*Event` schemas).
    data: Value,
    /// Deterministic for action events (`<actionId>:<version>:<event>`): drop duplicates by it.
    id: String,
    #[schema(format = DateTime)]
    ts: String,
}

/// What a WebSocket client sends.
#[derive(Serialize, ToSchema)]
pub struct ClientMessage {
    /// `subscribe` or `ping`.
    action: String,
    /// Event names or prefix patterns (`action:*`); empty or absent: every event.
    events: Option<Vec<String>>,
    platforms: Option<Vec<Platform>>,
}
