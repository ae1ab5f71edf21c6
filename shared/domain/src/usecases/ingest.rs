//! `Ingestor`: ingress messages (the SQS ingress queue, `POST /api/events`) → accepted work,
//! or a recorded rejection.
//!
//! A message whose action carries no id gets one derived from the message itself, so a
//! redelivered message (or a re-run batch) is the same action again, never a second one.
//!
//! Must not import any adapter crate.

use crate::error::{DomainError, FieldError};
use crate::usecases::approvals::{Approvals, HoldReceipt};
use crate::usecases::operate::Operator;
use crate::usecases::submit::{Receipt, Submitter};
use crate::usecases::workflows::{WorkflowReceipt, Workflows};
use crate::validation::{ApprovalRequest, Ingress, Submission, parse_ingress};

/// The largest ingress body accepted (SQS's own message limit).
pub const MAX_INGRESS_BYTES: usize = 256 * 1024;

/// What became of one ingress message.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Accepted(Receipt),
    /// Held for approval.
    Held(HoldReceipt),
    /// A workflow started.
    Started(WorkflowReceipt),
    /// Feedback kept on this action.
    FeedbackReceived(String),
    /// The same action was accepted before (a redelivery of the message): nothing to do.
    AlreadyAccepted(String),
    /// The message can never be accepted; `fields` name what is wrong.
    Rejected {
        reason: String,
        fields: Vec<FieldError>,
    },
}

#[derive(Clone)]
pub struct Ingestor {
    pub submitter: Submitter,
    pub approvals: Approvals,
    pub workflows: Workflows,
    pub operator: Operator,
}

fn rejected(fields: Vec<FieldError>) -> IngestOutcome {
    let reason = fields.first().map(ToString::to_string).unwrap_or_else(|| "invalid".into());
    IngestOutcome::Rejected { reason, fields }
}

/// The id of an action that came without one in message `message_id`.
pub fn id_for_message(message_id: &str) -> String {
    let clean: String = message_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(100).collect();
    format!("msg-{clean}")
}

impl Ingestor {
    /// `Err` only for transient trouble (store or queue unavailable): the message is retried.
    /// `message_id` (the SQS message's) names the action when the message does not.
    pub async fn ingest(&self, body: &str, message_id: Option<&str>) -> Result<IngestOutcome, DomainError> {
        if body.len() > MAX_INGRESS_BYTES {
            return Ok(rejected(vec![FieldError::new(
                "body",
                format!("is {} bytes; the limit is {MAX_INGRESS_BYTES}", body.len()),
            )]));
        }
        let value: serde_json::Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(IngestOutcome::Rejected {
                    reason: format!("not JSON: {e}"),
                    fields: vec![FieldError::new("body", "must be a JSON object {\"event\", \"data\"}")],
                });
            }
        };
        let name = |id: &mut Option<String>| {
            if id.is_none()
                && let Some(m) = message_id
            {
                *id = Some(id_for_message(m));
            }
        };
        match parse_ingress(&value) {
            Ok(Ingress::ActionReady(mut submission)) => {
                name(&mut submission.action.id);
                if submission.action.requires_approval {
                    return self.hold(ApprovalRequest::for_action(submission)).await;
                }
                self.accept(submission).await
            }
            Ok(Ingress::RequiresApproval(mut request)) => {
                name(&mut request.action.id);
                self.hold(request).await
            }
            Ok(Ingress::WorkflowReady(mut request)) => {
                // A message without a workflow id names one, as an action without an id does.
                if request.workflow_id.is_none() && request.idempotency_key.is_none() {
                    request.workflow_id = message_id.map(|m| format!("wf-{}", id_for_message(m)));
                }
                self.start(request).await
            }
            Ok(Ingress::Feedback { action_id, feedback }) => match self.operator.feedback(&action_id, feedback).await {
                Ok(_) => Ok(IngestOutcome::FeedbackReceived(action_id)),
                Err(DomainError::NotFound(what)) => Ok(IngestOutcome::Rejected {
                    reason: format!("{what} not found"),
                    fields: vec![FieldError::new("data.actionId", "no action has this id")],
                }),
                Err(e) => Err(e),
            },
            Err(fields) => Ok(rejected(fields)),
        }
    }

    async fn start(&self, request: crate::validation::WorkflowRequest) -> Result<IngestOutcome, DomainError> {
        match self.workflows.submit(request).await {
            Ok(s) if s.replayed => Ok(IngestOutcome::AlreadyAccepted(s.workflow.id)),
            Ok(s) => Ok(IngestOutcome::Started(WorkflowReceipt::of(&s.workflow))),
            Err(DomainError::Duplicate(message)) => Ok(IngestOutcome::Rejected {
                reason: message,
                fields: vec![FieldError::new("data.idempotencyKey", "is taken by a different workflow")],
            }),
            Err(DomainError::Invalid(fields)) => Ok(rejected(prefix_data(fields))),
            Err(e) => Err(e),
        }
    }

    async fn hold(&self, request: ApprovalRequest) -> Result<IngestOutcome, DomainError> {
        match self.approvals.request(request).await {
            Ok(receipt) if receipt.replayed => Ok(IngestOutcome::AlreadyAccepted(receipt.action_id)),
            Ok(receipt) => Ok(IngestOutcome::Held(receipt)),
            Err(DomainError::Duplicate(message)) => Ok(IngestOutcome::Rejected {
                reason: message,
                fields: vec![FieldError::new("data.action.id", "is taken by a different action or request")],
            }),
            Err(DomainError::Invalid(fields)) => Ok(rejected(prefix_data(fields))),
            Err(e) => Err(e),
        }
    }

    async fn accept(&self, submission: Submission) -> Result<IngestOutcome, DomainError> {
        match self.submitter.ensure(submission).await {
            Ok(receipt) if receipt.replayed => Ok(IngestOutcome::AlreadyAccepted(receipt.action_id)),
            Ok(receipt) => Ok(IngestOutcome::Accepted(receipt)),
            // Same id, different content: a real conflict the sender must hear about.
            Err(DomainError::Duplicate(message)) => Ok(IngestOutcome::Rejected {
                reason: message,
                fields: vec![FieldError::new("data.action.id", "is taken by a different action")],
            }),
            Err(DomainError::Invalid(fields)) => Ok(rejected(prefix_data(fields))),
            Err(e) => Err(e),
        }
    }
}

fn prefix_data(fields: Vec<FieldError>) -> Vec<FieldError> {
    fields.into_iter().map(|f| FieldError::new(format!("data.{}", f.field), f.reason)).collect()
}
