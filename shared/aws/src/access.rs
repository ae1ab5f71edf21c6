//! `DynamoKeyStore` (the API keys, by the hash of the key) and `DynamoRateCounter` (the API's
//! rate-limit counters: a conditional `ADD` per window, expiring by TTL; the domain's
//! `BlockCounter` takes from them in blocks).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use baton_domain::StoreError;
use baton_domain::auth::ApiKey;
use baton_domain::auth::limits::Counter;
use baton_domain::ports::{KeyStore, RateCounter};
use chrono::{DateTime, Utc};

use crate::codec::{Item, attribute, decode, encode};
use crate::store::classify;
use crate::tables::{IndexDef, Projected, TableDef};

const KIND: &str = "apikey";

pub const API_KEYS: TableDef = TableDef {
    logical: "api_keys",
    // Keyed by the SHA-256 of the key: a presented key is looked up by its hash.
    hash: "hash",
    range: None,
    // One partition lists every key (they are few); revocation finds a key by its id there.
    indexes: &[IndexDef { name: "all-keys", hash: "kind", range: Some("id"), projection: Projected::All }],
    ttl_attribute: None,
};

pub const RATE_LIMITS: TableDef =
    TableDef { logical: "rate_limits", hash: "id", range: None, indexes: &[], ttl_attribute: Some("expiresAt") };

#[derive(Clone)]
pub struct DynamoKeyStore {
    client: Client,
    table: String,
}

impl DynamoKeyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn item(key: &ApiKey) -> Result<Item, StoreError> {
        let mut item = encode(key)?;
        item.insert("kind".into(), AttributeValue::S(KIND.into()));
        Ok(item)
    }

    async fn with_id(&self, id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(API_KEYS.indexes[0].name)
            .key_condition_expression("#kind = :kind AND id = :id")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":kind", AttributeValue::S(KIND.into()))
            .expression_attribute_values(":id", AttributeValue::S(id.into()))
            .send()
            .await
            .map_err(classify)?;
        resp.items().iter().map(|i| decode(i, "api key")).collect()
    }
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    async fn by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("hash", AttributeValue::S(hash.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.item().map(|i| decode(i, "api key")).transpose()
    }

    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(key)?))
            .condition_expression("attribute_not_exists(#h)")
            .expression_attribute_names("#h", "hash")
            .send()
            .await
            .map_err(classify)
        {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other.map(|_| ()),
        }
    }

    async fn list(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(API_KEYS.indexes[0].name)
                .key_condition_expression("#kind = :kind")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", AttributeValue::S(KIND.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in resp.items() {
                out.push(decode::<ApiKey>(item, "api key")?);
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        out.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(out)
    }

    async fn revoke(&self, id: &str, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        let mut last = None;
        for key in self.with_id(id).await? {
            let resp = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("hash", AttributeValue::S(key.hash.clone()))
                .update_expression("SET revokedAt = if_not_exists(revokedAt, :at)")
                .condition_expression("attribute_exists(#h)")
                .expression_attribute_names("#h", "hash")
                .expression_attribute_values(":at", attribute(&at)?)
                .return_values(ReturnValue::AllNew)
                .send()
                .await
                .map_err(classify)?;
            if let Some(item) = resp.attributes() {
                last = Some(decode(item, "api key")?);
            }
        }
        Ok(last)
    }

    async fn touch(&self, hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let minute_ago = at - chrono::Duration::minutes(1);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("hash", AttributeValue::S(hash.into()))
            .update_expression("SET lastUsedAt = :at")
            .condition_expression("attribute_exists(#h) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :before)")
            .expression_attribute_names("#h", "hash")
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":before", attribute(&minute_ago)?)
            .send()
            .await
            .map_err(classify);
        match result {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[derive(Clone)]
pub struct DynamoRateCounter {
    client: Client,
    table: String,
}

impl DynamoRateCounter {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl RateCounter for DynamoRateCounter {
    async fn take(&self, counter: &Counter, n: u64) -> Result<Option<u64>, StoreError> {
        let Some(most) = counter.limit.checked_sub(n) else { return Ok(None) };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(counter.id.clone()))
            .update_expression("ADD #n :n SET expiresAt = if_not_exists(expiresAt, :expires)")
            .condition_expression("attribute_not_exists(#n) OR #n <= :most")
            .expression_attribute_names("#n", "count")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .expression_attribute_values(":most", AttributeValue::N(most.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((counter.resets_at.timestamp() + 60).to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify);
        match result {
            Ok(resp) => Ok(Some(
                resp.attributes()
                    .and_then(|a| a.get("count"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(counter.limit),
            )),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
