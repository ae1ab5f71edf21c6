//! What a history of actions says about its user: the contract's `patterns` (most frequent
//! type and platform, peak hours, actions per day) and what the reasoning engine needs to
//! learn (success rate by type, common errors, feedback).
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::error::ErrorCode;
use crate::model::{Action, FeedbackOutcome, Status};

/// How many peak hours and common errors are listed.
pub const TOP: usize = 3;
pub const TOP_ERRORS: usize = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCount {
    pub code: ErrorCode,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackSummary {
    pub count: u64,
    /// Mean `executionQuality`; `None` without feedback.
    pub avg_quality: Option<f64>,
    /// Count per outcome (`success`, `failure`, `modified`).
    pub outcomes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patterns {
    pub most_frequent_type: Option<String>,
    pub most_frequent_platform: Option<String>,
    /// Hours of the day (UTC, 0–23) with the most actions, busiest first.
    pub peak_hours: Vec<u32>,
    pub avg_actions_per_day: f64,
    /// Per type: successes over finished actions (0–1).
    pub success_rate_by_type: BTreeMap<String, f64>,
    pub common_errors: Vec<ErrorCount>,
    pub feedback: FeedbackSummary,
}

/// The key seen most often; ties go to the first in order.
fn mode(counts: &HashMap<&str, u64>) -> Option<String> {
    let mut all: Vec<(&&str, &u64)> = counts.iter().collect();
    all.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    all.first().map(|(k, _)| (**k).to_owned())
}

/// The patterns of `actions` seen over the window `start..end`.
pub fn patterns(actions: &[Action], start: DateTime<Utc>, end: DateTime<Utc>) -> Patterns {
    let mut types: HashMap<&str, u64> = HashMap::new();
    let mut platforms: HashMap<&str, u64> = HashMap::new();
    let mut hours = [0u64; 24];
    let mut finished: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut errors: HashMap<ErrorCode, u64> = HashMap::new();
    let mut feedback = FeedbackSummary::default();
    let mut quality = 0u64;
    for a in actions {
        *types.entry(a.action_type.as_str()).or_default() += 1;
        *platforms.entry(a.platform.as_str()).or_default() += 1;
        hours[a.created_at.hour() as usize] += 1;
        if matches!(a.status, Status::Success | Status::Failed) {
            let e = finished.entry(a.action_type.to_string()).or_default();
            e.1 += 1;
            if a.status == Status::Success {
                e.0 += 1;
            }
        }
        if a.status == Status::Failed
            && let Some(err) = &a.error
        {
            *errors.entry(err.code).or_default() += 1;
        }
        for f in &a.feedback {
            feedback.count += 1;
            quality += u64::from(f.execution_quality);
            let word = match f.outcome {
                FeedbackOutcome::Success => "success",
                FeedbackOutcome::Failure => "failure",
                FeedbackOutcome::Modified => "modified",
            };
            *feedback.outcomes.entry(word.to_owned()).or_default() += 1;
        }
    }
    feedback.avg_quality = (feedback.count > 0).then(|| quality as f64 / feedback.count as f64);
    let mut peak: Vec<u32> = (0..24u32).filter(|h| hours[*h as usize] > 0).collect();
    peak.sort_by(|a, b| hours[*b as usize].cmp(&hours[*a as usize]).then(a.cmp(b)));
    peak.truncate(TOP);
    let mut common: Vec<ErrorCount> = errors.into_iter().map(|(code, count)| ErrorCount { code, count }).collect();
    common.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.as_str().cmp(b.code.as_str())));
    common.truncate(TOP_ERRORS);
    let days = ((end - start).num_seconds() as f64 / 86_400.0).max(1.0);
    Patterns {
        most_frequent_type: mode(&types),
        most_frequent_platform: mode(&platforms),
        peak_hours: peak,
        avg_actions_per_day: (actions.len() as f64 / days * 100.0).round() / 100.0,
        success_rate_by_type: finished.into_iter().map(|(t, (ok, all))| (t, ok as f64 / all as f64)).collect(),
        common_errors: common,
        feedback,
    }
}
