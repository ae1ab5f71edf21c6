//! `TrelloClient`: Trello's REST API with an API key and token, sent in the `Authorization`
//! header (OAuth form) rather than the query string, so they never land in URLs or logs.
//!
//! `data` keeps the contract's field names (`listId`, `labels`, `members`); mapping them to
//! Trello's (`idList`, `idLabels`, `idMembers`) happens here.

use async_trait::async_trait;
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{Pacer, PlatformClient};
use baton_domain::validation::Operation;
use baton_domain::{ErrorCode, PlatformError};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::request::{
    Gathered, PreparedRequest, code_for_status, credential, inverse, retry_after, url_with_segments, with_inverse,
};

pub const DEFAULT_URL: &str = "https://api.trello.com/1";

pub struct TrelloClient {
    http: reqwest::Client,
    base: String,
    key: Option<SecretString>,
    token: Option<SecretString>,
}

/// Trello answers errors as plain text or `{"message", "error"}`; the status decides, and a
/// few texts refine it.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &Value) -> PlatformError {
    let text = match body {
        Value::String(s) => s.clone(),
        other => other.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
    };
    let lower = text.to_ascii_lowercase();
    let code = match status.as_u16() {
        400 if lower.contains("invalid id") => ErrorCode::NotFound,
        401 if lower.contains("permission") => ErrorCode::PermissionDenied,
        429 => ErrorCode::RateLimited,
        _ if lower.contains("limit exceeded") => ErrorCode::QuotaExceeded,
        _ => code_for_status(status),
    };
    let message = if text.is_empty() {
        format!("Trello answered HTTP {}", status.as_u16())
    } else {
        format!("Trello answered HTTP {}: {text}", status.as_u16())
    };
    PlatformError::new(code, message).with_retry_after(retry_after(headers))
}

/// The contract's card fields in Trello's words; lists become comma-separated id lists.
fn card_fields(data: &Value) -> Map<String, Value> {
    let mut body = Map::new();
    let join = |v: &Value| v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
    for (ours, theirs) in [("name", "name"), ("desc", "desc"), ("due", "due"), ("listId", "idList")] {
        if let Some(v) = data.get(ours).filter(|v| !v.is_null()) {
            body.insert(theirs.into(), v.clone());
        }
    }
    for (ours, theirs) in [("labels", "idLabels"), ("members", "idMembers")] {
        if let Some(ids) = data.get(ours).and_then(join) {
            body.insert(theirs.into(), Value::String(ids));
        }
    }
    body
}

impl TrelloClient {
    pub fn new(
        http: reqwest::Client,
        base: impl Into<String>,
        key: Option<SecretString>,
        token: Option<SecretString>,
    ) -> Self {
        Self { http, base: base.into().trim_end_matches('/').to_owned(), key, token }
    }

    /// A request to `{base}/{segments...}`, each segment percent-encoded as one.
    fn request(&self, method: Method, segments: &[&str], auth: &SecretString) -> PreparedRequest {
        PreparedRequest::new(method, url_with_segments(&self.base, segments))
            .secret_header("authorization", auth.clone())
    }

    fn auth(&self, dry_run: bool) -> Result<SecretString, PlatformError> {
        const MISSING: &str = "Trello is not configured: set TRELLO_KEY and TRELLO_TOKEN";
        let key = credential(self.key.as_ref(), dry_run, MISSING)?;
        let token = credential(self.token.as_ref(), dry_run, MISSING)?;
        Ok(SecretString::from(format!(
            "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
            key.expose_secret(),
            token.expose_secret()
        )))
    }

    /// Deletes each card in turn; every request after the first waits for its token.
    async fn bulk_delete(
        &self,
        action: &Action,
        auth: &SecretString,
        pacer: &dyn Pacer,
    ) -> Result<Value, PlatformError> {
        let ids: Vec<&str> = action
            .data
            .get("cardIds")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let requests: Vec<(&str, PreparedRequest)> =
            ids.iter().map(|id| (*id, self.request(Method::DELETE, &["cards", id], auth))).collect();
        if action.dry_run {
            let shown: Vec<Value> = requests.iter().map(|(_, r)| r.describe()["request"].clone()).collect();
            return Ok(json!({"dryRun": true, "requests": shown}));
        }
        let mut results = Vec::with_capacity(requests.len());
        let mut first_permanent: Option<PlatformError> = None;
        for (n, (id, request)) in requests.into_iter().enumerate() {
            if n > 0 {
                pacer.before_call().await?;
            }
            match request.send(&self.http, "Trello", classify).await {
                Ok(_) => results.push(json!({"cardId": id, "deleted": true})),
                // Already gone (deleted by an earlier attempt of this action, or by hand).
                Err(e) if e.code == ErrorCode::NotFound => {
                    results.push(json!({"cardId": id, "deleted": true, "alreadyGone": true}))
                }
                // A transient failure: retry the whole action; deleted cards answer 404 then.
                Err(e) if e.code.is_retriable() => return Err(e),
                Err(e) => {
                    results.push(json!({"cardId": id, "deleted": false, "errorCode": e.code, "error": e.message}));
                    first_permanent.get_or_insert(e);
                }
            }
        }
        match first_permanent {
            None => Ok(json!({"cards": results})),
            Some(e) => Err(PlatformError::new(
                e.code,
                format!(
                    "{} of {} cards could not be deleted; first: {}",
                    results.iter().filter(|r| r["deleted"] == false).count(),
                    results.len(),
                    e.message
                ),
            )),
        }
    }
}

#[async_trait]
impl PlatformClient for TrelloClient {
    fn platform(&self) -> Platform {
        Platform::Trello
    }

    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        let auth = self.auth(action.dry_run)?;
        let data = &action.data;
        let id_of = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let request = match operation {
            Operation::TrelloCreateCard => {
                self.request(Method::POST, &["cards"], &auth).json(Value::Object(card_fields(data)))
            }
            Operation::TrelloUpdateCard | Operation::TrelloMoveCard => {
                self.request(Method::PUT, &["cards", &id_of("cardId")], &auth).json(Value::Object(card_fields(data)))
            }
            Operation::TrelloDeleteCard => self.request(Method::DELETE, &["cards", &id_of("cardId")], &auth),
            Operation::TrelloListCards => self.request(Method::GET, &["lists", &id_of("listId"), "cards"], &auth),
            Operation::TrelloBulkDelete => return self.bulk_delete(action, &auth, pacer).await,
            other => {
                return Err(PlatformError::new(
                    ErrorCode::ValidationError,
                    format!("{} is not a Trello operation", other.name()),
                ));
            }
        };
        if action.dry_run {
            return Ok(request.describe());
        }
        let body = request.send(&self.http, "Trello", classify).await?.body;
        Ok(match operation {
            Operation::TrelloCreateCard => {
                let card = body.get("id").cloned().unwrap_or(Value::Null);
                with_inverse(body, inverse("trello", "delete", json!({"cardId": card})))
            }
            Operation::TrelloListCards => {
                let mut kept = Gathered::default();
                let all = match body {
                    Value::Array(cards) => cards,
                    other => vec![other],
                };
                let complete = kept.extend(all);
                kept.result("cards", None, complete)
            }
            _ => body,
        })
    }
}
