//! The serverless path end to end, without Docker: moto plays SQS and DynamoDB (with
//! Streams), a small local server plays API Gateway's `@connections` endpoint, and this
//! harness plays Lambda's event source mappings — it polls the queues and the table stream
//! and calls the real function handlers with the event shapes Lambda sends.

use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_sqs::types::QueueAttributeName;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use baton_aws::apigw::ApiGwNotifier;
use baton_aws::calls::CallCounter;
use baton_aws::connections::{CONNECTIONS, DynamoConnections};
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_aws::{local_dynamodb_client, local_sqs_client, tables};
use baton_domain::model::Priority;
use baton_domain::ports::{Connection, ConnectionStore, SystemClock};
use baton_domain::usecases::{Executor, Ingestor, Submitter};
use baton_tests::Platforms;
use baton_tests::moto::Moto;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const STAGE: &str = "prod";
const GONE: &str = "gone-connection";
const LIVE: &str = "live-connection";

type Posts = Arc<Mutex<Vec<(String, Value)>>>;

/// API Gateway's management endpoint: records posts; `GONE` answers 410 GoneException.
async fn connections_endpoint() -> (String, Posts) {
    let posts: Posts = Arc::default();
    async fn post(
        State(posts): State<Posts>,
        Path((stage, id)): Path<(String, String)>,
        body: String,
    ) -> impl IntoResponse {
        assert_eq!(stage, STAGE);
        if id == GONE {
            return (StatusCode::GONE, [("x-amzn-ErrorType", "GoneException")], r#"{"message":"gone"}"#.to_owned());
        }
        posts.lock().expect("lock").push((id, serde_json::from_str(&body).expect("frames are JSON")));
        (StatusCode::OK, [("content-type", "application/json")], "{}".to_owned())
    }
    let app =
        axum::Router::new().route("/{stage}/@connections/{id}", axum::routing::post(post)).with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/{STAGE}"), posts)
}

fn management_client(endpoint: &str, counter: CallCounter) -> aws_sdk_apigatewaymanagement::Client {
    use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_apigatewaymanagement::Client::from_conf(
        aws_sdk_apigatewaymanagement::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .interceptor(counter)
            .build(),
    )
}

fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build(),
    )
}

/// A Streams attribute value in DynamoDB's JSON wire form, as Lambda hands it over.
fn typed(v: &StreamValue) -> Value {
    match v {
        StreamValue::S(s) => json!({"S": s}),
        StreamValue::N(n) => json!({"N": n}),
        StreamValue::Bool(b) => json!({"BOOL": b}),
        StreamValue::Null(_) => json!({"NULL": true}),
        StreamValue::L(items) => json!({"L": items.iter().map(typed).collect::<Vec<_>>()}),
        StreamValue::M(map) => {
            json!({"M": map.iter().map(|(k, v)| (k.clone(), typed(v))).collect::<serde_json::Map<_, _>>()})
        }
        StreamValue::Ss(items) => json!({"SS": items}),
        StreamValue::Ns(items) => json!({"NS": items}),
        other => panic!("unexpected attribute {other:?}"),
    }
}

fn image(img: Option<&std::collections::HashMap<String, StreamValue>>) -> Option<Value> {
    img.map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), typed(v))).collect()))
}

/// Plays the event source mappings: SQS queues → handlers (deleting what succeeded), the
/// table's stream → the stream handler.
struct Mappings {
    sqs: aws_sdk_sqs::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    iterators: BTreeMap<String, Option<String>>,
}

impl Mappings {
    async fn receive(&self, url: &str) -> (Value, Vec<(String, String)>) {
        let resp = self.sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("receive");
        let mut handles = Vec::new();
        let records: Vec<Value> = resp
            .messages()
            .iter()
            .map(|m| {
                let id = m.message_id().unwrap_or_default().to_owned();
                let receipt = m.receipt_handle().unwrap_or_default().to_owned();
                handles.push((id.clone(), receipt.clone()));
                json!({
                    "messageId": id, "receiptHandle": receipt, "body": m.body(),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                    "messageAttributes": {}, "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap_or_default()),
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        (json!({"Records": records}), handles)
    }

    /// Deletes every received message the handler did not report as failed (as Lambda does).
    async fn settle(&self, url: &str, handles: Vec<(String, String)>, failed: &[&str]) {
        for (id, receipt) in handles {
            if !failed.contains(&id.as_str()) {
                self.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await.expect("delete");
            }
        }
    }

    async fn stream_records(&mut self) -> Value {
        if self.iterators.is_empty() {
            let desc = self.streams.describe_stream().stream_arn(&self.stream_arn).send().await.expect("describe");
            for shard in desc.stream_description().map(|d| d.shards()).unwrap_or_default() {
                let id = shard.shard_id().unwrap_or_default().to_owned();
                let it = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(&id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .expect("iterator");
                self.iterators.insert(id, it.shard_iterator().map(str::to_owned));
            }
        }
        let mut records = Vec::new();
        for it in self.iterators.values_mut() {
            let Some(current) = it.clone() else { continue };
            let resp = self.streams.get_records().shard_iterator(current).send().await.expect("records");
            for r in resp.records() {
                let d = r.dynamodb().expect("stream record");
                let mut dynamodb =
                    json!({"SequenceNumber": d.sequence_number(), "StreamViewType": "NEW_AND_OLD_IMAGES"});
                if let Some(new) = image(d.new_image()) {
                    dynamodb["NewImage"] = new;
                }
                if let Some(old) = image(d.old_image()) {
                    dynamodb["OldImage"] = old;
                }
                records.push(json!({"eventName": r.event_name().map(|e| e.as_str()), "eventSource": "aws:dynamodb", "dynamodb": dynamodb}));
            }
            *it = resp.next_shard_iterator().map(str::to_owned);
        }
        json!({"Records": records})
    }
}

#[tokio::test]
async fn an_action_sent_to_the_ingress_queue_reaches_websocket_clients_and_the_events_queue() {
    let moto = Moto::start().await.expect("moto");
    let baton_calls = CallCounter::default();
    let dynamodb = local_dynamodb_client(&moto.endpoint, Some(baton_calls.clone()));
    let sqs = local_sqs_client(&moto.endpoint, Some(baton_calls.clone()));
    let harness_sqs = local_sqs_client(&moto.endpoint, None);
    let harness_dynamodb = local_dynamodb_client(&moto.endpoint, None);

    tables::ACTIONS.ensure_with(&harness_dynamodb, "actions", true).await.expect("actions table");
    CONNECTIONS.ensure(&harness_dynamodb, "connections").await.expect("connections table");
    let stream_arn = harness_dynamodb
        .describe_table()
        .table_name("actions")
        .send()
        .await
        .expect("describe")
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("stream arn")
        .to_owned();
    let make = async |name: &str, fifo: bool| {
        let mut req = harness_sqs.create_queue().queue_name(name);
        if fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        req.send().await.expect("queue").queue_url().expect("url").to_owned()
    };
    let mut priority_urls = Vec::new();
    for p in Priority::ALL {
        priority_urls.push(make(&format!("baton-{p}"), false).await);
    }
    let priority_urls: [String; 4] = priority_urls.try_into().expect("four");
    let ingress_url = make("baton-ingress", false).await;
    let events_url = make("baton-events.fifo", true).await;

    let (endpoint, posts) = connections_endpoint().await;
    let connections = Arc::new(DynamoConnections::new(dynamodb.clone(), "connections"));
    for id in [LIVE, GONE] {
        connections
            .put(&Connection { id: id.into(), subscription: Default::default(), connected_at: chrono::Utc::now() })
            .await
            .expect("connection");
    }

    // Slack fails once, then answers: the retry goes through SQS visibility.
    let platforms = Platforms::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&platforms.slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.5"})))
        .mount(&platforms.slack)
        .await;

    // The functions' composition, as their main.rs builds it.
    let store = Arc::new(DynamoActionStore::new(dynamodb.clone(), "actions", Duration::from_secs(86_400)));
    let queue = Arc::new(SqsActionQueue::new(sqs.clone(), priority_urls.clone(), [10, 10, 10, 5]));
    let ingestor =
        Ingestor { submitter: Submitter { store: store.clone(), queue: queue.clone(), clock: Arc::new(SystemClock) } };
    let executor = Executor {
        store: store.clone(),
        platforms: Arc::new(platforms.settings().registry()),
        clock: Arc::new(SystemClock),
        worker_id: "sandbox-1".into(),
        lease_grace: Duration::from_secs(5),
        guard: None,
        fallbacks: None,
    };
    let sink = SqsEventPublisher::new(sqs.clone(), &events_url);
    let notifier = ApiGwNotifier::new(management_client(&endpoint, baton_calls.clone()), connections.clone());

    baton_calls.reset(); // count only what the functions do from here on

    // The reasoning engine sends one good and one bad message.
    let mut envelope =
        json!({"event": "action:ready", "data": baton_tests::contract_examples()["action_ready"].clone()});
    envelope["data"]["action"] = json!({"id": "wired-1", "type": "notify", "platform": "slack", "priority": "high",
        "data": {"channel": "#ops", "text": "Deploy finished"}});
    for body in [envelope.to_string(), "{\"event\": \"action:explode\"}".to_owned()] {
        harness_sqs.send_message().queue_url(&ingress_url).message_body(body).send().await.expect("send");
    }

    let mut mappings = Mappings {
        sqs: harness_sqs.clone(),
        streams: streams_client(&moto.endpoint),
        stream_arn,
        iterators: BTreeMap::new(),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (event, handles) = mappings.receive(&ingress_url).await;
        if !handles.is_empty() {
            let response =
                ingest::handler::handle(&ingestor, &sink, serde_json::from_value(event).expect("sqs event")).await;
            mappings.settle(&ingress_url, handles, &response.failed_ids()).await;
        }
        for url in &priority_urls {
            let (event, handles) = mappings.receive(url).await;
            if !handles.is_empty() {
                let response = executor::handler::handle(
                    &executor,
                    queue.as_ref(),
                    serde_json::from_value(event).expect("sqs event"),
                )
                .await;
                mappings.settle(url, handles, &response.failed_ids()).await;
            }
        }
        let records = mappings.stream_records().await;
        if records["Records"].as_array().is_some_and(|r| !r.is_empty()) {
            let response = stream::handler::handle(&sink, &notifier, records).await;
            assert!(response.batch_item_failures.is_empty());
        }
        let done = posts.lock().expect("lock").iter().any(|(_, f)| f["event"] == "action:completed");
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no completion; posts: {:?}", posts.lock().expect("lock"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let frames: Vec<Value> =
        posts.lock().expect("lock").iter().filter(|(id, _)| id == LIVE).map(|(_, f)| f.clone()).collect();
    let names: Vec<&str> = frames.iter().filter_map(|f| f["event"].as_str()).collect();
    assert_eq!(names, ["action:queued", "action:executing", "action:retrying", "action:executing", "action:completed"]);
    assert_eq!(frames[4]["data"]["retries"], 1);
    assert!(connections.all().await.expect("all").iter().all(|c| c.id != GONE), "the gone connection was removed");

    let mut queued_events = Vec::new();
    loop {
        let got = harness_sqs
            .receive_message()
            .queue_url(&events_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        if got.messages().is_empty() {
            break;
        }
        for m in got.messages() {
            queued_events.push(serde_json::from_str::<Value>(m.body().unwrap_or_default()).expect("json"));
            harness_sqs
                .delete_message()
                .queue_url(&events_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    let rejected: Vec<&Value> = queued_events.iter().filter(|e| e["event"] == "ingest:rejected").collect();
    assert_eq!(rejected.len(), 1, "{queued_events:?}");
    assert_eq!(rejected[0]["data"]["fields"][0]["field"], "event");
    let lifecycle: Vec<&str> = queued_events
        .iter()
        .filter(|e| e["data"]["actionId"] == "wired-1")
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(lifecycle, names, "the events queue carries the same sequence, in order");

    let calls = baton_calls.snapshot();
    let total: u64 = calls.values().sum();
    eprintln!(
        "AWS API calls made by Baton's functions for one action (with one retry and one rejected message): {calls:?}, {total} in all"
    );
    assert_eq!(baton_calls.get("Scan"), 0);
    assert_eq!(baton_calls.get("ChangeMessageVisibility"), 1, "one retry, one visibility change");
    assert_eq!(baton_calls.get("DeleteItem"), 1, "the gone connection is deleted once");
}
