//! `DynamoActionStore`: the actions table on DynamoDB (or the embedded emulator, same code).
//!
//! Every transition is a conditional write pinned to the version of the image it replaces,
//! so two workers can never both move an action out of the same state. Every read path is a
//! GetItem or a Query on an index: no Scan.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};
use baton_domain::StoreError;
use baton_domain::model::{Action, Priority, Status};
use baton_domain::ports::{ActionStore, Page, PendingEntry, RecentPage, RecentQuery};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use std::collections::HashMap;
use std::time::Duration;

use crate::codec::{Item, decode, encode};
use crate::tables::{attr, index};

/// Human-readable text of an SDK error with its whole source chain (for logs, never clients).
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(err: &SdkError<E, R>) -> String {
    format!("{}", DisplayErrorContext(err))
}

/// The one place DynamoDB failures are classified.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = describe(&err);
    match err.code() {
        Some("ConditionalCheckFailedException" | "TransactionConflictException") => StoreError::Conflict,
        Some(
            "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ThrottlingException"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "LimitExceededException",
        ) => StoreError::Unavailable(text),
        Some(_) => StoreError::Internal(text),
        // No service answer at all: connection refused, timeout, dispatch failure.
        None => StoreError::Unavailable(text),
    }
}

/// Query pages one `recent` request may spend counting, and listing.
pub const COUNT_PAGES: usize = 48;
pub const LIST_PAGES: usize = 16;

struct Budget {
    count_pages: usize,
    list_pages: usize,
}

fn sortable(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Clone)]
pub struct DynamoActionStore {
    client: Client,
    table: String,
    /// How long finished actions are kept (TTL) and how far back `recent` looks by default.
    retention: Duration,
}

impl DynamoActionStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self { client, table: table.into(), retention }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn retention(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(30))
    }

    /// The stored form: the action's fields plus the index keys its state calls for.
    pub fn encode(&self, a: &Action) -> Result<Item, StoreError> {
        let mut item = encode(a)?;
        item.insert(attr::DAY.into(), AttributeValue::S(a.created_at.format("%Y-%m-%d").to_string()));
        item.insert(attr::TIME.into(), AttributeValue::S(format!("{}#{}", sortable(a.created_at), a.id)));
        // Unfinished work, and a failure whose fallback is not yet known to be submitted.
        let pending = (!a.status.is_terminal() && a.status != Status::PendingApproval) || a.fallback_pending;
        if pending {
            item.insert(attr::PENDING_PRIORITY.into(), AttributeValue::S(a.priority.as_str().into()));
            item.insert(attr::PENDING_AT.into(), AttributeValue::S(format!("{}#{}", sortable(a.ready_at()), a.id)));
        }
        if a.status.is_terminal() {
            let done = a.completed_at.unwrap_or(a.updated_at);
            let expires = (done + self.retention()).timestamp();
            item.insert(attr::EXPIRES_AT.into(), AttributeValue::N(expires.to_string()));
        }
        Ok(item)
    }

    pub fn decode(item: &Item) -> Result<Action, StoreError> {
        decode(item, "action item")
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
        if !q.statuses.is_empty() {
            let keys: Vec<String> = (0..q.statuses.len()).map(|i| format!(":status{i}")).collect();
            for (k, s) in keys.iter().zip(&q.statuses) {
                values.insert(k.clone(), AttributeValue::S(s.as_str().into()));
            }
            parts.push(format!("#status IN ({})", keys.join(", ")));
            names.insert("#status".into(), "status".into());
        }
        let expr = (!parts.is_empty()).then(|| parts.join(" AND "));
        (expr, names, values)
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
            if budget.count_pages == 0 {
                return Ok((count, false));
            }
            budget.count_pages -= 1;
            let resp = self
                .day_query(day, bounds, q)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            count += resp.count().max(0) as u64;
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((count, true)),
            }
        }
    }

    /// Up to `take` matching actions of one day, newest first, after skipping `skip`; and how
    /// many were skipped. The index holds only keys, platform and status: the page's items are
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
        loop {
            if budget.list_pages == 0 {
                break;
            }
            budget.list_pages -= 1;
            let resp =
                self.day_query(day, bounds, q).set_exclusive_start_key(start.take()).send().await.map_err(classify)?;
            for item in resp.items() {
                if skipped < skip {
                    skipped += 1;
                } else if ids.len() < take
                    && let Some(id) = item.get("id").and_then(|v| v.as_s().ok())
                {
                    ids.push(id.clone());
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() && ids.len() < take => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok((self.get_many(&ids).await?, skipped))
    }

    /// The actions with these ids, in this order (BatchGetItem, 100 keys at a time, until
    /// nothing is left unprocessed). An id that vanished meanwhile (TTL) is left out.
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Action>, StoreError> {
        let mut found: HashMap<String, Action> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> =
                chunk.iter().map(|id| HashMap::from([("id".to_owned(), AttributeValue::S(id.clone()))])).collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Internal(e.to_string()))?,
            );
            while let Some(wanted) = request.take() {
                let resp =
                    self.client.batch_get_item().request_items(&self.table, wanted).send().await.map_err(classify)?;
                for item in resp.responses().and_then(|r| r.get(&self.table)).map(Vec::as_slice).unwrap_or_default() {
                    let action = Self::decode(item)?;
                    found.insert(action.id.clone(), action);
                }
                request =
                    resp.unprocessed_keys().and_then(|u| u.get(&self.table)).filter(|k| !k.keys().is_empty()).cloned();
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

#[async_trait]
impl ActionStore for DynamoActionStore {
    async fn insert(&self, action: &Action) -> Result<(), StoreError> {
        let item = self.encode(action)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(classify)
        {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other.map(|_| ()),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Action>, StoreError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.item().map(Self::decode).transpose()
    }

    async fn replace(&self, old: &Action, new: &Action) -> Result<(), StoreError> {
        let item = self.encode(new)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", AttributeValue::N(old.version.to_string()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Newest first, day by day of the recent index. The window is clamped to the retention
    /// period (nothing older is kept) and every request costs a bounded number of calls: the
    /// count of a very busy window stops at [`COUNT_PAGES`] pages and says it is a lower bound.
    async fn recent(&self, q: &RecentQuery) -> Result<RecentPage, StoreError> {
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
        let mut budget = Budget { count_pages: COUNT_PAGES, list_pages: LIST_PAGES };
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
        Ok(RecentPage { actions, total, exact })
    }

    async fn mark_redriven(
        &self,
        id: &str,
        seen: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.into()))
            .update_expression("SET #r = :now")
            .expression_attribute_names("#r", "redrivenAt")
            .expression_attribute_values(":now", crate::codec::attribute(&now)?);
        req = match seen {
            None => req.condition_expression("attribute_exists(id) AND attribute_not_exists(#r)"),
            Some(t) => req
                .condition_expression("attribute_exists(id) AND #r = :seen")
                .expression_attribute_values(":seen", crate::codec::attribute(&t)?),
        };
        match req.send().await.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn pending(
        &self,
        priority: Priority,
        limit: usize,
        after: Option<String>,
    ) -> Result<Page<PendingEntry>, StoreError> {
        let start = match after {
            Some(cursor) => {
                let keys: HashMap<String, String> =
                    serde_json::from_str(&cursor).map_err(|_| StoreError::Internal("bad pending cursor".into()))?;
                Some(keys.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect::<Item>())
            }
            None => None,
        };
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::PENDING)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attr::PENDING_PRIORITY)
            .expression_attribute_values(":p", AttributeValue::S(priority.as_str().into()))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let items = resp
            .items()
            .iter()
            .map(|item| decode::<PendingEntry>(item, "pending entry"))
            .collect::<Result<Vec<_>, _>>()?;
        let next = match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => {
                let plain: HashMap<&str, &str> =
                    k.iter().filter_map(|(name, v)| v.as_s().ok().map(|s| (name.as_str(), s.as_str()))).collect();
                Some(serde_json::to_string(&plain).map_err(|e| StoreError::Internal(e.to_string()))?)
            }
            _ => None,
        };
        Ok(Page { items, next })
    }
}
