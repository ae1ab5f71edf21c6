//! Baton's platform clients, each implementing the domain's `PlatformClient` port.
//!
//! - [`request`]: the request every operation builds once (sent, or described for a dry run),
//!   the shared HTTP-status → error-code row, inverses.
//! - [`slack`], [`notion`], [`trello`], [`drive`], [`sheets`]: the clients, each with the one
//!   place its errors are mapped; [`google`]: service-account auth for Drive and Sheets.
//! - [`PlatformSettings`]: credentials and base URLs from the environment.
//!
//! Depends on the domain only; never on AWS or the HTTP server.

pub mod drive;
pub mod google;
pub mod notion;
pub mod request;
pub mod sheets;
pub mod slack;
pub mod trello;

use baton_domain::model::Platform;
use baton_domain::ports::PlatformRegistry;
use secrecy::SecretString;
use std::sync::Arc;

/// Credentials and base URLs. Base URLs default to the real APIs; tests point them elsewhere.
#[derive(Clone, Default)]
pub struct PlatformSettings {
    pub slack_token: Option<SecretString>,
    /// `SLACK_SIGNING_SECRET`: verifies Slack's interaction callbacks (the approval buttons).
    pub slack_signing_secret: Option<SecretString>,
    pub slack_url: String,
    pub notion_token: Option<SecretString>,
    pub notion_url: String,
    pub trello_key: Option<SecretString>,
    pub trello_token: Option<SecretString>,
    pub trello_url: String,
    pub google_account: Option<google::ServiceAccount>,
    /// Why `GOOGLE_SERVICE_ACCOUNT_JSON` could not be used, when it was set but unusable.
    pub google_problem: Option<String>,
    pub drive_url: String,
    pub drive_upload_url: String,
    pub sheets_url: String,
    pub google_token_url: String,
}

impl std::fmt::Debug for PlatformSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformSettings").field("configured", &self.configured()).finish_non_exhaustive()
    }
}

impl PlatformSettings {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let secret = |k: &str| lookup(k).filter(|v| !v.trim().is_empty()).map(SecretString::from);
        let url = |k: &str, default: &str| lookup(k).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.into());
        let (google_account, google_problem) =
            match lookup("GOOGLE_SERVICE_ACCOUNT_JSON").filter(|v| !v.trim().is_empty()) {
                None => (None, None),
                Some(v) => match google::ServiceAccount::from_json_or_path(&v) {
                    Ok(a) => (Some(a), None),
                    Err(e) => (None, Some(format!("GOOGLE_SERVICE_ACCOUNT_JSON: {e}"))),
                },
            };
        Self {
            slack_token: secret("SLACK_BOT_TOKEN"),
            slack_signing_secret: secret("SLACK_SIGNING_SECRET"),
            slack_url: url("SLACK_API_URL", slack::DEFAULT_URL),
            notion_token: secret("NOTION_TOKEN"),
            notion_url: url("NOTION_API_URL", notion::DEFAULT_URL),
            trello_key: secret("TRELLO_KEY"),
            trello_token: secret("TRELLO_TOKEN"),
            trello_url: url("TRELLO_API_URL", trello::DEFAULT_URL),
            google_account,
            google_problem,
            drive_url: url("GOOGLE_DRIVE_API_URL", drive::DEFAULT_API_URL),
            drive_upload_url: url("GOOGLE_DRIVE_UPLOAD_URL", drive::DEFAULT_UPLOAD_URL),
            sheets_url: url("GOOGLE_SHEETS_API_URL", sheets::DEFAULT_URL),
            google_token_url: url("GOOGLE_TOKEN_URL", google::DEFAULT_TOKEN_URL),
        }
    }

    /// Every configured secret's text, for the log redactor to know (and nothing else).
    pub fn secret_values(&self) -> Vec<String> {
        use secrecy::ExposeSecret;
        let mut out: Vec<String> =
            [&self.slack_token, &self.slack_signing_secret, &self.notion_token, &self.trello_key, &self.trello_token]
                .into_iter()
                .flatten()
                .map(|s| s.expose_secret().to_owned())
                .collect();
        if let Some(a) = &self.google_account {
            out.extend(a.secret_values());
        }
        out
    }

    /// Whether `platform` has credentials.
    pub fn has_credentials(&self, platform: Platform) -> bool {
        match platform {
            Platform::Slack => self.slack_token.is_some(),
            Platform::Notion => self.notion_token.is_some(),
            Platform::Trello => self.trello_key.is_some() && self.trello_token.is_some(),
            Platform::Drive | Platform::Sheets => self.google_account.is_some(),
        }
    }

    /// Which platforms have credentials, for the startup log and the health report.
    pub fn configured(&self) -> Vec<&'static str> {
        Platform::ALL.iter().filter(|p| self.has_credentials(**p)).map(|p| p.as_str()).collect()
    }

    /// Replies to Slack interactions (through their `response_url`).
    pub fn slack_responder(&self) -> Arc<dyn baton_domain::ports::SlackResponder> {
        Arc::new(slack::SlackClient::new(request::http_client(), &self.slack_url, self.slack_token.clone()))
    }

    /// The signing secret's text, for the interactions route.
    pub fn signing_secret(&self) -> Option<String> {
        use secrecy::ExposeSecret;
        self.slack_signing_secret.as_ref().map(|s| s.expose_secret().to_owned())
    }

    /// Every client, sharing one HTTP connection pool (and one Google token).
    pub fn registry(&self) -> PlatformRegistry {
        let http = request::http_client();
        let auth = Arc::new(google::GoogleAuth::new(http.clone(), &self.google_token_url, self.google_account.clone()));
        PlatformRegistry::new()
            .with(Arc::new(slack::SlackClient::new(http.clone(), &self.slack_url, self.slack_token.clone())))
            .with(Arc::new(notion::NotionClient::new(http.clone(), &self.notion_url, self.notion_token.clone())))
            .with(Arc::new(trello::TrelloClient::new(
                http.clone(),
                &self.trello_url,
                self.trello_key.clone(),
                self.trello_token.clone(),
            )))
            .with(Arc::new(drive::DriveClient::new(
                http.clone(),
                &self.drive_url,
                &self.drive_upload_url,
                auth.clone(),
            )))
            .with(Arc::new(sheets::SheetsClient::new(http, &self.sheets_url, auth)))
    }
}
