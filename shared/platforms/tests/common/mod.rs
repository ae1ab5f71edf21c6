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

#[allow(dead_code)] // not every test binary paces
/// A pacer that counts the requests it was asked about (every request after an attempt's first).
#[derive(Default)]
pub struct CountingPacer(pub std::sync::atomic::AtomicUsize);

#[allow(dead_code)]
impl CountingPacer {
    pub fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl baton_domain::ports::Pacer for CountingPacer {
    async fn before_call(&self) -> Result<(), baton_domain::PlatformError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}
