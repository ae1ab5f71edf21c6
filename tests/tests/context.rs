//! `GET /api/context/actions` on `baton serve`: filters by user (the by-user index), source
//! and tags, the window, and the patterns of a known mix — every read a Query or a batch
//! read, never a Scan.

use baton_aws::calls::CallCounter;
use baton_tests::{Platforms, TestApp, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(30);

async fn app(calls: CallCounter) -> (Platforms, TestApp) {
    let platforms = Platforms::start().await;
    platforms.slack_answers().await;
    let app = spawn_app_with(&platforms, |opts| {
        opts.hooks.dynamodb_calls = Some(calls);
        opts.store.limits =
            baton_domain::limits::Limits::default().with_overrides("slack=10000/1s").unwrap_or_default();
    })
    .await
    .expect("runtime");
    (platforms, app)
}

fn action(id: &str, user: &str, source: &str, tags: &[&str], channel: &str) -> Value {
    json!({"id": id, "type": "notify", "platform": "slack", "priority": "normal", "userId": user,
           "source": source, "tags": tags, "data": {"channel": channel, "text": id}})
}

#[tokio::test]
async fn history_filters_by_user_source_and_tags_and_shows_the_patterns_of_a_known_mix() {
    let calls = CallCounter::default();
    let (_platforms, app) = app(calls.clone()).await;
    let mix = [
        action("h-1", "U1", "email", &["invoice", "q3"], "#ops"),
        action("h-2", "U1", "email", &["invoice"], "#ops"),
        action("h-3", "U1", "chat", &["q3"], "#broken"),
        action("h-4", "U2", "email", &["invoice", "q3"], "#broken"),
    ];
    for a in &mix {
        app.submit(a.clone()).await.expect("submitted");
    }
    let notion = json!({"id": "h-5", "type": "create", "platform": "notion", "priority": "low", "userId": "U1",
        "dryRun": true, "data": {"database_id": "db", "title": "t"}});
    app.submit(notion).await.expect("submitted");
    for id in ["h-1", "h-2", "h-3", "h-4", "h-5"] {
        app.wait_terminal(id, WITHIN).await.expect("finished");
    }
    let fb = json!({"outcome": "modified", "executionQuality": 3});
    assert_eq!(app.post("/api/actions/h-1/feedback", &fb).await.expect("feedback").0, 201);

    calls.reset();
    let (status, mine) = app.get("/api/context/actions?userId=U1").await.expect("get");
    assert_eq!(status, 200, "{mine}");
    let ids: Vec<&str> = mine["actions"].as_array().expect("actions").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, ["h-5", "h-3", "h-2", "h-1"], "U1's, newest first");
    let first = &mine["actions"][3];
    assert_eq!((first["status"].as_str(), first["source"].as_str()), (Some("success"), Some("email")));
    assert_eq!(first["tags"], json!(["invoice", "q3"]));
    let p = &mine["patterns"];
    assert_eq!((p["mostFrequentType"].as_str(), p["mostFrequentPlatform"].as_str()), (Some("notify"), Some("slack")));
    assert!((p["successRateByType"]["notify"].as_f64().expect("rate") - 2.0 / 3.0).abs() < 1e-9, "{p}");
    assert_eq!(p["successRateByType"]["create"], 1.0);
    assert_eq!(p["commonErrors"], json!([{"code": "NOT_FOUND", "count": 1}]));
    assert_eq!(p["feedback"], json!({"count": 1, "avgQuality": 3.0, "outcomes": {"modified": 1}}));
    assert_eq!(p["peakHours"].as_array().map(Vec::len), Some(1));
    assert!(p["avgActionsPerDay"].as_f64().expect("per day") > 0.0);
    assert_eq!(calls.get("Scan"), 0, "{:?}", calls.snapshot());
    assert!(calls.get("Query") >= 1, "the by-user index: {:?}", calls.snapshot());

    let (_, tagged) = app.get("/api/context/actions?tags=invoice,q3").await.expect("get");
    let ids: Vec<&str> =
        tagged["actions"].as_array().expect("actions").iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, ["h-4", "h-1"], "all the tags, any user");
    let (_, chat) = app.get("/api/context/actions?source=chat&limit=1").await.expect("get");
    assert_eq!(chat["actions"].as_array().map(Vec::len), Some(1));
    assert_eq!(chat["actions"][0]["id"], "h-3");
    let (_, old) = app.get("/api/context/actions?endDate=2020-01-01").await.expect("get");
    assert_eq!(old["actions"], json!([]), "nothing kept that old: {old}");
    assert_eq!(calls.get("Scan"), 0);

    let (status, bad) = app.get("/api/context/actions?limit=0&colour=red").await.expect("get");
    assert_eq!(status, 400);
    let fields: Vec<&str> = bad["error"]["details"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["query.limit", "query.colour"]);
}
