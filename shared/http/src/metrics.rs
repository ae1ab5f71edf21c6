//! `GET /api/actions/metrics`: the dashboard's numbers for a window.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::metrics::TimeWindow;
use baton_domain::model::Platform;

use crate::AppState;
use crate::error::ApiError;
use crate::query::QueryPairs;

/// The query of `GET /api/actions/metrics`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MetricsParams {
    /// `1h` (a point a minute), `6h` (5 min), `24h` (15 min, the default) or `7d` (1 h).
    time_window: Option<String>,
    /// One platform's numbers only.
    platform: Option<String>,
}

fn parse(params: &[(String, String)]) -> Result<(TimeWindow, Option<Platform>), Vec<FieldError>> {
    let (mut window, mut platform, mut errors) = (TimeWindow::H24, None, Vec::new());
    for (key, value) in params {
        match key.as_str() {
            "timeWindow" => match TimeWindow::parse(value) {
                Some(w) => window = w,
                None => errors.push(FieldError::new("query.timeWindow", format!("allowed: {}", TimeWindow::ALLOWED))),
            },
            "platform" => match Platform::parse(value) {
                Some(p) => platform = Some(p),
                None => errors.push(FieldError::new("query.platform", format!("allowed: {}", Platform::allowed()))),
            },
            other => errors
                .push(FieldError::new(format!("query.{other}"), "unknown parameter; allowed: timeWindow, platform")),
        }
    }
    if errors.is_empty() { Ok((window, platform)) } else { Err(errors) }
}

/// `GET /api/actions/metrics`.
#[utoipa::path(get, path = "/api/actions/metrics", tag = "actions", operation_id = "actionMetrics",
    description = "Totals, rates (0–1), mean and p50/p95/p99 execution times, per platform, and a timeline \
for the window, from per-minute (per-hour for `7d`) counters.",
    params(MetricsParams),
    responses(
        (status = 200, description = "The window's metrics", body = crate::context_schemas::MetricsAnswer),
        (status = 400, description = "An unknown window or platform: VALIDATION_ERROR listing the allowed values", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn metrics(State(state): State<AppState>, QueryPairs(params): QueryPairs) -> Result<Response, ApiError> {
    let (window, platform) = parse(&params).map_err(ApiError::invalid)?;
    Ok(Json(state.metrics.answer(window, platform).await?).into_response())
}
