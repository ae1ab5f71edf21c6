//! `baton replay`: run again what ended badly — one action by id, the failures a filter
//! matches (counted first, then replayed after `--yes` or a yes at the prompt, with a progress
//! bar), or a dead-letter queue back into its priority queue (`--dlq normal`, on AWS) —
//! against a running Baton (`--url`, `--key`).

use clap::Args;
use serde_json::{Value, json};

use super::{Globals, Since};
use crate::client::{Client, Failure, exit};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton replay a-123\n  baton replay --failed --platform slack --since 1h\n  \
baton replay --platform slack --error-code RATE_LIMITED --dry-run\n  baton replay --status failed --since 2026-12-01 --limit 100 --yes\n  \
baton replay --dlq normal\n\nA filtered replay shows how many match first and asks before replaying (--yes: do not ask; \
without a terminal to ask on, --yes is required).")]
pub struct ReplayArgs {
    /// Replay these actions (each as a new action `<id>.r<n>`).
    ids: Vec<String>,
    /// Move the dead-letter queue of this priority (critical, high, normal, low) back into it.
    #[arg(long, conflicts_with_all = ["ids", "platform", "error_code", "status", "failed", "since", "until", "dry_run"])]
    dlq: Option<String>,
    /// At most this many (bulk replay: ≤ 1,000; `--dlq`: ≤ 10,000).
    #[arg(long)]
    limit: Option<u64>,
    #[arg(long, conflicts_with = "ids")]
    platform: Option<String>,
    #[arg(long, conflicts_with = "ids")]
    error_code: Option<String>,
    /// failed (the default filter: any of failed, cancelled, rejected, expired), cancelled,
    /// rejected or expired.
    #[arg(long, conflicts_with_all = ["ids", "failed"])]
    status: Option<String>,
    /// Only actions that failed (not the cancelled, rejected or expired ones).
    #[arg(long, conflicts_with = "ids")]
    failed: bool,
    /// From this long ago (`30m`, `1h`, `7d`) or this time or date (ISO 8601).
    #[arg(long, conflicts_with = "ids")]
    since: Option<Since>,
    /// Up to this long ago or this time or date.
    #[arg(long, conflicts_with = "ids")]
    until: Option<Since>,
    /// Replay without asking.
    #[arg(long, short = 'y', conflicts_with = "ids")]
    yes: bool,
    /// Only count what the filter matches, and show the first ids.
    #[arg(long, conflicts_with = "ids")]
    dry_run: bool,
}

pub async fn run(globals: &Globals, args: ReplayArgs) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    let out: Value = if let Some(priority) = &args.dlq {
        let body = args.limit.map_or(json!({}), |n| json!({"max": n}));
        let moved = client.post(&format!("/api/queues/{priority}/redrive"), &body).await?;
        if !globals.json {
            println!("moved {} message(s) from the {priority} dead-letter queue", moved["moved"]);
            return Ok(());
        }
        moved
    } else if !args.ids.is_empty() {
        let mut receipts = Vec::new();
        for id in &args.ids {
            let receipt = client.post(&format!("/api/actions/{id}/replay"), &json!({})).await?;
            if !globals.json {
                println!("{id} → {}", receipt["actionId"].as_str().unwrap_or_default());
            }
            receipts.push(receipt);
        }
        if !globals.json {
            return Ok(());
        }
        json!({"replayed": receipts})
    } else {
        return replay_filtered(globals, &client, &args).await;
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}

/// How many a request replays at most: the progress bar moves once per batch.
const BATCH: u64 = 25;

async fn replay_filtered(globals: &Globals, client: &Client, args: &ReplayArgs) -> Result<(), Failure> {
    let mut filter = serde_json::Map::new();
    let status = if args.failed { Some("failed".to_owned()) } else { args.status.clone() };
    for (key, value) in [
        ("platform", args.platform.clone()),
        ("errorCode", args.error_code.clone()),
        ("status", status),
        ("startDate", args.since.clone().map(|s| s.0)),
        ("endDate", args.until.clone().map(|s| s.0)),
    ] {
        if let Some(v) = value {
            filter.insert(key.into(), json!(v));
        }
    }
    let mut count = json!({"filter": filter, "dryRun": true});
    if let Some(n) = args.limit {
        count["limit"] = json!(n);
    }
    let counted = client.post("/api/actions/replay", &count).await?;
    let matched = counted["matched"].as_u64().unwrap_or(0);
    if args.dry_run || matched == 0 {
        if globals.json {
            println!("{}", serde_json::to_string_pretty(&counted).unwrap_or_default());
        } else {
            println!("{matched} action(s) match; first: {}", counted["ids"]);
        }
        return Ok(());
    }
    if !globals.json {
        eprintln!("{matched} action(s) match; first: {}", counted["ids"]);
    }
    if !args.yes && !confirm(matched)? {
        return Err(Failure::new(exit::FAILED, "nothing replayed"));
    }
    let bar = indicatif::ProgressBar::new(matched);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} replayed ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut replayed: Vec<Value> = Vec::new();
    while (replayed.len() as u64) < matched {
        let left = matched - replayed.len() as u64;
        let body = json!({"filter": filter, "dryRun": false, "limit": left.min(BATCH)});
        let report = client.post("/api/actions/replay", &body).await?;
        let batch = report["replayed"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        bar.inc(batch.len() as u64);
        replayed.extend(batch);
    }
    bar.finish_and_clear();
    if globals.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"matched": matched, "replayed": replayed})).unwrap_or_default()
        );
    } else {
        println!("replayed {} of {matched} matching", replayed.len());
    }
    Ok(())
}

/// Asks on the terminal; without one, only `--yes` may replay.
fn confirm(matched: u64) -> Result<bool, Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(exit::FAILED, format!("{matched} action(s) match; pass --yes to replay them")));
    }
    eprint!("Replay {matched} action(s)? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Failure::new(exit::FAILED, e.to_string()))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
