//! `CallCounter`: an SDK interceptor that counts AWS API calls by operation (every attempt,
//! retries included), for the benchmarks' "writes per action" and the tests' "no Scan".

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// The same calls by operation and table ("UpdateItem baton-actions").
    by_table: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Calls by operation and the table the request names (first `TableName` in its body).
    pub fn snapshot_by_table(&self) -> BTreeMap<String, u64> {
        self.by_table.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn get(&self, operation: &str) -> u64 {
        self.snapshot().get(operation).copied().unwrap_or(0)
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
        if let Ok(mut c) = self.by_table.lock() {
            c.clear();
        }
    }

    /// DynamoDB operations that write an item.
    pub fn writes(&self) -> u64 {
        ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]
            .iter()
            .map(|op| self.get(op))
            .sum()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // JSON-protocol services name the operation in `X-Amz-Target: Service_Version.Operation`;
        // the API Gateway management API is REST-JSON and is named by method and path.
        let request = context.request();
        let op = match request.headers().get("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
            None if request.uri().contains("/@connections/") => match request.method() {
                "POST" => "PostToConnection".to_owned(),
                "DELETE" => "DeleteConnection".to_owned(),
                _ => "GetConnection".to_owned(),
            },
            None => format!("{} {}", request.method(), request.uri()),
        };
        let table = request.body().bytes().and_then(table_name).unwrap_or_default();
        if let Ok(mut c) = self.by_table.lock() {
            *c.entry(format!("{op} {table}")).or_insert(0) += 1;
        }
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(op).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// The first `"TableName":"…"` of a JSON request body (batch requests name tables as keys).
fn table_name(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = &text[text.find("\"TableName\":\"")? + 13..];
    Some(rest[..rest.find('"')?].to_owned())
}
