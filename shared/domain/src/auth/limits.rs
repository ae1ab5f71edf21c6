//! The contract's API rate limits: per key and route group a minute (`/api/actions/*` 100,
//! `/api/approvals/*` 50, `/api/context/*` 200), per key 10,000 an hour, and per client
//! address 1,000 an hour for requests that carry no valid key. Each is a counter per fixed
//! window, kept in the store so every process (every Lambda) counts together.
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;

use super::Principal;

/// The route groups of the contract's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteGroup {
    /// `/api/actions/*`, and the routes that submit work (`/api/events`, `/api/workflows/*`,
    /// `/api/keys`).
    Actions,
    Approvals,
    Context,
}

impl RouteGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteGroup::Actions => "actions",
            RouteGroup::Approvals => "approvals",
            RouteGroup::Context => "context",
        }
    }

    /// The group of a request path.
    pub fn of_path(path: &str) -> RouteGroup {
        if path.starts_with("/api/approvals") {
            RouteGroup::Approvals
        } else if path.starts_with("/api/context") {
            RouteGroup::Context
        } else {
            RouteGroup::Actions
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u64,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    pub actions: Rate,
    pub approvals: Rate,
    pub context: Rate,
    /// Every request of one key.
    pub per_key: Rate,
    /// Requests without a valid key, per client address.
    pub per_address: Rate,
}

impl Default for ApiLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        Self {
            actions: Rate { limit: 100, window: minute },
            approvals: Rate { limit: 50, window: minute },
            context: Rate { limit: 200, window: minute },
            per_key: Rate { limit: 10_000, window: hour },
            per_address: Rate { limit: 1_000, window: hour },
        }
    }
}

impl ApiLimits {
    fn group(&self, g: RouteGroup) -> Rate {
        match g {
            RouteGroup::Actions => self.actions,
            RouteGroup::Approvals => self.approvals,
            RouteGroup::Context => self.context,
        }
    }

    /// `BATON_API_RATE_LIMITS`: `name=COUNT/SECONDSs,...` with names `actions`, `approvals`,
    /// `context`, `key`, `address`, e.g. `actions=1000/60s,key=100000/3600s`.
    pub fn with_overrides(mut self, text: &str) -> Result<Self, String> {
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, spec) = part.split_once('=').ok_or_else(|| format!("'{part}': expected name=COUNT/SECONDSs"))?;
            let (count, secs) = spec.split_once('/').ok_or_else(|| format!("'{spec}': expected COUNT/SECONDSs"))?;
            let limit: u64 = count.trim().parse().map_err(|_| format!("'{count}' is not a whole number"))?;
            let secs: u64 = secs
                .trim()
                .trim_end_matches('s')
                .parse()
                .map_err(|_| format!("'{secs}' is not a number of seconds"))?;
            if limit == 0 || secs == 0 {
                return Err(format!("'{part}': at least 1 request over at least 1 second"));
            }
            let rate = Rate { limit, window: Duration::from_secs(secs) };
            match name.trim() {
                "actions" => self.actions = rate,
                "approvals" => self.approvals = rate,
                "context" => self.context = rate,
                "key" => self.per_key = rate,
                "address" => self.per_address = rate,
                other => return Err(format!("'{other}': allowed: actions, approvals, context, key, address")),
            }
        }
        Ok(self)
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Key(&'a Principal),
    /// No valid key: the client's address.
    Address(&'a str),
}

/// One counter one request bumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The counter's item: who, what, and which window.
    pub id: String,
    pub limit: u64,
    pub resets_at: DateTime<Utc>,
}

fn window(now: DateTime<Utc>, rate: Rate) -> (i64, DateTime<Utc>) {
    let len = rate.window.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(len) * len;
    (start, Utc.timestamp_opt(start + len, 0).single().unwrap_or(now))
}

/// The counters a request bumps, the most telling first (the route group's, whose limit the
/// headers report). None for an exempt key.
pub fn counters(limits: &ApiLimits, caller: Caller<'_>, group: RouteGroup, now: DateTime<Utc>) -> Vec<Counter> {
    let counter = |name: String, rate: Rate| {
        let (start, resets_at) = window(now, rate);
        Counter { id: format!("{name}:{start}"), limit: rate.limit, resets_at }
    };
    match caller {
        Caller::Key(p) if p.exempt => Vec::new(),
        Caller::Key(p) => {
            let mut minute = limits.group(group);
            let mut hour = limits.per_key;
            if let Some(own) = p.rate_limit {
                minute.limit = own.per_minute;
                hour.limit = own.per_hour;
            }
            vec![
                counter(format!("key:{}:{}", p.key_id, group.as_str()), minute),
                counter(format!("key:{}:hour", p.key_id), hour),
            ]
        }
        Caller::Address(addr) => vec![counter(format!("address:{addr}"), limits.per_address)],
    }
}

/// What the counters said: the `X-RateLimit-*` headers, and whether the request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Epoch seconds.
    pub reset: i64,
    /// Seconds to wait, when not allowed.
    pub retry_after: u64,
}

/// `counts[i]` is counter i's count after this request, or `None` when its limit was reached.
pub fn verdict(counters: &[Counter], counts: &[Option<u64>], now: DateTime<Utc>) -> Option<Verdict> {
    let first = counters.first()?;
    let mut v = Verdict {
        allowed: true,
        limit: first.limit,
        remaining: first.limit.saturating_sub(counts.first().copied().flatten().unwrap_or(first.limit)),
        reset: first.resets_at.timestamp(),
        retry_after: 0,
    };
    for (c, count) in counters.iter().zip(counts) {
        let remaining = count.map_or(0, |n| c.limit.saturating_sub(n));
        if count.is_none() && v.allowed {
            v = Verdict {
                allowed: false,
                limit: c.limit,
                remaining: 0,
                reset: c.resets_at.timestamp(),
                retry_after: (c.resets_at - now).num_seconds().max(1) as u64,
            };
        } else if v.allowed && remaining < v.remaining {
            (v.limit, v.remaining, v.reset) = (c.limit, remaining, c.resets_at.timestamp());
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{KeyRateLimit, Scope};

    fn principal(exempt: bool, own: Option<KeyRateLimit>) -> Principal {
        Principal { key_id: "k1".into(), scopes: vec![Scope::ActionsWrite], exempt, rate_limit: own }
    }

    #[test]
    fn a_key_counts_per_group_a_minute_and_in_all_an_hour() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 15, 42).single().expect("time");
        let limits = ApiLimits::default();
        let p = principal(false, None);
        let c = counters(&limits, Caller::Key(&p), RouteGroup::of_path("/api/approvals/x/approve"), now);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].limit, c[1].limit), (50, 10_000));
        assert!(c[0].id.starts_with("key:k1:approvals:"));
        assert_eq!(c[0].resets_at, Utc.with_ymd_and_hms(2026, 12, 3, 10, 16, 0).single().expect("t"));
        assert_eq!(c[1].resets_at, Utc.with_ymd_and_hms(2026, 12, 3, 11, 0, 0).single().expect("t"));
        let own = principal(false, Some(KeyRateLimit { per_minute: 5000, per_hour: 200_000 }));
        let c = counters(&limits, Caller::Key(&own), RouteGroup::Actions, now);
        assert_eq!((c[0].limit, c[1].limit), (5000, 200_000), "a key's own limits");
        assert!(counters(&limits, Caller::Key(&principal(true, None)), RouteGroup::Actions, now).is_empty());
        let a = counters(&limits, Caller::Address("10.0.0.7"), RouteGroup::Actions, now);
        assert_eq!((a.len(), a[0].limit), (1, 1000));
    }

    #[test]
    fn the_verdict_reports_the_group_limit_and_the_tightest_remaining() {
        let now = Utc::now();
        let limits = ApiLimits::default();
        let p = principal(false, None);
        let c = counters(&limits, Caller::Key(&p), RouteGroup::Actions, now);
        let v = verdict(&c, &[Some(13), Some(200)], now).expect("verdict");
        assert_eq!((v.allowed, v.limit, v.remaining), (true, 100, 87));
        let v = verdict(&c, &[Some(13), Some(9_995)], now).expect("verdict");
        assert_eq!((v.limit, v.remaining), (10_000, 5), "the hour is tighter now");
        let v = verdict(&c, &[None, Some(9_000)], now).expect("verdict");
        assert!(!v.allowed && v.remaining == 0 && v.retry_after >= 1 && v.retry_after <= 60);
    }

    #[test]
    fn limits_are_configurable() {
        let l = ApiLimits::default().with_overrides("actions=1000/60s, key=100000/3600s").expect("valid");
        assert_eq!(l.actions.limit, 1000);
        assert_eq!(l.per_key.limit, 100_000);
        assert!(ApiLimits::default().with_overrides("everything=1/1s").is_err());
        assert!(ApiLimits::default().with_overrides("actions=0/60s").is_err());
    }
}
