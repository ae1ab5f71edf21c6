//! Pure policies: whether and when to retry, and how long a queued action will wait.
//!
//! Randomness comes in as an argument so every policy is a plain function to test.
//! Must not import any adapter crate.

use std::time::Duration;

use crate::error::DomainError;
use crate::model::RetryConfig;
use crate::validation::MAX_DELAY_MS;

/// The longest `Retry-After` honoured: anything longer (a platform's bug, `1e300`) waits this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryDecision {
    /// Run again after this delay.
    Retry(Duration),
    /// Stop: the error is permanent or the retries are spent.
    GiveUp,
}

/// The backoff before retry number `retry` (0-based): `initialDelay × multiplier^retry`,
/// capped at `maxDelay`, then spread by ±20 % with `jitter ∈ [0, 1)` so that actions failing
/// together do not come back together. The spread never exceeds `maxDelay`.
pub fn backoff(config: &RetryConfig, retry: u32, jitter: f64) -> Duration {
    let base = config.initial_delay as f64 * config.backoff_multiplier.powi(retry.min(64) as i32);
    let capped = base.min(config.max_delay as f64);
    let spread = capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    Duration::from_millis(spread.min(config.max_delay as f64).round() as u64)
}

/// Decides after a failure. `retries_done` is how many retries already happened;
/// `retry_after` is the platform's own demand (`Retry-After`), which always wins when longer.
pub fn decide_retry(
    config: &RetryConfig,
    retries_done: u32,
    retriable: bool,
    retry_after: Option<Duration>,
    jitter: f64,
) -> RetryDecision {
    if !retriable || retries_done >= config.max_retries {
        return RetryDecision::GiveUp;
    }
    let delay = backoff(config, retries_done, jitter);
    let delay = match retry_after.map(|a| a.min(MAX_RETRY_AFTER)) {
        Some(asked) if asked > delay => asked,
        _ => delay,
    };
    RetryDecision::Retry(delay.min(Duration::from_millis(MAX_DELAY_MS)))
}

/// When to deliver a work item again after the executor itself failed on it (`deliveries`
/// so far, from 1), the same on both paths: store trouble is retried soon and backs off
/// (1 s, 2 s, 4 s … 1 min); anything else (a malformed item) waits longer (1 min … 15 min),
/// and nothing is dropped.
pub fn redelivery_after_error(err: &DomainError, deliveries: u32) -> Duration {
    let n = deliveries.saturating_sub(1).min(16);
    let transient = matches!(err, DomainError::Store(crate::error::StoreError::Unavailable(_)) | DomainError::Queue(_));
    if transient {
        Duration::from_secs(1u64 << n.min(6)).min(Duration::from_secs(60))
    } else {
        Duration::from_secs(60u64 << n.min(4)).min(Duration::from_secs(15 * 60))
    }
}

/// Estimated wait (ms) of an action with `ahead` actions before it in its priority's queue,
/// served by `capacity` workers that take `avg_execution_ms` each.
pub fn estimated_wait(ahead: u64, capacity: u32, avg_execution_ms: u64) -> u64 {
    let capacity = u64::from(capacity.max(1));
    ahead.div_ceil(capacity) * avg_execution_ms
}

/// An exponentially weighted moving average of execution times, ms.
pub fn ewma(previous: Option<f64>, sample_ms: f64) -> f64 {
    const ALPHA: f64 = 0.2;
    match previous {
        None => sample_ms,
        Some(prev) => prev + ALPHA * (sample_ms - prev),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_backoff_doubles_from_one_second_up_to_thirty() {
        let c = RetryConfig::default();
        let mid = |n| backoff(&c, n, 0.5).as_millis();
        assert_eq!(
            [mid(0), mid(1), mid(2), mid(3), mid(4), mid(5), mid(9)],
            [1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
    }

    #[test]
    fn jitter_spreads_within_twenty_percent_and_never_past_the_cap() {
        let c = RetryConfig::default();
        for j in [0.0, 0.25, 0.5, 0.75, 0.999] {
            let d = backoff(&c, 1, j).as_millis();
            assert!((1600..=2400).contains(&d), "{d}");
            assert!(backoff(&c, 12, j).as_millis() <= 30_000);
        }
        assert!(backoff(&c, 1, 0.0) < backoff(&c, 1, 0.9));
    }

    #[test]
    fn permanent_errors_and_spent_retries_give_up() {
        let c = RetryConfig::default();
        assert_eq!(decide_retry(&c, 0, false, None, 0.5), RetryDecision::GiveUp);
        assert_eq!(decide_retry(&c, 3, true, None, 0.5), RetryDecision::GiveUp);
        assert!(matches!(decide_retry(&c, 2, true, None, 0.5), RetryDecision::Retry(_)));
        let none = RetryConfig { max_retries: 0, ..c };
        assert_eq!(decide_retry(&none, 0, true, None, 0.5), RetryDecision::GiveUp);
    }

    #[test]
    fn retry_after_wins_when_longer_than_the_backoff() {
        let c = RetryConfig::default();
        let asked = Duration::from_secs(2);
        assert_eq!(decide_retry(&c, 0, true, Some(asked), 0.5), RetryDecision::Retry(asked));
        let short = Duration::from_millis(10);
        assert_eq!(decide_retry(&c, 0, true, Some(short), 0.5), RetryDecision::Retry(Duration::from_millis(1000)));
    }

    #[test]
    fn an_absurd_retry_after_is_clamped_to_fifteen_minutes() {
        let c = RetryConfig::default();
        let asked = Duration::from_secs(3 * 3600);
        assert_eq!(decide_retry(&c, 0, true, Some(asked), 0.5), RetryDecision::Retry(MAX_RETRY_AFTER));
    }

    #[test]
    fn executor_errors_are_redelivered_with_backoff_by_kind() {
        use crate::error::StoreError;
        let transient = DomainError::Store(StoreError::Unavailable("throttled".into()));
        let internal = DomainError::Store(StoreError::Internal("malformed".into()));
        let t: Vec<u64> = (1..=9).map(|n| redelivery_after_error(&transient, n).as_secs()).collect();
        assert_eq!(t, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let i: Vec<u64> = (1..=6).map(|n| redelivery_after_error(&internal, n).as_secs()).collect();
        assert_eq!(i, [60, 120, 240, 480, 900, 900]);
    }

    #[test]
    fn per_action_overrides_apply() {
        let c = RetryConfig { max_retries: 5, initial_delay: 100, backoff_multiplier: 3.0, max_delay: 1000 };
        assert_eq!(backoff(&c, 0, 0.5).as_millis(), 100);
        assert_eq!(backoff(&c, 2, 0.5).as_millis(), 900);
        assert_eq!(backoff(&c, 3, 0.5).as_millis(), 1000);
        assert!(matches!(decide_retry(&c, 4, true, None, 0.5), RetryDecision::Retry(_)));
    }

    #[test]
    fn the_wait_estimate_divides_the_backlog_among_workers() {
        assert_eq!(estimated_wait(0, 4, 200), 0);
        assert_eq!(estimated_wait(1, 4, 200), 200);
        assert_eq!(estimated_wait(8, 4, 200), 400);
        assert_eq!(estimated_wait(9, 4, 200), 600);
        assert_eq!(estimated_wait(5, 0, 100), 500, "no capacity is treated as one worker");
    }

    #[test]
    fn the_moving_average_follows_samples() {
        assert_eq!(ewma(None, 100.0), 100.0);
        assert_eq!(ewma(Some(100.0), 200.0), 120.0);
    }
}
