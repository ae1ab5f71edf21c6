//! The approval routes' bodies as the OpenAPI document describes them (document-only types:
//! the routes build their JSON from the domain's types).

#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::schemas::{NewAction, State};

/// `action:requires_approval`, and the body of `POST /api/approvals`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    action: NewAction,
    /// Why approval is needed (at most 2,000 characters).
    reason: String,
    context: Option<Value>,
    /// Slack user ids allowed to decide (`U` or `W`, then capital letters and digits).
    #[schema(max_items = 50)]
    approvers: Option<Vec<String>>,
    /// How long the approval waits, ms: 1 s to 7 days (default 1 h).
    #[schema(minimum = 1000, maximum = 604800000)]
    timeout: Option<u64>,
    /// How many distinct approvers must approve (default 1; at most the number of approvers).
    #[schema(minimum = 1)]
    required_approvals: Option<u32>,
    /// The Slack channel of the request (default `BATON_APPROVAL_CHANNEL`).
    channel: Option<String>,
    correlation_id: Option<String>,
}

/// The answer to an accepted approval request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldReceipt {
    action_id: String,
    approval_id: String,
    /// `pending_approval` (a replayed request: the action's status now).
    status: State,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

/// One person's decision.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    user_id: String,
    /// `approve` or `reject`.
    decision: String,
    reason: Option<String>,
    /// `rest` or `slack`.
    via: String,
    at: String,
    /// The JSON merge patch this decision applied to the action's data.
    patch: Option<Value>,
    /// The digest of the data this decision saw.
    digest: String,
}

/// An approval with its decisions, preview and action.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    id: String,
    action_id: String,
    /// The action as it runs if approved (its data carries every approved edit); its `status`
    /// is the action's state now.
    action: Value,
    reason: String,
    context: Option<Value>,
    approvers: Vec<String>,
    required_approvals: u32,
    requested_by: Option<String>,
    channel: Option<String>,
    slack_channel_id: Option<String>,
    slack_message_ts: Option<String>,
    status: ApprovalStatus,
    decisions: Vec<Decision>,
    /// The exact platform request(s) the action sends (secrets redacted).
    preview: Value,
    /// SHA-256 of the action's data: what executes must hash to this.
    digest: String,
    announced: bool,
    settled: bool,
    created_at: String,
    updated_at: String,
    expires_at: String,
    resolved_at: Option<String>,
    resolved_by: Option<String>,
    resolution_reason: Option<String>,
    version: u64,
}

/// `GET /api/approvals`.
#[derive(Serialize, ToSchema)]
pub struct ApprovalList {
    approvals: Vec<Approval>,
}

/// `POST /api/approvals/{id}/approve`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveRequest {
    /// The approver's Slack user id.
    user_id: String,
    reason: Option<String>,
    /// A JSON merge patch (RFC 7386) of the action's data: validated again, and what runs.
    patch: Option<Value>,
}

/// `POST /api/approvals/{id}/reject`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectRequest {
    user_id: String,
    /// Required.
    reason: String,
}

/// `POST /api/approvals/{id}/cancel`: the request is withdrawn.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    user_id: Option<String>,
    reason: Option<String>,
}

/// A counted approval.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counted {
    user_id: String,
    at: String,
}

/// The answer to an approve: `approved` (the contract's answer), or `pending` while the quorum
/// is not met, with the approvals so far.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveAnswer {
    /// `approved` or `pending`.
    status: String,
    approval_id: String,
    action_id: String,
    /// Who completed the quorum (when `approved`).
    approved_by: Option<String>,
    approvals: Vec<Counted>,
    required_approvals: u32,
    timestamp: String,
}

/// The answer to a reject (the contract's).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RejectAnswer {
    /// `rejected`.
    status: String,
    approval_id: String,
    action_id: String,
    rejected_by: String,
    reason: String,
    timestamp: String,
}

/// The answer to an accepting route: queued, or held for approval.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Accepted {
    Queued(crate::schemas::Receipt),
    Held(HoldReceipt),
    /// A started workflow (replayed: the original as it is now, which carries these fields too).
    Started(crate::workflow_schemas::WorkflowReceipt),
}

/// Slack's interaction callback, as a form.
#[derive(Serialize, ToSchema)]
pub struct SlackInteraction {
    /// The interaction as JSON (`type`: `block_actions`, `user`, `actions`).
    payload: String,
}
