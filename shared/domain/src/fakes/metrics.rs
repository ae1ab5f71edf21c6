//! The metrics table in memory: buckets added to as the store's ADD does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::StoreError;
use crate::metrics::{BucketKey, Counters, Grain};
use crate::ports::MetricsStore;
use crate::sync::lock;

#[derive(Default)]
pub struct MemoryMetrics {
    pub buckets: Mutex<BTreeMap<BucketKey, Counters>>,
}

#[async_trait]
impl MetricsStore for MemoryMetrics {
    async fn add(&self, key: &BucketKey, counters: &Counters) -> Result<(), StoreError> {
        lock(&self.buckets).entry(key.clone()).or_default().add(counters);
        Ok(())
    }

    async fn range(
        &self,
        series: &str,
        grain: Grain,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Counters)>, StoreError> {
        Ok(lock(&self.buckets)
            .iter()
            .filter(|(k, _)| k.series == series && k.grain == grain && k.start >= start && k.start <= end)
            .map(|(k, c)| (k.start, c.clone()))
            .collect())
    }
}
