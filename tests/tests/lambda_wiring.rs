//! The serverless path end to end on the `Stack` (moto, a local `@connections`, the real
//! handlers fed as Lambda's event source mappings feed them).

use baton_domain::limits::Limits;
use baton_domain::model::Priority;
use baton_domain::ports::{Connection, ConnectionStore};
use baton_tests::Platforms;
use baton_tests::stack::{GONE, Stack, StackOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const LIVE: &str = "live-connection";
const PRIORITIES: [&str; 4] = ["critical", "high", "normal", "low"];

fn slack_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.5"}))
}

async fn connect(stack: &Stack, ids: &[&str]) {
    for id in ids {
        let c = Connection { id: (*id).into(), subscription: Default::default(), connected_at: chrono::Utc::now() };
        stack.connections.put(&c).await.expect("connection");
    }
}

fn frames_of(stack: &Stack, connection: &str) -> Vec<Value> {
    stack.posts.lock().expect("lock").iter().filter(|(id, _)| id == connection).map(|(_, f)| f.clone()).collect()
}

fn lifecycle(frames: &[Value], action: &str) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["data"]["actionId"] == action)
        .filter_map(|f| f["event"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_action_sent_to_the_ingress_queue_reaches_websocket_clients_and_the_events_queue() {
    let platforms = Platforms::start().await;
    // Slack fails once, then answers: the retry is a new message after its backoff.
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    connect(&stack, &[LIVE, GONE]).await;
    stack.calls.reset(); // count only what the functions do from here on

    let mut envelope =
        json!({"event": "action:ready", "data": baton_tests::contract_examples()["action_ready"].clone()});
    envelope["data"]["action"] = json!({"id": "wired-1", "type": "notify", "platform": "slack", "priority": "high",
        "data": {"channel": "#ops", "text": "Deploy finished"}});
    stack.send_ingress(&envelope.to_string()).await;
    stack.send_ingress("{\"event\": \"action:explode\"}").await;
    stack
        .pump_until(Duration::from_secs(60), |s| {
            lifecycle(&frames_of(s, LIVE), "wired-1").iter().any(|e| e == "action:completed")
        })
        .await
        .expect("completed");

    let names = lifecycle(&frames_of(&stack, LIVE), "wired-1");
    assert_eq!(names, ["action:queued", "action:executing", "action:retrying", "action:executing", "action:completed"]);
    assert!(
        stack.connections.all().await.expect("all").iter().all(|c| c.id != GONE),
        "the gone connection was removed"
    );

    let queued_events = stack.drain_events().await;
    let rejected: Vec<&Value> = queued_events.iter().filter(|e| e["event"] == "ingest:rejected").collect();
    assert_eq!(rejected.len(), 1, "{queued_events:?}");
    assert_eq!(rejected[0]["data"]["fields"][0]["field"], "event");
    let on_queue: Vec<String> = queued_events
        .iter()
        .filter(|e| e["data"]["actionId"] == "wired-1")
        .filter_map(|e| e["event"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(on_queue, names, "the events queue carries the same sequence, in order");

    let calls = stack.calls.snapshot();
    let total: u64 = calls.values().sum();
    eprintln!(
        "AWS API calls made by Baton's functions for one action (one retry, one rejected message): {calls:?}, {total} in all; by table: {:?}",
        stack.calls.snapshot_by_table()
    );
    assert_eq!(stack.calls.get("Scan"), 0);
    assert_eq!(stack.calls.get("ChangeMessageVisibility"), 0, "the retry is re-sent, not a failed delivery");
    assert_eq!(stack.calls.get("DeleteItem"), 1, "the gone connection is deleted once");
    assert_eq!(stack.dead_letters().await, [0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn fifty_actions_against_a_platform_limited_to_one_request_a_second_all_complete_and_no_dead_letters() {
    let platforms = Platforms::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(move |_: &Request| {
            seen.fetch_add(1, Ordering::SeqCst);
            slack_ok()
        })
        .mount(&platforms.slack)
        .await;
    // Each message may be received twice at most before it is dead-lettered: waiting must
    // not count as a delivery.
    let options = StackOptions {
        max_receive: 2,
        limits: Limits::default().with_overrides("slack=1/1s").expect("limits"),
        ..StackOptions::default()
    };
    let mut stack = Stack::start(&platforms, options).await.expect("stack");
    let ingestor = stack.ingestor.clone();
    let mut ids = Vec::new();
    for i in 0..50 {
        let body = json!({"action": {"id": format!("limited-{i}"), "type": "notify", "platform": "slack",
            "priority": PRIORITIES[i % 4], "data": {"channel": "#ops", "text": format!("m{i}")}}});
        let sub = baton_domain::validation::parse_submission(&body).expect("valid");
        ids.push(ingestor.submitter.submit(sub).await.expect("accepted").action_id);
    }
    let store = stack.store.clone();
    let started = tokio::time::Instant::now();
    let mut done = 0;
    while done < ids.len() {
        stack.pump().await;
        done = 0;
        for id in &ids {
            let a = baton_domain::ports::ActionStore::get(store.as_ref(), id).await.expect("get").expect("stored");
            assert!(a.status != baton_domain::model::Status::Failed, "{id} failed: {:?}", a.error);
            done += usize::from(a.status == baton_domain::model::Status::Success);
        }
        assert!(started.elapsed() < Duration::from_secs(150), "{done} of 50 after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(calls.load(Ordering::SeqCst), 50, "one request each");
    assert!(elapsed >= Duration::from_secs(45), "the limit was kept: {elapsed:?}");
    assert_eq!(stack.dead_letters().await, [0, 0, 0, 0, 0], "waiting is not failing");
    assert!(stack.calls.get("ChangeMessageVisibility") == 0);
    eprintln!("50 actions at 1 request/s: {elapsed:?}; calls {:?}", stack.calls.snapshot());
}

#[tokio::test]
async fn poison_messages_are_rejected_with_reasons_acknowledged_and_good_ones_keep_flowing() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let good = |id: &str| {
        json!({"event": "action:ready", "data": {"action": {"id": id, "type": "notify", "platform": "slack",
            "priority": "high", "data": {"channel": "#ops", "text": "fine"}}}})
        .to_string()
    };
    let oversize = json!({"event": "action:ready", "data": {"pad": "x".repeat(260 * 1024)}}).to_string();
    let poison = [
        ("{not json", "not JSON"),
        (r#"{"event": "action:levitate", "data": {}}"#, "event"),
        (oversize.as_str(), "body"),
        (
            r#"{"event": "action:ready", "data": {"action": {"type": 5, "platform": "slack", "priority": "high", "data": {}}}}"#,
            "data.action.type",
        ),
    ];
    stack.send_ingress(&good("before-poison")).await;
    for (body, _) in &poison {
        stack.send_ingress(body).await;
    }
    stack.send_ingress(&good("after-poison")).await;
    let finals = stack
        .pump_until_terminal(&["before-poison".into(), "after-poison".into()], Duration::from_secs(60))
        .await
        .expect("the good ones complete");
    assert!(finals.iter().all(|a| a.status == baton_domain::model::Status::Success));
    let events = stack.drain_events().await;
    let rejected: Vec<&Value> = events.iter().filter(|e| e["event"] == "ingest:rejected").collect();
    assert_eq!(rejected.len(), poison.len(), "one rejection each: {rejected:?}");
    for (_, field) in &poison {
        assert!(
            rejected.iter().any(|r| r["data"]["reason"].as_str().is_some_and(|t| t.contains(field))
                || r["data"]["fields"].as_array().is_some_and(|f| f.iter().any(|f| f["field"] == *field))),
            "a rejection names {field}: {rejected:?}"
        );
    }
    assert_eq!(stack.dead_letters().await, [0, 0, 0, 0, 0], "acknowledged, not dead-lettered");
}

#[tokio::test]
async fn each_connection_gets_its_frames_in_order_while_posts_finish_out_of_order() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let options = StackOptions {
        post_jitter: 40,
        limits: Limits::default().with_overrides("slack=1000/1s").expect("limits"),
        ..StackOptions::default()
    };
    let mut stack = Stack::start(&platforms, options).await.expect("stack");
    let conns: Vec<String> = (0..4).map(|i| format!("dash-{i}")).collect();
    connect(&stack, &conns.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let body = json!({"action": {"id": format!("ordered-{i}"), "type": "notify", "platform": "slack",
            "priority": "critical", "data": {"channel": format!("#c{i}"), "text": "t"}}});
        let sub = baton_domain::validation::parse_submission(&body).expect("valid");
        ids.push(stack.ingestor.submitter.submit(sub).await.expect("accepted").action_id);
    }
    stack.pump_until_terminal(&ids, Duration::from_secs(60)).await.expect("terminal");
    // The last stream batch may still be in flight to the stand-in: pump once more.
    stack.pump().await;
    for c in &conns {
        let frames = frames_of(&stack, c);
        for id in &ids {
            assert_eq!(lifecycle(&frames, id), ["action:queued", "action:executing", "action:completed"], "{c}: {id}");
        }
    }
}

#[tokio::test]
async fn the_scheduler_redrives_each_of_a_thousand_overdue_actions_at_most_once_per_period() {
    use baton_domain::fakes::{ManualClock, RecordingSink};
    let platforms = Platforms::start().await;
    let stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let clock = ManualClock::new(chrono::Utc::now());
    let submitter = baton_domain::usecases::Submitter {
        store: stack.store.clone(),
        queue: Arc::new(baton_domain::fakes::MemoryQueue::default()), // their first messages are "lost"
        clock: Arc::new(ManualClock::new(chrono::Utc::now())),
        handoff: baton_domain::usecases::Handoff::NONE, // and the stream is not pumped here
    };
    futures_util::future::join_all((0..1000).map(|i| {
        let submitter = submitter.clone();
        async move {
            let body = json!({"action": {"id": format!("overdue-{i}"), "type": "notify", "platform": "slack",
                "priority": PRIORITIES[i % 4], "data": {"channel": "#ops", "text": "t"}}});
            submitter
                .submit(baton_domain::validation::parse_submission(&body).expect("valid"))
                .await
                .expect("accepted");
        }
    }))
    .await;
    clock.advance(scheduler::handler::REDRIVE_AFTER + Duration::from_secs(1));
    let (sink, notifier) = (RecordingSink::default(), RecordingSink::default());
    let last_depth = std::sync::Mutex::new(None);
    stack.calls.reset();
    for _ in 0..3 {
        let run = scheduler::handler::Scheduler {
            store: stack.store.as_ref(),
            queue: stack.queue.as_ref(),
            clock: &clock,
            sink: &sink,
            notifier: &notifier,
            last_depth: &last_depth,
            approvals: &stack.approvals,
            workflows: Some(&stack.workflows),
            metrics: Some(&stack.metrics),
        };
        run.run().await.expect("run");
        clock.advance(Duration::from_secs(60));
    }
    let mut sent = std::collections::HashMap::<String, u32>::new();
    for p in Priority::ALL {
        loop {
            let got = stack
                .sqs
                .receive_message()
                .queue_url(&stack.urls.priority[p.index()])
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let item: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("work item");
                *sent.entry(item["actionId"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
                stack
                    .sqs
                    .delete_message()
                    .queue_url(&stack.urls.priority[p.index()])
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
    assert_eq!(sent.len(), 1000, "every overdue action was re-sent");
    assert!(sent.values().all(|n| *n == 1), "at most once in the period");
    let batches = stack.calls.get("SendMessageBatch");
    assert!(batches <= 104, "in batches of ten: {batches} batch calls");
    assert_eq!(stack.calls.get("SendMessage"), 0);
}

#[tokio::test]
async fn rest_requests_pass_the_authorizer_with_a_key_and_the_api_enforces_its_scopes() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    let create = |scopes: Vec<baton_domain::auth::Scope>| {
        let request =
            baton_domain::auth::KeyRequest { name: "engine".into(), scopes, expires_at: None, rate_limit: None };
        stack.access.create_key(request)
    };
    let (_, writer) = create(vec![baton_domain::auth::Scope::ActionsWrite]).await.expect("key");
    let (_, reader) = create(vec![baton_domain::auth::Scope::ActionsRead]).await.expect("key");
    let body = json!({"action": {"id": "keyed-1", "type": "notify", "platform": "slack", "priority": "high",
        "data": {"channel": "#ops", "text": "via REST"}}});
    assert_eq!(stack.rest("POST", "/api/actions", None, Some(&body)).await.0, 401);
    assert_eq!(stack.rest("POST", "/api/actions", Some("bk_nope_nope"), Some(&body)).await.0, 401);
    let (status, err) = stack.rest("POST", "/api/actions", Some(&reader), Some(&body)).await;
    assert_eq!((status, err["error"]["code"].as_str()), (403, Some("PERMISSION_DENIED")), "{err}");
    let (status, receipt) = stack.rest("POST", "/api/actions", Some(&writer), Some(&body)).await;
    assert_eq!(status, 202, "{receipt}");
    stack.pump_until_terminal(&["keyed-1".into()], Duration::from_secs(60)).await.expect("completed");
    let (status, action) = stack.rest("GET", "/api/actions/keyed-1", Some(&reader), None).await;
    assert_eq!((status, action["status"].as_str()), (200, Some("success")), "{action}");
}

/// Normal and low actions (`BATON_QUEUE_FROM_STREAM`, the template's default) are queued by the
/// stream function, ten to a `SendMessageBatch`, not by the submitter one `SendMessage` each;
/// critical and high ones are queued at once by their submitter.
#[tokio::test]
async fn the_stream_queues_the_priorities_handed_off_to_it_in_batches() {
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(slack_ok())
        .mount(&platforms.slack)
        .await;
    let mut stack = Stack::start(&platforms, StackOptions::default()).await.expect("stack");
    stack.calls.reset();
    let mut ids = Vec::new();
    for i in 0..24 {
        let priority = if i < 4 { "high" } else { "normal" };
        let body = json!({"action": {"id": format!("handed-{i}"), "type": "notify", "platform": "slack",
            "priority": priority, "data": {"channel": format!("#ops-{i}"), "text": format!("m{i}")}}});
        let sub = baton_domain::validation::parse_submission(&body).expect("valid");
        ids.push(stack.ingestor.submitter.submit(sub).await.expect("accepted").action_id);
    }
    assert_eq!(stack.calls.get("SendMessage"), 4, "the high ones only");
    assert_eq!(stack.calls.get("SendMessageBatch"), 0, "nothing sent for the normal ones yet");
    let finals = stack.pump_until_terminal(&ids, Duration::from_secs(60)).await.expect("all ran");
    assert!(finals.iter().all(|a| a.status == baton_domain::model::Status::Success && a.attempts == 1));
    let batches = stack.calls.get("SendMessageBatch");
    eprintln!("24 actions, 20 handed off: calls {:?}", stack.calls.snapshot());
    assert_eq!(stack.calls.get("SendMessage"), 4, "the normal ones were never sent one by one");
    assert!(batches >= 2, "the normal ones in batches of ten (and events): {batches}");
}
