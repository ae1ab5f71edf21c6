//! `baton submit [FILE|-] [--wait]`: submit an action (a bare action, or the
//! `{action, context?, correlationId?}` body) and print the receipt; with `--wait`, follow its
//! events to its end and exit non-zero if it did not succeed.

use clap::Args;
use serde_json::{Value, json};
use std::io::Read;
use std::time::Duration;

use super::Globals;
use crate::client::{Client, Failure, exit};
use crate::live::Feed;
use crate::output::{self, status};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton submit action.json\n  echo '{\"type\":\"notify\",\"platform\":\"slack\",\
\"priority\":\"high\",\"dryRun\":true,\"data\":{\"channel\":\"#ops\",\"text\":\"hi\"}}' | baton submit - --wait\n\n\
With --wait the exit code is 0 when the action succeeded, 1 when it failed, was cancelled, rejected or expired.")]
pub struct SubmitArgs {
    /// A JSON file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// Follow the action's events until it ends.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds (exit 1).
    #[arg(long, default_value_t = 600, requires = "wait")]
    timeout: u64,
    /// Sent as `Idempotency-Key`: the same key and body again gives the original receipt.
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// The body to POST: `{action, ...}` as given, or a bare action wrapped in one.
pub fn body_of(value: Value) -> Value {
    if value.get("action").is_some_and(Value::is_object) { value } else { json!({"action": value}) }
}

fn read(file: &str) -> Result<Value, Failure> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| Failure::new(exit::FAILED, format!("cannot read {file}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::new(exit::FAILED, format!("{file} is not JSON: {e}")))
}

/// The end of an action, from one of its events: `Some(true)` succeeded, `Some(false)` not.
fn ending(event: &str, data: &Value) -> Option<bool> {
    match event {
        "action:completed" => Some(true),
        "action:failed" | "action:cancelled" => Some(false),
        "approval:resolved" => (data["status"] != "approved").then_some(false),
        _ => None,
    }
}

fn terminal(status: &str) -> Option<bool> {
    match status {
        "success" => Some(true),
        "failed" | "cancelled" | "rejected" | "expired" => Some(false),
        _ => None,
    }
}

pub async fn run(globals: &Globals, args: SubmitArgs) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    let body = body_of(read(&args.file)?);
    // Subscribe before submitting, so no event of the action can pass unseen.
    let mut feed = match args.wait {
        true => Some(
            Feed::open(&globals.ws_url(), globals.key.as_deref(), &["action:*".into(), "approval:*".into()], &[])
                .await?,
        ),
        false => None,
    };
    let headers: Vec<(&str, String)> = args.idempotency_key.iter().map(|k| ("idempotency-key", k.clone())).collect();
    let receipt = client.post_with("/api/actions", &body, &headers).await?;
    let id = receipt["actionId"].as_str().unwrap_or_default().to_owned();
    output::emit(globals.json, &receipt, |r| {
        let mut line = format!("{id} {}", status(&output::text(r, "status")));
        if let Some(p) = r["queuePosition"].as_u64() {
            line.push_str(&format!(" (position {p}, about {} ms)", r["estimatedWait"]));
        }
        if let Some(a) = r["approvalId"].as_str() {
            line.push_str(&format!(" approval {a}, expires {}", output::text(r, "expiresAt")));
        }
        println!("{line}");
    });
    let Some(feed) = feed.as_mut() else { return Ok(()) };
    let ok = tokio::time::timeout(Duration::from_secs(args.timeout), follow(globals, &client, feed, &id))
        .await
        .map_err(|_| Failure::new(exit::FAILED, format!("{id} did not end within {} s", args.timeout)))??;
    let action = settled(&client, &id).await?;
    if ok {
        if !globals.json {
            println!("{id} succeeded in {}", output::millis(&action["executionTime"]));
        }
        Ok(())
    } else {
        let e = &action["error"];
        let why = match (e["code"].as_str(), e["message"].as_str()) {
            (Some(c), Some(m)) => format!("{m} ({c})"),
            _ => output::text(&action, "status"),
        };
        Err(Failure::new(exit::FAILED, format!("{id} ended {}: {why}", output::text(&action, "status"))))
    }
}

/// Prints the action's events until it ends; a check of its state now and then covers a feed
/// that drops.
async fn follow(globals: &Globals, client: &Client, feed: &mut Feed, id: &str) -> Result<bool, Failure> {
    let mut check = tokio::time::interval(Duration::from_secs(5));
    check.tick().await;
    loop {
        tokio::select! {
            frame = feed.next_frame() => {
                let Some(frame) = frame? else {
                    return poll(client, id).await;
                };
                let data = &frame["data"];
                if data["actionId"] != id {
                    continue;
                }
                let event = frame["event"].as_str().unwrap_or_default();
                if globals.json {
                    println!("{frame}");
                } else {
                    println!("  {} {}", output::text(&frame, "ts"), status(event));
                }
                if let Some(ok) = ending(event, data) {
                    return Ok(ok);
                }
            }
            _ = check.tick() => {
                let a = client.get(&format!("/api/actions/{id}")).await?;
                if let Some(ok) = terminal(a["status"].as_str().unwrap_or_default()) {
                    return Ok(ok);
                }
            }
        }
    }
}

/// The action once its state says it ended (an approval's refusal is told a moment before its
/// action is marked), or as it is after a few seconds.
async fn settled(client: &Client, id: &str) -> Result<Value, Failure> {
    for _ in 0..50 {
        let a = client.get(&format!("/api/actions/{id}")).await?;
        if terminal(a["status"].as_str().unwrap_or_default()).is_some() {
            return Ok(a);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.get(&format!("/api/actions/{id}")).await
}

/// The feed closed: wait on the action's state instead.
async fn poll(client: &Client, id: &str) -> Result<bool, Failure> {
    loop {
        let a = client.get(&format!("/api/actions/{id}")).await?;
        if let Some(ok) = terminal(a["status"].as_str().unwrap_or_default()) {
            return Ok(ok);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_action_is_wrapped_and_a_body_is_kept() {
        let bare = json!({"type": "notify"});
        assert_eq!(body_of(bare.clone()), json!({"action": bare}));
        let body = json!({"action": {"type": "notify"}, "correlationId": "c"});
        assert_eq!(body_of(body.clone()), body);
    }

    #[test]
    fn an_approval_that_is_not_granted_ends_the_wait() {
        assert_eq!(ending("approval:resolved", &json!({"status": "approved"})), None);
        assert_eq!(ending("approval:resolved", &json!({"status": "timeout"})), Some(false));
        assert_eq!(ending("action:completed", &json!({})), Some(true));
    }
}
