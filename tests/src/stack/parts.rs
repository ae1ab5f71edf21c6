//! The stand-ins around the stack: API Gateway's `@connections` endpoint, the clients that
//! reach it and moto's Streams, and Streams values in the JSON form Lambda hands over.

use aws_sdk_dynamodbstreams::types::AttributeValue as StreamValue;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use baton_aws::calls::CallCounter;
use serde_json::{Value, json};
use std::sync::Arc;

use std::time::Duration;

use super::{GONE, Posts, STAGE};

/// API Gateway's management endpoint: records posts; `GONE` answers 410. With `jitter`, each
/// post waits a random 0–`jitter` ms first, so posts in flight together finish out of order.
pub(super) async fn connections_endpoint(jitter: u64) -> (String, Posts) {
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

pub(super) fn management_client(endpoint: &str, counter: CallCounter) -> aws_sdk_apigatewaymanagement::Client {
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

pub(super) fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
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

pub(super) fn image(img: Option<&std::collections::HashMap<String, StreamValue>>) -> Option<Value> {
    img.map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), typed(v))).collect()))
}
