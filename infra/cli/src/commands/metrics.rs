//! `baton metrics [--window 1h] [--platform P]`.

use clap::Args;
use serde_json::Value;

use super::Globals;
use crate::client::{Client, Failure};
use crate::output::{self, millis, rate, text};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton metrics\n  baton metrics --window 24h --platform slack --json")]
pub struct MetricsArgs {
    /// 1h, 6h, 24h or 7d.
    #[arg(long, default_value = "1h")]
    window: String,
    #[arg(long)]
    platform: Option<String>,
}

pub async fn run(globals: &Globals, args: MetricsArgs) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    let mut path = format!("/api/actions/metrics?timeWindow={}", args.window);
    if let Some(p) = &args.platform {
        path.push_str(&format!("&platform={p}"));
    }
    let m = client.get(&path).await?;
    output::emit(globals.json, &m, show);
    Ok(())
}

fn show(m: &Value) {
    let s = &m["metrics"];
    println!(
        "last {}: {} actions, success {}, retries {}, fallbacks {}",
        text(m, "timeWindow"),
        s["totalActions"],
        rate(&s["successRate"]),
        rate(&s["retryRate"]),
        rate(&s["fallbackRate"])
    );
    println!(
        "execution p50 {}  p95 {}  p99 {}  average {}; queue average {}",
        millis(&s["p50ExecutionTime"]),
        millis(&s["p95ExecutionTime"]),
        millis(&s["p99ExecutionTime"]),
        millis(&s["avgExecutionTime"]),
        millis(&s["avgQueueTime"])
    );
    let rows: Vec<Vec<String>> = m["byPlatform"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(p, b)| {
            vec![
                p.clone(),
                b["total"].to_string(),
                rate(&b["successRate"]),
                millis(&b["avgExecutionTime"]),
                millis(&b["p95ExecutionTime"]),
            ]
        })
        .collect();
    output::table(&["PLATFORM", "ACTIONS", "SUCCESS", "AVERAGE", "P95"], &rows);
}
