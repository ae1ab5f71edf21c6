//! `pump`: Lambda's event source mappings played by polling — the queues with their real
//! receive counts and redrive policies, and the tables' streams — each batch handed to the
//! real function handler with the event shape Lambda sends.

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};
use std::time::Duration;

use super::{Stack, image};

impl Stack {
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
                metrics: Some(&self.metrics),
                queue: Some((self.queue.as_ref(), self.options.handoff)),
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
}
