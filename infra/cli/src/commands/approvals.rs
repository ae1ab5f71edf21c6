//! `baton approvals list | show ID | approve ID [--patch FILE] | reject ID --reason R`.
//! Decisions are made as a Slack user id (`--user` / `BATON_USER_ID`), as the API asks.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Client, Failure, exit};
use crate::output::{self, status, text};

#[derive(Subcommand)]
pub enum ApprovalsCommand {
    /// The inbox (pending, soonest expiry first), or approvals in another state.
    #[command(after_help = "Examples:\n  baton approvals list\n  baton approvals list --status all --limit 50")]
    List {
        /// pending (default), approved, rejected, expired, cancelled, all.
        #[arg(long, default_value = "pending")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One approval: its reason, the preview of the exact requests, decisions, the action.
    Show { id: String },
    /// Approve, optionally editing the data first (a JSON merge patch of `action.data`).
    #[command(after_help = "Examples:\n  baton approvals approve apv-123 --user U12345\n  \
baton approvals approve apv-123 --user U12345 --patch edit.json   # {\"text\": \"Deploy v2.1\"}")]
    Approve {
        id: String,
        /// A JSON file with a merge patch of the action's data (`-` for standard input).
        #[arg(long)]
        patch: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Reject, with a reason.
    #[command(after_help = "Example:\n  baton approvals reject apv-123 --reason 'not during the freeze' --user U12345")]
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Args)]
pub struct Who {
    /// Your Slack user id: the decision is recorded under it.
    #[arg(long = "user", env = "BATON_USER_ID")]
    user: String,
}

fn read_patch(file: &str) -> Result<Value, Failure> {
    let text = if file == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(file) }
        .map_err(|e| Failure::new(exit::FAILED, format!("cannot read {file}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::new(exit::FAILED, format!("{file} is not JSON: {e}")))
}

pub async fn run(globals: &Globals, command: ApprovalsCommand) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    match command {
        ApprovalsCommand::List { status: st, limit } => {
            let r = client.get(&format!("/api/approvals?status={st}&limit={limit}")).await?;
            output::emit(globals.json, &r, |r| {
                let rows = output::rows(r, "approvals", |a| {
                    vec![
                        text(a, "id"),
                        status(&text(a, "status")),
                        format!("{} {}", text(&a["action"], "type"), text(&a["action"], "platform")),
                        text(a, "reason"),
                        text(a, "expiresAt"),
                    ]
                });
                output::table(&["APPROVAL", "STATUS", "ACTION", "REASON", "EXPIRES"], &rows);
            });
        }
        ApprovalsCommand::Show { id } => {
            let a = client.get(&format!("/api/approvals/{id}")).await?;
            output::emit(globals.json, &a, |a| {
                println!("{} {} — {}", text(a, "id"), status(&text(a, "status")), text(a, "reason"));
                println!(
                    "  action     {} ({} on {})",
                    text(a, "actionId"),
                    text(&a["action"], "type"),
                    text(&a["action"], "platform")
                );
                println!("  approvers  {}  (needs {})", a["approvers"], a["requiredApprovals"]);
                println!("  expires    {}", text(a, "expiresAt"));
                for d in a["decisions"].as_array().into_iter().flatten() {
                    println!("  decision   {} {} {}", text(d, "userId"), text(d, "decision"), text(d, "at"));
                }
                println!("  preview\n{}", serde_json::to_string_pretty(&a["preview"]).unwrap_or_default());
            });
        }
        ApprovalsCommand::Approve { id, patch, reason, who } => {
            let mut body = json!({"userId": who.user});
            if let Some(p) = patch {
                body["patch"] = read_patch(&p)?;
            }
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let r = client.post(&format!("/api/approvals/{id}/approve"), &body).await?;
            output::emit(globals.json, &r, |r| match r["status"].as_str() {
                Some("approved") => println!(
                    "{id} {} by {}: {} is queued",
                    status("approved"),
                    text(r, "approvedBy"),
                    text(r, "actionId")
                ),
                _ => println!("{id} still {}: approvals so far {}", status("pending"), r["approvals"]),
            });
        }
        ApprovalsCommand::Reject { id, reason, who } => {
            let r = client
                .post(&format!("/api/approvals/{id}/reject"), &json!({"userId": who.user, "reason": reason}))
                .await?;
            output::emit(globals.json, &r, |r| {
                println!("{id} {} by {}: {}", status("rejected"), text(r, "rejectedBy"), text(r, "reason"));
            });
        }
    }
    Ok(())
}
