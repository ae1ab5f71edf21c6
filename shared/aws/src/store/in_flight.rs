//! The in-flight part of `GET /api/actions/recent`. An action in flight has no entry in the
//! recent index (accepting one writes a single index entry, the pending one, and its lease
//! none); `recent` reads those actions from the pending index, which projects their time,
//! platform and phase, and merges them with the settled ones by time.

use aws_sdk_dynamodb::types::AttributeValue;
use baton_domain::StoreError;
use baton_domain::model::{Priority, Status};
use baton_domain::ports::RecentQuery;
use std::collections::{HashMap, HashSet};

use super::recent::COUNT_ENTRIES;
use super::{DynamoActionStore, classify};
use crate::codec::Item;
use crate::items::id_of;
use crate::tables::{IN_FLIGHT, attr, index, phase};

/// An index entry as `recent` orders it: its sort key (`createdAt#id`) and the action's id.
pub(super) type Keyed = (String, String);

/// Query pages the in-flight part may spend, over the four priorities.
const PAGES: usize = 12;

/// The in-flight actions a query admits, newest first, and whether that is all of them (at
/// most [`COUNT_ENTRIES`] pending entries are looked at).
pub(super) struct InFlight {
    pub keyed: Vec<Keyed>,
    pub complete: bool,
}

/// Whether `statuses` (empty: all) admits an in-flight action.
pub(super) fn admits(statuses: &[Status]) -> bool {
    statuses.is_empty() || statuses.iter().any(|s| phase(*s) == IN_FLIGHT)
}

/// The in-flight statuses an entry's item must have, when `statuses` names some in-flight
/// statuses but not all three (the index keeps one phase for them); `None` when the phase
/// answers alone.
fn checked(statuses: &[Status]) -> Option<Vec<Status>> {
    let named: Vec<Status> = statuses.iter().copied().filter(|s| phase(*s) == IN_FLIGHT).collect();
    let all = [Status::Queued, Status::Executing, Status::Retrying];
    (!named.is_empty() && !all.iter().all(|s| named.contains(s))).then_some(named)
}

fn keyed(entry: &Item) -> Option<Keyed> {
    let time = entry.get(attr::TIME).and_then(|v| v.as_s().ok())?;
    Some((time.clone(), id_of(entry)?.clone()))
}

impl DynamoActionStore {
    /// The in-flight actions between `bounds` (sort keys) that `q` admits, newest first.
    /// Each priority's partition is read newest-ready first, so when more than
    /// [`COUNT_ENTRIES`] are in flight those kept are the most recently ready. An action is
    /// never ready before it was created, so the read starts at `ready_from`: the window's
    /// start, less a margin for the clocks of different hosts.
    pub(super) async fn in_flight(
        &self,
        bounds: (&str, &str),
        ready_from: &str,
        q: &RecentQuery,
    ) -> Result<InFlight, StoreError> {
        let mut names = HashMap::from([
            ("#p".to_owned(), attr::PENDING_PRIORITY.to_owned()),
            ("#at".to_owned(), attr::PENDING_AT.to_owned()),
            ("#phase".to_owned(), attr::PHASE.to_owned()),
            ("#time".to_owned(), attr::TIME.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":in_flight".to_owned(), AttributeValue::S(IN_FLIGHT.into())),
            (":lo".to_owned(), AttributeValue::S(bounds.0.into())),
            (":from".to_owned(), AttributeValue::S(ready_from.into())),
            (":hi".to_owned(), AttributeValue::S(bounds.1.into())),
        ]);
        // A failure whose fallback is not yet submitted stays pending with its settled phase.
        let mut filter = "#phase = :in_flight AND #time BETWEEN :lo AND :hi".to_owned();
        if let Some(p) = q.platform {
            filter.push_str(" AND #platform = :platform");
            names.insert("#platform".into(), "platform".into());
            values.insert(":platform".into(), AttributeValue::S(p.as_str().into()));
        }
        let (mut entries, mut pages, mut complete) = (COUNT_ENTRIES, PAGES, true);
        let mut found: Vec<Keyed> = Vec::new();
        'priorities: for priority in Priority::ALL {
            values.insert(":p".into(), AttributeValue::S(priority.as_str().into()));
            let mut start: Option<Item> = None;
            loop {
                if entries == 0 || pages == 0 {
                    complete = false;
                    break 'priorities;
                }
                pages -= 1;
                let resp = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(index::PENDING)
                    .key_condition_expression("#p = :p AND #at >= :from")
                    .filter_expression(&filter)
                    .projection_expression("id, #time")
                    .set_expression_attribute_names(Some(names.clone()))
                    .set_expression_attribute_values(Some(values.clone()))
                    .scan_index_forward(false)
                    .limit(i32::try_from(entries).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(classify)?;
                entries = entries.saturating_sub(resp.scanned_count().max(0) as usize);
                found.extend(resp.items().iter().filter_map(keyed));
                match resp.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
        }
        if let Some(wanted) = checked(&q.statuses) {
            let ids: Vec<String> = found.iter().map(|(_, id)| id.clone()).collect();
            let keep: HashSet<String> = crate::items::get_many_of(&self.client, &self.table, &ids, &["status"])
                .await?
                .iter()
                .filter(|item| {
                    item.get("status")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|s| Status::parse(s))
                        .is_some_and(|s| wanted.contains(&s))
                })
                .filter_map(|item| id_of(item).cloned())
                .collect();
            found.retain(|(_, id)| keep.contains(id));
        }
        found.sort_unstable_by(|a, b| b.0.cmp(&a.0));
        Ok(InFlight { keyed: found, complete })
    }
}

/// The ids at `offset..offset + limit` of the newest-first merge of every in-flight entry
/// (`in_flight`, newest first) with the settled ones, of which `settled` holds those from
/// position `skipped` on (newest first).
///
/// `recent` asks for the settled ones from `offset - in_flight.len()` on, `limit +
/// min(offset, in_flight.len())` of them: nothing the window holds is outside that. An
/// in-flight entry newer than the first settled one read then has fewer than `skipped` settled
/// ones before it, so it lies before `offset`; any other's place is `i + skipped` plus the
/// settled ones read that are newer.
pub(super) fn window(
    in_flight: &[Keyed],
    settled: &[Keyed],
    skipped: usize,
    offset: usize,
    limit: usize,
) -> Vec<String> {
    let end = offset.saturating_add(limit);
    let mut placed: Vec<(usize, &str)> = Vec::new();
    for (j, (key, id)) in settled.iter().enumerate() {
        let place = skipped + j + in_flight.partition_point(|(k, _)| k > key);
        if (offset..end).contains(&place) {
            placed.push((place, id));
        }
    }
    let first = settled.first().map(|(k, _)| k);
    for (i, (key, id)) in in_flight.iter().enumerate() {
        if skipped > 0 && first.is_none_or(|f| key > f) {
            continue;
        }
        let place = i + skipped + settled.partition_point(|(k, _)| k > key);
        if (offset..end).contains(&place) {
            placed.push((place, id));
        }
    }
    placed.sort_unstable_by_key(|(place, _)| *place);
    placed.into_iter().map(|(_, id)| id.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(keys: &[u32]) -> Vec<Keyed> {
        keys.iter().map(|k| (format!("{k:04}"), format!("id-{k}"))).collect()
    }

    /// Every split of 0..n into in-flight and settled entries, every offset and limit: the
    /// window equals the slice of the whole merge, given the settled entries `recent` reads.
    #[test]
    fn the_window_is_the_slice_of_the_whole_merge() {
        let n = 9u32;
        for mask in 0..(1u32 << n) {
            let mut all: Vec<u32> = (0..n).collect();
            all.reverse(); // newest (largest key) first
            let in_flight: Vec<u32> = all.iter().copied().filter(|k| mask & (1 << k) != 0).collect();
            let settled: Vec<u32> = all.iter().copied().filter(|k| mask & (1 << k) == 0).collect();
            let (in_flight, settled) = (keyed(&in_flight), keyed(&settled));
            for offset in 0..=(n as usize + 1) {
                for limit in 1..=4usize {
                    let skipped = offset.saturating_sub(in_flight.len());
                    let take = limit + offset.min(in_flight.len());
                    let read: Vec<Keyed> = settled.iter().skip(skipped).take(take).cloned().collect();
                    let expected: Vec<String> =
                        all.iter().skip(offset).take(limit).map(|k| format!("id-{k}")).collect();
                    assert_eq!(
                        window(&in_flight, &read, skipped, offset, limit),
                        expected,
                        "mask {mask:b}, offset {offset}, limit {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_in_flight_statuses_need_the_pending_index() {
        assert!(admits(&[]));
        assert!(admits(&[Status::Success, Status::Queued]));
        assert!(!admits(&[Status::Success, Status::PendingApproval]));
        assert_eq!(checked(&[Status::Queued, Status::Executing, Status::Retrying]), None);
        assert_eq!(checked(&[Status::Queued, Status::Failed]), Some(vec![Status::Queued]));
    }
}
