//! `DynamoPlatformState`: the platform state table — one item per platform (breaker and
//! bucket) and per Slack channel (bucket), written conditionally on their version.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::limits::PlatformState;
use baton_domain::ports::PlatformStateStore;

use crate::codec::{Item, decode, encode};
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
        decode(item, "platform state")
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
        let mut item = encode(new)?;
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
