//! One user's actions, newest first, on the by-user index (keys only: the page's items are
//! read by key). Bounded like `recent`: the count stops at a budget of pages and says so.

use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::ports::{RecentPage, RecentQuery};
use chrono::Utc;

use super::recent::COUNT_PAGES;
use super::{DynamoActionStore, classify, sortable};
use crate::codec::Item;
use crate::tables::{attr, index};

impl DynamoActionStore {
    /// `q` for one user: the window (clamped to the retention), then `offset` and `limit`.
    /// Platform and status filters apply to the items read (the index holds keys only).
    pub(super) async fn read_by_user(&self, user: &str, q: &RecentQuery) -> Result<RecentPage, StoreError> {
        let now = Utc::now();
        let start = q.start.unwrap_or(now - self.retention()).max(now - self.retention());
        let end = q.end.unwrap_or(now).min(now);
        if start > end {
            return Ok(RecentPage { exact: true, ..RecentPage::default() });
        }
        let mut ids = Vec::new();
        let (mut seen, mut pages, mut after): (usize, usize, Option<Item>) = (0, 0, None);
        let exact = loop {
            pages += 1;
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index::BY_USER)
                .key_condition_expression("#u = :u AND #t BETWEEN :lo AND :hi")
                .expression_attribute_names("#u", "userId")
                .expression_attribute_names("#t", attr::TIME)
                .expression_attribute_values(":u", AttributeValue::S(user.into()))
                .expression_attribute_values(":lo", AttributeValue::S(sortable(start)))
                .expression_attribute_values(":hi", AttributeValue::S(format!("{}#~", sortable(end))))
                .scan_index_forward(false)
                .set_exclusive_start_key(after.take())
                .send()
                .await
                .map_err(classify)?;
            for item in resp.items() {
                if seen >= q.offset
                    && ids.len() < q.limit
                    && let Some(id) = crate::items::id_of(item)
                {
                    ids.push(id.clone());
                }
                seen += 1;
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() && pages < COUNT_PAGES => after = Some(k.clone()),
                Some(k) if !k.is_empty() => break false,
                _ => break true,
            }
        };
        let actions = self
            .get_many(&ids)
            .await?
            .into_iter()
            .filter(|a| q.platform.is_none_or(|p| a.platform == p))
            .filter(|a| q.statuses.is_empty() || q.statuses.contains(&a.status))
            .collect();
        Ok(RecentPage { actions, total: seen as u64, exact })
    }
}
