//! The emulator's ceilings, measured in the same run as the runtime: through the SDK in
//! process (what the runtime's adapters pay), and its own API with no SDK at all.

use anyhow::anyhow;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_aws::store::DynamoActionStore;
use baton_aws::tables;
use baton_cli::embedded::EmbeddedDynamo;
use baton_domain::model::Action;
use chrono::Utc;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

use crate::{Opts, cleanup, location};

fn template() -> anyhow::Result<Action> {
    Ok(serde_json::from_value(json!({
        "id": "x", "type": "notify", "platform": "slack", "priority": "normal", "dryRun": true,
        "data": {"channel": "#bench", "text": "message"}, "status": "queued", "version": 1,
        "createdAt": Utc::now(), "updatedAt": Utc::now(), "queuePosition": 1, "estimatedWait": 0
    }))?)
}

/// The emulator through the SDK, in process as the runtime reaches it: conditional PutItems of
/// realistic action items, 16 at a time.
pub async fn sdk(opts: &Opts) -> anyhow::Result<f64> {
    let loc = location(opts, "ceiling");
    let dynamo = EmbeddedDynamo::start(&loc)?;
    let client = dynamo.client(None);
    tables::ACTIONS.ensure(&client, "ceiling").await.map_err(anyhow::Error::msg)?;
    let store = DynamoActionStore::new(client.clone(), "ceiling", Duration::from_secs(86_400));
    let template = template()?;
    let total = opts.actions * 2;
    let start = Instant::now();
    let tasks = (0..16).map(|t| {
        let client = client.clone();
        let store = store.clone();
        let mut a = template.clone();
        tokio::spawn(async move {
            for i in (t..total).step_by(16) {
                a.id = format!("c-{i}");
                let item = store.encode(&a).map_err(|e| anyhow!("{e}"))?;
                client
                    .put_item()
                    .table_name("ceiling")
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(id)")
                    .send()
                    .await
                    .map_err(|e| anyhow!("{}", baton_aws::store::describe(&e)))?;
            }
            anyhow::Ok(())
        })
    });
    for r in futures_util::future::join_all(tasks).await {
        r??;
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    drop(dynamo);
    cleanup(&loc);
    Ok(rate)
}

/// An item in DynamoDB's JSON, as the SDK would send it.
fn wire(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::L(l) => json!({"L": l.iter().map(wire).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": m.iter().map(|(k, v)| (k.clone(), wire(v))).collect::<Map<_, _>>()}),
        _ => Value::Null,
    }
}

/// The emulator's own API, no SDK, no transport: the most writes/s the store takes here.
/// One thread, as the runtime's emulator thread runs them.
pub async fn api(opts: &Opts) -> anyhow::Result<f64> {
    let loc = location(opts, "api-ceiling");
    let dynamo = EmbeddedDynamo::start(&loc)?;
    let client = dynamo.client(None);
    tables::ACTIONS.ensure(&client, "api-ceiling").await.map_err(anyhow::Error::msg)?;
    let store = DynamoActionStore::new(client, "api-ceiling", Duration::from_secs(86_400));
    let mut a = template()?;
    let total = opts.actions * 2;
    let mut requests = Vec::with_capacity(total);
    for i in 0..total {
        a.id = format!("c-{i}");
        let item = store.encode(&a).map_err(|e| anyhow!("{e}"))?;
        let item: Map<String, Value> = item.iter().map(|(k, v)| (k.clone(), wire(v))).collect();
        let request: dynoxide::actions::put_item::PutItemRequest = serde_json::from_value(json!({
            "TableName": "api-ceiling", "Item": item, "ConditionExpression": "attribute_not_exists(id)"
        }))?;
        requests.push(request);
    }
    let db = dynamo.database();
    let rate = tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        let start = Instant::now();
        for r in requests {
            db.put_item(r).map_err(|e| anyhow!("{e}"))?;
        }
        Ok(total as f64 / start.elapsed().as_secs_f64())
    })
    .await??;
    drop(dynamo);
    cleanup(&loc);
    Ok(rate)
}
