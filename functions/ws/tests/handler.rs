//! API Gateway WebSocket events: connect, subscribe, disconnect.

use async_trait::async_trait;
use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use baton_domain::fakes::MemoryConnections;
use baton_domain::model::Platform;
use std::sync::Mutex;
use ws::handler::{Reply, handle};

#[derive(Default)]
struct Replies(Mutex<Vec<(String, serde_json::Value)>>);

#[async_trait]
impl Reply for Replies {
    async fn reply(&self, id: &str, frame: &str) -> Result<(), String> {
        self.0.lock().expect("lock").push((id.to_owned(), serde_json::from_str(frame).expect("frame is JSON")));
        Ok(())
    }
}

fn event(json: &str) -> ApiGatewayWebsocketProxyRequest {
    serde_json::from_str(json).expect("fixture")
}

#[tokio::test]
async fn connect_subscribe_and_disconnect_keep_the_connections_table() {
    let connections = MemoryConnections::default();
    let replies = Replies::default();
    let id = "Tg_ZfcdCIAMCE1w=";

    let r = handle(&connections, &replies, event(include_str!("../../../tests/fixtures/lambda/ws-connect.json"))).await;
    assert_eq!(r.status_code, 200);
    assert!(connections.items.lock().expect("lock").contains_key(id));
    assert!(replies.0.lock().expect("lock").is_empty(), "nothing is posted from $connect");

    let r =
        handle(&connections, &replies, event(include_str!("../../../tests/fixtures/lambda/ws-subscribe.json"))).await;
    assert_eq!(r.status_code, 200);
    let sub = connections.items.lock().expect("lock")[id].subscription.clone();
    assert_eq!(sub.events, ["action:*"]);
    assert_eq!(sub.platforms, [Platform::Notion]);
    let (to, frame) = replies.0.lock().expect("lock")[0].clone();
    assert_eq!((to.as_str(), frame["event"].as_str()), (id, Some("subscribed")));

    let mut bad = event(include_str!("../../../tests/fixtures/lambda/ws-subscribe.json"));
    bad.body = Some(r#"{"action":"subscribe","platforms":["jira"]}"#.into());
    handle(&connections, &replies, bad).await;
    let (_, frame) = replies.0.lock().expect("lock")[1].clone();
    assert_eq!(frame["event"], "error");
    assert_eq!(frame["data"]["error"]["details"]["fields"][0]["field"], "platforms[0]");

    let r =
        handle(&connections, &replies, event(include_str!("../../../tests/fixtures/lambda/ws-disconnect.json"))).await;
    assert_eq!(r.status_code, 200);
    assert!(connections.items.lock().expect("lock").is_empty());
}
