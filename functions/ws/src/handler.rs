//! `$connect` stores the connection (2 h TTL, API Gateway's own limit), `$disconnect` deletes
//! it (best effort: API Gateway does not promise to call it), any other route is a client
//! message (`subscribe`, `ping`), answered by `PostToConnection`. Nothing is posted from
//! `$connect`: the connection does not exist for the management API until it returns.

use async_trait::async_trait;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use baton_aws::apigw::{ApiGwNotifier, PostError};
use baton_domain::ErrorEnvelope;
use baton_domain::events::{answer_client, reply_frame};
use baton_domain::ports::{Connection, ConnectionStore};
use chrono::Utc;
use serde_json::{Value, json};
use tracing::{error, warn};

/// Sends a frame to one connection.
#[async_trait]
pub trait Reply: Send + Sync {
    async fn reply(&self, connection_id: &str, frame: &str) -> Result<(), String>;
}

#[async_trait]
impl Reply for ApiGwNotifier {
    async fn reply(&self, connection_id: &str, frame: &str) -> Result<(), String> {
        match self.post(connection_id, frame).await {
            Ok(()) => Ok(()),
            Err(PostError::Gone) => Err("connection gone".into()),
            Err(PostError::Failed(e)) => Err(e),
        }
    }
}

fn response(status: i64, body: Option<Value>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = body.map(|b| b.to_string().into());
    r
}

pub async fn handle(
    connections: &dyn ConnectionStore,
    replies: &dyn Reply,
    request: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let ctx = &request.request_context;
    let Some(connection_id) = ctx.connection_id.clone() else {
        return response(
            400,
            Some(json!(ErrorEnvelope::new(baton_domain::ErrorCode::ValidationError, "no connection id"))),
        );
    };
    match ctx.route_key.as_deref().unwrap_or("$default") {
        "$connect" => {
            let connection =
                Connection { id: connection_id, subscription: Default::default(), connected_at: Utc::now() };
            match connections.put(&connection).await {
                Ok(()) => response(200, None),
                Err(e) => {
                    error!(error = %e, "could not record the connection");
                    response(500, None)
                }
            }
        }
        "$disconnect" => {
            if let Err(e) = connections.delete(&connection_id).await {
                warn!(connection_id, error = %e, "could not delete the connection; its TTL will");
            }
            response(200, None)
        }
        _ => {
            let body = request.body.as_deref().unwrap_or_default();
            let (subscription, mut reply) = answer_client(body, Utc::now());
            if let Some(sub) = subscription
                && let Err(e) = connections.subscribe(&connection_id, &sub).await
            {
                error!(connection_id, error = %e, "could not store the subscription");
                let envelope =
                    ErrorEnvelope::new(baton_domain::ErrorCode::ServiceDown, "subscription not stored; try again");
                reply = reply_frame("error", json!(envelope), Utc::now());
            }
            if let Err(e) = replies.reply(&connection_id, &reply).await {
                warn!(connection_id, error = %e, "reply not delivered");
            }
            response(200, None)
        }
    }
}
