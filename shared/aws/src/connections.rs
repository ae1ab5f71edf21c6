//! `DynamoConnections`: the WebSocket connections API Gateway holds, with their subscriptions.
//! Items expire after 2 hours (API Gateway's own connection limit) by TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::events::Subscription;
use baton_domain::ports::{Connection, ConnectionStore};
use chrono::Utc;
use std::time::Duration;

use crate::codec::{Item, attribute, decode};
use crate::store::classify;
use crate::tables::{IndexDef, Projected, TableDef};

/// API Gateway closes a WebSocket connection after 2 hours at the latest.
pub const CONNECTION_TTL: Duration = Duration::from_secs(2 * 60 * 60);
const KIND: &str = "connection";

pub const CONNECTIONS: TableDef = TableDef {
    logical: "connections",
    hash: "id",
    range: None,
    // One partition lists every connection without a Scan; dashboards are few.
    indexes: &[IndexDef { name: "all-connections", hash: "kind", range: Some("id"), projection: Projected::All }],
    ttl_attribute: Some("expiresAt"),
};

#[derive(Clone)]
pub struct DynamoConnections {
    client: Client,
    table: String,
}

impl DynamoConnections {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn subscription_attr(sub: &Subscription) -> Result<AttributeValue, StoreError> {
        attribute(sub)
    }

    fn expires_at() -> AttributeValue {
        AttributeValue::N((Utc::now().timestamp() + CONNECTION_TTL.as_secs() as i64).to_string())
    }

    fn decode(item: &Item) -> Result<Connection, StoreError> {
        decode(item, "connection")
    }
}

#[async_trait]
impl ConnectionStore for DynamoConnections {
    async fn put(&self, c: &Connection) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(c.id.clone()))
            .item("kind", AttributeValue::S(KIND.into()))
            .item("subscription", Self::subscription_attr(&c.subscription)?)
            .item("connectedAt", AttributeValue::S(c.connected_at.to_rfc3339()))
            .item("expiresAt", Self::expires_at())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.into()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn subscribe(&self, id: &str, subscription: &Subscription) -> Result<(), StoreError> {
        // Only a connection that is still there: a late message must not resurrect it.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.into()))
            .update_expression("SET #sub = :sub")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_names("#sub", "subscription")
            .expression_attribute_values(":sub", Self::subscription_attr(subscription)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn all(&self) -> Result<Vec<Connection>, StoreError> {
        let now = Utc::now().timestamp();
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CONNECTIONS.indexes[0].name)
                .key_condition_expression("#kind = :kind")
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", AttributeValue::S(KIND.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in resp.items() {
                // TTL deletion is lazy: skip what has expired but is still stored.
                let expired = item
                    .get("expiresAt")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|t| t <= now);
                if !expired {
                    out.push(Self::decode(item)?);
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}
