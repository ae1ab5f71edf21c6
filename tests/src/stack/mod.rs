//! `Stack`: the serverless path without Docker. moto plays SQS and DynamoDB (with Streams), a
//! small local server plays API Gateway's `@connections` endpoint, and `pump` plays Lambda's
//! event source mappings — it polls the queues (with their real receive counts and
//! redrive policies) and the tables' streams, and calls the real function handlers with the
//! event shapes Lambda sends, composed as their `main.rs` composes them.

use aws_sdk_sqs::types::QueueAttributeName;
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
use baton_domain::usecases::{
    Access, Approvals, Executor, ExecutorParts, Handoff, Ingestor, Reactor, SlackNotices, Submitter,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Platforms;
use crate::moto::Moto;

mod parts;
mod pump;

use parts::{connections_endpoint, image, management_client, streams_client};

pub const STAGE: &str = "prod";
/// A connection that answers 410 GoneException.
pub const GONE: &str = "gone-connection";

/// Frames posted to each connection, in arrival order.
pub type Posts = Arc<Mutex<Vec<(String, Value)>>>;

/// Knobs of a stack.
#[derive(Clone)]
pub struct StackOptions {
    /// Deliveries of a message before its queue moves it to the dead-letter queue.
    pub max_receive: u32,
    pub limits: Limits,
    /// Random latency (ms) of the `@connections` stand-in.
    pub post_jitter: u64,
    /// The priorities whose new actions the stream function queues (`BATON_QUEUE_FROM_STREAM`,
    /// as the template sets it by default).
    pub handoff: Handoff,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            max_receive: 3,
            limits: Limits::default(),
            post_jitter: 0,
            handoff: Handoff::of(&[Priority::Normal, Priority::Low]),
        }
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
    pub metrics: baton_domain::usecases::Metrics,
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
        baton_aws::metrics::METRICS.ensure(&harness_dynamodb, "metrics").await.map_err(anyhow::Error::msg)?;
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
        let submitter = Submitter {
            store: store.clone(),
            queue: queue.clone(),
            clock: Arc::new(SystemClock),
            handoff: options.handoff,
        };
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
        let metrics = baton_domain::usecases::Metrics {
            store: Arc::new(baton_aws::metrics::DynamoMetricsStore::new(
                dynamodb.clone(),
                "metrics",
                Duration::from_secs(86_400),
            )),
            clock: Arc::new(SystemClock),
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
        let access = Access::serving(
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), "api-keys")),
            Arc::new(DynamoRateCounter::new(dynamodb.clone(), "rate-limits")),
            Default::default(),
            Arc::new(SystemClock),
        );
        Ok(Self {
            access,
            keys: Arc::new(DynamoKeys::new(dynamodb.clone(), "idempotency")),
            ingestor: Ingestor {
                submitter,
                approvals: approvals.clone(),
                workflows: workflows.clone(),
                operator: baton_domain::usecases::Operator::over(&approvals),
            },
            reactor: Reactor { approvals: approvals.clone(), workflows: workflows.clone() },
            workflows,
            metrics,
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
            retention: Duration::from_secs(86_400),
            metrics: self.metrics.clone(),
            dead_letters: Some(Arc::new(baton_aws::dead_letters::SqsDeadLetters::new(
                self.sqs.clone(),
                self.urls.dlq.clone(),
                self.urls.priority.clone(),
            ))),
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
