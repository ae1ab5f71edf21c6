//! `DynamoActionStore` over the real DynamoDB wire protocol — the same suite against the
//! embedded emulator (what `baton serve` runs on) and against moto's DynamoDB, so that
//! behaviour one emulator gets wrong cannot hide.

use aws_sdk_dynamodb::types::AttributeValue;
use baton_aws::calls::CallCounter;
use baton_aws::store::DynamoActionStore;
use baton_aws::{local_dynamodb_client, tables};
use baton_cli::DataLocation;
use baton_cli::embedded::EmbeddedDynamo;
use baton_domain::StoreError;
use baton_domain::model::{Action, Platform, Priority, Status};
use baton_domain::ports::{ActionStore, RecentQuery};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

enum Backend {
    Emulator(#[allow(dead_code)] EmbeddedDynamo),
    Moto(#[allow(dead_code)] baton_tests::moto::Moto),
}

struct Fixture {
    _backend: Backend,
    client: aws_sdk_dynamodb::Client,
    store: Arc<DynamoActionStore>,
    calls: CallCounter,
}

/// The embedded emulator as `baton serve` reaches it: in process.
async fn emulator() -> Fixture {
    let dynamo = EmbeddedDynamo::start(&DataLocation::Memory).expect("emulator");
    let calls = CallCounter::default();
    let client = dynamo.client(Some(calls.clone()));
    prepared(Backend::Emulator(dynamo), client, calls).await
}

async fn moto() -> Fixture {
    let moto = baton_tests::moto::Moto::start().await.expect("moto");
    let endpoint = moto.endpoint.clone();
    fixture(Backend::Moto(moto), &endpoint).await
}

async fn fixture(backend: Backend, endpoint: &str) -> Fixture {
    let calls = CallCounter::default();
    let client = local_dynamodb_client(endpoint, Some(calls.clone()));
    prepared(backend, client, calls).await
}

async fn prepared(backend: Backend, client: aws_sdk_dynamodb::Client, calls: CallCounter) -> Fixture {
    tables::ACTIONS.ensure(&client, "actions-test").await.expect("table");
    tables::ACTIONS.ensure(&client, "actions-test").await.expect("ensure is idempotent");
    let store = Arc::new(DynamoActionStore::new(client.clone(), "actions-test", Duration::from_secs(86_400 * 30)));
    Fixture { _backend: backend, client, store, calls }
}

fn action(id: &str, platform: Platform, priority: Priority, created: DateTime<Utc>) -> Action {
    serde_json::from_value(json!({
        "id": id, "type": "notify", "platform": platform, "priority": priority,
        "data": {"channel": "#ops", "text": "hi", "nested": {"n": 1.5, "list": [1, "two", null]}},
        "tags": ["a", "b"], "retryConfig": {"maxRetries": 2, "initialDelay": 100, "backoffMultiplier": 2.0, "maxDelay": 900},
        "status": "queued", "version": 1, "createdAt": created, "updatedAt": created,
        "queuePosition": 1, "estimatedWait": 0
    }))
    .expect("action")
}

async fn an_action_round_trips_exactly_and_ids_are_unique(f: Fixture) {
    let a = action("rt-1", Platform::Slack, Priority::High, Utc::now());
    f.store.insert(&a).await.expect("insert");
    assert_eq!(f.store.get("rt-1").await.expect("get"), Some(a.clone()));
    assert!(matches!(f.store.insert(&a).await, Err(StoreError::AlreadyExists)));
    assert_eq!(f.store.get("missing").await.expect("get"), None);
}

async fn a_lease_is_won_exactly_once_by_sixteen_concurrent_claimers(f: Fixture) {
    for round in 0..10 {
        let id = format!("race-{round}");
        f.store.insert(&action(&id, Platform::Notion, Priority::Critical, Utc::now())).await.expect("insert");
        let claims = (0..16).map(|w| {
            let store = f.store.clone();
            let id = id.clone();
            tokio::spawn(async move {
                let current = store.get(&id).await.expect("get").expect("exists");
                let Ok(leased) = current.lease(&format!("w{w}"), Utc::now(), Duration::from_secs(30)) else {
                    return false; // someone already leased it before this claimer read it
                };
                match store.replace(&current, &leased).await {
                    Ok(()) => true,
                    Err(StoreError::Conflict) => false,
                    Err(e) => panic!("unexpected store error: {e}"),
                }
            })
        });
        let wins =
            futures_util::future::join_all(claims).await.into_iter().filter(|r| *r.as_ref().expect("task")).count();
        assert_eq!(wins, 1, "round {round}");
        let stored = f.store.get(&id).await.expect("get").expect("exists");
        assert_eq!((stored.status, stored.version, stored.attempts), (Status::Executing, 2, 1));
    }
}

async fn recent_pages_newest_first_across_days_with_filters_and_totals(f: Fixture) {
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..12 {
        let created = now - ChronoDuration::hours(5 * i);
        let platform = if i % 3 == 0 { Platform::Notion } else { Platform::Slack };
        let id = format!("r-{i:02}");
        let mut a = action(&id, platform, Priority::Normal, created);
        f.store.insert(&a).await.expect("insert");
        if i % 2 == 0 {
            let leased = a.lease("w", created, Duration::from_secs(30)).expect("lease");
            f.store.replace(&a, &leased).await.expect("lease write");
            let done = leased.succeed("w", json!({"ok": true}), created).expect("succeed");
            f.store.replace(&leased, &done).await.expect("done write");
            a = done;
        }
        assert_eq!(f.store.get(&id).await.expect("get").as_ref(), Some(&a));
        ids.push(id);
    }
    let q = |limit, offset| RecentQuery { limit, offset, ..RecentQuery::default() };
    let page = f.store.recent(&q(5, 0)).await.expect("recent");
    assert_eq!(page.total, 12);
    assert_eq!(page.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids[..5].to_vec());
    let page = f.store.recent(&q(4, 9)).await.expect("offset");
    assert_eq!(page.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids[9..].to_vec());

    let filtered = RecentQuery { platform: Some(Platform::Slack), statuses: vec![Status::Success], ..q(50, 0) };
    let page = f.store.recent(&filtered).await.expect("filtered");
    let expected: Vec<&str> =
        (0..12usize).filter(|i| !i.is_multiple_of(3) && i.is_multiple_of(2)).map(|i| ids[i].as_str()).collect();
    assert_eq!(page.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), expected);
    assert_eq!(page.total, expected.len() as u64);

    let window = RecentQuery {
        start: Some(now - ChronoDuration::hours(21)),
        end: Some(now - ChronoDuration::hours(9)),
        ..q(50, 0)
    };
    let page = f.store.recent(&window).await.expect("window");
    assert_eq!(page.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["r-02", "r-03", "r-04"]);
    assert_eq!(f.calls.get("Scan"), 0, "no Scan on any read path");
}

/// A busy window costs what a quiet one does: the count looks at `COUNT_ENTRIES` index
/// entries at most and then says it is a lower bound; the page lists only what it shows.
async fn a_busy_window_is_counted_to_a_bound_and_listed_without_reading_it_all(f: Fixture) {
    use baton_aws::store::recent::COUNT_ENTRIES;
    let now = Utc::now();
    let n = COUNT_ENTRIES + 30;
    let inserts = (0..n).map(|i| {
        let store = f.store.clone();
        // The ten newest now, the rest a minute before: a window of the last few milliseconds
        // then reads only the ten (in flight, from the pending index: none is ready before it
        // was created).
        let age = ChronoDuration::milliseconds(i as i64) + ChronoDuration::minutes(if i < 10 { 0 } else { 1 });
        let a = action(&format!("b-{i:05}"), Platform::Slack, Priority::Low, now - age);
        async move { store.insert(&a).await }
    });
    for r in futures_util::future::join_all(inserts).await {
        r.expect("insert");
    }
    f.calls.reset();
    let page = f.store.recent(&RecentQuery { limit: 1, ..RecentQuery::default() }).await.expect("recent");
    assert_eq!(page.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["b-00000"]);
    assert_eq!((page.total, page.exact), (COUNT_ENTRIES as u64, false), "a lower bound");
    // In flight, they are read from the pending index (one query per priority); the recent
    // index holds none of them, and its count asks once per day of the 30 days' window.
    assert_eq!(f.calls.get("Query"), 4 + 31, "{:?}", f.calls.snapshot());
    assert_eq!(f.calls.get("BatchGetItem"), 1, "only the page's item is read");
    let quiet = RecentQuery { limit: 5, start: Some(now - ChronoDuration::milliseconds(9)), ..RecentQuery::default() };
    let page = f.store.recent(&quiet).await.expect("quiet");
    assert_eq!((page.total, page.exact, page.actions.len()), (10, true, 5), "a window that fits is exact");
}

async fn pending_lists_only_unfinished_actions_oldest_first_in_pages(f: Fixture) {
    let now = Utc::now();
    for i in 0..7 {
        let a = action(&format!("p-{i}"), Platform::Slack, Priority::Low, now + ChronoDuration::milliseconds(i));
        f.store.insert(&a).await.expect("insert");
        if i == 3 {
            let leased = a.lease("w", now, Duration::from_secs(30)).expect("lease");
            f.store.replace(&a, &leased).await.expect("write");
            let done = leased.succeed("w", json!({}), now).expect("done");
            f.store.replace(&leased, &done).await.expect("write");
        }
    }
    f.store.insert(&action("other", Platform::Slack, Priority::High, now)).await.expect("insert");
    let first = f.store.pending(Priority::Low, 4, None).await.expect("page 1");
    let second = f.store.pending(Priority::Low, 4, first.next.clone()).await.expect("page 2");
    let ids: Vec<String> = first.items.iter().chain(&second.items).map(|a| a.id.clone()).collect();
    assert_eq!(ids, ["p-0", "p-1", "p-2", "p-4", "p-5", "p-6"]);
    assert!(first.next.is_some());
    assert_eq!(f.calls.get("Scan"), 0);
}

/// The recent index keeps one phase for the in-flight statuses (so a lease writes no entry):
/// a filter that names some of them reads those entries' items; the pending listing reads
/// status and lease from the items too.
async fn in_flight_statuses_are_told_apart_by_their_items(f: Fixture) {
    let now = Utc::now();
    let mk = |id: &str, ms: i64| action(id, Platform::Slack, Priority::Normal, now - ChronoDuration::milliseconds(ms));
    let queued = mk("f-queued", 1);
    f.store.insert(&queued).await.expect("insert");
    let executing = mk("f-executing", 2);
    f.store.insert(&executing).await.expect("insert");
    let leased = executing.lease("w-1", now, Duration::from_secs(30)).expect("lease");
    f.store.replace(&executing, &leased).await.expect("lease write");
    let done = mk("f-done", 3);
    f.store.insert(&done).await.expect("insert");
    let l = done.lease("w-1", now, Duration::from_secs(30)).expect("lease");
    f.store.replace(&done, &l).await.expect("lease write");
    f.store.replace(&l, &l.clone().succeed("w-1", json!({}), now).expect("done")).await.expect("done write");
    let listed = |statuses: Vec<Status>| {
        let store = f.store.clone();
        async move {
            let page =
                store.recent(&RecentQuery { statuses, limit: 10, ..RecentQuery::default() }).await.expect("recent");
            let ids: Vec<String> = page.actions.iter().map(|a| a.id.clone()).collect();
            (ids, page.total)
        }
    };
    use Status::*;
    assert_eq!(listed(vec![Queued]).await, (vec!["f-queued".to_owned()], 1));
    assert_eq!(listed(vec![Executing]).await, (vec!["f-executing".to_owned()], 1));
    assert_eq!(
        listed(vec![Queued, Executing, Retrying]).await,
        (vec!["f-queued".to_owned(), "f-executing".to_owned()], 2)
    );
    assert_eq!(
        listed(vec![PendingApproval, Queued, Retrying]).await,
        (vec!["f-queued".to_owned()], 1),
        "the contract's pending"
    );
    assert_eq!(listed(vec![Success, Executing]).await, (vec!["f-executing".to_owned(), "f-done".to_owned()], 2));
    assert_eq!(listed(vec![Failed]).await, (vec![], 0));
    let pending = f.store.pending(Priority::Normal, 10, None).await.expect("pending").items;
    let seen: Vec<(&str, Status, Option<&str>)> =
        pending.iter().map(|e| (e.id.as_str(), e.status, e.worker_id.as_deref())).collect();
    assert_eq!(
        seen,
        [("f-executing", Executing, Some("w-1")), ("f-queued", Queued, None)],
        "oldest first, from the items"
    );
    assert_eq!(pending[0].lease_until, leased.lease_until);
}

async fn finished_actions_carry_a_ttl_and_leave_the_pending_index(f: Fixture) {
    let a = action("ttl-1", Platform::Slack, Priority::Normal, Utc::now());
    f.store.insert(&a).await.expect("insert");
    let raw = |f: &Fixture| {
        let client = f.client.clone();
        async move {
            client
                .get_item()
                .table_name("actions-test")
                .key("id", AttributeValue::S("ttl-1".into()))
                .send()
                .await
                .expect("get")
                .item()
                .cloned()
                .expect("item")
        }
    };
    let item = raw(&f).await;
    assert!(item.contains_key("pendingPriority") && !item.contains_key("expiresAt"));
    assert!(!item.contains_key("gsiDay"), "in flight, listed from the pending index alone");
    let leased = a.lease("w", Utc::now(), Duration::from_secs(30)).expect("lease");
    f.store.replace(&a, &leased).await.expect("write");
    let failed = leased
        .fail(
            "w",
            baton_domain::model::ActionError {
                code: baton_domain::ErrorCode::NotFound,
                message: "gone".into(),
                retriable: false,
            },
            Utc::now(),
        )
        .expect("fail");
    f.store.replace(&leased, &failed).await.expect("write");
    let item = raw(&f).await;
    assert!(!item.contains_key("pendingPriority"), "terminal actions leave the sparse index");
    assert!(item.contains_key("gsiDay"), "and enter the recent one");
    let expires: i64 = item["expiresAt"].as_n().expect("number").parse().expect("epoch");
    assert!(expires > Utc::now().timestamp() + 29 * 86_400);
    assert!(matches!(f.store.replace(&leased, &failed).await, Err(StoreError::Conflict)), "stale images lose");
}

/// In flight, an action is listed from the pending index; held and settled, from `recent`.
/// Each is listed once whoever wrote its entries: an in-flight one that an earlier version
/// also put in `recent`, and a failure still pending for its fallback.
async fn each_action_is_listed_once_from_whichever_index_holds_it(f: Fixture) {
    let now = Utc::now();
    let mk = |id: &str, ms: i64| action(id, Platform::Slack, Priority::High, now - ChronoDuration::milliseconds(ms));
    let queued = mk("o-queued", 1);
    f.store.insert(&queued).await.expect("insert");
    let legacy = mk("o-legacy", 2);
    let mut item = f.store.encode(&legacy).expect("encode");
    assert!(!item.contains_key("gsiDay"), "in flight: no recent entry");
    item.insert("gsiDay".into(), AttributeValue::S(legacy.created_at.format("%Y-%m-%d").to_string()));
    f.client.put_item().table_name("actions-test").set_item(Some(item)).send().await.expect("as written before");
    let held = mk("o-fallback", 3);
    f.store.insert(&held).await.expect("insert");
    let leased = held.lease("w", now, Duration::from_secs(30)).expect("lease");
    f.store.replace(&held, &leased).await.expect("lease write");
    let error = baton_domain::model::ActionError {
        code: baton_domain::ErrorCode::NotFound,
        message: "gone".into(),
        retriable: false,
    };
    let mut failed = leased.fail("w", error, now).expect("fail");
    failed.fallback_pending = true;
    f.store.replace(&leased, &failed).await.expect("fail write");
    let listed = |statuses: Vec<Status>| {
        let store = f.store.clone();
        async move {
            let page =
                store.recent(&RecentQuery { statuses, limit: 10, ..RecentQuery::default() }).await.expect("recent");
            (page.actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), page.total)
        }
    };
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(listed(vec![]).await, (ids(&["o-queued", "o-legacy", "o-fallback"]), 3));
    assert_eq!(listed(vec![Status::Queued]).await, (ids(&["o-queued", "o-legacy"]), 2));
    assert_eq!(listed(vec![Status::Failed]).await, (ids(&["o-fallback"]), 1));
    let pending = f.store.pending(Priority::High, 10, None).await.expect("pending").items;
    assert_eq!(pending.len(), 3, "the failure waits for its fallback there too");
}

async fn connections_are_listed_without_scan_and_expired_ones_are_skipped(f: Fixture) {
    use baton_aws::connections::{CONNECTIONS, DynamoConnections};
    use baton_domain::events::Subscription;
    use baton_domain::ports::{Connection, ConnectionStore};
    CONNECTIONS.ensure(&f.client, "connections-test").await.expect("table");
    let store = DynamoConnections::new(f.client.clone(), "connections-test");
    for id in ["c-1", "c-2", "c-3"] {
        store
            .put(&Connection { id: id.into(), subscription: Subscription::default(), connected_at: Utc::now() })
            .await
            .expect("put");
    }
    let sub = Subscription { events: vec!["action:*".into()], platforms: vec![Platform::Slack] };
    store.subscribe("c-2", &sub).await.expect("subscribe");
    assert!(matches!(store.subscribe("nobody", &sub).await, Err(StoreError::Conflict)), "no resurrection");
    // c-3 outlived its TTL but the sweeper has not come by yet.
    f.client
        .update_item()
        .table_name("connections-test")
        .key("id", AttributeValue::S("c-3".into()))
        .update_expression("SET expiresAt = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("age it");
    let mut all = store.all().await.expect("all");
    all.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c-1", "c-2"]);
    assert_eq!(all[1].subscription, sub);
    store.delete("c-1").await.expect("delete");
    store.delete("c-1").await.expect("deleting twice is fine");
    assert_eq!(store.all().await.expect("all").len(), 1);
    assert_eq!(f.calls.get("Scan"), 0);
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod emulator {
            $(#[tokio::test] async fn $name() { super::$name(super::emulator().await).await })+
        }
        mod moto {
            $(#[tokio::test] async fn $name() { super::$name(super::moto().await).await })+
        }
    };
}

on_both_backends!(
    an_action_round_trips_exactly_and_ids_are_unique,
    recent_pages_newest_first_across_days_with_filters_and_totals,
    a_busy_window_is_counted_to_a_bound_and_listed_without_reading_it_all,
    pending_lists_only_unfinished_actions_oldest_first_in_pages,
    in_flight_statuses_are_told_apart_by_their_items,
    finished_actions_carry_a_ttl_and_leave_the_pending_index,
    each_action_is_listed_once_from_whichever_index_holds_it,
    connections_are_listed_without_scan_and_expired_ones_are_skipped,
);

/// On the embedded emulator only: moto's server answers on threads and checks a condition and
/// writes without a lock between them, so two racing conditional writes can both land there
/// (a race of the stand-in, not of DynamoDB, whose conditional writes are atomic per item).
#[tokio::test]
async fn a_lease_is_won_exactly_once_by_sixteen_concurrent_claimers_on_the_emulator() {
    a_lease_is_won_exactly_once_by_sixteen_concurrent_claimers(emulator().await).await
}

#[tokio::test]
async fn an_exposed_store_serves_over_http_what_the_runtime_wrote_in_process() {
    let dynamo = EmbeddedDynamo::start_with(&DataLocation::Memory, true).expect("emulator");
    let inside = dynamo.client(None);
    tables::ACTIONS.ensure(&inside, "exposed").await.expect("table");
    let store = DynamoActionStore::new(inside, "exposed", Duration::from_secs(86_400));
    store.insert(&action("x-1", Platform::Slack, Priority::High, Utc::now())).await.expect("insert");
    let endpoint = dynamo.endpoint.clone().expect("an endpoint when exposed");
    let outside = local_dynamodb_client(&endpoint, None);
    let got = outside
        .get_item()
        .table_name("exposed")
        .key("id", AttributeValue::S("x-1".into()))
        .send()
        .await
        .expect("read over HTTP");
    assert!(got.item.is_some(), "the same database");
    assert!(EmbeddedDynamo::start(&DataLocation::Memory).expect("plain").endpoint.is_none(), "no port unless asked");
    dynamo.stop();
}
