//! A crash mid-run loses nothing: restarted on the same data directory, the runtime finishes
//! every accepted action, and none completes twice.

use baton_cli::DataLocation;
use baton_tests::{Platforms, WsClient, slack_notify, spawn_app_on};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ACTIONS: usize = 300;

/// Reads completion events into `counts` until the connection ends or `stop` fires.
async fn count_completions(mut ws: WsClient, mut stop: tokio::sync::oneshot::Receiver<()>) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    loop {
        tokio::select! {
            _ = &mut stop => return counts,
            frame = ws.next(Duration::from_secs(60)) => match frame {
                Ok(f) if f["event"] == "action:completed" => {
                    *counts.entry(f["data"]["actionId"].as_str().unwrap_or_default().to_owned()).or_insert(0) += 1;
                }
                Ok(_) => {}
                Err(_) => return counts,
            },
        }
    }
}

#[tokio::test]
async fn a_crash_mid_run_loses_nothing_and_completes_nothing_twice() {
    let dir = std::env::temp_dir().join(format!("baton-restart-{}", uuid::Uuid::new_v4()));
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&platforms.slack)
        .await;

    let first = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("first run");
    let mut ws = first.ws().await.expect("ws");
    ws.subscribe(&["action:completed"], &[]).await.expect("subscribed");
    let (stop_first, stopped_first) = tokio::sync::oneshot::channel();
    let first_counts = tokio::spawn(count_completions(ws, stopped_first));

    let ids: Vec<String> = futures_util::stream::iter(0..ACTIONS)
        .map(|i| first.submit(slack_notify(["critical", "high", "normal", "low"][i % 4], "#ops", &format!("m{i}"))))
        .buffered(16)
        .map(|r| r.expect("accepted"))
        .collect()
        .await;
    // Let some finish, then pull the plug while others are queued and in flight.
    loop {
        let (_, page) = first.get("/api/actions/recent?status=success&limit=1").await.expect("recent");
        if page["total"].as_u64().unwrap_or(0) >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, page) = first.get("/api/actions/recent?status=success&limit=1").await.expect("recent");
    assert!(
        page["total"].as_u64().unwrap_or(0) < ACTIONS as u64,
        "the crash must come mid-run; everything already finished"
    );
    first.runtime.crash().await;
    let _ = stop_first.send(());
    let first_counts = first_counts.await.expect("counter");

    let second = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("second run");
    let mut ws = second.ws().await.expect("ws");
    ws.subscribe(&["action:completed"], &[]).await.expect("subscribed");
    let (stop_second, stopped_second) = tokio::sync::oneshot::channel();
    let second_counts = tokio::spawn(count_completions(ws, stopped_second));
    let mut finals: Vec<Value> = Vec::new();
    for id in &ids {
        finals.push(second.wait_terminal(id, Duration::from_secs(60)).await.expect("terminal after restart"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop_second.send(());
    let second_counts = second_counts.await.expect("counter");

    for action in &finals {
        assert_eq!(action["status"], "success", "{action}");
    }
    for id in &ids {
        let total = first_counts.get(id).copied().unwrap_or(0) + second_counts.get(id).copied().unwrap_or(0);
        assert!(total <= 1, "{id} completed {total} times");
    }
    assert!(!second_counts.is_empty(), "the second run finished the rest");
    assert!(finals.iter().any(|a| a["attempts"] == 2), "some actions were executing at the crash and were run again");
    second.runtime.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data directory kept from an earlier version, whose actions table has the old index
/// projections (`recent` with `status`, `pending-by-priority` with the lease) and items
/// without `gsiPhase`: the runtime re-creates those indexes and writes the phase on the old
/// items, so status filters find them.
#[tokio::test]
async fn a_database_of_an_earlier_version_is_brought_up_to_date() {
    use baton_aws::store::DynamoActionStore;
    use baton_aws::tables::{ACTIONS, IndexDef, Projected, TableDef};
    let dir = std::env::temp_dir().join(format!("baton-upgrade-{}", uuid::Uuid::new_v4()));
    let earlier: &'static [IndexDef] = Box::leak(Box::new([
        IndexDef { projection: Projected::Include(&["platform", "status"]), ..ACTIONS.indexes[0] },
        IndexDef { projection: Projected::Include(&["type", "status", "leaseUntil"]), ..ACTIONS.indexes[1] },
        ACTIONS.indexes[2],
        ACTIONS.indexes[3],
    ]));
    let old = TableDef { indexes: earlier, ..ACTIONS };
    {
        let dynamo = baton_cli::embedded::EmbeddedDynamo::start(&DataLocation::Dir(dir.clone())).expect("emulator");
        let client = dynamo.client(None);
        assert!(old.ensure(&client, "baton-actions").await.expect("old table").is_empty());
        let store = DynamoActionStore::new(client.clone(), "baton-actions", Duration::from_secs(86_400));
        let sub = baton_domain::validation::parse_submission(&json!({"action": slack_notify("high", "#ops", "kept")}))
            .expect("valid");
        let now = chrono::Utc::now();
        let queued = baton_domain::model::Action::accepted(sub.action, sub.context, now, 1, 0);
        let leased = queued.lease("w", now, Duration::from_secs(30)).expect("lease");
        let done = leased.succeed("w", json!({"ok": true}), now).expect("done");
        let mut item = store.encode(&done).expect("encode");
        item.remove(baton_aws::tables::attr::PHASE);
        client.put_item().table_name("baton-actions").set_item(Some(item)).send().await.expect("old item");
    }
    let platforms = Platforms::start().await;
    let app = spawn_app_on(&platforms, DataLocation::Dir(dir.clone())).await.expect("runtime on the old data");
    let (status, page) = app.get("/api/actions/recent?status=success").await.expect("recent");
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["total"].as_u64(), page["actions"][0]["status"].as_str()), (Some(1), Some("success")), "{page}");
    let (_, none) = app.get("/api/actions/recent?status=queued").await.expect("recent");
    assert_eq!(none["total"], 0, "{none}");
    app.runtime.stop().await;
    // Started again, nothing is left to bring up to date.
    let dynamo = baton_cli::embedded::EmbeddedDynamo::start(&DataLocation::Dir(dir.clone())).expect("emulator");
    assert!(ACTIONS.ensure(&dynamo.client(None), "baton-actions").await.expect("ensure").is_empty());
    drop(dynamo);
    let _ = std::fs::remove_dir_all(&dir);
}
