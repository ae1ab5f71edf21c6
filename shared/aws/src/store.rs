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

use crate::codec::{Item, from_item, to_item};
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
        let value = serde_json::to_value(a).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut item = to_item(&value);
        item.insert(attr::DAY.into(), AttributeValue::S(a.created_at.format("%Y-%m-%d").to_string()));
        item.insert(attr::TIME.into(), AttributeValue::S(format!("{}#{}", sortable(a.created_at), a.id)));
        let pending = !a.status.is_terminal() && a.status != Status::PendingApproval;
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
        let value = from_item(item).map_err(StoreError::Internal)?;
        serde_json::from_value(value).map_err(|e| StoreError::Internal(format!("malformed action item: {e}")))
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

    /// How many actions of one day match.
    async fn count_day(&self, day: &str, bounds: (&str, &str), q: &RecentQuery) -> Result<u64, StoreError> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
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
                _ => return Ok(count),
            }
        }
    }

    /// Up to `take` matching actions of one day, newest first, after skipping `skip`. The
    /// index holds only keys, platform and status: the page's items are read by key.
    async fn list_day(
        &self,
        day: &str,
        bounds: (&str, &str),
        q: &RecentQuery,
        mut skip: usize,
        take: usize,
    ) -> Result<Vec<Action>, StoreError> {
        let mut ids = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp =
                self.day_query(day, bounds, q).set_exclusive_start_key(start.take()).send().await.map_err(classify)?;
            for item in resp.items() {
                if skip > 0 {
                    skip -= 1;
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
        self.get_many(&ids).await
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

    async fn recent(&self, q: &RecentQuery) -> Result<RecentPage, StoreError> {
        let end = q.end.unwrap_or_else(Utc::now);
        let start = q.start.unwrap_or(end - self.retention());
        if start > end {
            return Ok(RecentPage::default());
        }
        let lo = sortable(start);
        let hi = format!("{}#~", sortable(end));
        let mut day = end.date_naive();
        let first_day = start.date_naive();
        let mut total = 0u64;
        let mut skip = q.offset;
        let mut actions = Vec::new();
        while day >= first_day {
            let key = day.format("%Y-%m-%d").to_string();
            let count = self.count_day(&key, (&lo, &hi), q).await?;
            total += count;
            let want = q.limit.saturating_sub(actions.len());
            if want > 0 && count > 0 {
                if (skip as u64) >= count {
                    skip -= count as usize;
                } else {
                    let mut items = self.list_day(&key, (&lo, &hi), q, skip, want).await?;
                    skip = 0;
                    actions.append(&mut items);
                }
            }
            let Some(prev) = day.pred_opt() else { break };
            day = prev;
        }
        Ok(RecentPage { actions, total })
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
            .map(|item| {
                let value = from_item(item).map_err(StoreError::Internal)?;
                serde_json::from_value::<PendingEntry>(value)
                    .map_err(|e| StoreError::Internal(format!("malformed pending entry: {e}")))
            })
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
