//! The breaker and the token bucket shared by many concurrent executors through one table,
//! on the embedded emulator: exactly as many calls go as the limits allow.

use baton_aws::local_dynamodb_client;
use baton_aws::platform_state::{DynamoPlatformState, PLATFORM_STATE};
use baton_cli::DataLocation;
use baton_cli::embedded::EmbeddedDynamo;
use baton_domain::ErrorCode;
use baton_domain::guard::PlatformGuard;
use baton_domain::limits::{Admission, BreakerPolicy, BreakerState, BucketLimit, Limits};
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{PlatformStateStore, SystemClock};
use baton_domain::validation::Operation;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

async fn guard(limits: Limits) -> (EmbeddedDynamo, PlatformGuard) {
    let dynamo = EmbeddedDynamo::start(&DataLocation::Memory).expect("emulator");
    let client = local_dynamodb_client(&dynamo.endpoint, None);
    PLATFORM_STATE.ensure(&client, "platform-state").await.expect("table");
    let store: Arc<dyn PlatformStateStore> = Arc::new(DynamoPlatformState::new(client, "platform-state"));
    (dynamo, PlatformGuard { store, limits, clock: Arc::new(SystemClock) })
}

fn action(platform: &str, data: serde_json::Value) -> Action {
    serde_json::from_value(json!({
        "id": "a", "type": "create", "platform": platform, "priority": "normal", "data": data,
        "status": "queued", "version": 1, "createdAt": "2026-11-24T00:00:00Z", "updatedAt": "2026-11-24T00:00:00Z",
        "queuePosition": 1, "estimatedWait": 0
    }))
    .expect("action")
}

async fn admit_all(guard: &PlatformGuard, a: &Action, op: Operation, n: usize) -> Vec<Admission> {
    let tasks = (0..n).map(|_| {
        let (guard, a) = (guard.clone(), a.clone());
        tokio::spawn(async move { guard.admit(&a, op, Duration::from_secs(30)).await.expect("admit") })
    });
    futures_util::future::join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect()
}

fn goes(admissions: &[Admission]) -> usize {
    admissions.iter().filter(|a| matches!(a, Admission::Go { .. })).count()
}

#[tokio::test]
async fn thirty_two_concurrent_workers_get_exactly_the_buckets_tokens() {
    let mut limits = Limits::default();
    // Five tokens, refilled so slowly that none comes back during the test.
    limits.buckets.insert(Platform::Notion, BucketLimit { capacity: 5.0, per_second: 0.001 });
    let (_db, guard) = guard(limits).await;
    let a = action("notion", json!({"database_id": "d", "title": "t"}));
    // Contention is retried a bounded number of times; claimers that lose every round come back.
    let mut went = 0;
    for _ in 0..5 {
        went += goes(&admit_all(&guard, &a, Operation::NotionCreatePage, 32).await);
    }
    assert_eq!(went, 5, "exactly the bucket's capacity across every worker");
    let last = guard.admit(&a, Operation::NotionCreatePage, Duration::from_secs(30)).await.expect("admit");
    assert!(matches!(last, Admission::Wait { circuit_open: false, .. }), "delayed, not failed: {last:?}");
}

#[tokio::test]
async fn slack_messages_are_limited_per_channel() {
    let (_db, guard) = guard(Limits::default()).await;
    let ops = action("slack", json!({"channel": "#ops", "text": "t"}));
    let dev = action("slack", json!({"channel": "#dev", "text": "t"}));
    assert!(matches!(
        guard.admit(&ops, Operation::SlackPostMessage, Duration::from_secs(5)).await.expect("a"),
        Admission::Go { .. }
    ));
    assert!(matches!(
        guard.admit(&dev, Operation::SlackPostMessage, Duration::from_secs(5)).await.expect("a"),
        Admission::Go { .. }
    ));
    let again = guard.admit(&ops, Operation::SlackPostMessage, Duration::from_secs(5)).await.expect("a");
    let Admission::Wait { delay, .. } = again else { panic!("one message per second per channel") };
    assert!(delay <= Duration::from_secs(1));
}

#[tokio::test]
async fn the_breaker_opens_under_concurrent_failures_and_lets_exactly_one_probe_through() {
    let limits = Limits {
        breaker: BreakerPolicy { threshold: 5, window: Duration::from_secs(60), cool_down: Duration::from_millis(400) },
        ..Limits::default()
    };
    let (_db, guard) = guard(limits).await;
    let failures = (0..16).map(|_| {
        let guard = guard.clone();
        tokio::spawn(async move { guard.record(Platform::Trello, Err(ErrorCode::ServiceDown)).await })
    });
    futures_util::future::join_all(failures).await;
    let state = guard.store.get("trello").await.expect("get").expect("state");
    assert_eq!(state.breaker, BreakerState::Open);

    let a = action("trello", json!({"name": "n", "listId": "l"}));
    let while_open = admit_all(&guard, &a, Operation::TrelloCreateCard, 8).await;
    assert!(while_open.iter().all(|x| matches!(x, Admission::Wait { circuit_open: true, .. })), "{while_open:?}");

    tokio::time::sleep(Duration::from_millis(450)).await;
    let after = admit_all(&guard, &a, Operation::TrelloCreateCard, 16).await;
    let probes: Vec<_> = after.iter().filter(|x| matches!(x, Admission::Go { probe: true })).collect();
    assert_eq!(probes.len(), 1, "exactly one probe: {after:?}");
    assert_eq!(goes(&after), 1);

    guard.record(Platform::Trello, Ok(Duration::from_millis(40))).await;
    let state = guard.store.get("trello").await.expect("get").expect("state");
    assert_eq!((state.breaker, state.failures), (BreakerState::Closed, 0));
    assert!(matches!(
        guard.admit(&a, Operation::TrelloCreateCard, Duration::from_secs(30)).await.expect("a"),
        Admission::Go { probe: false }
    ));
}
