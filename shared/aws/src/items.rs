//! The three writes and the reads every versioned table shares: insert if new, read
//! consistently by id (one, or many in one batch), replace if still at a version. Each
//! failure classified once.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use baton_domain::StoreError;
use std::collections::HashMap;

use crate::codec::Item;
use crate::store::classify;
use crate::tables::{IndexDef, Projected};

/// Stores `item` unless an item with its `id` exists (`AlreadyExists`).
pub async fn put_new(client: &Client, table: &str, item: Item) -> Result<(), StoreError> {
    match client
        .put_item()
        .table_name(table)
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

/// The item with `id`, read consistently.
pub async fn get_by_id(client: &Client, table: &str, id: &str) -> Result<Option<Item>, StoreError> {
    let resp = client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(classify)?;
    Ok(resp.item().cloned())
}

/// The items with these ids, in this order, read consistently (BatchGetItem, 100 keys at a
/// time, until nothing is left unprocessed). An id that vanished meanwhile (TTL) is left out.
/// The indexes that project only keys are read this way: an entry costs little to keep up,
/// and the item read is the latest one.
pub async fn get_many(client: &Client, table: &str, ids: &[String]) -> Result<Vec<Item>, StoreError> {
    get_many_of(client, table, ids, &[]).await
}

/// As [`get_many`], only the attributes `only` (and `id`) of each item; all when empty.
pub async fn get_many_of(client: &Client, table: &str, ids: &[String], only: &[&str]) -> Result<Vec<Item>, StoreError> {
    let mut found: HashMap<String, Item> = HashMap::with_capacity(ids.len());
    let names: HashMap<String, String> =
        only.iter().chain(["id"].iter()).enumerate().map(|(i, a)| (format!("#a{i}"), (*a).to_owned())).collect();
    let projection = (!only.is_empty()).then(|| names.keys().cloned().collect::<Vec<_>>().join(", "));
    for chunk in ids.chunks(100) {
        let keys: Vec<Item> =
            chunk.iter().map(|id| HashMap::from([("id".to_owned(), AttributeValue::S(id.clone()))])).collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .set_projection_expression(projection.clone())
                .set_expression_attribute_names(projection.as_ref().map(|_| names.clone()))
                .build()
                .map_err(|e| StoreError::Internal(e.to_string()))?,
        );
        while let Some(wanted) = request.take() {
            let resp = client.batch_get_item().request_items(table, wanted).send().await.map_err(classify)?;
            for item in resp.responses().and_then(|r| r.get(table)).map(Vec::as_slice).unwrap_or_default() {
                if let Some(id) = id_of(item) {
                    found.insert(id.clone(), item.clone());
                }
            }
            request = resp.unprocessed_keys().and_then(|u| u.get(table)).filter(|k| !k.keys().is_empty()).cloned();
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The ids of index entries (every index projects the table's key).
pub fn ids_of(entries: &[Item]) -> Vec<String> {
    entries.iter().filter_map(id_of).cloned().collect()
}

/// The `id` of an item or index entry.
pub fn id_of(item: &Item) -> Option<&String> {
    item.get("id").and_then(|v| v.as_s().ok())
}

/// Replaces the item with `item` only if its `version` is still `expected` (`Conflict`).
pub async fn put_at_version(client: &Client, table: &str, item: Item, expected: u64) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#version = :expected")
        .expression_attribute_names("#version", "version")
        .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        .send()
        .await
        .map_err(classify)?;
    Ok(())
}

/// Days `recent_by_day` reads at most, as pages.
const RECENT_PAGES: usize = 40;

/// The newest items of a table's `recent` index (partition: day, sort: time), newest first,
/// back to `first_day`; only those whose `status` is `status` when given.
pub async fn recent_by_day(
    client: &Client,
    table: &str,
    first_day: chrono::NaiveDate,
    status: Option<&str>,
    limit: usize,
) -> Result<Vec<Item>, StoreError> {
    use crate::tables::attr;
    let mut day = chrono::Utc::now().date_naive();
    let mut out = Vec::new();
    let mut pages = 0;
    while day >= first_day && out.len() < limit && pages < RECENT_PAGES {
        let mut after: Option<Item> = None;
        loop {
            pages += 1;
            let mut query = client
                .query()
                .table_name(table)
                .index_name(crate::tables::index::RECENT)
                .key_condition_expression("#d = :d")
                .expression_attribute_names("#d", attr::DAY)
                .expression_attribute_values(":d", AttributeValue::S(day.format("%Y-%m-%d").to_string()))
                .scan_index_forward(false)
                .set_exclusive_start_key(after.take());
            if let Some(s) = status {
                query = query
                    .filter_expression("#s = :s")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":s", AttributeValue::S(s.into()));
            }
            let resp = query.send().await.map_err(classify)?;
            out.extend(resp.items().iter().take(limit - out.len()).cloned());
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() && out.len() < limit && pages < RECENT_PAGES => after = Some(k.clone()),
                _ => break,
            }
        }
        let Some(prev) = day.pred_opt() else { break };
        day = prev;
    }
    // The index keeps keys and status only: the items themselves, as they are now.
    let fresh = get_many(client, table, &ids_of(&out)).await?;
    Ok(match status {
        Some(s) => {
            fresh.into_iter().filter(|i| i.get("status").and_then(|v| v.as_s().ok()).is_some_and(|v| v == s)).collect()
        }
        None => fresh,
    })
}

/// The index keys of a table whose items are listed by day (`recent`) and, while open, found
/// through a sparse index sorted by when they are due; settled ones expire by TTL.
pub struct OpenIndex {
    /// The sparse index's name.
    pub index: &'static str,
    /// The sparse index's partition attribute (a constant while open, absent after).
    pub open: &'static str,
    /// Its sort attribute: `dueAt#id`.
    pub due: &'static str,
    /// The TTL attribute (epoch seconds), set once the item is settled.
    pub ttl: &'static str,
}

/// The sparse index's partition while an item is open.
const OPEN_SHARD: &str = "open";

impl OpenIndex {
    /// The table's indexes: this one, and `recent` by day. Keys (and the status the listing
    /// filters on) only: each write keeps the entries up for a few bytes, not a copy of the
    /// whole item; readers then read the items by key.
    pub const fn indexes(&self) -> [IndexDef; 2] {
        use crate::tables::{attr, index};
        [
            IndexDef { name: self.index, hash: self.open, range: Some(self.due), projection: Projected::KeysOnly },
            IndexDef {
                name: index::RECENT,
                hash: attr::DAY,
                range: Some(attr::TIME),
                projection: Projected::Include(&["status"]),
            },
        ]
    }

    /// The open items due by `until` (every open one without it), soonest first, `limit` at
    /// most, from `after`; and where the index read stopped. The items are read as they are
    /// now: one settled since the index was read is left out.
    pub async fn list_open(
        &self,
        client: &Client,
        table: &str,
        until: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
        after: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut query = client
            .query()
            .table_name(table)
            .index_name(self.index)
            .expression_attribute_names("#o", self.open)
            .expression_attribute_values(":o", AttributeValue::S(OPEN_SHARD.into()))
            .scan_index_forward(true)
            .limit(limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(after);
        query = match until {
            // `#` then any id character sorts below DEL: every item due by `until` is included.
            Some(t) => query
                .key_condition_expression("#o = :o AND #d <= :until")
                .expression_attribute_names("#d", self.due)
                .expression_attribute_values(
                    ":until",
                    AttributeValue::S(format!("{}#\u{7f}", crate::store::sortable(t))),
                ),
            None => query.key_condition_expression("#o = :o"),
        };
        let resp = query.send().await.map_err(classify)?;
        let mut items = get_many(client, table, &ids_of(resp.items())).await?;
        items.retain(|i| i.contains_key(self.open));
        Ok((items, resp.last_evaluated_key().cloned()))
    }

    /// Adds the keys to `item`: `due` while it is open, else the time it may be purged.
    pub fn keys(
        &self,
        item: &mut Item,
        id: &str,
        created_at: chrono::DateTime<chrono::Utc>,
        due: Option<chrono::DateTime<chrono::Utc>>,
        purge_at: chrono::DateTime<chrono::Utc>,
    ) {
        use crate::store::sortable;
        use crate::tables::attr;
        item.insert(attr::DAY.into(), AttributeValue::S(created_at.format("%Y-%m-%d").to_string()));
        item.insert(attr::TIME.into(), AttributeValue::S(format!("{}#{id}", sortable(created_at))));
        match due {
            Some(due) => {
                item.insert(self.open.into(), AttributeValue::S(OPEN_SHARD.into()));
                item.insert(self.due.into(), AttributeValue::S(format!("{}#{id}", sortable(due))));
            }
            None => {
                item.insert(self.ttl.into(), AttributeValue::N(purge_at.timestamp().to_string()));
            }
        }
    }
}
