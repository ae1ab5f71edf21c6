//! The SQS adapters over the real SQS wire protocol, against moto.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use baton_aws::events_queue::SqsEventPublisher;
use baton_aws::local_sqs_client;
use baton_aws::sqs::SqsActionQueue;
use baton_domain::events::Event;
use baton_domain::model::{Priority, WorkItem};
use baton_domain::ports::ActionQueue;
use baton_tests::moto::Moto;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

async fn queue(client: &Client, name: &str, attrs: &[(QueueAttributeName, String)]) -> String {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), v.clone());
    }
    req.send().await.expect("create queue").queue_url().expect("url").to_owned()
}

async fn priority_queues(client: &Client) -> [String; 4] {
    let mut urls = Vec::new();
    for p in Priority::ALL {
        urls.push(queue(client, &format!("baton-{p}"), &[(QueueAttributeName::VisibilityTimeout, "30".into())]).await);
    }
    urls.try_into().expect("four")
}

async fn receive(client: &Client, url: &str, visibility: Option<i32>) -> Vec<aws_sdk_sqs::types::Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .set_visibility_timeout(visibility)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .expect("receive")
        .messages()
        .to_vec()
}

fn item(id: &str, p: Priority) -> WorkItem {
    WorkItem::new(id, p)
}

#[tokio::test]
async fn a_delayed_work_item_is_held_back_then_delivered_to_its_priority_queue() {
    let moto = Moto::start().await.expect("moto");
    let client = local_sqs_client(&moto.endpoint, None);
    let urls = priority_queues(&client).await;
    let q = SqsActionQueue::new(client.clone(), urls.clone(), [10, 10, 10, 5]).with_stats_ttl(Duration::ZERO);
    q.enqueue(item("a-1", Priority::High), Duration::from_secs(1)).await.expect("send");
    q.enqueue(item("a-2", Priority::Low), Duration::ZERO).await.expect("send");
    assert!(receive(&client, &urls[1], None).await.is_empty(), "still delayed");
    let stats = q.stats().await;
    assert_eq!(stats.depth, [0, 1, 0, 1], "waiting and delayed both count");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let got = receive(&client, &urls[1], None).await;
    assert_eq!(got.len(), 1);
    let body: WorkItem = serde_json::from_str(got[0].body().expect("body")).expect("work item");
    assert_eq!(body, item("a-1", Priority::High));
    assert_eq!(q.stats().await.busy, 1, "in flight counts as busy");

    let calls = baton_aws::calls::CallCounter::default();
    let cached = SqsActionQueue::new(local_sqs_client(&moto.endpoint, Some(calls.clone())), urls, [1, 1, 1, 1]);
    let first = cached.stats().await;
    assert_eq!(cached.stats().await, first);
    assert_eq!(calls.get("GetQueueAttributes"), 4, "the second read within the TTL costs nothing");
}

#[tokio::test]
async fn a_visibility_change_decides_when_a_message_comes_back_and_delete_acknowledges() {
    let moto = Moto::start().await.expect("moto");
    let client = local_sqs_client(&moto.endpoint, None);
    let urls = priority_queues(&client).await;
    let q = SqsActionQueue::new(client.clone(), urls.clone(), [1, 1, 1, 1]);
    q.enqueue(item("v-1", Priority::Critical), Duration::ZERO).await.expect("send");
    let first = receive(&client, &urls[0], None).await;
    let receipt = first[0].receipt_handle().expect("receipt");
    q.redeliver_after(Priority::Critical, receipt, Duration::from_secs(1)).await.expect("visibility");
    assert!(receive(&client, &urls[0], None).await.is_empty(), "hidden for the backoff");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = receive(&client, &urls[0], None).await;
    assert_eq!(again.len(), 1, "back after the backoff");
    let count =
        again[0].attributes().and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount)).cloned();
    assert_eq!(count.as_deref(), Some("2"));
    client
        .delete_message()
        .queue_url(&urls[0])
        .receipt_handle(again[0].receipt_handle().expect("receipt"))
        .send()
        .await
        .expect("delete");
    assert!(receive(&client, &urls[0], Some(0)).await.is_empty(), "acknowledged for good");
}

#[tokio::test]
async fn a_message_received_too_often_moves_to_the_dead_letter_queue() {
    let moto = Moto::start().await.expect("moto");
    let client = local_sqs_client(&moto.endpoint, None);
    let dlq = queue(&client, "baton-critical-dlq", &[]).await;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attrs")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string();
    let main = queue(&client, "baton-critical", &[(QueueAttributeName::RedrivePolicy, redrive)]).await;
    client
        .send_message()
        .queue_url(&main)
        .message_body(r#"{"actionId":"d-1","priority":"critical"}"#)
        .send()
        .await
        .expect("send");
    for _ in 0..2 {
        assert_eq!(receive(&client, &main, Some(0)).await.len(), 1);
    }
    assert!(receive(&client, &main, Some(0)).await.is_empty(), "gone from the main queue");
    let dead = receive(&client, &dlq, None).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body().unwrap_or_default().contains("d-1"));
}

fn event(action: &str, n: usize) -> Event {
    Event {
        event: "action:executing".into(),
        data: json!({"actionId": action, "n": n}),
        id: format!("{action}:{n}:action:executing"),
        ts: "2026-11-24T00:00:00.000Z".into(),
        platform: None,
    }
}

#[tokio::test]
async fn events_are_published_in_batches_in_order_per_action_and_only_once() {
    let moto = Moto::start().await.expect("moto");
    let client = local_sqs_client(&moto.endpoint, None);
    let url = queue(
        &client,
        "baton-events.fifo",
        &[
            (QueueAttributeName::FifoQueue, "true".into()),
            (QueueAttributeName::ContentBasedDeduplication, "false".into()),
        ],
    )
    .await;
    let publisher = SqsEventPublisher::new(client.clone(), &url);
    let events: Vec<Event> = (0..25).map(|n| event(if n % 2 == 0 { "a" } else { "b" }, n)).collect();
    publisher.publish(&events).await.expect("publish");
    publisher.publish(&events[..10]).await.expect("a retried batch");
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    loop {
        let got = receive(&client, &url, None).await;
        if got.is_empty() {
            break;
        }
        for m in &got {
            let v: serde_json::Value = serde_json::from_str(m.body().expect("body")).expect("json");
            let action = v["data"]["actionId"].as_str().expect("action").to_owned();
            seen.entry(action).or_default().push(v["data"]["n"].as_u64().expect("n"));
            client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().expect("r"))
                .send()
                .await
                .expect("delete");
        }
    }
    let a: Vec<u64> = (0..25).filter(|n| n % 2 == 0).collect();
    let b: Vec<u64> = (0..25).filter(|n| n % 2 == 1).collect();
    assert_eq!(seen["a"], a, "in order, no duplicates");
    assert_eq!(seen["b"], b);
}
