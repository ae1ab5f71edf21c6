//! The bodies of cancel, replay and feedback as the OpenAPI document describes them
//! (document-only types).

#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CancelRequest {
    /// Why (kept on the action as `cancelReason`).
    reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayFilter {
    platform: Option<crate::schemas::Platform>,
    error_code: Option<crate::schemas::ErrorCode>,
    /// failed, cancelled, rejected or expired (default: all four).
    status: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkReplayRequest {
    filter: Option<ReplayFilter>,
    /// Only count (and list the first 20 ids).
    dry_run: Option<bool>,
    #[schema(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    matched: u64,
    dry_run: bool,
    /// A dry run: the first matching ids.
    ids: Option<Vec<String>>,
    /// The new actions' ids.
    replayed: Option<Vec<String>>,
}

/// The contract's `Feedback`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// success, failure or modified.
    outcome: String,
    #[schema(minimum = 1, maximum = 5)]
    execution_quality: u8,
    user_modifications: Option<Value>,
    /// At most 4 KiB.
    notes: Option<String>,
    #[schema(max_items = 20)]
    learning_points: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackReceipt {
    action_id: String,
    feedback_count: u64,
    feedback: Value,
}

#[derive(Serialize, ToSchema)]
pub struct RedriveRequest {
    #[schema(minimum = 1, maximum = 10000)]
    max: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RedriveAnswer {
    priority: crate::schemas::Priority,
    moved: u64,
}
