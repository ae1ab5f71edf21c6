//! `aws-cost`: the DynamoDB write units a plain action costs on AWS, from the sizes of the
//! very items Baton writes (`DynamoActionStore::encode`) and of their index entries, by
//! DynamoDB's sizing rules; and what a million actions cost at list price with the request
//! counts measured in the moto end-to-end run (BENCHMARKS.md explains each line).
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

type Item = HashMap<String, AttributeValue>;

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

fn item_size(item: &Item) -> usize {
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

/// Write units of replacing `old` by `new` (a PutItem): the larger item, plus each index's
/// upkeep (a new entry, a removed one, a key change = both, a projected change = one write).
fn write_units(old: Option<&Item>, new: &Item) -> (u64, u64) {
    let base = units(item_size(new).max(old.map(item_size).unwrap_or(0)));
    let mut index = 0;
    for def in ACTIONS.indexes {
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

fn main() -> anyhow::Result<()> {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    let store =
        DynamoActionStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "actions", Duration::from_secs(86_400));
    let body = json!({"action": {"type": "notify", "platform": "slack", "priority": "high",
        "data": {"channel": "#ops", "text": "Deploy finished: api v2.14.0 is live in production"}}});
    let sub = parse_submission(&body).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = Utc::now();
    let queued = Action::accepted(sub.action, sub.context, now, 1, 0);
    let leased = queued.lease("sandbox-1", now, Duration::from_secs(35)).map_err(|e| anyhow::anyhow!("{e}"))?;
    // What Baton keeps of Slack's chat.postMessage answer.
    let result = json!({"ok": true, "channel": "C024BE91L", "ts": "1764806400.000200"});
    let done = leased.succeed("sandbox-1", result, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let images: Vec<Item> = [&queued, &leased, &done].iter().map(|a| store.encode(a)).collect::<Result<_, _>>()?;
    println!("| write | item size | item WRU | index WRU |");
    println!("|---|---|---|---|");
    let mut total = 0;
    for (i, name) in ["insert (queued)", "lease (executing)", "completion (success)"].iter().enumerate() {
        let (base, index) = write_units(i.checked_sub(1).map(|p| &images[p]), &images[i]);
        total += base + index;
        println!("| {name} | {} B | {base} | {index} |", item_size(&images[i]));
    }
    println!("| **a plain action** | | | **{total} WRU** |");
    Ok(())
}
