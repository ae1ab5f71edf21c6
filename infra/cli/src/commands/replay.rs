//! `baton replay`: run again what ended badly — one action by id, the failures a filter
//! matches (counted first with `--dry-run`), or a dead-letter queue back into its priority
//! queue (`--dlq normal`, on AWS) — against a running Baton (`--url`, `--key`).

use clap::Args;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Client, Failure};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton replay a-123\n  baton replay --platform slack --error-code RATE_LIMITED \
--dry-run\n  baton replay --status failed --since 2026-12-01 --limit 100\n  baton replay --dlq normal")]
pub struct ReplayArgs {
    /// Replay these actions (each as a new action `<id>.r<n>`).
    ids: Vec<String>,
    /// Move the dead-letter queue of this priority (critical, high, normal, low) back into it.
    #[arg(long, conflicts_with_all = ["ids", "platform", "error_code", "status", "since", "until", "dry_run"])]
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
    #[arg(long, conflicts_with = "ids")]
    status: Option<String>,
    /// From this time or date (ISO 8601).
    #[arg(long, conflicts_with = "ids")]
    since: Option<String>,
    /// Up to this time or date (ISO 8601).
    #[arg(long, conflicts_with = "ids")]
    until: Option<String>,
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
        let mut filter = serde_json::Map::new();
        for (key, value) in [
            ("platform", &args.platform),
            ("errorCode", &args.error_code),
            ("status", &args.status),
            ("startDate", &args.since),
            ("endDate", &args.until),
        ] {
            if let Some(v) = value {
                filter.insert(key.into(), json!(v));
            }
        }
        let mut body = json!({"filter": filter, "dryRun": args.dry_run});
        if let Some(n) = args.limit {
            body["limit"] = json!(n);
        }
        let report = client.post("/api/actions/replay", &body).await?;
        if !globals.json {
            if args.dry_run {
                println!("{} action(s) match; first: {}", report["matched"], report["ids"]);
            } else {
                println!(
                    "replayed {} of {} matching",
                    report["replayed"].as_array().map_or(0, Vec::len),
                    report["matched"]
                );
            }
            return Ok(());
        }
        report
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}
