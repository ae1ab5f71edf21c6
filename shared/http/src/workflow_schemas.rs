//! The workflow routes' bodies as the OpenAPI document describes them (document-only types:
//! the routes build their JSON from the domain's types).

#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::schemas::{ActionError, NewAction};

/// One step of a workflow as submitted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRequest {
    /// Unique in the workflow: 1 to 64 letters, digits, `_` or `-`.
    name: String,
    /// Any string in it may reference an earlier result: `{{steps.<name>.result.<path>}}`.
    action: NewAction,
    /// A step name or a list of them.
    depends_on: Option<Value>,
    /// The action that undoes this step in a transactional workflow (else the inverse its
    /// create reports). May reference its own step's result.
    rollback: Option<NewAction>,
}

/// `workflow:ready`, and the body of `POST /api/workflows`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRequest {
    /// Assigned when absent.
    workflow_id: Option<String>,
    name: Option<String>,
    #[schema(min_items = 1, max_items = 100)]
    steps: Vec<StepRequest>,
    /// On the first failure, undo every succeeded step in reverse order of completion.
    transactional: Option<bool>,
    /// The same key with the same body: the original workflow (`200`); another body: `409`.
    idempotency_key: Option<String>,
    context: Option<Value>,
    /// Render every step's request without sending anything.
    dry_run: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    Running,
    Completed,
    Failed,
    RollingBack,
    RolledBack,
    RollbackFailed,
    Cancelled,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Waiting,
    Queued,
    PendingApproval,
    Executing,
    Success,
    Failed,
    Skipped,
    Cancelled,
    Compensated,
    CompensationFailed,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepReceipt {
    name: String,
    action_id: String,
    status: StepStatus,
}

/// The answer to an accepted workflow.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowReceipt {
    workflow_id: String,
    status: WorkflowStatus,
    steps: Vec<StepReceipt>,
}

/// What undid a step.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compensation {
    action_id: String,
    /// `rollback` (declared) or `inverse` (reported by the step's create).
    source: String,
    /// `queued`, `success` or `failed`.
    status: String,
    error: Option<ActionError>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    name: String,
    action_id: String,
    depends_on: Vec<String>,
    status: StepStatus,
    result: Option<Value>,
    error: Option<ActionError>,
    started_at: Option<String>,
    completed_at: Option<String>,
    compensation: Option<Compensation>,
}

/// A workflow and its steps (in a listing, from the record alone: no results).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    workflow_id: String,
    name: Option<String>,
    status: WorkflowStatus,
    transactional: bool,
    idempotency_key: Option<String>,
    context: Option<Value>,
    dry_run: bool,
    created_at: String,
    updated_at: String,
    completed_at: Option<String>,
    cancelled_at: Option<String>,
    failed_step: Option<String>,
    error: Option<ActionError>,
    compensated: Vec<String>,
    not_compensated: Vec<String>,
    steps: Vec<Step>,
}

/// `GET /api/workflows`.
#[derive(Serialize, ToSchema)]
pub struct WorkflowList {
    workflows: Vec<Workflow>,
}
