//! The load's actions: dry-run Slack messages and Notion pages, in every priority (shared by
//! `baton-bench` and `baton-load`).

use serde_json::{Value, json};

pub const PRIORITIES: [&str; 4] = ["critical", "high", "normal", "low"];

/// The `i`-th action of a load, in `priority`: even ones Slack, odd ones Notion.
pub fn action_body(i: usize, priority: &str) -> Value {
    if i.is_multiple_of(2) {
        json!({"action": {"type": "notify", "platform": "slack", "priority": priority, "dryRun": true,
               "data": {"channel": "#bench", "text": format!("message {i}")}}})
    } else {
        json!({"action": {"type": "create", "platform": "notion", "priority": priority, "dryRun": true,
               "data": {"database_id": "db-bench", "title": format!("task {i}"),
                        "properties": {"status": {"select": {"name": "To Do"}}}}}})
    }
}
