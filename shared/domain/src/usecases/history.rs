//! `History`: the context aggregator's view of what happened — `GET /api/context/actions` —
//! the actions of a window (one user's by the by-user index, else by day) filtered by source
//! and tags, with the patterns they show.
//!
//! Must not import any adapter crate.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use crate::error::DomainError;
use crate::events::{metadata, timestamp};
use crate::model::Action;
use crate::patterns::{Patterns, patterns};
use crate::ports::{ActionStore, Clock, RecentQuery};

/// The window when none is asked for.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;
/// The most actions one request reads (the patterns are of these).
pub const MAX_READ: usize = 1_000;
pub const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    pub limit: usize,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub user_id: Option<String>,
    pub source: Option<String>,
    /// An action matches when it has all of them.
    pub tags: Vec<String>,
}

/// The contract's entry of `actions[]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: String,
    pub platform: String,
    /// The contract's view: `pending`, `executing`, `success` or `failed`.
    pub status: &'static str,
    pub timestamp: String,
    pub user_id: Option<String>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryAnswer {
    pub actions: Vec<HistoryEntry>,
    pub patterns: Patterns,
    /// The window read (after defaults and the retention clamp).
    pub window: Window,
    /// More actions matched than one request reads: the patterns are of the newest.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

#[derive(Clone)]
pub struct History {
    pub store: Arc<dyn ActionStore>,
    pub clock: Arc<dyn Clock>,
    /// Nothing older is kept: the window never reaches further back.
    pub retention: Duration,
}

fn entry(a: &Action) -> HistoryEntry {
    HistoryEntry {
        id: a.id.clone(),
        action_type: a.action_type.to_string(),
        platform: a.platform.to_string(),
        status: a.status.contract_view(),
        timestamp: timestamp(a.created_at),
        user_id: a.user_id.clone(),
        source: a.source.clone(),
        tags: a.tags.clone(),
        metadata: metadata(a),
    }
}

impl History {
    pub async fn actions(&self, q: &HistoryQuery) -> Result<HistoryAnswer, DomainError> {
        let now = self.clock.now();
        let retention = ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(DEFAULT_WINDOW_DAYS));
        let floor = now - retention;
        let end = q.end.unwrap_or(now).min(now);
        let start = q.start.unwrap_or(end - ChronoDuration::days(DEFAULT_WINDOW_DAYS)).max(floor);
        let page = self
            .store
            .recent(&RecentQuery {
                limit: MAX_READ,
                offset: 0,
                platform: None,
                statuses: Vec::new(),
                start: Some(start),
                end: Some(end),
                user_id: q.user_id.clone(),
            })
            .await?;
        let truncated = page.total > page.actions.len() as u64;
        let matching: Vec<Action> = page
            .actions
            .into_iter()
            .filter(|a| q.source.is_none() || a.source == q.source)
            .filter(|a| q.tags.iter().all(|t| a.tags.contains(t)))
            .collect();
        let limit = if q.limit == 0 { DEFAULT_LIMIT } else { q.limit };
        Ok(HistoryAnswer {
            actions: matching.iter().take(limit).map(entry).collect(),
            patterns: patterns(&matching, start, end),
            window: Window { start: timestamp(start), end: timestamp(end) },
            truncated,
        })
    }
}
