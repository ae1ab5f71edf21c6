//! The OpenAPI 3.1 document, generated from the routes themselves (`utoipa`): each handler
//! declares its path, parameters and bodies; registering a route with its scope also writes
//! the scope, the bearer security requirement and the answers every guarded route can give
//! (401, 403, 429) into its operations, so the document cannot drift from what is enforced.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::{event_schemas as ev, schemas as s};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baton",
        description = "The orchestration layer of the AI operations command center: actions validated, \
stored, queued by priority, rate-limited per platform, retried, circuit-broken, and shown live. \
Every route but `/healthz`, `/api/openapi.json` and `/api/slack/interactions` needs \
`Authorization: Bearer <key>`; the WebSocket also takes `?token=<key>`. Every `/api` answer \
carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Components),
    components(schemas(
        s::ErrorEnvelope, s::Frame, s::ClientMessage,
        ev::ActionQueuedEvent, ev::ActionExecutingEvent, ev::ActionRetryingEvent, ev::ActionCompletedEvent,
        ev::ActionFailedEvent, ev::ActionCancelledEvent, ev::QueueUpdatedEvent, ev::HealthChangedEvent,
        ev::IngestRejectedEvent, ev::ApprovalPendingEvent, ev::ApprovalResolvedEvent, ev::WorkflowStartedEvent,
        ev::WorkflowStepEvent, ev::WorkflowCompletedEvent, ev::WorkflowFailedEvent, ev::WorkflowRolledBackEvent,
        ev::WorkflowCancelledEvent, ev::FeedbackReceivedEvent, ev::MetricsUpdatedEvent
    ))
)]
pub struct ApiDoc;

/// The shared answers and the security scheme.
struct Components;

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build(),
        )
        .build()
}

/// Answers any route may give, by status: (component name, description).
pub const SHARED: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "Invalid input: VALIDATION_ERROR naming each field"),
    ("401", "Unauthorized", "No API key, or an unknown, expired or revoked one: AUTH_ERROR"),
    ("403", "Forbidden", "The key lacks the route's scope: PERMISSION_DENIED naming it"),
    ("404", "NotFound", "No such item: NOT_FOUND"),
    ("405", "MethodNotAllowed", "The route does not take this method"),
    ("413", "TooLarge", "The body exceeds 256 KiB"),
    ("415", "UnsupportedMediaType", "POST bodies must be application/json"),
    ("429", "RateLimited", "Over the API rate limit: RATE_LIMITED with retryAfter, and Retry-After"),
    ("503", "Unavailable", "The store or a queue is unavailable for a moment: SERVICE_DOWN, retriable"),
];

impl Modify for Components {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(utoipa::openapi::Components::new);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bk_<id>_<secret>")
                    .description(Some("An API key (`baton keys create`)."))
                    .build(),
            ),
        );
        for (_, name, description) in SHARED {
            c.responses.insert((*name).to_owned(), RefOr::T(error_response(description)));
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

fn add_shared(op: &mut Operation, statuses: &[&str]) {
    for (status, name, _) in SHARED.iter().filter(|(s, _, _)| statuses.contains(s)) {
        op.responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
    }
}

/// Documents a guarded route: the bearer requirement, its scope, and what guarding answers.
pub fn guarded(paths: &mut utoipa::openapi::path::Paths, scope: &str) {
    for item in paths.paths.values_mut() {
        for op in operations(item) {
            op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
            let note = format!("Needs the `{scope}` scope (or `admin`).");
            op.description = Some(match op.description.take() {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
            op.extensions.get_or_insert_with(Default::default).insert("x-baton-scope".into(), serde_json::json!(scope));
            add_shared(op, &["400", "401", "403", "405", "415", "429", "503"]);
        }
    }
}

/// Documents a route anyone may call (still counted per client address).
pub fn public(paths: &mut utoipa::openapi::path::Paths) {
    for item in paths.paths.values_mut() {
        for op in operations(item) {
            op.security = Some(Vec::new());
            add_shared(op, &["405", "429"]);
        }
    }
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn document(
    axum::Extension(doc): axum::Extension<std::sync::Arc<serde_json::Value>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(doc.as_ref().clone())
}
