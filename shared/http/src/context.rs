//! `GET /api/context/actions`: the history the context aggregator learns from, with its
//! patterns.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::usecases::history::{DEFAULT_LIMIT, HistoryQuery, MAX_READ};
use std::collections::HashMap;

use crate::AppState;
use crate::error::ApiError;
use crate::query::QueryPairs;
use crate::recent::parse_time;

/// The query of `GET /api/context/actions`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ContextParams {
    /// 1 to 1000 (default 100).
    limit: Option<u32>,
    /// ISO 8601 (default: 30 days before `endDate`; never before the retention window).
    start_date: Option<String>,
    /// ISO 8601 (default: now).
    end_date: Option<String>,
    /// One user's actions (the by-user index).
    user_id: Option<String>,
    source: Option<String>,
    /// Comma-separated: an action matches when it has all of them.
    tags: Option<String>,
}

fn parse(params: &[(String, String)]) -> Result<HistoryQuery, Vec<FieldError>> {
    let mut q = HistoryQuery { limit: DEFAULT_LIMIT, ..HistoryQuery::default() };
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (key, value) in params {
        let field = format!("query.{key}");
        if let Some(before) = seen.insert(key.as_str(), value.as_str())
            && before != value
        {
            errors.push(FieldError::new(field, "given twice with different values"));
            continue;
        }
        let text = || (!value.is_empty() && value.len() <= 255).then(|| value.clone());
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_READ).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new(field, format!("must be a whole number from 1 to {MAX_READ}"))),
            },
            "startDate" => match parse_time(&field, value, false) {
                Ok(t) => q.start = Some(t),
                Err(e) => errors.push(e),
            },
            "endDate" => match parse_time(&field, value, true) {
                Ok(t) => q.end = Some(t),
                Err(e) => errors.push(e),
            },
            "userId" | "source" => match text() {
                Some(v) if key == "userId" => q.user_id = Some(v),
                Some(v) => q.source = Some(v),
                None => errors.push(FieldError::new(field, "must be 1 to 255 characters")),
            },
            "tags" => q.tags = value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            other => errors.push(FieldError::new(
                format!("query.{other}"),
                "unknown parameter; allowed: limit, startDate, endDate, userId, source, tags",
            )),
        }
    }
    if let (Some(s), Some(e)) = (q.start, q.end)
        && s > e
    {
        errors.push(FieldError::new("query.startDate", "must not be after endDate"));
    }
    if errors.is_empty() { Ok(q) } else { Err(errors) }
}

/// `GET /api/context/actions`.
#[utoipa::path(get, path = "/api/context/actions", tag = "context", operation_id = "contextActions",
    description = "The actions of a window (default the last 30 days, within the retention), newest first, \
with the patterns they show: the contract's `mostFrequentType`, `mostFrequentPlatform`, `peakHours`, \
`avgActionsPerDay`, plus `successRateByType`, `commonErrors` and `feedback`.",
    params(ContextParams),
    responses((status = 200, description = "The history and its patterns", body = crate::context_schemas::ContextAnswer)))]
pub async fn actions(State(state): State<AppState>, QueryPairs(params): QueryPairs) -> Result<Response, ApiError> {
    let q = parse(&params).map_err(ApiError::invalid)?;
    Ok(Json(state.history.actions(&q).await?).into_response())
}
