//! Helpers shared by the platform client tests.

use baton_domain::model::Action;
use serde_json::{Value, json};

/// An action of `platform` and `type` with `data`, as the executor hands it to a client.
pub fn action(platform: &str, ty: &str, data: Value) -> Action {
    serde_json::from_value(json!({
        "id": "a-1", "type": ty, "platform": platform, "priority": "normal", "data": data,
        "status": "executing", "version": 2, "createdAt": "2026-11-24T00:00:00Z", "updatedAt": "2026-11-24T00:00:00Z",
        "queuePosition": 1, "estimatedWait": 0
    }))
    .expect("action")
}
