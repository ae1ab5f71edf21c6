//! `GET /api/actions/recent` on the recent index: newest first, day by day, the page's items
//! read by key, and every request bounded in window and in store calls.

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use baton_domain::StoreError;
use baton_domain::model::{Action, Status};
use baton_domain::ports::{RecentPage, RecentQuery};
use chrono::Utc;
use std::collections::{HashMap, HashSet};

use super::{DynamoActionStore, classify, sortable};
use crate::codec::Item;
use crate::items::{id_of, ids_of};
use crate::tables::{IN_FLIGHT, attr, index, phase};

/// The statuses an in-flight entry's item must have, when `statuses` names some in-flight
/// statuses but not all three (the index keeps one phase for them); `None` when the index's
/// phase answers alone.
fn in_flight_check(statuses: &[Status]) -> Option<Vec<Status>> {
    let named: Vec<Status> = statuses.iter().copied().filter(|s| phase(*s) == IN_FLIGHT).collect();
    let all = [Status::Queued, Status::Executing, Status::Retrying];
    (!named.is_empty() && !all.iter().all(|s| named.contains(s))).then_some(named)
}

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

struct Budget {
    count_pages: usize,
    count_entries: usize,
    list_pages: usize,
}

impl DynamoActionStore {
    /// Newest first, day by day of the recent index. The window is clamped to the retention
    /// period (nothing older is kept) and every request costs a bounded number of calls and
    /// entries read: the count stops after [`COUNT_ENTRIES`] entries (or [`COUNT_PAGES`]
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
        let mut day = end.date_naive();
        let first_day = start.date_naive();
        let mut budget = Budget { count_pages: COUNT_PAGES, count_entries: COUNT_ENTRIES, list_pages: LIST_PAGES };
        let mut total = 0u64;
        let mut exact = true;
        let mut skip = q.offset;
        let mut actions = Vec::new();
        while day >= first_day {
            let key = day.format("%Y-%m-%d").to_string();
            let (count, complete) = self.count_day(&key, (&lo, &hi), q, &mut budget).await?;
            total += count;
            exact &= complete;
            let want = q.limit.saturating_sub(actions.len());
            if want > 0 && count > 0 {
                if (skip as u64) >= count && complete {
                    skip -= count as usize;
                } else {
                    let (mut items, skipped) = self.list_day(&key, (&lo, &hi), q, skip, want, &mut budget).await?;
                    skip -= skipped;
                    actions.append(&mut items);
                }
            }
            let Some(prev) = day.pred_opt() else { break };
            day = prev;
        }
        if !exact {
            // A lower bound at least covers what this page shows.
            total = total.max((q.offset + actions.len()) as u64);
        }
        Ok(RecentPage { actions, total, exact })
    }

    fn recent_filter(
        &self,
        q: &RecentQuery,
    ) -> (Option<String>, HashMap<String, String>, HashMap<String, AttributeValue>) {
        let mut parts = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        if let Some(p) = q.platform {
            parts.push("#platform = :platform".to_owned());
            names.insert("#platform".into(), "platform".into());
            values.insert(":platform".into(), AttributeValue::S(p.as_str().into()));
        }
        let mut phases: Vec<&str> = q.statuses.iter().map(|s| phase(*s)).collect();
        phases.sort_unstable();
        phases.dedup();
        if !phases.is_empty() {
            let keys: Vec<String> = (0..phases.len()).map(|i| format!(":phase{i}")).collect();
            for (k, p) in keys.iter().zip(&phases) {
                values.insert(k.clone(), AttributeValue::S((*p).into()));
            }
            parts.push(format!("#phase IN ({})", keys.join(", ")));
            names.insert("#phase".into(), attr::PHASE.into());
        }
        let expr = (!parts.is_empty()).then(|| parts.join(" AND "));
        (expr, names, values)
    }

    /// The ids of `entries` (already filtered by phase) that `q` keeps, in order. The index
    /// tells settled statuses apart but not in-flight ones: when the query names some of
    /// those but not all, an in-flight entry's status is read from its item.
    async fn matching(&self, entries: &[Item], q: &RecentQuery) -> Result<Vec<String>, StoreError> {
        let in_flight =
            |e: &&Item| e.get(attr::PHASE).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(IN_FLIGHT);
        let Some(wanted) = in_flight_check(&q.statuses) else { return Ok(ids_of(entries)) };
        let ask: Vec<Item> = entries.iter().filter(in_flight).cloned().collect();
        let keep: HashSet<String> = crate::items::get_many_of(&self.client, &self.table, &ids_of(&ask), &["status"])
            .await?
            .iter()
            .filter(|item| {
                item.get("status")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| Status::parse(s))
                    .is_some_and(|s| wanted.contains(&s))
            })
            .filter_map(|item| id_of(item).cloned())
            .collect();
        Ok(entries
            .iter()
            .filter(|e| !in_flight(e) || id_of(e).is_some_and(|id| keep.contains(id)))
            .filter_map(|e| id_of(e).cloned())
            .collect())
    }

    /// A query of one day of the recent index, newest first, between `bounds` (sort keys).
    fn day_query(
        &self,
        day: &str,
        bounds: (&str, &str),
        q: &RecentQuery,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (filter, mut names, mut values) = self.recent_filter(q);
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
            .set_filter_expression(filter)
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
        q: &RecentQuery,
        budget: &mut Budget,
    ) -> Result<(u64, bool), StoreError> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            if budget.count_pages == 0 || budget.count_entries == 0 {
                return Ok((count, false));
            }
            budget.count_pages -= 1;
            let checked = in_flight_check(&q.statuses).is_some();
            let resp = self
                .day_query(day, bounds, q)
                .select(if checked { Select::AllProjectedAttributes } else { Select::Count })
                .limit(i32::try_from(budget.count_entries).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            count +=
                if checked { self.matching(resp.items(), q).await?.len() as u64 } else { resp.count().max(0) as u64 };
            budget.count_entries = budget.count_entries.saturating_sub(resp.scanned_count().max(1) as usize);
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((count, true)),
            }
        }
    }

    /// Up to `take` matching actions of one day, newest first, after skipping `skip`; and how
    /// many were skipped. The index holds only keys, platform and phase: the page's items are
    /// read by key.
    async fn list_day(
        &self,
        day: &str,
        bounds: (&str, &str),
        q: &RecentQuery,
        skip: usize,
        take: usize,
        budget: &mut Budget,
    ) -> Result<(Vec<Action>, usize), StoreError> {
        let mut ids = Vec::new();
        let mut start: Option<Item> = None;
        let mut skipped = 0;
        let mut page = LIST_FIRST;
        loop {
            if budget.list_pages == 0 {
                break;
            }
            budget.list_pages -= 1;
            let needed = (skip - skipped) + (take - ids.len());
            let limit = needed.clamp(page, LIST_MOST);
            page = (page * 2).min(LIST_MOST);
            let resp = self
                .day_query(day, bounds, q)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for id in self.matching(resp.items(), q).await? {
                if skipped < skip {
                    skipped += 1;
                } else if ids.len() < take {
                    ids.push(id);
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() && ids.len() < take => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok((self.get_many(&ids).await?, skipped))
    }

    /// The actions with these ids, in this order (an id that vanished meanwhile is left out).
    pub(super) async fn get_many(&self, ids: &[String]) -> Result<Vec<Action>, StoreError> {
        crate::items::get_many(&self.client, &self.table, ids).await?.iter().map(Self::decode).collect()
    }
}
