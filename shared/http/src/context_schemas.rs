//! The context route's answer as the OpenAPI document describes it (document-only types).

#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextAction {
    id: String,
    #[serde(rename = "type")]
    action_type: String,
    platform: String,
    /// pending, executing, success or failed.
    status: String,
    timestamp: String,
    user_id: Option<String>,
    source: Option<String>,
    tags: Vec<String>,
    metadata: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCount {
    code: crate::schemas::ErrorCode,
    count: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackSummary {
    count: u64,
    avg_quality: Option<f64>,
    outcomes: BTreeMap<String, u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patterns {
    most_frequent_type: Option<String>,
    most_frequent_platform: Option<String>,
    /// Hours of the day (UTC), busiest first.
    peak_hours: Vec<u32>,
    avg_actions_per_day: f64,
    success_rate_by_type: BTreeMap<String, f64>,
    common_errors: Vec<ErrorCount>,
    feedback: FeedbackSummary,
}

#[derive(Serialize, ToSchema)]
pub struct Window {
    start: String,
    end: String,
}

#[derive(Serialize, ToSchema)]
pub struct ContextAnswer {
    actions: Vec<ContextAction>,
    patterns: Patterns,
    window: Window,
    /// More matched than one request reads (1,000): the patterns are of the newest.
    truncated: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overall {
    total_actions: u64,
    success_rate: f64,
    avg_execution_time: u64,
    avg_queue_time: u64,
    retry_rate: f64,
    fallback_rate: f64,
    p50_execution_time: u64,
    p95_execution_time: u64,
    p99_execution_time: u64,
    feedback: FeedbackMetrics,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackMetrics {
    count: u64,
    avg_quality: Option<f64>,
    avg_quality_by_type: BTreeMap<String, f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformMetrics {
    total: u64,
    success_rate: f64,
    avg_execution_time: u64,
    p95_execution_time: u64,
    avg_quality: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelinePoint {
    timestamp: String,
    actions_per_minute: f64,
    success_rate: f64,
}

/// `GET /api/actions/metrics`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsAnswer {
    /// 1h, 6h, 24h or 7d.
    time_window: String,
    metrics: Overall,
    by_platform: BTreeMap<String, PlatformMetrics>,
    timeline: Vec<TimelinePoint>,
}
