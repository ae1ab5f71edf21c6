//! `baton actions get ID | recent [filters]`.

use clap::Subcommand;
use serde_json::Value;

use super::{Globals, Since, query};
use crate::client::{Client, Failure};
use crate::output::{self, status, text};

#[derive(Subcommand)]
pub enum ActionsCommand {
    /// One action with its lifecycle, result or error.
    #[command(after_help = "Example:\n  baton actions get a-123 --json")]
    Get { id: String },
    /// The newest actions, filtered.
    #[command(
        after_help = "Examples:\n  baton actions recent --status failed --since 1h\n  baton actions recent --platform slack --limit 5"
    )]
    Recent {
        #[arg(long)]
        platform: Option<String>,
        /// pending, executing, success, failed, or an exact state (retrying, cancelled, ...).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// From this long ago (`90s`, `30m`, `1h`, `7d`) or this time (ISO 8601).
        #[arg(long)]
        since: Option<Since>,
        #[arg(long)]
        until: Option<Since>,
    },
}

pub async fn run(globals: &Globals, command: ActionsCommand) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    match command {
        ActionsCommand::Get { id } => {
            let a = client.get(&format!("/api/actions/{id}")).await?;
            output::emit(globals.json, &a, show);
        }
        ActionsCommand::Recent { platform, status: st, limit, since, until } => {
            let q = query(&[
                ("limit", Some(limit.to_string())),
                ("platform", platform),
                ("status", st),
                ("startDate", since.map(|s| s.0)),
                ("endDate", until.map(|s| s.0)),
            ]);
            let r = client.get(&format!("/api/actions/recent{q}")).await?;
            output::emit(globals.json, &r, |r| {
                let rows = output::rows(r, "actions", |a| {
                    vec![
                        text(a, "id"),
                        text(a, "type"),
                        text(a, "platform"),
                        text(a, "priority"),
                        status(&text(a, "state")),
                        text(a, "timestamp"),
                        a["errorCode"].as_str().unwrap_or("").to_owned(),
                    ]
                });
                output::table(&["ID", "TYPE", "PLATFORM", "PRIORITY", "STATUS", "CREATED", "ERROR"], &rows);
                eprintln!("{} of {} shown", rows.len(), r["total"]);
            });
        }
    }
    Ok(())
}

fn show(a: &Value) {
    println!(
        "{} {} on {} ({}) {}",
        text(a, "id"),
        text(a, "type"),
        text(a, "platform"),
        text(a, "priority"),
        status(&text(a, "status"))
    );
    for (label, key) in [
        ("created", "createdAt"),
        ("first started", "firstStartedAt"),
        ("started", "startedAt"),
        ("completed", "completedAt"),
    ] {
        if a[key].is_string() {
            println!("  {label:<14} {}", text(a, key));
        }
    }
    println!(
        "  attempts {}, retries {}, queue {}, execution {}",
        a["attempts"],
        a["retries"],
        output::millis(&a["queueTime"]),
        output::millis(&a["executionTime"])
    );
    if a["error"].is_object() {
        println!("  error {} {}", text(&a["error"], "code"), text(&a["error"], "message"));
    }
    if !a["result"].is_null() {
        println!("  result {}", a["result"]);
    }
    for (label, key) in [
        ("replay of", "replayOf"),
        ("fallback", "fallbackActionId"),
        ("workflow", "workflowId"),
        ("approval", "approvalId"),
    ] {
        if a[key].is_string() {
            println!("  {label:<14} {}", text(a, key));
        }
    }
}
