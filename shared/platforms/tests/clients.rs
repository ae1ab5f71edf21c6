//! The Slack and Notion clients against wiremock: the request each operation sends, and how
//! each kind of failure is classified.

mod common;

use baton_domain::ErrorCode;
use baton_domain::ports::PlatformClient;
use baton_domain::ports::Unpaced;
use baton_domain::validation::Operation;
use baton_platforms::notion::NotionClient;
use baton_platforms::request::http_client;
use baton_platforms::slack::SlackClient;
use common::action;
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn slack(server: &MockServer) -> SlackClient {
    SlackClient::new(http_client(), format!("{}/api", server.uri()), Some(SecretString::from("xoxb-1")))
}

fn notion(server: &MockServer) -> NotionClient {
    NotionClient::new(http_client(), server.uri(), Some(SecretString::from("secret_1")))
}

#[tokio::test]
async fn slack_update_and_delete_send_their_documented_requests() {
    let server = MockServer::start().await;
    for (endpoint, body) in [
        ("chat.update", json!({"channel": "C1", "ts": "1.2", "text": "edited"})),
        ("chat.delete", json!({"channel": "C1", "ts": "1.2"})),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/api/{endpoint}")))
            .and(header("authorization", "Bearer xoxb-1"))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.2"})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = slack(&server);
    let update = action("slack", "update", json!({"channel": "C1", "ts": "1.2", "text": "edited"}));
    client.execute(&update, Operation::SlackUpdateMessage, &Unpaced).await.expect("updated");
    let delete = action("slack", "delete", json!({"channel": "C1", "ts": "1.2"}));
    client.execute(&delete, Operation::SlackDeleteMessage, &Unpaced).await.expect("deleted");
}

#[tokio::test]
async fn slack_ok_false_answers_map_to_contract_codes() {
    for (error, code) in [
        ("invalid_auth", ErrorCode::AuthError),
        ("channel_not_found", ErrorCode::NotFound),
        ("not_in_channel", ErrorCode::PermissionDenied),
        ("ratelimited", ErrorCode::RateLimited),
        ("invalid_blocks", ErrorCode::ValidationError),
        ("internal_error", ErrorCode::ServiceDown),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": error})))
            .mount(&server)
            .await;
        let a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
        let err = slack(&server).execute(&a, Operation::SlackPostMessage, &Unpaced).await.expect_err(error);
        assert_eq!(err.code, code, "{error}");
        assert!(err.message.contains(error));
    }
}

#[tokio::test]
async fn http_statuses_map_to_contract_codes_with_retry_after() {
    let rows = [
        (401, "unauthorized", ErrorCode::AuthError),
        (403, "restricted_resource", ErrorCode::PermissionDenied),
        (404, "object_not_found", ErrorCode::NotFound),
        (400, "validation_error", ErrorCode::ValidationError),
        (409, "conflict_error", ErrorCode::DuplicateError),
        (429, "rate_limited", ErrorCode::RateLimited),
        (500, "internal_server_error", ErrorCode::ServiceDown),
        (503, "service_unavailable", ErrorCode::ServiceDown),
    ];
    for (status, notion_code, code) in rows {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("retry-after", "3")
                    .set_body_json(json!({"object": "error", "status": status, "code": notion_code, "message": "m"})),
            )
            .mount(&server)
            .await;
        let a = action("notion", "create", json!({"database_id": "d", "title": "t"}));
        let err = notion(&server).execute(&a, Operation::NotionCreatePage, &Unpaced).await.expect_err("error");
        assert_eq!(err.code, code, "HTTP {status}");
        assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
        // The same status without Notion's own code word still maps by the status row.
        let plain = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(status)).mount(&plain).await;
        let err = slack(&plain)
            .execute(
                &action("slack", "notify", json!({"channel": "#a", "text": "t"})),
                Operation::SlackPostMessage,
                &Unpaced,
            )
            .await
            .expect_err("error");
        assert_eq!(err.code, code, "Slack HTTP {status}");
    }
}

#[tokio::test]
async fn notion_update_patches_the_page_properties() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/pages/page-1"))
        .and(header("notion-version", "2022-06-28"))
        .and(body_json(json!({"properties": {"Status": {"select": {"name": "Done"}}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "page", "id": "page-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let a = action(
        "notion",
        "update",
        json!({"page_id": "page-1", "properties": {"Status": {"select": {"name": "Done"}}}}),
    );
    let result = notion(&server).execute(&a, Operation::NotionUpdatePage, &Unpaced).await.expect("updated");
    assert_eq!(result["id"], "page-1");
}

#[tokio::test]
async fn an_unreachable_platform_is_a_network_error() {
    // Bind and drop a listener: nothing answers on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let client = SlackClient::new(http_client(), format!("http://127.0.0.1:{port}/api"), Some(SecretString::from("x")));
    let a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    let err = client.execute(&a, Operation::SlackPostMessage, &Unpaced).await.expect_err("refused");
    assert_eq!(err.code, ErrorCode::NetworkError);
}

#[tokio::test]
async fn missing_credentials_name_the_variable_and_dry_runs_need_none() {
    let server = MockServer::start().await;
    let client = SlackClient::new(http_client(), server.uri(), None);
    let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
    let err = client.execute(&a, Operation::SlackPostMessage, &Unpaced).await.expect_err("no token");
    assert_eq!(err.code, ErrorCode::AuthError);
    assert!(err.message.contains("SLACK_BOT_TOKEN"));
    a.dry_run = true;
    let described = client.execute(&a, Operation::SlackPostMessage, &Unpaced).await.expect("dry run");
    assert_eq!(described["request"]["body"], json!({"channel": "#a", "text": "t"}));
    assert!(server.received_requests().await.unwrap_or_default().is_empty());
}
