//! `DynamoPlatformState`: the platform state table — one item per platform (breaker and
//! bucket) and per Slack channel (bucket), written conditionally on their version.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::limits::PlatformState;
use baton_domain::ports::PlatformStateStore;

use crate::codec::{Item, from_item, to_item};
use crate::store::classify;
use crate::tables::TableDef;

pub const PLATFORM_STATE: TableDef =
    TableDef { logical: "platform_state", hash: "id", range: None, indexes: &[], ttl_attribute: None };

#[derive(Clone)]
pub struct DynamoPlatformState {
    client: Client,
    table: String,
}

impl DynamoPlatformState {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn decode(item: &Item) -> Result<PlatformState, StoreError> {
        let value = from_item(item).map_err(StoreError::Internal)?;
        serde_json::from_value(value).map_err(|e| StoreError::Internal(format!("malformed platform state: {e}")))
    }
}

#[async_trait]
impl PlatformStateStore for DynamoPlatformState {
    async fn get(&self, key: &str) -> Result<Option<PlatformState>, StoreError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.item().map(Self::decode).transpose()
    }

    async fn put(&self, old: Option<&PlatformState>, new: &PlatformState) -> Result<(), StoreError> {
        let mut item = to_item(&serde_json::to_value(new).map_err(|e| StoreError::Internal(e.to_string()))?);
        item.insert("id".into(), AttributeValue::S(new.key.clone()));
        let req = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let req = match old {
            None => req.condition_expression("attribute_not_exists(id)"),
            Some(o) => req
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(o.version.to_string())),
        };
        req.send().await.map_err(classify)?;
        Ok(())
    }
}
