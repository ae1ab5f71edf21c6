//! `baton workflows list | show ID | cancel ID`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Client, Failure};
use crate::output::{self, status, text};

#[derive(Subcommand)]
pub enum WorkflowsCommand {
    /// Workflows, newest first.
    #[command(after_help = "Example:\n  baton workflows list --status running")]
    List {
        /// running, completed, failed, rolling_back, rolled_back, rollback_failed, cancelled, all.
        #[arg(long, default_value = "all")]
        status: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One workflow and each step: status, action, error, compensation.
    Show { id: String },
    /// Cancel: waiting steps are cancelled, running ones finish; a transactional workflow then
    /// undoes what succeeded.
    Cancel { id: String },
}

pub async fn run(globals: &Globals, command: WorkflowsCommand) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    match command {
        WorkflowsCommand::List { status: st, limit } => {
            let r = client.get(&format!("/api/workflows?status={st}&limit={limit}")).await?;
            output::emit(globals.json, &r, |r| {
                let rows = output::rows(r, "workflows", |w| {
                    let steps = w["steps"].as_array().map_or(0, Vec::len);
                    let done = w["steps"].as_array().into_iter().flatten().filter(|s| s["status"] == "success").count();
                    vec![
                        text(w, "workflowId"),
                        text(w, "name"),
                        status(&text(w, "status")),
                        format!("{done}/{steps}"),
                        text(w, "createdAt"),
                    ]
                });
                output::table(&["WORKFLOW", "NAME", "STATUS", "STEPS", "CREATED"], &rows);
            });
        }
        WorkflowsCommand::Show { id } => {
            let w = client.get(&format!("/api/workflows/{id}")).await?;
            output::emit(globals.json, &w, show);
        }
        WorkflowsCommand::Cancel { id } => {
            let w = client.post(&format!("/api/workflows/{id}/cancel"), &json!({})).await?;
            output::emit(globals.json, &w, |w| println!("{id} {}", status(&text(w, "status"))));
        }
    }
    Ok(())
}

fn show(w: &Value) {
    let kind = if w["transactional"] == true { "transactional" } else { "not transactional" };
    println!("{} {} ({kind}) {}", text(w, "workflowId"), text(w, "name"), status(&text(w, "status")));
    if let Some(f) = w["failedStep"].as_str() {
        println!("  failed at {f}: {} {}", text(&w["error"], "code"), text(&w["error"], "message"));
    }
    let rows: Vec<Vec<String>> = w["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let deps: Vec<&str> = s["dependsOn"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let comp = &s["compensation"];
            vec![
                text(s, "name"),
                status(&text(s, "status")),
                if deps.is_empty() { "-".into() } else { deps.join(",") },
                text(s, "actionId"),
                s["error"]["code"].as_str().unwrap_or("").to_owned(),
                if comp.is_object() {
                    format!("{} {}", text(comp, "actionId"), text(comp, "status"))
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    output::table(&["STEP", "STATUS", "AFTER", "ACTION", "ERROR", "COMPENSATION"], &rows);
}
