//! `GET /api/actions/recent`: the query's parameters checked field by field, the store's page,
//! and each entry in the contract's shape.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_domain::FieldError;
use baton_domain::events::timestamp;
use baton_domain::model::{Action, Platform, Status};
use baton_domain::ports::RecentQuery;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::AppState;
use crate::error::ApiError;
use crate::query::QueryPairs;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// The deepest page `recent` serves; past it, narrow the window instead.
pub const MAX_OFFSET: usize = 10_000;

pub(crate) fn parse_time(field: &str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let t = if end_of_day { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
        if let Some(t) = t {
            return Ok(t.and_utc());
        }
    }
    Err(FieldError::new(field, "must be an ISO 8601 timestamp or date"))
}

/// The contract's status words, and Baton's exact states, as filters.
fn statuses_for(word: &str) -> Option<Vec<Status>> {
    Some(match word {
        "pending" => vec![Status::PendingApproval, Status::Queued, Status::Retrying],
        "failed" => vec![Status::Failed, Status::Cancelled, Status::Rejected, Status::Expired],
        other => vec![Status::parse(other)?],
    })
}

/// Parses the query of `GET /api/actions/recent`. A parameter given twice must say the same
/// thing (`status` values are merged); repeated status values count once.
pub fn parse_recent_query(params: &[(String, String)]) -> Result<RecentQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut q = RecentQuery { limit: DEFAULT_LIMIT, ..RecentQuery::default() };
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (key, value) in params {
        if key != "status"
            && let Some(before) = seen.insert(key.as_str(), value.as_str())
            && before != value
        {
            errors.push(FieldError::new(format!("query.{key}"), "given twice with different values"));
            continue;
        }
        let field = format!("query.{key}");
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new(field, format!("must be a whole number from 1 to {MAX_LIMIT}"))),
            },
            "offset" => match value.parse::<usize>() {
                Ok(n) if n <= MAX_OFFSET => q.offset = n,
                _ => errors.push(FieldError::new(
                    field,
                    format!("must be a whole number from 0 to {MAX_OFFSET}; narrow startDate/endDate to go deeper"),
                )),
            },
            "platform" => match Platform::parse(value) {
                Some(p) => q.platform = Some(p),
                None => errors.push(FieldError::new(
                    field,
                    format!("'{value}' is not allowed; allowed: {}", Platform::allowed()),
                )),
            },
            "status" => {
                for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    match statuses_for(word) {
                        Some(s) => {
                            for status in s {
                                if !q.statuses.contains(&status) {
                                    q.statuses.push(status);
                                }
                            }
                        }
                        None => errors.push(FieldError::new(
                            field.clone(),
                            format!("'{word}' is not allowed; allowed: pending, executing, success, failed, or a state ({})", Status::allowed()),
                        )),
                    }
                }
            }
            "startDate" => match parse_time(&field, value, false) {
                Ok(t) => q.start = Some(t),
                Err(e) => errors.push(e),
            },
            "endDate" => match parse_time(&field, value, true) {
                Ok(t) => q.end = Some(t),
                Err(e) => errors.push(e),
            },
            _ => errors.push(FieldError::new(
                field,
                "unknown parameter; allowed: limit, offset, platform, status, startDate, endDate",
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

/// One entry of `GET /api/actions/recent`, as the contract shapes it; `state` adds Baton's
/// exact lifecycle state to the contract's coarse `status`.
fn recent_entry(a: &Action) -> Value {
    let mut v = json!({
        "id": a.id,
        "type": a.action_type,
        "platform": a.platform,
        "priority": a.priority,
        "status": a.status.contract_view(),
        "state": a.status,
        "retries": a.retries,
        "timestamp": timestamp(a.created_at),
    });
    let Some(obj) = v.as_object_mut() else { return v };
    if let Some(r) = &a.result {
        obj.insert("result".into(), r.clone());
    }
    if let Some(e) = &a.error {
        obj.insert("error".into(), json!(e.message));
        obj.insert("errorCode".into(), json!(e.code));
    }
    if let Some(t) = a.execution_time {
        obj.insert("executionTime".into(), json!(t));
    }
    if let Some(t) = a.queue_time {
        obj.insert("queueTime".into(), json!(t));
    }
    v
}

/// The query of `GET /api/actions/recent`, as the document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RecentParams {
    /// 1 to 500 (default 50).
    limit: Option<u32>,
    /// 0 to 10000.
    offset: Option<u32>,
    platform: Option<crate::schemas::Platform>,
    /// pending, executing, success, failed, or an exact state; comma-separated for several.
    status: Option<String>,
    /// ISO 8601 timestamp or date; at most the retention window back.
    #[param(rename = "startDate")]
    start_date: Option<String>,
    #[param(rename = "endDate")]
    end_date: Option<String>,
}

/// `GET /api/actions/recent`.
#[utoipa::path(get, path = "/api/actions/recent", tag = "actions", operation_id = "recentActions",
    params(RecentParams),
    responses((status = 200, description = "Newest first", body = crate::schemas::RecentPage)))]
pub async fn recent(State(state): State<AppState>, QueryPairs(params): QueryPairs) -> Result<Response, ApiError> {
    let q = parse_recent_query(&params).map_err(ApiError::invalid)?;
    let page = state.store.recent(&q).await.map_err(baton_domain::DomainError::from)?;
    let mut body = json!({
        "actions": page.actions.iter().map(recent_entry).collect::<Vec<_>>(),
        "total": page.total,
        "limit": q.limit,
        "offset": q.offset,
    });
    if !page.exact {
        // A very busy window: counting every match would cost too much; this is a lower bound.
        body["totalExact"] = json!(false);
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn recent_query_defaults_and_bounds() {
        let q = parse_recent_query(&params(&[])).expect("defaults");
        assert_eq!((q.limit, q.offset), (50, 0));
        let err = parse_recent_query(&params(&[("limit", "501")])).expect_err("too many");
        assert_eq!(err[0].field, "query.limit");
        let err = parse_recent_query(&params(&[("platform", "jira"), ("status", "meh")])).expect_err("bad");
        assert_eq!(err.len(), 2);
        let err = parse_recent_query(&params(&[("offset", "10001")])).expect_err("too deep");
        assert_eq!(err[0].field, "query.offset");
        assert!(parse_recent_query(&params(&[("offset", "10000")])).is_ok());
        let err = parse_recent_query(&params(&[("platform", "slack"), ("platform", "notion")])).expect_err("two");
        assert_eq!(err[0].field, "query.platform");
    }

    #[test]
    fn repeated_status_values_count_once() {
        let q =
            parse_recent_query(&params(&[("status", "success,success"), ("status", "success"), ("status", "failed")]))
                .expect("valid");
        assert_eq!(
            q.statuses,
            vec![Status::Success, Status::Failed, Status::Cancelled, Status::Rejected, Status::Expired]
        );
    }

    #[test]
    fn status_words_expand_to_states() {
        let q = parse_recent_query(&params(&[("status", "pending")])).expect("valid");
        assert_eq!(q.statuses, vec![Status::PendingApproval, Status::Queued, Status::Retrying]);
        let q = parse_recent_query(&params(&[("status", "success,retrying")])).expect("valid");
        assert_eq!(q.statuses, vec![Status::Success, Status::Retrying]);
    }

    #[test]
    fn dates_accept_timestamps_and_whole_days() {
        let q = parse_recent_query(&params(&[("startDate", "2025-10-17"), ("endDate", "2025-10-17")])).expect("valid");
        assert!(q.start < q.end);
        let err =
            parse_recent_query(&params(&[("startDate", "2025-10-18"), ("endDate", "2025-10-17")])).expect_err("order");
        assert_eq!(err[0].field, "query.startDate");
    }
}
