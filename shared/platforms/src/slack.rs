//! `SlackClient`: Slack's Web API with a bot token.
//!
//! Slack answers HTTP 200 with `{"ok": false, "error": "..."}` for most failures; those
//! strings are mapped here, and only here, to the contract's codes.

use async_trait::async_trait;
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{Pacer, PlatformClient, SlackResponder};
use baton_domain::validation::Operation;
use baton_domain::{ErrorCode, PlatformError};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use crate::request::{PreparedRequest, code_for_status, credential, inverse, retry_after, with_inverse};

pub const DEFAULT_URL: &str = "https://slack.com/api";

pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

/// Slack's `error` strings → contract codes.
pub fn code_for_slack_error(error: &str) -> ErrorCode {
    match error {
        "not_authed" | "invalid_auth" | "account_inactive" | "token_revoked" | "token_expired" => ErrorCode::AuthError,
        "no_permission"
        | "missing_scope"
        | "not_in_channel"
        | "restricted_action"
        | "is_archived"
        | "channel_is_archived"
        | "ekm_access_denied"
        | "team_access_not_granted" => ErrorCode::PermissionDenied,
        "channel_not_found" | "message_not_found" | "user_not_found" | "thread_not_found" => ErrorCode::NotFound,
        "ratelimited" | "rate_limited" | "message_limit_exceeded" => ErrorCode::RateLimited,
        "invalid_blocks"
        | "invalid_blocks_format"
        | "no_text"
        | "msg_too_long"
        | "too_many_attachments"
        | "invalid_arguments"
        | "invalid_arg_name"
        | "invalid_array_arg"
        | "invalid_charset"
        | "invalid_form_data"
        | "invalid_post_type"
        | "missing_post_type"
        | "invalid_json"
        | "json_not_object"
        | "cant_update_message"
        | "cant_delete_message"
        | "edit_window_closed" => ErrorCode::ValidationError,
        "duplicate_message_not_found" | "duplicate_channel_not_found" => ErrorCode::NotFound,
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => ErrorCode::ServiceDown,
        "team_added_to_org" | "plan_upgrade_required" => ErrorCode::QuotaExceeded,
        _ => ErrorCode::UnknownError,
    }
}

fn classify(status: StatusCode, headers: &HeaderMap, body: &Value) -> PlatformError {
    let detail = body.get("error").and_then(Value::as_str).unwrap_or("");
    let code = if status == StatusCode::TOO_MANY_REQUESTS { ErrorCode::RateLimited } else { code_for_status(status) };
    PlatformError::new(code, format!("Slack answered HTTP {} {detail}", status.as_u16()).trim_end().to_owned())
        .with_retry_after(retry_after(headers))
}

/// The approval request: why, what will happen (the preview's requests), who may decide and
/// by when, and Approve / Reject buttons whose values name the approval. The clicks come back
/// to `POST /api/slack/interactions`.
fn approval_message(data: &Value) -> Value {
    let channel = data.get("channel").cloned().unwrap_or(Value::Null);
    let reason = data.get("reason").and_then(Value::as_str).unwrap_or_default();
    let inner = data.get("action").cloned().unwrap_or(Value::Null);
    let id = data.get("approvalId").or_else(|| inner.get("id")).and_then(Value::as_str).unwrap_or_default();
    let what = format!(
        "{} on {} ({} priority)",
        inner.get("type").and_then(Value::as_str).unwrap_or("action"),
        inner.get("platform").and_then(Value::as_str).unwrap_or("?"),
        inner.get("priority").and_then(Value::as_str).unwrap_or("normal"),
    );
    let details = match data.get("summary").and_then(Value::as_str) {
        Some(summary) => summary.to_owned(),
        None => serde_json::to_string_pretty(inner.get("data").unwrap_or(&Value::Null)).unwrap_or_default(),
    };
    let details: String = details.chars().take(2500).collect();
    let mut who = Vec::new();
    if let Some(Value::Array(approvers)) = data.get("approvers")
        && !approvers.is_empty()
    {
        let names: Vec<String> = approvers.iter().filter_map(Value::as_str).map(|u| format!("<@{u}>")).collect();
        who.push(format!("Approvers: {}", names.join(", ")));
    }
    if let Some(n) = data.get("requiredApprovals").and_then(Value::as_u64).filter(|n| *n > 1) {
        who.push(format!("{n} approvals needed"));
    }
    if let Some(expires) = data.get("expiresAt").and_then(Value::as_str) {
        who.push(format!("Expires {expires}"));
    }
    let text = format!("Approval needed: {what}. {reason}");
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "Approval needed", "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{what}*\n{reason}")}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("What will happen:\n```{details}```")}}),
    ];
    if !who.is_empty() {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": who.join(" · ")}]}));
    }
    blocks.push(json!({"type": "actions", "block_id": "baton_approval", "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": id,
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "reject", "style": "danger", "value": id,
         "text": {"type": "plain_text", "text": "Reject"}}
    ]}));
    json!({"channel": channel, "text": text, "blocks": blocks})
}

impl SlackClient {
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: Option<SecretString>) -> Self {
        Self { http, base: base.into().trim_end_matches('/').to_owned(), token }
    }

    fn prepare(
        &self,
        operation: Operation,
        data: &Value,
        token: &SecretString,
    ) -> Result<PreparedRequest, PlatformError> {
        let pick = |keys: &[&str]| -> Value {
            let mut body = Map::new();
            for k in keys {
                if let Some(v) = data.get(*k).filter(|v| !v.is_null()) {
                    body.insert((*k).to_owned(), v.clone());
                }
            }
            Value::Object(body)
        };
        let (method, body) = match operation {
            Operation::SlackPostMessage => ("chat.postMessage", pick(&["channel", "text", "blocks", "thread_ts"])),
            Operation::SlackUpdateMessage => ("chat.update", pick(&["channel", "ts", "text", "blocks"])),
            Operation::SlackDeleteMessage => ("chat.delete", pick(&["channel", "ts"])),
            Operation::SlackApprovalRequest => ("chat.postMessage", approval_message(data)),
            other => {
                return Err(PlatformError::new(
                    ErrorCode::ValidationError,
                    format!("{} is not a Slack operation", other.name()),
                ));
            }
        };
        Ok(PreparedRequest::new(Method::POST, format!("{}/{method}", self.base)).bearer(token).json(body))
    }
}

#[async_trait]
impl PlatformClient for SlackClient {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn execute(&self, action: &Action, operation: Operation, _: &dyn Pacer) -> Result<Value, PlatformError> {
        let token = credential(
            self.token.as_ref(),
            action.dry_run,
            "Slack is not configured: set SLACK_BOT_TOKEN to a bot token (xoxb-...)",
        )?;
        let request = self.prepare(operation, &action.data, &token)?;
        if action.dry_run {
            return Ok(request.describe());
        }
        let resp = request.send(&self.http, "Slack", classify).await?;
        match resp.body.get("ok").and_then(Value::as_bool) {
            Some(true) if matches!(operation, Operation::SlackPostMessage | Operation::SlackApprovalRequest) => {
                let undo = json!({"operation": "delete_message", "channel": resp.body.get("channel"), "ts": resp.body.get("ts")});
                Ok(with_inverse(resp.body, inverse("slack", "delete", undo)))
            }
            Some(true) => Ok(resp.body),
            _ => {
                let error = resp.body.get("error").and_then(Value::as_str).unwrap_or("unknown_error");
                Err(PlatformError::new(code_for_slack_error(error), format!("Slack error: {error}"))
                    .with_retry_after(retry_after(&resp.headers)))
            }
        }
    }
}

/// Ephemeral replies through an interaction's `response_url` (only the clicking user sees them).
#[async_trait]
impl SlackResponder for SlackClient {
    async fn ephemeral(&self, response_url: &str, text: &str) -> Result<(), PlatformError> {
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
        let resp = self
            .http
            .post(response_url)
            .json(&body)
            .send()
            .await
            .map_err(|e| PlatformError::new(ErrorCode::NetworkError, format!("Slack response_url: {e}")))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(PlatformError::new(
                code_for_status(resp.status()),
                format!("Slack response_url answered {}", resp.status()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_error_strings_map_to_contract_codes() {
        let rows = [
            ("invalid_auth", ErrorCode::AuthError),
            ("not_authed", ErrorCode::AuthError),
            ("token_revoked", ErrorCode::AuthError),
            ("channel_not_found", ErrorCode::NotFound),
            ("not_in_channel", ErrorCode::PermissionDenied),
            ("missing_scope", ErrorCode::PermissionDenied),
            ("ratelimited", ErrorCode::RateLimited),
            ("invalid_blocks", ErrorCode::ValidationError),
            ("msg_too_long", ErrorCode::ValidationError),
            ("internal_error", ErrorCode::ServiceDown),
            ("something_new", ErrorCode::UnknownError),
        ];
        for (error, code) in rows {
            assert_eq!(code_for_slack_error(error), code, "{error}");
        }
    }
}
