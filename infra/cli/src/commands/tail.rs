//! `baton tail`: the live events, one line each (coloured on a terminal), or the raw frames
//! with `--json`.

use clap::Args;
use serde_json::Value;

use super::Globals;
use crate::client::Failure;
use crate::live::Feed;
use crate::output::{self, status};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton tail\n  baton tail --events 'action:*' --platform slack\n  \
baton tail --events approval:pending --json | jq .data.reason\n  baton tail --events action:failed --count 1")]
pub struct TailArgs {
    /// Event names or patterns (`action:*`, `workflow:step`), repeatable or comma-separated.
    #[arg(long = "events", value_delimiter = ',', default_value = "*")]
    events: Vec<String>,
    /// Only events of these platforms (events of no platform, like `queue:updated`, pass).
    #[arg(long = "platform", value_delimiter = ',')]
    platforms: Vec<String>,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
}

/// One event as a line: time, name, then what matters of it.
pub fn line(frame: &Value) -> String {
    let d = &frame["data"];
    let event = frame["event"].as_str().unwrap_or_default();
    let time = frame["ts"].as_str().and_then(|t| t.get(11..23)).unwrap_or("");
    let mut parts = vec![time.to_owned(), format!("{:<20}", status(event))];
    for key in ["actionId", "approvalId", "workflowId", "step"] {
        if let Some(v) = d[key].as_str() {
            parts.push(v.to_owned());
        }
    }
    for key in ["platform", "type", "priority", "status", "errorCode", "currentStatus"] {
        if let Some(v) = d[key].as_str() {
            parts.push(format!("{key}={}", status(v)));
        }
    }
    if let Some(ms) = d["executionTime"].as_u64() {
        parts.push(format!("{ms} ms"));
    }
    if let Some(e) = d["error"].as_str() {
        parts.push(format!("\"{e}\""));
    }
    if event == "queue:updated" {
        parts.push(format!("queued={} utilisation={}", d["totalQueued"], output::rate(&d["workerUtilization"])));
    }
    parts.join(" ")
}

pub async fn run(globals: &Globals, args: TailArgs) -> Result<(), Failure> {
    let mut feed = Feed::open(&globals.ws_url(), globals.key.as_deref(), &args.events, &args.platforms).await?;
    if !globals.json {
        eprintln!("following {} (Ctrl-C to stop)", args.events.join(", "));
    }
    let mut seen = 0;
    while let Some(frame) = feed.next_frame().await? {
        if matches!(frame["event"].as_str(), Some("pong" | "subscribed" | "connected")) {
            continue;
        }
        if globals.json {
            println!("{frame}");
        } else {
            println!("{}", line(&frame));
        }
        seen += 1;
        if args.count.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(())
}
