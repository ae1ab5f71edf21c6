//! The metrics table's port: counters added atomically, read back by series and range.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BucketKey, Counters, Grain};
use crate::error::StoreError;

/// The metrics table: counters per series and bucket, added to atomically (ADD), so every
/// process may count at once.
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Adds `counters` to the bucket `key` (created at zero).
    async fn add(&self, key: &BucketKey, counters: &Counters) -> Result<(), StoreError>;
    /// The buckets of `series` at `grain` starting from `start` to `end`, oldest first.
    async fn range(
        &self,
        series: &str,
        grain: Grain,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, Counters)>, StoreError>;
}
