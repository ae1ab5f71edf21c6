//! `Stack`: the serverless path without Docker. moto plays SQS and DynamoDB (with Streams), a
//! small local server plays API Gateway's `@connections` endpoint, and `pump` plays Lambda's
//! event source mappings — it polls the queues (with their real receive counts and
//! redrive policies) and the tables' streams, and calls the real function handlers with the
//! event shapes Lambda sends, composed as their `main.rs` composes them.

use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use baton_aws::access::{API_KEYS, DynamoKeyStore, DynamoRateCounter, RATE_LIMITS};
use baton_aws::apigw::ApiGwNotifier;
use baton_aws::approvals::{APPROVALS, DynamoApprovalStore};
use baton_aws::calls::CallCounter;
use baton_aws::connections::{CONNECTIONS, DynamoConnections};
use baton_aws::events_queue::{SqsEventPublisher, SqsParking};
use baton_aws::keys::{DynamoKeys, IDEMPOTENCY};
use baton_aws::platform_state::{DynamoPlatformState, PLATFORM_STATE};
use baton_aws::sqs::SqsActionQueue;
use baton_aws::store::DynamoActionStore;
use baton_aws::workflows::{DynamoWorkflowStore, WORKFLOWS};
use baton_aws::{local_dynamodb_client, local_sqs_client, tables};
use baton_domain::limits::Limits;
use baton_domain::model::{Platform, Priority};
use baton_domain::ports::SystemClock;
use baton_domain::usecases::{Access, Approvals, Executor, ExecutorParts, Ingestor, Reactor, SlackNotices, Submitter};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Platforms;
use crate::moto::Moto;

pub const STAGE: &str = "prod";
/// A connection that answers 410 GoneException.
pub const GONE: &str = "gone-connection";

/// Frames posted to each connection, in arrival order.
pub type Posts = Arc<Mutex<Vec<(String, Value)>>>;

/// API Gateway's management endpoint: records posts; `GONE` answers 410. With `jitter`, each
/// post waits a random 0–`jitter` ms first, so posts in flight together finish out of order.
async fn connections_endpoint(jitter: u64) -> (String, Posts) {
    let posts: Posts = Arc::default();
    type S = (Posts, u64);
    async fn post(
        State((posts, jitter)): State<S>,
        Path((stage, id)): Path<(String, String)>,
        body: String,
    ) -> impl IntoResponse {
        assert_eq!(stage, STAGE);
        if jitter > 0 {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=jitter))).await;
        }
        if id == GONE {
            return (StatusCode::GONE, [("x-amzn-ErrorType", "GoneException")], r#"{"message":"gone"}"#.to_owned());
        }
        posts.lock().expect("lock").push((id, serde_json::from_str(&body).expect("frames are JSON")));
        (StatusCode::OK, [("content-type", "application/json")], "{}".to_owned())
    }
    let app = axum::Router::new()
        .route("/{stage}/@connections/{id}", axum::routing::post(post))
        .with_state((posts.clone(), jitter));
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

/// Knobs of a stack.
#[derive(Clone)]
pub struct StackOptions {
    /// Deliveries of a message before its queue moves it to the dead-letter queue.
    pub max_receive: u32,
    pub limits: Limits,
    /// Random latency (ms) of the `@connections` stand-in.
    pub post_jitter: u64,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self { max_receive: 3, limits: Limits::default(), post_jitter: 0 }
    }
}

pub struct Urls {
    pub priority: [String; 4],
    pub dlq: [String; 4],
    pub ingress: String,
    pub ingress_dlq: String,
    pub events: String,
    pub stream_failures: String,
}

pub struct Stack {
    pub moto: Moto,
    /// Every AWS call Baton's functions make (not the harness's).
    pub calls: CallCounter,
    pub sqs: aws_sdk_sqs::Client,
    pub urls: Urls,
    pub store: Arc<DynamoActionStore>,
    pub queue: Arc<SqsActionQueue>,
    pub keys: Arc<DynamoKeys>,
    pub platform_state: Arc<DynamoPlatformState>,
    pub connections: Arc<DynamoConnections>,
    pub access: Access,
    pub ingestor: Ingestor,
    pub approvals: Approvals,
    pub workflows: baton_domain::usecases::Workflows,
    pub reactor: Reactor,
    pub executor: Executor,
    /// Slack's signing secret and responder, for the api function.
    pub slack: baton_http::SlackSettings,
    pub sink: SqsEventPublisher,
    pub parking: SqsParking,
    pub notifier: ApiGwNotifier,
    pub posts: Posts,
    pub options: StackOptions,
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arns: Vec<String>,
    iterators: BTreeMap<String, Option<String>>,
}

impl Stack {
    pub async fn start(platforms: &Platforms, options: StackOptions) -> anyhow::Result<Self> {
        let moto = Moto::start().await?;
        let calls = CallCounter::default();
        let dynamodb = local_dynamodb_client(&moto.endpoint, Some(calls.clone()));
        let sqs = local_sqs_client(&moto.endpoint, Some(calls.clone()));
        let harness_sqs = local_sqs_client(&moto.endpoint, None);
        let harness_dynamodb = local_dynamodb_client(&moto.endpoint, None);

        tables::ACTIONS.ensure_with(&harness_dynamodb, "actions", true).await.map_err(anyhow::Error::msg)?;
        PLATFORM_STATE.ensure_with(&harness_dynamodb, "platform-state", true).await.map_err(anyhow::Error::msg)?;
        CONNECTIONS.ensure(&harness_dynamodb, "connections").await.map_err(anyhow::Error::msg)?;
        IDEMPOTENCY.ensure(&harness_dynamodb, "idempotency").await.map_err(anyhow::Error::msg)?;
        API_KEYS.ensure(&harness_dynamodb, "api-keys").await.map_err(anyhow::Error::msg)?;
        RATE_LIMITS.ensure(&harness_dynamodb, "rate-limits").await.map_err(anyhow::Error::msg)?;
        APPROVALS.ensure_with(&harness_dynamodb, "approvals", true).await.map_err(anyhow::Error::msg)?;
        WORKFLOWS.ensure_with(&harness_dynamodb, "workflows", true).await.map_err(anyhow::Error::msg)?;
        let mut stream_arns = Vec::new();
        for table in ["actions", "platform-state", "approvals", "workflows"] {
            let desc = harness_dynamodb.describe_table().table_name(table).send().await?;
            stream_arns.push(desc.table().and_then(|t| t.latest_stream_arn()).unwrap_or_default().to_owned());
        }

        let make = async |name: &str, attrs: Vec<(QueueAttributeName, String)>| -> anyhow::Result<(String, String)> {
            let mut req = harness_sqs.create_queue().queue_name(name);
            for (k, v) in attrs {
                req = req.attributes(k, v);
            }
            let url = req.send().await?.queue_url().unwrap_or_default().to_owned();
            let arn = harness_sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await?
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            Ok((url, arn))
        };
        let redrive = |arn: &str| {
            let policy = json!({"deadLetterTargetArn": arn, "maxReceiveCount": options.max_receive.to_string()});
            vec![
                (QueueAttributeName::RedrivePolicy, policy.to_string()),
                (QueueAttributeName::VisibilityTimeout, "30".into()),
            ]
        };
        let mut priority = Vec::new();
        let mut dlq = Vec::new();
        for p in Priority::ALL {
            let (dlq_url, dlq_arn) = make(&format!("baton-{p}-dlq"), vec![]).await?;
            let (url, _) = make(&format!("baton-{p}"), redrive(&dlq_arn)).await?;
            priority.push(url);
            dlq.push(dlq_url);
        }
        let (ingress_dlq, ingress_dlq_arn) = make("baton-ingress-dlq", vec![]).await?;
        let (ingress, _) = make("baton-ingress", redrive(&ingress_dlq_arn)).await?;
        let (events, _) = make("baton-events.fifo", vec![(QueueAttributeName::FifoQueue, "true".into())]).await?;
        let (stream_failures, _) = make("baton-stream-failures", vec![]).await?;
        let urls = Urls {
            priority: priority.try_into().map_err(|_| anyhow::anyhow!("four queues"))?,
            dlq: dlq.try_into().map_err(|_| anyhow::anyhow!("four dead-letter queues"))?,
            ingress,
            ingress_dlq,
            events,
            stream_failures,
        };

        let (endpoint, posts) = connections_endpoint(options.post_jitter).await;
        let connections = Arc::new(DynamoConnections::new(dynamodb.clone(), "connections"));
        // The functions' composition, as their main.rs builds it.
        let store = Arc::new(DynamoActionStore::new(dynamodb.clone(), "actions", Duration::from_secs(86_400)));
        let queue = Arc::new(
            SqsActionQueue::new(sqs.clone(), urls.priority.clone(), [10, 10, 10, 5]).with_stats_ttl(Duration::ZERO),
        );
        let platform_state = Arc::new(DynamoPlatformState::new(dynamodb.clone(), "platform-state"));
        let submitter = Submitter { store: store.clone(), queue: queue.clone(), clock: Arc::new(SystemClock) };
        let settings = platforms.settings();
        let approvals = Approvals {
            approvals: Arc::new(DynamoApprovalStore::new(dynamodb.clone(), "approvals", Duration::from_secs(86_400))),
            actions: store.clone(),
            submitter: submitter.clone(),
            platforms: Arc::new(settings.registry()),
            clock: Arc::new(SystemClock),
            slack: SlackNotices {
                configured: settings.has_credentials(Platform::Slack),
                default_channel: Some("#approvals".into()),
            },
        };
        let workflows = baton_domain::usecases::Workflows {
            workflows: Arc::new(DynamoWorkflowStore::new(dynamodb.clone(), "workflows", Duration::from_secs(86_400))),
            keys: Arc::new(DynamoKeys::new(dynamodb.clone(), "workflows")),
            actions: approvals.actions.clone(),
            submitter: approvals.submitter.clone(),
            clock: approvals.clock.clone(),
            approvals: approvals.clone(),
        };
        let executor = Executor::compose(ExecutorParts {
            store: store.clone(),
            queue: queue.clone(),
            platform_state: platform_state.clone(),
            platforms: settings.registry(),
            limits: options.limits.clone(),
            clock: Arc::new(SystemClock),
            worker_id: "sandbox-1".into(),
        });
        let access = Access {
            keys: Arc::new(DynamoKeyStore::new(dynamodb.clone(), "api-keys")),
            counters: Arc::new(DynamoRateCounter::new(dynamodb.clone(), "rate-limits")),
            limits: Default::default(),
            clock: Arc::new(SystemClock),
        };
        Ok(Self {
            access,
            keys: Arc::new(DynamoKeys::new(dynamodb.clone(), "idempotency")),
            ingestor: Ingestor { submitter, approvals: approvals.clone(), workflows: workflows.clone() },
            reactor: Reactor { approvals: approvals.clone(), workflows: workflows.clone() },
            workflows,
            slack: baton_http::SlackSettings {
                signing_secret: settings.signing_secret(),
                responder: Some(settings.slack_responder()),
            },
            approvals,
            sink: SqsEventPublisher::new(sqs.clone(), &urls.events),
            parking: SqsParking::new(sqs.clone(), &urls.stream_failures),
            notifier: ApiGwNotifier::new(management_client(&endpoint, calls.clone()), connections.clone()),
            executor,
            store,
            queue,
            platform_state,
            connections,
            posts,
            calls,
            sqs: harness_sqs,
            streams: streams_client(&moto.endpoint),
            stream_arns,
            iterators: BTreeMap::new(),
            urls,
            options,
            moto,
        })
    }

    /// Up to ten messages as Lambda's SQS event, with their real receive counts.
    async fn receive(&self, url: &str) -> (Value, Vec<(String, String)>) {
        let resp = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let mut handles = Vec::new();
        let records: Vec<Value> = resp
            .messages()
            .iter()
            .map(|m| {
                let id = m.message_id().unwrap_or_default().to_owned();
                let receipt = m.receipt_handle().unwrap_or_default().to_owned();
                handles.push((id.clone(), receipt.clone()));
                let attrs: serde_json::Map<String, Value> = m
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": id, "receiptHandle": receipt, "body": m.body(), "attributes": attrs,
                    "messageAttributes": {}, "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                    "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap_or_default()),
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        (json!({"Records": records}), handles)
    }

    /// Deletes every received message the handler did not report as failed (as Lambda does).
    async fn settle(&self, url: &str, handles: Vec<(String, String)>, failed: &[String]) {
        for (id, receipt) in handles {
            if !failed.contains(&id) {
                self.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await.expect("delete");
            }
        }
    }

    async fn stream_records(&mut self) -> Value {
        if self.iterators.is_empty() {
            for arn in &self.stream_arns {
                let desc = self.streams.describe_stream().stream_arn(arn).send().await.expect("describe");
                for shard in desc.stream_description().map(|d| d.shards()).unwrap_or_default() {
                    let id = shard.shard_id().unwrap_or_default().to_owned();
                    let it = self
                        .streams
                        .get_shard_iterator()
                        .stream_arn(arn)
                        .shard_id(&id)
                        .shard_iterator_type(ShardIteratorType::TrimHorizon)
                        .send()
                        .await
                        .expect("iterator");
                    self.iterators.insert(format!("{arn}/{id}"), it.shard_iterator().map(str::to_owned));
                }
            }
        }
        let mut records = Vec::new();
        for it in self.iterators.values_mut() {
            let Some(current) = it.clone() else { continue };
            let resp = self.streams.get_records().shard_iterator(current).send().await.expect("records");
            for r in resp.records() {
                let d = r.dynamodb().expect("stream record");
                let mut dynamodb = json!({"SequenceNumber": d.sequence_number(), "StreamViewType": "NEW_AND_OLD_IMAGES",
                                          "SizeBytes": 256, "ApproximateCreationDateTime": chrono::Utc::now().timestamp(),
                                          "Keys": image(d.keys())});
                if let Some(new) = image(d.new_image()) {
                    dynamodb["NewImage"] = new;
                }
                if let Some(old) = image(d.old_image()) {
                    dynamodb["OldImage"] = old;
                }
                records.push(json!({"eventName": r.event_name().map(|e| e.as_str()), "eventSource": "aws:dynamodb",
                                    "eventID": r.event_id(), "awsRegion": "us-east-1", "dynamodb": dynamodb}));
            }
            *it = resp.next_shard_iterator().map(str::to_owned);
        }
        json!({"Records": records})
    }

    /// One round of every mapping: the ingress queue, each priority queue, the streams.
    /// Returns how many records the handlers saw.
    pub async fn pump(&mut self) -> usize {
        let mut seen = 0;
        let (event, handles) = self.receive(&self.urls.ingress).await;
        if !handles.is_empty() {
            seen += handles.len();
            let r = ingest::handler::handle(&self.ingestor, &self.sink, serde_json::from_value(event).expect("event"))
                .await;
            let failed: Vec<String> = r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
            self.settle(&self.urls.ingress.clone(), handles, &failed).await;
        }
        for url in self.urls.priority.clone() {
            let (event, handles) = self.receive(&url).await;
            if !handles.is_empty() {
                seen += handles.len();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
                let r = executor::handler::handle(
                    &self.executor,
                    self.queue.as_ref(),
                    serde_json::from_value(event).expect("event"),
                    Some(deadline),
                )
                .await;
                let failed: Vec<String> = r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
                self.settle(&url, handles, &failed).await;
            }
        }
        let records = self.stream_records().await;
        if records["Records"].as_array().is_some_and(|r| !r.is_empty()) {
            seen += records["Records"].as_array().map_or(0, Vec::len);
            let event = serde_json::from_value(records).expect("a stream event");
            let outlets = stream::handler::Outlets {
                sink: &self.sink,
                notifier: &self.notifier,
                parking: &self.parking,
                reactor: Some(&self.reactor),
            };
            let r = stream::handler::handle(&outlets, event).await;
            assert!(r.batch_item_failures.is_empty(), "stream handler failed: {r:?}");
        }
        seen
    }

    /// Pumps until `done` says so, or fails after `within`.
    pub async fn pump_until(&mut self, within: Duration, mut done: impl FnMut(&Self) -> bool) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.pump().await;
            if done(self) {
                return Ok(());
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "not done within {within:?}");
            if seen == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Pumps until every action in `ids` is terminal; their final images.
    pub async fn pump_until_terminal(
        &mut self,
        ids: &[String],
        within: Duration,
    ) -> anyhow::Result<Vec<baton_domain::model::Action>> {
        use baton_domain::ports::ActionStore;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.pump().await;
            let mut finals = Vec::new();
            for id in ids {
                match self.store.get(id).await? {
                    Some(a) if a.status.is_terminal() => finals.push(a),
                    _ => break,
                }
            }
            if finals.len() == ids.len() {
                return Ok(finals);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{} of {} terminal after {within:?}",
                finals.len(),
                ids.len()
            );
            if seen == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// A REST request as API Gateway makes it: the authorizer first (with its REQUEST event),
    /// then — if it allowed the caller — the api function with the authorizer's context, through
    /// `lambda_http` like on AWS. Returns the status and the JSON body.
    pub async fn rest(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        use tower::ServiceExt;
        let mut headers =
            json!({"Content-Type": "application/json", "Host": "abc123rest.execute-api.us-east-1.amazonaws.com"});
        if let Some(k) = key {
            headers["Authorization"] = json!(format!("Bearer {k}"));
        }
        let authorizer_event = json!({
            "type": "REQUEST", "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:abc123rest/{STAGE}/{method}{path}"),
            "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
            "requestContext": {"stage": STAGE, "identity": {"sourceIp": "203.0.113.9"}, "apiId": "abc123rest"}
        });
        // With no Authorization header, API Gateway refuses before calling the authorizer.
        let context = match key {
            None => return (401, json!({"message": "Unauthorized"})),
            Some(_) => match authorizer::handler::decide(&self.access, &[], &authorizer_event).await {
                authorizer::handler::Decision::Unauthorized => return (401, json!({"message": "Unauthorized"})),
                authorizer::handler::Decision::Policy(p) if p["policyDocument"]["Statement"][0]["Effect"] == "Deny" => {
                    return (403, json!({"message": "User is not authorized to access this resource"}));
                }
                authorizer::handler::Decision::Policy(p) => {
                    let mut c = p["context"].clone();
                    c["principalId"] = p["principalId"].clone();
                    c
                }
            },
        };
        let event = json!({
            "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {}, "queryStringParameters": null, "multiValueQueryStringParameters": null,
            "pathParameters": {"proxy": path.trim_start_matches('/')}, "stageVariables": null,
            "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": method, "path": format!("/{STAGE}{path}"),
                "accountId": "123456789012", "stage": STAGE, "requestId": uuid::Uuid::new_v4().to_string(),
                "identity": {"sourceIp": "203.0.113.9"}, "apiId": "abc123rest", "authorizer": context},
            "body": body.map(|b| b.to_string()), "isBase64Encoded": false
        });
        let state = api::handler::with_ports(api::handler::Ports {
            store: self.store.clone(),
            queue: self.queue.clone(),
            keys: self.keys.clone(),
            health: baton_http::HealthSource {
                states: self.platform_state.clone(),
                limits: self.options.limits.clone(),
                configured: vec![],
            },
            access: self.access.clone(),
            cors_origins: vec![],
            approvals: self.approvals.clone(),
            slack: self.slack.clone(),
            workflows: self.workflows.clone(),
        });
        let request = lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event");
        let response = api::handler::app(state).oneshot(request).await.expect("response");
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Sends a message to the ingress queue, as the reasoning engine does.
    pub async fn send_ingress(&self, body: &str) {
        self.sqs.send_message().queue_url(&self.urls.ingress).message_body(body).send().await.expect("send");
    }

    /// Every event on the events queue so far (deleted as read).
    pub async fn drain_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.urls.events)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            if got.messages().is_empty() {
                return out;
            }
            for m in got.messages() {
                out.push(serde_json::from_str::<Value>(m.body().unwrap_or_default()).expect("json"));
                self.sqs
                    .delete_message()
                    .queue_url(&self.urls.events)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// Messages waiting in each dead-letter queue (the four priorities, then ingress).
    pub async fn dead_letters(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for url in self.urls.dlq.iter().chain([&self.urls.ingress_dlq]) {
            let attrs = self
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .expect("attributes");
            let n = |k: QueueAttributeName| {
                attrs.attributes().and_then(|a| a.get(&k)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            };
            out.push(
                n(QueueAttributeName::ApproximateNumberOfMessages)
                    + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            );
        }
        out
    }
}
