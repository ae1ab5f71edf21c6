//! `BlockCounter`: the API's rate limits at a fraction of the store's writes. A process takes
//! tokens from a shared counter in blocks and spends them itself; the block doubles while the
//! process keeps asking within one window (1, 2, 4, … up to a fiftieth of the limit), so a
//! quiet key still costs one write a request and a busy one a write every few hundred.
//!
//! The shared counter never passes its limit: a block is taken only if it fits whole, else a
//! single token is tried. What a process took and did not spend by the end of a window is
//! lost, so a busy fleet may refuse a little early near a window's end — never admit more.
//!
//! Pure; must not import any adapter crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::limits::Counter;
use crate::error::StoreError;
use crate::ports::RateCounter;

/// Tokens of one counter's window held by this process.
#[derive(Debug, Clone, Copy)]
struct Block {
    resets_at: DateTime<Utc>,
    /// Taken and not yet spent.
    left: u64,
    /// The shared count after the newest take.
    shared: u64,
    /// The size of the next take.
    next: u64,
}

pub struct BlockCounter {
    inner: Arc<dyn RateCounter>,
    held: Mutex<HashMap<String, Block>>,
}

/// The largest block for a limit: a fiftieth of it (at least one).
fn largest(limit: u64) -> u64 {
    (limit / 50).max(1)
}

impl BlockCounter {
    pub fn new(inner: Arc<dyn RateCounter>) -> Self {
        Self { inner, held: Mutex::new(HashMap::new()) }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Block>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Spends a held token: the count it stands for.
    fn spend(&self, counter: &Counter) -> Result<u64, u64> {
        let mut held = self.held();
        match held.get_mut(&counter.id) {
            Some(b) if b.left > 0 => {
                b.left -= 1;
                Ok(b.shared - b.left)
            }
            Some(b) => Err(b.next),
            None => Err(1),
        }
    }

    /// Records a take of `size` (one spent at once) that left the shared count at `shared`;
    /// the next take is `next` tokens.
    fn took(&self, counter: &Counter, size: u64, shared: u64, next: u64) -> u64 {
        let mut held = self.held();
        held.retain(|_, b| b.resets_at > Utc::now());
        let b =
            held.entry(counter.id.clone()).or_insert(Block { resets_at: counter.resets_at, left: 0, shared, next: 1 });
        b.left += size - 1;
        b.shared = b.shared.max(shared);
        b.next = next;
        b.shared - b.left
    }
}

#[async_trait]
impl RateCounter for BlockCounter {
    async fn take(&self, counter: &Counter, n: u64) -> Result<Option<u64>, StoreError> {
        if n != 1 {
            return self.inner.take(counter, n).await;
        }
        let size = match self.spend(counter) {
            Ok(count) => return Ok(Some(count)),
            Err(size) => size,
        };
        if size > 1
            && let Some(shared) = self.inner.take(counter, size).await?
        {
            return Ok(Some(self.took(counter, size, shared, (size * 2).min(largest(counter.limit)))));
        }
        // The first of a window, or near the limit: one token, if one is left.
        let next = if size > 1 { 1 } else { 2.min(largest(counter.limit)) };
        match self.inner.take(counter, 1).await? {
            Some(shared) => Ok(Some(self.took(counter, 1, shared, next))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::MemoryCounters;
    use chrono::Duration;

    fn counter(limit: u64) -> Counter {
        Counter { id: "key:k1:actions:0".into(), limit, resets_at: Utc::now() + Duration::seconds(60) }
    }

    async fn admitted(blocks: &BlockCounter, c: &Counter, requests: usize) -> Vec<u64> {
        let mut counts = Vec::new();
        for _ in 0..requests {
            if let Some(n) = blocks.take(c, 1).await.expect("take") {
                counts.push(n);
            }
        }
        counts
    }

    #[tokio::test]
    async fn a_busy_key_takes_blocks_and_never_passes_its_limit() {
        let shared = Arc::new(MemoryCounters::default());
        let blocks = BlockCounter::new(shared.clone());
        let c = counter(1000);
        let counts = admitted(&blocks, &c, 1500).await;
        assert_eq!(counts.len(), 1000, "exactly the limit is admitted");
        assert_eq!(counts, (1..=1000).collect::<Vec<_>>(), "the counts are those of one counter");
        assert_eq!(shared.counts.lock().expect("lock")[&c.id], 1000);
    }

    #[tokio::test]
    async fn two_processes_share_one_limit() {
        let shared = Arc::new(MemoryCounters::default());
        let (a, b) = (BlockCounter::new(shared.clone()), BlockCounter::new(shared.clone()));
        let c = counter(500);
        let mut admitted_total = 0;
        for _ in 0..600 {
            admitted_total += usize::from(a.take(&c, 1).await.expect("a").is_some());
            admitted_total += usize::from(b.take(&c, 1).await.expect("b").is_some());
        }
        assert!(admitted_total <= 500, "never more than the limit: {admitted_total}");
        assert!(admitted_total >= 500 - 2 * largest(500) as usize, "at most a block each is lost: {admitted_total}");
    }

    #[derive(Default)]
    struct Takes(Mutex<Vec<u64>>);

    #[async_trait]
    impl RateCounter for Takes {
        async fn take(&self, _: &Counter, n: u64) -> Result<Option<u64>, StoreError> {
            let mut t = self.0.lock().expect("lock");
            t.push(n);
            Ok(Some(t.iter().sum()))
        }
    }

    #[tokio::test]
    async fn blocks_double_up_to_a_fiftieth_of_the_limit() {
        let takes = Arc::new(Takes::default());
        let blocks = BlockCounter::new(takes.clone());
        admitted(&blocks, &counter(1000), 200).await;
        let sizes = takes.0.lock().expect("lock").clone();
        assert_eq!(&sizes[..6], &[1, 2, 4, 8, 16, 20]);
        assert!(sizes[6..].iter().all(|&s| s == 20));
        let quiet = Arc::new(Takes::default());
        admitted(&BlockCounter::new(quiet.clone()), &counter(40), 5).await;
        assert_eq!(*quiet.0.lock().expect("lock"), vec![1; 5], "a small limit is counted one by one");
    }
}
