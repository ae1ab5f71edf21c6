//! `GET /api/actions/recent` on the recent index: newest first, day by day, the page's items
//! read by key, and every request bounded in window and in store calls. The recent index holds
//! the settled and held actions; those in flight come from the pending index
//! ([`super::in_flight`]) and are merged in by time.

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use baton_domain::StoreError;
use baton_domain::ports::{RecentPage, RecentQuery};
use chrono::Utc;
use std::collections::{HashMap, HashSet};

use super::in_flight::{self, InFlight, Keyed};
use super::{DynamoActionStore, classify, sortable};
use crate::codec::Item;
use crate::items::id_of;
use crate::tables::{IN_FLIGHT, attr, index, phase};

/// Query pages one `recent` request may spend counting, and listing.
pub const COUNT_PAGES: usize = 48;
pub const LIST_PAGES: usize = 16;
/// Index entries one request may look at to count: beyond, `total` is a lower bound
/// (`totalExact: false`), so a busy window costs what a quiet one does. Exact counts over any
/// window are the metrics' job (`GET /api/actions/metrics`).
pub const COUNT_ENTRIES: usize = 1_000;
/// Index entries one listing query looks at, at first and at most (it doubles while a filter
/// leaves it short).
const LIST_FIRST: usize = 25;
const LIST_MOST: usize = 1_000;

/// A filter expression on recent-index entries, with its names and values.
struct Filter {
    expr: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// How much earlier than its creation an action's ready time may read, its hosts' clocks
/// apart (an action is never ready before it is created).
const READY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

struct Budget {
    count_pages: usize,
    count_entries: usize,
    list_pages: usize,
}

impl DynamoActionStore {
    /// Newest first: the in-flight actions the query admits, merged with the settled and held
    /// ones of the recent index, day by day. The window is clamped to the retention period
    /// (nothing older is kept) and every request costs a bounded number of calls and entries
    /// read: the count stops after [`COUNT_ENTRIES`] entries of each part (or [`COUNT_PAGES`]
    /// pages) and then says it is a lower bound.
    pub(super) async fn read_recent(&self, q: &RecentQuery) -> Result<RecentPage, StoreError> {
        if let Some(user) = &q.user_id {
            return self.read_by_user(user, q).await;
        }
        let now = Utc::now();
        let floor = now - self.retention();
        let end = q.end.unwrap_or(now).min(now);
        let start = q.start.unwrap_or(floor).max(floor);
        if start > end {
            return Ok(RecentPage { exact: true, ..RecentPage::default() });
        }
        let lo = sortable(start);
        let hi = format!("{}#~", sortable(end));
        let flying = match in_flight::admits(&q.statuses) {
            true => self.in_flight((&lo, &hi), &sortable(start - READY_MARGIN), q).await?,
            false => InFlight { keyed: Vec::new(), complete: true },
        };
        let n = flying.keyed.len();
        let mut total = n as u64;
        let mut exact = flying.complete;
        // Nothing at `offset..offset + limit` of the merge lies outside these settled ones.
        let skipped = q.offset.saturating_sub(n);
        let take = q.limit.saturating_add(q.offset.min(n));
        let mut settled: Vec<Keyed> = Vec::new();
        if let Some(filter) = self.recent_filter(q) {
            let mut day = end.date_naive();
            let first_day = start.date_naive();
            let mut budget = Budget { count_pages: COUNT_PAGES, count_entries: COUNT_ENTRIES, list_pages: LIST_PAGES };
            let mut skip = skipped;
            while day >= first_day {
                let key = day.format("%Y-%m-%d").to_string();
                let (count, complete) = self.count_day(&key, (&lo, &hi), &filter, &mut budget).await?;
                total += count;
                exact &= complete;
                let want = take.saturating_sub(settled.len());
                if want > 0 && count > 0 {
                    if (skip as u64) >= count && complete {
                        skip -= count as usize;
                    } else {
                        let (mut entries, passed) =
                            self.list_day(&key, (&lo, &hi), &filter, skip, want, &mut budget).await?;
                        skip -= passed;
                        settled.append(&mut entries);
                    }
                }
                let Some(prev) = day.pred_opt() else { break };
                day = prev;
            }
        }
        let mut ids = in_flight::window(&flying.keyed, &settled, skipped, q.offset, q.limit);
        // One that settled between the two reads is in both: shown once.
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        let actions = self.get_many(&ids).await?;
        if !exact {
            // A lower bound at least covers what this page shows.
            total = total.max((q.offset + actions.len()) as u64);
        }
        Ok(RecentPage { actions, total, exact })
    }

    /// The filter on recent-index entries that `q` calls for; `None` when `q` admits no
    /// settled or held status. Entries with the in-flight phase (written by an earlier
    /// version) are never read: the pending index answers for those actions.
    fn recent_filter(&self, q: &RecentQuery) -> Option<Filter> {
        let mut parts = Vec::new();
        let mut names = HashMap::from([("#phase".to_owned(), attr::PHASE.to_owned())]);
        let mut values = HashMap::new();
        if let Some(p) = q.platform {
            parts.push("#platform = :platform".to_owned());
            names.insert("#platform".into(), "platform".into());
            values.insert(":platform".into(), AttributeValue::S(p.as_str().into()));
        }
        let mut phases: Vec<&str> = q.statuses.iter().map(|s| phase(*s)).filter(|p| *p != IN_FLIGHT).collect();
        phases.sort_unstable();
        phases.dedup();
        if phases.is_empty() {
            if !q.statuses.is_empty() {
                return None;
            }
            parts.push("#phase <> :in_flight".to_owned());
            values.insert(":in_flight".into(), AttributeValue::S(IN_FLIGHT.into()));
        } else {
            let keys: Vec<String> = (0..phases.len()).map(|i| format!(":phase{i}")).collect();
            for (k, p) in keys.iter().zip(&phases) {
                values.insert(k.clone(), AttributeValue::S((*p).into()));
            }
            parts.push(format!("#phase IN ({})", keys.join(", ")));
        }
        Some(Filter { expr: parts.join(" AND "), names, values })
    }

    /// A query of one day of the recent index, newest first, between `bounds` (sort keys).
    fn day_query(
        &self,
        day: &str,
        bounds: (&str, &str),
        filter: &Filter,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut names = filter.names.clone();
        let mut values = filter.values.clone();
        names.insert("#day".into(), attr::DAY.into());
        names.insert("#time".into(), attr::TIME.into());
        values.insert(":day".into(), AttributeValue::S(day.into()));
        values.insert(":lo".into(), AttributeValue::S(bounds.0.into()));
        values.insert(":hi".into(), AttributeValue::S(bounds.1.into()));
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index::RECENT)
            .key_condition_expression("#day = :day AND #time BETWEEN :lo AND :hi")
            .filter_expression(&filter.expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
    }

    /// How many actions of one day match, and whether the count is complete (the request's
    /// budget of pages may run out first).
    async fn count_day(
        &self,
        day: &str,
        bounds: (&str, &str),
        filter: &Filter,
        budget: &mut Budget,
    ) -> Result<(u64, bool), StoreError> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            if budget.count_pages == 0 || budget.count_entries == 0 {
                return Ok((count, false));
            }
            budget.count_pages -= 1;
            let resp = self
                .day_query(day, bounds, filter)
                .select(Select::Count)
                .limit(i32::try_from(budget.count_entries).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            count += resp.count().max(0) as u64;
            budget.count_entries = budget.count_entries.saturating_sub(resp.scanned_count().max(1) as usize);
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((count, true)),
            }
        }
    }

    /// Up to `take` matching entries of one day, newest first, after skipping `skip`; and how
    /// many were skipped. The index holds only keys, platform and phase: the page's items are
    /// read by key afterwards.
    async fn list_day(
        &self,
        day: &str,
        bounds: (&str, &str),
        filter: &Filter,
        skip: usize,
        take: usize,
        budget: &mut Budget,
    ) -> Result<(Vec<Keyed>, usize), StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        let mut skipped = 0;
        let mut page = LIST_FIRST;
        loop {
            if budget.list_pages == 0 {
                break;
            }
            budget.list_pages -= 1;
            let needed = (skip - skipped) + (take - entries.len());
            let limit = needed.clamp(page, LIST_MOST);
            page = (page * 2).min(LIST_MOST);
            let resp = self
                .day_query(day, bounds, filter)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for entry in resp.items() {
                let (Some(time), Some(id)) = (entry.get(attr::TIME).and_then(|v| v.as_s().ok()), id_of(entry)) else {
                    continue;
                };
                if skipped < skip {
                    skipped += 1;
                } else if entries.len() < take {
                    entries.push((time.clone(), id.clone()));
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() && entries.len() < take => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok((entries, skipped))
    }

    /// The actions with these ids, in this order (an id that vanished meanwhile is left out).
    pub(super) async fn get_many(&self, ids: &[String]) -> Result<Vec<baton_domain::model::Action>, StoreError> {
        crate::items::get_many(&self.client, &self.table, ids).await?.iter().map(Self::decode).collect()
    }
}
