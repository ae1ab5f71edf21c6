//! `DynamoMetricsStore`: the metrics table — one item per series (`all`, each platform) and
//! bucket (`m#<minute>`, `h#<hour>`), counters added with one atomic `ADD` per bucket touched,
//! read back with a Query on the series between two buckets. Items expire with the retention.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::metrics::{BucketKey, Counters, Grain, LATENCY_BUCKETS};
use baton_domain::ports::MetricsStore;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;

use crate::codec::Item;
use crate::store::classify;
use crate::tables::TableDef;

pub const METRICS: TableDef = TableDef {
    logical: "metrics",
    hash: "series",
    range: Some("bucket"),
    indexes: &[],
    ttl_attribute: Some("expiresAt"),
};

/// The counters' attributes, in `Counters` order; the histogram's are `l0`, `l1`, ...
const FIELDS: [&str; 10] =
    ["total", "success", "failed", "retries", "retried", "fallbacks", "executionMs", "queueMs", "feedback", "quality"];
/// Per action type: feedback count (`n#<type>`) and quality sum (`q#<type>`).
const TYPE_COUNT: &str = "n#";
const TYPE_QUALITY: &str = "q#";

fn values(c: &Counters) -> [u64; 10] {
    [c.total, c.success, c.failed, c.retries, c.retried, c.fallbacks, c.execution_ms, c.queue_ms, c.feedback, c.quality]
}

fn bucket(grain: Grain, t: DateTime<Utc>) -> String {
    match grain {
        Grain::Minute => format!("m#{}", t.format("%Y-%m-%dT%H:%M")),
        Grain::Hour => format!("h#{}", t.format("%Y-%m-%dT%H")),
    }
}

fn parse_bucket(text: &str) -> Option<DateTime<Utc>> {
    let (kind, rest) = text.split_once('#')?;
    let full = match kind {
        "m" => format!("{rest}:00"),
        "h" => format!("{rest}:00:00"),
        _ => return None,
    };
    NaiveDateTime::parse_from_str(&full, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc())
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[derive(Clone)]
pub struct DynamoMetricsStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoMetricsStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self { client, table: table.into(), retention }
    }
}

#[async_trait]
impl MetricsStore for DynamoMetricsStore {
    async fn add(&self, key: &BucketKey, counters: &Counters) -> Result<(), StoreError> {
        let mut names = HashMap::new();
        let mut vals = HashMap::new();
        let mut adds = Vec::new();
        for (i, (field, v)) in FIELDS.iter().zip(values(counters)).enumerate() {
            names.insert(format!("#f{i}"), (*field).to_owned());
            vals.insert(format!(":f{i}"), AttributeValue::N(v.to_string()));
            adds.push(format!("#f{i} :f{i}"));
        }
        for (i, (t, (n, q))) in counters.by_type.iter().enumerate() {
            names.insert(format!("#tn{i}"), format!("{TYPE_COUNT}{t}"));
            names.insert(format!("#tq{i}"), format!("{TYPE_QUALITY}{t}"));
            vals.insert(format!(":tn{i}"), AttributeValue::N(n.to_string()));
            vals.insert(format!(":tq{i}"), AttributeValue::N(q.to_string()));
            adds.push(format!("#tn{i} :tn{i}"));
            adds.push(format!("#tq{i} :tq{i}"));
        }
        for (i, n) in counters.latency.iter().enumerate().filter(|(_, n)| **n > 0) {
            vals.insert(format!(":l{i}"), AttributeValue::N(n.to_string()));
            adds.push(format!("l{i} :l{i}"));
        }
        let keep = ChronoDuration::from_std(self.retention).unwrap_or(ChronoDuration::days(30));
        vals.insert(":e".into(), AttributeValue::N((key.start + keep).timestamp().to_string()));
        self.client
            .update_item()
            .table_name(&self.table)
            .key("series", AttributeValue::S(key.series.clone()))
            .key("bucket", AttributeValue::S(bucket(key.grain, key.start)))
            .update_expression(format!("ADD {} SET expiresAt = :e", adds.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(vals))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn range(
        &self,
        series: &str,
        grain: Grain,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Counters)>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<Item> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("series = :s AND #b BETWEEN :lo AND :hi")
                .expression_attribute_names("#b", "bucket")
                .expression_attribute_values(":s", AttributeValue::S(series.into()))
                .expression_attribute_values(":lo", AttributeValue::S(bucket(grain, start)))
                .expression_attribute_values(":hi", AttributeValue::S(bucket(grain, end)))
                .set_exclusive_start_key(after.take())
                .send()
                .await
                .map_err(classify)?;
            for item in resp.items() {
                let Some(at) = item.get("bucket").and_then(|v| v.as_s().ok()).and_then(|b| parse_bucket(b)) else {
                    continue;
                };
                let n: Vec<u64> = FIELDS.iter().map(|f| number(item, f)).collect();
                out.push((
                    at,
                    Counters {
                        total: n[0],
                        success: n[1],
                        failed: n[2],
                        retries: n[3],
                        retried: n[4],
                        fallbacks: n[5],
                        execution_ms: n[6],
                        queue_ms: n[7],
                        latency: (0..LATENCY_BUCKETS).map(|i| number(item, &format!("l{i}"))).collect(),
                        feedback: n[8],
                        quality: n[9],
                        by_type: item
                            .keys()
                            .filter_map(|k| k.strip_prefix(TYPE_COUNT))
                            .map(|t| {
                                let counts = (
                                    number(item, &format!("{TYPE_COUNT}{t}")),
                                    number(item, &format!("{TYPE_QUALITY}{t}")),
                                );
                                (t.to_owned(), counts)
                            })
                            .collect(),
                    },
                ));
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => after = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}
