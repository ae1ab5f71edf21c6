//! `POST /api/slack/interactions`: the Approve / Reject buttons of an approval's Slack message.
//! No API key: Slack's signature is the authentication, checked before anything is read.
//! The clicking user is an approver like any other; what they may not do is told to them
//! alone (an ephemeral reply through the interaction's `response_url`), and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_domain::approval::{DecisionRequest, Verdict, Via};
use baton_domain::auth::slack::verify;
use baton_domain::{DomainError, ErrorCode};
use serde_json::Value;
use std::time::Duration;
use tracing::{info, warn};

use crate::AppState;
use crate::error::ApiError;

/// How long an ephemeral reply may take: Slack wants the answer within 3 s.
const REPLY_WITHIN: Duration = Duration::from_millis(1500);

/// A button click, as Slack's `block_actions` payload carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub user_id: String,
    pub verdict: Verdict,
    pub approval_id: String,
    pub response_url: Option<String>,
}

/// Reads the click out of the form body (`payload=<json>`); `Ok(None)` for interactions
/// that are not an approval button.
pub fn parse_click(body: &[u8]) -> Result<Option<Click>, ApiError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::field("payload", "required: the interaction's JSON"))?;
    let payload: Value =
        serde_json::from_str(&payload).map_err(|e| ApiError::field("payload", format!("is not JSON: {e}")))?;
    if payload.get("type").and_then(Value::as_str) != Some("block_actions") {
        return Ok(None);
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let Some(action) = payload.get("actions").and_then(|a| a.get(0)) else { return Ok(None) };
    let verdict = match action.get("action_id").and_then(Value::as_str) {
        Some("approve") => Verdict::Approve,
        Some("reject") => Verdict::Reject,
        _ => return Ok(None),
    };
    let user_id = text(payload.get("user").and_then(|u| u.get("id")))
        .ok_or_else(|| ApiError::field("payload.user.id", "required"))?;
    let approval_id =
        text(action.get("value")).ok_or_else(|| ApiError::field("payload.actions[0].value", "required"))?;
    Ok(Some(Click { user_id, verdict, approval_id, response_url: text(payload.get("response_url")) }))
}

/// What the clicking user is told, when the message itself does not say it.
fn reply_for(result: &Result<baton_domain::usecases::DecisionAnswer, DomainError>) -> Option<String> {
    match result {
        Ok(answer) if answer.resolved => None,
        Ok(answer) => Some(format!(
            "Your approval is recorded: {} of {} needed.",
            answer.approval.approvals().len(),
            answer.approval.required_approvals
        )),
        Err(DomainError::Forbidden(why)) => Some(format!("You are not allowed to decide on this approval: {why}.")),
        Err(DomainError::AlreadyResolved { status, .. }) => Some(format!("This approval is already {status}.")),
        Err(DomainError::NotFound(_)) => Some("This approval no longer exists.".into()),
        Err(DomainError::Invalid(fields)) => Some(format!("Your decision was not recorded: {}", fields[0])),
        Err(_) => Some("Your decision could not be recorded just now; please try again.".into()),
    }
}

/// `POST /api/slack/interactions`.
#[utoipa::path(post, path = "/api/slack/interactions", tag = "approvals", operation_id = "slackInteractions",
    description = "Slack's interaction callback (`application/x-www-form-urlencoded`, field `payload`, type \
`block_actions`): the Approve / Reject buttons of an approval message. Authenticated by Slack's signature \
(`X-Slack-Signature`, `X-Slack-Request-Timestamp` within 5 minutes), not by an API key.",
    request_body(content = crate::approval_schemas::SlackInteraction, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Received (the outcome shows in Slack)"),
        (status = 400, description = "No interaction payload", body = crate::schemas::ErrorEnvelope),
        (status = 401, description = "Not signed by Slack, or a stale timestamp: AUTH_ERROR", body = crate::schemas::ErrorEnvelope),
    ))]
pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::field("body", e.body_text()))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = verify(
        state.slack.signing_secret.as_deref(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        chrono::Utc::now(),
    );
    if let Err(why) = signed {
        warn!(%why, "refused a Slack interaction");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::AuthError, why.to_string()));
    }
    let Some(click) = parse_click(&body)? else { return Ok(StatusCode::OK.into_response()) };
    let reason = (click.verdict == Verdict::Reject).then(|| format!("rejected in Slack by {}", click.user_id));
    let request = DecisionRequest {
        user_id: click.user_id.clone(),
        verdict: click.verdict,
        reason,
        patch: None,
        via: Via::Slack,
    };
    let result = state.approvals.decide(&click.approval_id, request).await;
    info!(approval_id = %click.approval_id, user = %click.user_id, verdict = %click.verdict, ok = result.is_ok(), "Slack decision");
    if let (Some(text), Some(url), Some(responder)) = (reply_for(&result), &click.response_url, &state.slack.responder)
    {
        match tokio::time::timeout(REPLY_WITHIN, responder.ephemeral(url, &text)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "the ephemeral reply failed"),
            Err(_) => warn!("the ephemeral reply took too long"),
        }
    }
    Ok(StatusCode::OK.into_response())
}
