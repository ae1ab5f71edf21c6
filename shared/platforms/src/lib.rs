//! Baton's platform clients, each implementing the domain's `PlatformClient` port.
//!
//! - [`request`]: the request every operation builds once (sent, or described for a dry run)
//!   and the shared HTTP-status → error-code row.
//! - [`slack`], [`notion`]: the clients, each with the one place its errors are mapped.
//! - [`PlatformSettings`]: credentials and base URLs from the environment.
//!
//! Depends on the domain only; never on AWS or the HTTP server.

pub mod notion;
pub mod request;
pub mod slack;

use baton_domain::ports::PlatformRegistry;
use secrecy::SecretString;
use std::sync::Arc;

/// Credentials and base URLs. Base URLs default to the real APIs; tests point them elsewhere.
#[derive(Clone, Default)]
pub struct PlatformSettings {
    pub slack_token: Option<SecretString>,
    pub slack_url: String,
    pub notion_token: Option<SecretString>,
    pub notion_url: String,
}

impl std::fmt::Debug for PlatformSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformSettings")
            .field("slack_token", &self.slack_token.as_ref().map(|_| "[set]"))
            .field("slack_url", &self.slack_url)
            .field("notion_token", &self.notion_token.as_ref().map(|_| "[set]"))
            .field("notion_url", &self.notion_url)
            .finish()
    }
}

impl PlatformSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let secret = |k: &str| lookup(k).filter(|v| !v.trim().is_empty()).map(SecretString::from);
        let url = |k: &str, default: &str| lookup(k).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.into());
        Self {
            slack_token: secret("SLACK_BOT_TOKEN"),
            slack_url: url("SLACK_API_URL", slack::DEFAULT_URL),
            notion_token: secret("NOTION_TOKEN"),
            notion_url: url("NOTION_API_URL", notion::DEFAULT_URL),
        }
    }

    /// Which platforms have credentials, for the startup log.
    pub fn configured(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.slack_token.is_some() {
            out.push("slack");
        }
        if self.notion_token.is_some() {
            out.push("notion");
        }
        out
    }

    /// Every implemented client, sharing one HTTP connection pool.
    pub fn registry(&self) -> PlatformRegistry {
        let http = request::http_client();
        PlatformRegistry::new()
            .with(Arc::new(slack::SlackClient::new(http.clone(), &self.slack_url, self.slack_token.clone())))
            .with(Arc::new(notion::NotionClient::new(http, &self.notion_url, self.notion_token.clone())))
    }
}
