//! Completing items stored by an earlier version, after their table's indexes were
//! re-created ([`crate::tables::TableDef::ensure`]): the local runtime's upgrade path.

use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::model::Status;
use tracing::info;

use super::{DynamoActionStore, classify};
use crate::codec::Item;
use crate::tables::{attr, phase};

impl DynamoActionStore {
    /// Writes `gsiPhase` on every action stored before it existed, so `recent`'s status
    /// filters find them. A one-off Scan (filtered to those items): the runtime calls it only
    /// when it has just re-created the recent index. Returns how many it completed.
    pub async fn backfill_phase(&self) -> Result<usize, StoreError> {
        let mut done = 0;
        let mut start: Option<Item> = None;
        loop {
            let resp = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("attribute_not_exists(#phase)")
                .projection_expression("id, #status")
                .expression_attribute_names("#phase", attr::PHASE)
                .expression_attribute_names("#status", "status")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in resp.items() {
                let (Some(id), Some(status)) = (
                    crate::items::id_of(item),
                    item.get("status").and_then(|v| v.as_s().ok()).and_then(|s| Status::parse(s)),
                ) else {
                    continue;
                };
                let written = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("id", AttributeValue::S(id.clone()))
                    .update_expression("SET #phase = :phase")
                    .condition_expression("attribute_exists(id) AND #status = :status")
                    .expression_attribute_names("#phase", attr::PHASE)
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":phase", AttributeValue::S(phase(status).into()))
                    .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()))
                    .send()
                    .await
                    .map_err(classify);
                match written {
                    Ok(_) => done += 1,
                    // Moved on meanwhile: its new image carries the phase already.
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        info!(table = %self.table, actions = done, "wrote the status phase on actions stored before it");
        Ok(done)
    }
}
