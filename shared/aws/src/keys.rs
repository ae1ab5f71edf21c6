//! `DynamoKeys`: idempotency keys, one item each, claimed by a conditional put and kept a
//! day (DynamoDB TTL).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::ports::{IdempotencyStore, KeyRecord};
use chrono::Utc;
use serde_json::Value;
use std::time::Duration;

use crate::codec::{attribute, decode, encode};
use crate::store::classify;
use crate::tables::TableDef;

pub const IDEMPOTENCY: TableDef =
    TableDef { logical: "idempotency", hash: "id", range: None, indexes: &[], ttl_attribute: Some("expiresAt") };

#[derive(Clone)]
pub struct DynamoKeys {
    client: Client,
    table: String,
}

impl DynamoKeys {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoKeys {
    async fn claim(&self, key: &str, record: &KeyRecord, ttl: Duration) -> Result<Option<KeyRecord>, StoreError> {
        let mut item = encode(record)?;
        let now = Utc::now().timestamp();
        item.insert("id".into(), AttributeValue::S(key.into()));
        item.insert("expiresAt".into(), AttributeValue::N((now + ttl.as_secs() as i64).to_string()));
        // An expired key not yet swept by TTL counts as free.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id) OR expiresAt < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await
            .map_err(classify);
        match put {
            Ok(_) => Ok(None),
            Err(StoreError::Conflict) => {
                let got = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("id", AttributeValue::S(key.into()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(classify)?;
                match got.item() {
                    Some(item) => Ok(Some(decode(item, "idempotency key")?)),
                    // Swept between the two calls: claimed by nobody now; the caller retries.
                    None => Err(StoreError::Unavailable("idempotency key vanished; try again".into())),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.into()))
            .update_expression("SET #r = :r")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_names("#r", "response")
            .expression_attribute_values(":r", attribute(response)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
