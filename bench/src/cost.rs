//! `aws-cost`: the DynamoDB write units a plain action, and a workflow of N steps, cost on
//! AWS, from the sizes of the very items Baton writes (`DynamoActionStore::encode`,
//! `DynamoWorkflowStore::encode`) and of their index entries, by DynamoDB's sizing rules
//! (BENCHMARKS.md turns them into dollars with the request counts of the moto run).
//!
//! Usage: `cargo run -p baton-bench --bin aws-cost` (deterministic: no timing).

use aws_sdk_dynamodb::types::AttributeValue;
use baton_aws::store::DynamoActionStore;
use baton_aws::tables::{ACTIONS, IndexDef, Projected};
use baton_domain::model::Action;
use baton_domain::validation::parse_submission;
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

mod workflow_cost;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// DynamoDB's size of a value, bytes (names count where they appear).
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(n) => {
            n.trim_start_matches('-').replace('.', "").trim_start_matches('0').len().div_ceil(2) + 1
        }
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        _ => 0,
    }
}

pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// An index's entry for `item`, if the item has its keys (sparse indexes).
fn entry(item: &Item, index: &IndexDef) -> Option<Item> {
    let mut keys = vec![index.hash, "id"];
    keys.extend(index.range);
    if keys.iter().any(|k| !item.contains_key(*k)) {
        return None;
    }
    let projected: Vec<&str> = match index.projection {
        Projected::All => return Some(item.clone()),
        Projected::KeysOnly => keys,
        Projected::Include(extra) => keys.into_iter().chain(extra.iter().copied()).collect(),
    };
    Some(projected.iter().filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect())
}

/// Write units of replacing `old` by `new` (a PutItem) in a table with `indexes`: the larger
/// item, plus each index's upkeep (a new entry, a removed one, a key change = both, a
/// projected change = one write).
pub(crate) fn write_units(indexes: &[IndexDef], old: Option<&Item>, new: &Item) -> (u64, u64) {
    let base = units(item_size(new).max(old.map(item_size).unwrap_or(0)));
    let mut index = 0;
    for def in indexes {
        let (before, after) = (old.and_then(|o| entry(o, def)), entry(new, def));
        index += match (&before, &after) {
            (None, None) => 0,
            (None, Some(a)) => units(item_size(a)),
            (Some(b), None) => units(item_size(b)),
            (Some(b), Some(a)) => {
                let key_of = |e: &Item| (e.get(def.hash).cloned(), def.range.and_then(|r| e.get(r).cloned()));
                if key_of(b) != key_of(a) {
                    units(item_size(b)) + units(item_size(a))
                } else if b != a {
                    units(item_size(b).max(item_size(a)))
                } else {
                    0
                }
            }
        };
    }
    (base, index)
}

pub(crate) fn client() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// The three images of an action that succeeds at once (insert, lease, completion), from
/// its submitted body with `adjust` applied to the accepted action (a workflow's step).
pub(crate) fn action_images(body: &serde_json::Value, adjust: impl FnOnce(&mut Action)) -> anyhow::Result<Vec<Item>> {
    let store = DynamoActionStore::new(client(), "actions", Duration::from_secs(86_400));
    let sub = parse_submission(body).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = Utc::now();
    let mut queued = Action::accepted(sub.action, sub.context, now, 1, 0);
    adjust(&mut queued);
    let leased = queued.lease("sandbox-1", now, Duration::from_secs(35)).map_err(|e| anyhow::anyhow!("{e}"))?;
    // What Baton keeps of Slack's chat.postMessage answer.
    let result = json!({"ok": true, "channel": "C024BE91L", "ts": "1764806400.000200"});
    let done = leased.succeed("sandbox-1", result, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok([&queued, &leased, &done].iter().map(|a| store.encode(a)).collect::<Result<_, _>>()?)
}

/// Write units of a sequence of images of one item (the first an insert).
pub(crate) fn total_units(indexes: &[IndexDef], images: &[Item]) -> u64 {
    (0..images.len())
        .map(|i| {
            let (base, index) = write_units(indexes, i.checked_sub(1).map(|p| &images[p]), &images[i]);
            base + index
        })
        .sum()
}

fn main() -> anyhow::Result<()> {
    let body = json!({"action": {"type": "notify", "platform": "slack", "priority": "high",
        "data": {"channel": "#ops", "text": "Deploy finished: api v2.14.0 is live in production"}}});
    let images = action_images(&body, |_| ())?;
    println!("| write | item size | item WRU | index WRU |");
    println!("|---|---|---|---|");
    for (i, name) in ["insert (queued)", "lease (executing)", "completion (success)"].iter().enumerate() {
        let (base, index) = write_units(ACTIONS.indexes, i.checked_sub(1).map(|p| &images[p]), &images[i]);
        println!("| {name} | {} B | {base} | {index} |", item_size(&images[i]));
    }
    let plain = total_units(ACTIONS.indexes, &images);
    println!("| **a plain action** | | | **{plain} WRU** |");
    println!();
    workflow_cost::table(plain)
}
