//! Google service-account auth for Drive and Sheets: a JWT signed with the account's key is
//! exchanged at the token endpoint for an access token, which is cached until shortly before
//! it expires. One refresh at a time: concurrent callers wait for it rather than each asking.

use baton_domain::{ErrorCode, PlatformError};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use crate::request::{PreparedRequest, code_for_status, retry_after};

pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const SCOPES: &str = "https://www.googleapis.com/auth/drive https://www.googleapis.com/auth/spreadsheets";
/// A token is renewed this long before Google says it expires.
const EARLY: Duration = Duration::from_secs(60);

/// The fields of a service account key file that signing needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key: SecretString,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount").field("client_email", &self.client_email).finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// The account's secret text (its private key), for the log redactor.
    pub fn secret_values(&self) -> Vec<String> {
        use secrecy::ExposeSecret;
        vec![self.private_key.expose_secret().to_owned()]
    }

    /// `GOOGLE_SERVICE_ACCOUNT_JSON`: the key file's JSON, or a path to it.
    pub fn from_json_or_path(value: &str) -> Result<Self, String> {
        let text = if value.trim_start().starts_with('{') {
            value.to_owned()
        } else {
            std::fs::read_to_string(value).map_err(|e| format!("reading {value}: {e}"))?
        };
        serde_json::from_str(&text).map_err(|e| format!("not a service account key: {e}"))
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

pub struct GoogleAuth {
    http: reqwest::Client,
    token_url: String,
    account: Option<ServiceAccount>,
    cached: Mutex<Option<(SecretString, Instant)>>,
}

/// Google's error bodies: `{"error": {"code", "message", "errors": [{"reason"}], "status"}}`,
/// or OAuth's `{"error": "invalid_grant", "error_description"}`. Quota and rate reasons
/// refine the status row: a 403 `rateLimitExceeded` is a rate limit, not a permission problem.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &Value, service: &str) -> PlatformError {
    let err = body.get("error");
    let reason = err
        .and_then(|e| e.get("errors"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|e| e.get("reason"))
        .and_then(Value::as_str)
        .or_else(|| {
            err.and_then(|e| e.get("details"))
                .and_then(Value::as_array)
                .and_then(|d| d.iter().find_map(|x| x.get("reason").and_then(Value::as_str)))
        })
        .unwrap_or_default();
    let message = err
        .and_then(|e| e.get("message").and_then(Value::as_str).or_else(|| e.as_str()))
        .or_else(|| body.get("error_description").and_then(Value::as_str))
        .unwrap_or_default();
    let code = match reason {
        "rateLimitExceeded" | "userRateLimitExceeded" | "RATE_LIMIT_EXCEEDED" => ErrorCode::RateLimited,
        "dailyLimitExceeded" | "quotaExceeded" | "storageQuotaExceeded" | "teamDriveFileLimitExceeded" => {
            ErrorCode::QuotaExceeded
        }
        _ if err.and_then(Value::as_str) == Some("invalid_grant") => ErrorCode::AuthError,
        _ => code_for_status(status),
    };
    PlatformError::new(
        code,
        format!("{service} answered HTTP {}: {} {reason}", status.as_u16(), message).trim_end().to_owned(),
    )
    .with_retry_after(retry_after(headers))
}

impl GoogleAuth {
    pub fn new(http: reqwest::Client, token_url: impl Into<String>, account: Option<ServiceAccount>) -> Self {
        Self { http, token_url: token_url.into(), account, cached: Mutex::new(None) }
    }

    pub fn is_configured(&self) -> bool {
        self.account.is_some()
    }

    /// An access token: the cached one while it is fresh, else a new one.
    pub async fn token(&self) -> Result<SecretString, PlatformError> {
        let Some(account) = &self.account else {
            return Err(PlatformError::new(
                ErrorCode::AuthError,
                "Google is not configured: set GOOGLE_SERVICE_ACCOUNT_JSON to a service account key (JSON or path)",
            ));
        };
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.exchange(account).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime.saturating_sub(EARLY)));
        Ok(token)
    }

    async fn exchange(&self, account: &ServiceAccount) -> Result<(SecretString, Duration), PlatformError> {
        let now = chrono::Utc::now().timestamp();
        let claims =
            Claims { iss: &account.client_email, scope: SCOPES, aud: &self.token_url, iat: now, exp: now + 3600 };
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes()).map_err(|e| {
                PlatformError::new(ErrorCode::AuthError, format!("the service account's private_key is unusable: {e}"))
            })?;
        let jwt = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key)
            .map_err(|e| PlatformError::new(ErrorCode::AuthError, format!("signing the token request failed: {e}")))?;
        let form = format!("grant_type={}&assertion={jwt}", "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
        let mut request = PreparedRequest::new(Method::POST, &self.token_url);
        request.headers.push(("content-type", "application/x-www-form-urlencoded".into()));
        request.raw = Some(crate::request::RawBody {
            content_type: "application/x-www-form-urlencoded".into(),
            bytes: form.into_bytes(),
            shown: Value::Null,
        });
        let resp = request.send(&self.http, "Google", |s, h, b| classify(s, h, b, "Google's token endpoint")).await?;
        let token = resp.body.get("access_token").and_then(Value::as_str).ok_or_else(|| {
            PlatformError::new(ErrorCode::AuthError, "Google's token endpoint answered without an access_token")
        })?;
        let lifetime = resp.body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        Ok((SecretString::from(token.to_owned()), Duration::from_secs(lifetime)))
    }
}
