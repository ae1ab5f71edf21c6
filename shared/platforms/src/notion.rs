//! `NotionClient`: Notion's public API with an integration token and a pinned `Notion-Version`.

use async_trait::async_trait;
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{Pacer, PlatformClient};
use baton_domain::validation::Operation;
use baton_domain::{ErrorCode, PlatformError};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::request::{
    Gathered, PreparedRequest, code_for_status, credential, inverse, retry_after, url_with_segments, with_inverse,
};

pub const DEFAULT_URL: &str = "https://api.notion.com";
/// The API version Baton's requests are written against.
pub const NOTION_VERSION: &str = "2022-06-28";
/// Notion's largest page of query results.
const PAGE_SIZE: u64 = 100;

pub struct NotionClient {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

/// Notion's error `code` strings refine the status row of the table.
fn classify(status: StatusCode, headers: &HeaderMap, body: &Value) -> PlatformError {
    let notion_code = body.get("code").and_then(Value::as_str).unwrap_or("");
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    let code = match notion_code {
        "unauthorized" => ErrorCode::AuthError,
        "restricted_resource" => ErrorCode::PermissionDenied,
        "object_not_found" => ErrorCode::NotFound,
        "validation_error" | "invalid_json" | "invalid_request_url" | "invalid_request" | "missing_version" => {
            ErrorCode::ValidationError
        }
        "conflict_error" => ErrorCode::DuplicateError,
        "rate_limited" => ErrorCode::RateLimited,
        "internal_server_error" | "service_unavailable" | "database_connection_unavailable" | "gateway_timeout" => {
            ErrorCode::ServiceDown
        }
        _ => code_for_status(status),
    };
    let text = if message.is_empty() {
        format!("Notion answered HTTP {}", status.as_u16())
    } else {
        format!("Notion answered HTTP {}: {message}", status.as_u16())
    };
    PlatformError::new(code, text).with_retry_after(retry_after(headers))
}

impl NotionClient {
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: Option<SecretString>) -> Self {
        Self { http, base: base.into().trim_end_matches('/').to_owned(), token }
    }

    fn prepare(
        &self,
        operation: Operation,
        data: &Value,
        token: &SecretString,
    ) -> Result<PreparedRequest, PlatformError> {
        let str_of = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (page_id, database_id) = (
            data.get("page_id").and_then(Value::as_str).unwrap_or_default(),
            data.get("database_id").and_then(Value::as_str).unwrap_or_default(),
        );
        let (method, path, body) = match operation {
            Operation::NotionCreatePage => {
                // The title property's id is always "title", whatever the database calls it.
                let mut properties = data.get("properties").cloned().unwrap_or_else(|| json!({}));
                if let Some(props) = properties.as_object_mut() {
                    props.insert("title".into(), json!({"title": [{"text": {"content": str_of("title")}}]}));
                }
                let body = json!({"parent": {"database_id": str_of("database_id")}, "properties": properties});
                (Method::POST, vec!["v1", "pages"], body)
            }
            Operation::NotionUpdatePage => {
                let body = json!({"properties": data.get("properties").cloned().unwrap_or_else(|| json!({}))});
                (Method::PATCH, vec!["v1", "pages", page_id], body)
            }
            // Notion has no hard delete: archiving moves the page to the trash.
            Operation::NotionArchivePage => (Method::PATCH, vec!["v1", "pages", page_id], json!({"archived": true})),
            Operation::NotionQueryDatabase => {
                let mut body = serde_json::Map::new();
                for key in ["filter", "sorts"] {
                    if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                        body.insert(key.into(), v.clone());
                    }
                }
                body.insert("page_size".into(), json!(PAGE_SIZE));
                (Method::POST, vec!["v1", "databases", database_id, "query"], Value::Object(body))
            }
            other => {
                return Err(PlatformError::new(
                    ErrorCode::ValidationError,
                    format!("{} is not a Notion operation", other.name()),
                ));
            }
        };
        Ok(PreparedRequest::new(method, url_with_segments(&self.base, &path))
            .bearer(token)
            .header("notion-version", NOTION_VERSION)
            .json(body))
    }
}

#[async_trait]
impl PlatformClient for NotionClient {
    fn platform(&self) -> Platform {
        Platform::Notion
    }

    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        let token = credential(
            self.token.as_ref(),
            action.dry_run,
            "Notion is not configured: set NOTION_TOKEN to an integration token",
        )?;
        let request = self.prepare(operation, &action.data, &token)?;
        if action.dry_run {
            return Ok(request.describe());
        }
        match operation {
            Operation::NotionQueryDatabase => self.query_all(request, pacer).await,
            Operation::NotionCreatePage => {
                let page = request.send(&self.http, "Notion", classify).await?.body;
                let id = page.get("id").cloned().unwrap_or(Value::Null);
                Ok(with_inverse(page, inverse("notion", "delete", json!({"page_id": id}))))
            }
            _ => Ok(request.send(&self.http, "Notion", classify).await?.body),
        }
    }
}

impl NotionClient {
    /// Follows `next_cursor` until `has_more` is false, gathering results until they fill what
    /// a result may keep (then `truncated`, with the cursor to go on from). Each page after
    /// the first is paced by the platform's bucket.
    async fn query_all(&self, first: PreparedRequest, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        let mut gathered = Gathered::default();
        let mut request = first;
        let mut this_page: Option<String> = None;
        loop {
            let mut page = request.send(&self.http, "Notion", classify).await?.body;
            let results = page.get_mut("results").and_then(Value::as_array_mut).map(std::mem::take).unwrap_or_default();
            let room = gathered.extend(results);
            let next = page.get("next_cursor").and_then(Value::as_str).filter(|_| page["has_more"] == true);
            match next {
                Some(cursor) if room => {
                    let mut body = request.body.clone().unwrap_or_else(|| json!({}));
                    body["start_cursor"] = json!(cursor);
                    request.body = Some(body);
                    this_page = Some(cursor.to_owned());
                    pacer.before_call().await?;
                }
                // Cut short inside a page: going on from that page's own cursor loses nothing.
                _ if !room => return Ok(gathered.result("results", this_page.as_deref(), false)),
                _ => return Ok(gathered.result("results", None, true)),
            }
        }
    }
}
