//! Every operation of Trello, Drive, Sheets and the rest of Notion and Slack against
//! wiremock (method, path, headers, body), Google's token exchange and caching with a key
//! generated here, and the error table for every platform.

mod common;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use baton_domain::ErrorCode;
use baton_domain::model::Action;
use baton_domain::ports::PlatformRegistry;
use baton_domain::validation::Operation;
use baton_platforms::PlatformSettings;
use common::action;
use serde_json::{Value, json};
use std::collections::HashMap;
use wiremock::matchers::{body_json, body_string_contains, header, header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn op(a: &Action) -> Operation {
    Operation::resolve(a.platform, a.action_type, &a.data).expect("operation")
}

/// A service account with a freshly generated RSA key, and its public key (DER, PKCS#1).
fn service_account() -> (String, Vec<u8>) {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("rsa key");
    let der = pair.as_der().expect("pkcs8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    let account = json!({"type": "service_account", "client_email": "baton@project.iam.gserviceaccount.com",
                         "private_key": pem, "token_uri": "ignored"});
    (account.to_string(), pair.public_key().as_ref().to_vec())
}

struct Apis {
    server: MockServer,
    public_key: Vec<u8>,
    registry: PlatformRegistry,
    /// Counts the requests each attempt made after its first.
    pacer: common::CountingPacer,
}

async fn apis() -> Apis {
    let server = MockServer::start().await;
    let (account, public_key) = service_account();
    let uri = server.uri();
    let env: HashMap<&str, String> = [
        ("SLACK_BOT_TOKEN", "xoxb-1".to_owned()),
        ("SLACK_API_URL", format!("{uri}/slack")),
        ("NOTION_TOKEN", "secret_1".to_owned()),
        ("NOTION_API_URL", format!("{uri}/notion")),
        ("TRELLO_KEY", "trello-key-secret".to_owned()),
        ("TRELLO_TOKEN", "trello-token-secret".to_owned()),
        ("TRELLO_API_URL", format!("{uri}/trello/1")),
        ("GOOGLE_SERVICE_ACCOUNT_JSON", account),
        ("GOOGLE_DRIVE_API_URL", format!("{uri}/drive/v3")),
        ("GOOGLE_DRIVE_UPLOAD_URL", format!("{uri}/upload/drive/v3")),
        ("GOOGLE_SHEETS_API_URL", format!("{uri}/sheets/v4")),
        ("GOOGLE_TOKEN_URL", format!("{uri}/token")),
    ]
    .into();
    let registry = PlatformSettings::from_lookup(|k| env.get(k).cloned()).registry();
    Apis { server, public_key, registry, pacer: common::CountingPacer::default() }
}

impl Apis {
    async fn run(&self, a: &Action) -> Result<Value, baton_domain::PlatformError> {
        self.registry.get(a.platform).expect("client").execute(a, op(a), &self.pacer).await
    }

    /// A token endpoint that checks the signed assertion and counts exchanges.
    async fn token_endpoint(&self) {
        let public_key = self.public_key.clone();
        let uri = self.server.uri();
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string_contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"))
            .respond_with(move |req: &Request| {
                let body = String::from_utf8_lossy(&req.body).to_string();
                let jwt = body.split("assertion=").nth(1).unwrap_or_default();
                let key = jsonwebtoken::DecodingKey::from_rsa_der(&public_key);
                let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                validation.set_audience(&[format!("{uri}/token")]);
                match jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
                    Ok(data)
                        if data.claims["iss"] == "baton@project.iam.gserviceaccount.com"
                            && data.claims["scope"].as_str().unwrap_or_default().contains("auth/drive") =>
                    {
                        ResponseTemplate::new(200).set_body_json(
                            json!({"access_token": "ya29.token", "expires_in": 3599, "token_type": "Bearer"}),
                        )
                    }
                    _ => ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "invalid_grant", "error_description": "bad assertion"})),
                }
            })
            .expect(1)
            .mount(&self.server)
            .await;
    }
}

#[tokio::test]
async fn trello_operations_send_trellos_field_names_with_the_key_in_a_header() {
    let apis = apis().await;
    // wiremock's `header` splits values on commas; the OAuth form has one, so compare whole.
    let auth = |req: &Request| {
        req.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(r#"OAuth oauth_consumer_key="trello-key-secret", oauth_token="trello-token-secret""#)
    };
    Mock::given(method("POST"))
        .and(path("/trello/1/cards"))
        .and(auth)
        .and(body_json(json!({"name": "Fix login bug", "desc": "Reported by email", "due": "2025-10-20T17:00:00Z",
                              "idList": "list-1", "idLabels": "bug", "idMembers": "member-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "card-9", "name": "Fix login bug"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/trello/1/cards/card-1"))
        .and(body_json(json!({"idList": "list-2"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "card-1", "idList": "list-2"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/trello/1/cards/card-1"))
        .and(body_json(json!({"name": "Renamed"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "card-1"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/trello/1/cards/card-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"limits": {}})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/trello/1/lists/list-1/cards"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "c1"}, {"id": "c2"}])))
        .expect(1)
        .mount(&apis.server)
        .await;

    let f = serde_json::from_str::<Value>(include_str!("../../../../shared/fixtures/contract-examples.json"))
        .expect("fixtures");
    let created = match apis.run(&action("trello", "create", f["platform_data"]["trello_create"].clone())).await {
        Ok(c) => c,
        Err(e) => {
            let reqs = apis.server.received_requests().await.unwrap_or_default();
            panic!(
                "create: {e:?}; sent {:?}",
                reqs.iter()
                    .map(|r| (r.url.to_string(), String::from_utf8_lossy(&r.body).to_string()))
                    .collect::<Vec<_>>()
            )
        }
    };
    assert_eq!(created["inverse"], json!({"type": "delete", "platform": "trello", "data": {"cardId": "card-9"}}));
    apis.run(&action("trello", "update", f["platform_data"]["trello_move"].clone())).await.expect("move");
    apis.run(&action("trello", "update", json!({"cardId": "card-1", "name": "Renamed"}))).await.expect("update");
    apis.run(&action("trello", "delete", json!({"cardId": "card-1"}))).await.expect("delete");
    let listed = apis.run(&action("trello", "query", json!({"listId": "list-1"}))).await.expect("list");
    assert_eq!(listed["cards"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn trello_bulk_delete_reports_each_card_and_treats_already_gone_as_done() {
    let apis = apis().await;
    Mock::given(method("DELETE"))
        .and(path("/trello/1/cards/card-1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&apis.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/trello/1/cards/card-2"))
        .respond_with(ResponseTemplate::new(404).set_body_string("The requested resource was not found."))
        .mount(&apis.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/trello/1/cards/card-3"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&apis.server)
        .await;
    let a = action("trello", "delete", json!({"operation": "bulk_delete", "cardIds": ["card-1", "card-2", "card-3"]}));
    let result = apis.run(&a).await.expect("bulk");
    let cards = result["cards"].as_array().expect("cards");
    assert_eq!(cards.len(), 3);
    assert_eq!(apis.pacer.count(), 2, "three requests: two more tokens after the admission's");
    assert_eq!(cards[1], json!({"cardId": "card-2", "deleted": true, "alreadyGone": true}));

    Mock::given(method("DELETE"))
        .and(path("/trello/1/cards/card-4"))
        .respond_with(ResponseTemplate::new(401).set_body_string("unauthorized permission requested"))
        .mount(&apis.server)
        .await;
    let a = action("trello", "delete", json!({"cardIds": ["card-1", "card-4"]}));
    let err = apis.run(&a).await.expect_err("one card refused");
    assert_eq!(err.code, ErrorCode::PermissionDenied);
    assert!(err.message.starts_with("1 of 2 cards"), "{}", err.message);
}

#[tokio::test]
async fn notion_archive_and_query_follow_the_api_and_paginate() {
    let apis = apis().await;
    Mock::given(method("PATCH"))
        .and(path("/notion/v1/pages/page-1"))
        .and(body_json(json!({"archived": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "page-1", "archived": true})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/notion/v1/databases/db-1/query"))
        .and(body_json(json!({"filter": {"property": "Status", "select": {"equals": "Done"}}, "page_size": 100})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": [{"id": "p1"}], "has_more": true, "next_cursor": "cur-2"})),
        )
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/notion/v1/databases/db-1/query"))
        .and(body_partial(json!({"start_cursor": "cur-2"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": [{"id": "p2"}], "has_more": false, "next_cursor": null})),
        )
        .expect(1)
        .mount(&apis.server)
        .await;
    apis.run(&action("notion", "delete", json!({"page_id": "page-1"}))).await.expect("archive");
    let q = apis
        .run(&action(
            "notion",
            "query",
            json!({"database_id": "db-1", "filter": {"property": "Status", "select": {"equals": "Done"}}}),
        ))
        .await
        .expect("query");
    assert_eq!(q["results"], json!([{"id": "p1"}, {"id": "p2"}]));
    assert_eq!(q["complete"], true);
    assert_eq!(apis.pacer.count(), 1, "the second page took a token");
}

#[tokio::test]
async fn a_huge_query_keeps_what_a_result_may_hold_and_says_it_is_truncated() {
    let apis = apis().await;
    let row = |i: usize| json!({"id": format!("p{i}"), "properties": {"Name": "x".repeat(900)}});
    Mock::given(method("POST"))
        .and(path("/notion/v1/databases/db-big/query"))
        .respond_with(move |_: &wiremock::Request| {
            ResponseTemplate::new(200).set_body_json(
                json!({"results": (0..100).map(row).collect::<Vec<_>>(), "has_more": true, "next_cursor": "more"}),
            )
        })
        .mount(&apis.server)
        .await;
    let q = apis.run(&action("notion", "query", json!({"database_id": "db-big"}))).await.expect("query");
    assert_eq!((q["truncated"].clone(), q["complete"].clone()), (json!(true), json!(false)));
    let kept = q["results"].as_array().expect("results").len();
    assert!(kept > 10 && kept < 100, "{kept}");
    assert_eq!(q["count"], kept);
    assert!(q.to_string().len() < baton_domain::model::MAX_STORED_RESULT_BYTES, "fits a stored result");
    assert_eq!(apis.server.received_requests().await.map_or(0, |r| r.len()), 1, "no page read past the cap");

    let cards: Vec<Value> =
        (0..2000).map(|i| json!({"id": format!("c{i}"), "name": "card name", "desc": "d".repeat(200)})).collect();
    Mock::given(method("GET"))
        .and(path("/trello/1/lists/list-big/cards"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(cards)))
        .mount(&apis.server)
        .await;
    let listed = apis.run(&action("trello", "query", json!({"listId": "list-big"}))).await.expect("list");
    assert_eq!(listed["truncated"], true);
    assert!(listed.to_string().len() < baton_domain::model::MAX_STORED_RESULT_BYTES);
}

fn body_partial(v: Value) -> wiremock::matchers::BodyPartialJsonMatcher {
    wiremock::matchers::body_partial_json(v)
}

#[tokio::test]
async fn slack_approval_requests_carry_approve_and_reject_buttons() {
    let apis = apis().await;
    Mock::given(method("POST"))
        .and(path("/slack/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-1"))
        .and(body_partial(json!({"channel": "#approvals"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C9", "ts": "7.7"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    let f = serde_json::from_str::<Value>(include_str!("../../../../shared/fixtures/contract-examples.json"))
        .expect("fixtures");
    let result =
        apis.run(&action("slack", "approve", f["platform_data"]["slack_approval"].clone())).await.expect("posted");
    assert_eq!(result["inverse"]["data"], json!({"operation": "delete_message", "channel": "C9", "ts": "7.7"}));
    let sent: Value =
        serde_json::from_slice(&apis.server.received_requests().await.expect("requests")[0].body).expect("json");
    let buttons =
        sent["blocks"].as_array().and_then(|b| b.iter().find(|x| x["type"] == "actions")).expect("actions block");
    let ids: Vec<&str> =
        buttons["elements"].as_array().expect("buttons").iter().filter_map(|b| b["action_id"].as_str()).collect();
    assert_eq!(ids, ["approve", "reject"]);
    assert!(sent["text"].as_str().unwrap_or_default().contains("Bulk delete"));
}

#[tokio::test]
async fn drive_upload_is_multipart_with_the_decoded_content_then_permissions() {
    let apis = apis().await;
    apis.token_endpoint().await;
    Mock::given(method("POST"))
        .and(path("/upload/drive/v3/files"))
        .and(query_param("uploadType", "multipart"))
        .and(header("authorization", "Bearer ya29.token"))
        .and(header_regex("content-type", "^multipart/related; boundary=baton-"))
        .and(body_string_contains("%PDF-1.4"))
        .and(body_string_contains(r#""parents":["folder-1"]"#))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "file-1", "name": "report.pdf", "webViewLink": "https://drive/file-1"})),
        )
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/drive/v3/files/file-1/permissions"))
        .and(body_json(json!({"type": "user", "role": "reader", "emailAddress": "a@example.com"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "perm-1"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/drive/v3/files/file-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/drive/v3/files"))
        .and(query_param("q", "('folder-1' in parents) and trashed = false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"files": [{"id": "file-1"}]})))
        .expect(1)
        .mount(&apis.server)
        .await;

    let f = serde_json::from_str::<Value>(include_str!("../../../../shared/fixtures/contract-examples.json"))
        .expect("fixtures");
    let uploaded =
        apis.run(&action("drive", "file", f["platform_data"]["drive_upload"].clone())).await.expect("upload");
    assert_eq!(uploaded["webViewLink"], "https://drive/file-1");
    assert_eq!(uploaded["permissions"][0]["ok"], true);
    assert_eq!(uploaded["inverse"], json!({"type": "delete", "platform": "drive", "data": {"fileId": "file-1"}}));
    // The token is cached: these use the same one (the endpoint expects exactly one exchange).
    apis.run(&action("drive", "delete", json!({"fileId": "file-1"}))).await.expect("delete");
    let listed = apis.run(&action("drive", "query", json!({"folderId": "folder-1"}))).await.expect("list");
    assert_eq!(listed["count"], 1);
}

#[tokio::test]
async fn sheets_append_update_read_and_the_append_inverse() {
    let apis = apis().await;
    apis.token_endpoint().await;
    Mock::given(method("POST")).and(path("/sheets/v4/spreadsheets/sheet-1/values/Sheet1!A:E:append"))
        .and(query_param("valueInputOption", "USER_ENTERED")).and(header("authorization", "Bearer ya29.token"))
        .and(body_json(json!({"range": "Sheet1!A:E", "majorDimension": "ROWS", "values": [["2025-10-17", "create", "notion", "success", "ok"]]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"spreadsheetId": "sheet-1", "updates": {"updatedRange": "Sheet1!A7:E7", "updatedRows": 1}})))
        .expect(1).mount(&apis.server).await;
    Mock::given(method("PUT"))
        .and(path("/sheets/v4/spreadsheets/sheet-1/values/Sheet1!A1"))
        .and(body_json(json!({"range": "Sheet1!A1", "majorDimension": "ROWS", "values": [[42]]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"updatedCells": 1})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/sheets/v4/spreadsheets/sheet-1/values/Sheet1!A1:B2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"values": [["a", "b"]]})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sheets/v4/spreadsheets/sheet-1/values/Sheet1!A7:E7:clear"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"clearedRange": "Sheet1!A7:E7"})))
        .expect(1)
        .mount(&apis.server)
        .await;

    let f = serde_json::from_str::<Value>(include_str!("../../../../shared/fixtures/contract-examples.json"))
        .expect("fixtures");
    let appended =
        apis.run(&action("sheets", "log", f["platform_data"]["sheets_append"].clone())).await.expect("append");
    let undo = &appended["inverse"];
    assert_eq!(undo["data"], json!({"spreadsheetId": "sheet-1", "range": "Sheet1!A7:E7"}));
    apis.run(&action("sheets", "update", f["platform_data"]["sheets_update"].clone())).await.expect("update");
    let read = apis
        .run(&action("sheets", "query", json!({"spreadsheetId": "sheet-1", "range": "Sheet1!A1:B2"})))
        .await
        .expect("read");
    assert_eq!(read["values"], json!([["a", "b"]]));
    // The inverse is itself a valid action.
    let inverse = action("sheets", undo["type"].as_str().expect("type"), undo["data"].clone());
    apis.run(&inverse).await.expect("clear");
}

#[tokio::test]
async fn a_rejected_service_account_is_an_auth_error() {
    let apis = apis().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        )
        .mount(&apis.server)
        .await;
    let err =
        apis.run(&action("sheets", "query", json!({"spreadsheetId": "s", "range": "A1"}))).await.expect_err("refused");
    assert_eq!(err.code, ErrorCode::AuthError);
}

/// One row of the error table: a platform answering `status` with `body`.
async fn code_for(
    platform: &str,
    status: u16,
    body: Value,
    retry_after: Option<&str>,
) -> (ErrorCode, Option<std::time::Duration>) {
    let apis = apis().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29", "expires_in": 3600})))
        .mount(&apis.server)
        .await;
    let mut answer = ResponseTemplate::new(status).set_body_json(body);
    if let Some(s) = retry_after {
        answer = answer.insert_header("retry-after", s);
    }
    Mock::given(wiremock::matchers::any()).respond_with(answer).mount(&apis.server).await;
    let a = match platform {
        "notion" => action("notion", "create", json!({"database_id": "d", "title": "t"})),
        "trello" => action("trello", "create", json!({"name": "n", "listId": "l"})),
        "slack" => action("slack", "notify", json!({"channel": "#a", "text": "t"})),
        "drive" => action("drive", "file", json!({"name": "n", "content": "x", "mimeType": "text/plain"})),
        _ => action("sheets", "log", json!({"spreadsheetId": "s", "range": "A:A", "values": [[1]]})),
    };
    let err = apis.run(&a).await.expect_err("an error");
    (err.code, err.retry_after)
}

#[tokio::test]
async fn every_platform_maps_every_error_row_of_the_table() {
    use ErrorCode::*;
    let google =
        |status: u16, reason: &str| json!({"error": {"code": status, "message": "m", "errors": [{"reason": reason}]}});
    let rows: Vec<(u16, ErrorCode)> = vec![
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (400, ValidationError),
        (422, ValidationError),
        (409, DuplicateError),
        (429, RateLimited),
        (500, ServiceDown),
        (503, ServiceDown),
    ];
    for platform in ["notion", "trello", "slack", "drive", "sheets"] {
        for (status, code) in &rows {
            let body = if matches!(platform, "drive" | "sheets") {
                google(*status, "whatever")
            } else {
                json!({"message": "m"})
            };
            let (got, _) = code_for(platform, *status, body, None).await;
            assert_eq!(got, *code, "{platform} HTTP {status}");
        }
        let (got, wait) = code_for(platform, 429, json!({}), Some("7")).await;
        assert_eq!((got, wait), (RateLimited, Some(std::time::Duration::from_secs(7))), "{platform} Retry-After");
    }
    for platform in ["drive", "sheets"] {
        assert_eq!(code_for(platform, 403, google(403, "rateLimitExceeded"), None).await.0, RateLimited, "{platform}");
        assert_eq!(
            code_for(platform, 403, google(403, "userRateLimitExceeded"), None).await.0,
            RateLimited,
            "{platform}"
        );
        assert_eq!(
            code_for(platform, 403, google(403, "dailyLimitExceeded"), None).await.0,
            QuotaExceeded,
            "{platform}"
        );
        assert_eq!(
            code_for(platform, 403, google(403, "storageQuotaExceeded"), None).await.0,
            QuotaExceeded,
            "{platform}"
        );
    }
}

#[tokio::test]
async fn drive_set_permissions_creates_each_one() {
    let apis = apis().await;
    apis.token_endpoint().await;
    Mock::given(method("POST"))
        .and(path("/drive/v3/files/file-7/permissions"))
        .and(body_json(json!({"type": "domain", "role": "reader", "domain": "example.com"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "perm-d"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/drive/v3/files/file-7/permissions"))
        .and(body_json(json!({"type": "anyone", "role": "commenter"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "perm-a"})))
        .expect(1)
        .mount(&apis.server)
        .await;
    let a = action(
        "drive",
        "update",
        json!({"fileId": "file-7", "permissions": [
        {"type": "domain", "role": "reader", "domain": "example.com"}, {"type": "anyone", "role": "commenter"}]}),
    );
    let result = apis.run(&a).await.expect("granted");
    assert_eq!(result["permissions"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_dry_run_of_every_operation_shows_the_request_and_sends_nothing() {
    let apis = apis().await;
    let f = serde_json::from_str::<Value>(include_str!("../../../../shared/fixtures/contract-examples.json"))
        .expect("fixtures");
    let cases: Vec<(&str, &str, Value)> = vec![
        ("notion", "create", json!({"database_id": "d", "title": "t"})),
        ("notion", "update", f["platform_data"]["notion_update"].clone()),
        ("notion", "delete", json!({"page_id": "p"})),
        ("notion", "query", json!({"database_id": "d"})),
        ("trello", "create", f["platform_data"]["trello_create"].clone()),
        ("trello", "update", json!({"cardId": "c", "name": "n"})),
        ("trello", "update", f["platform_data"]["trello_move"].clone()),
        ("trello", "delete", json!({"cardId": "c"})),
        ("trello", "delete", json!({"cardIds": ["c1", "c2"]})),
        ("trello", "query", json!({"listId": "l"})),
        ("slack", "notify", f["platform_data"]["slack_notify"].clone()),
        ("slack", "update", json!({"channel": "C", "ts": "1.1", "text": "t"})),
        ("slack", "delete", json!({"channel": "C", "ts": "1.1"})),
        ("slack", "approve", f["platform_data"]["slack_approval"].clone()),
        ("drive", "file", f["platform_data"]["drive_upload"].clone()),
        ("drive", "update", json!({"fileId": "f", "permissions": [{"type": "anyone", "role": "reader"}]})),
        ("drive", "delete", json!({"fileId": "f"})),
        ("drive", "query", json!({"folderId": "x"})),
        ("sheets", "log", f["platform_data"]["sheets_append"].clone()),
        ("sheets", "update", f["platform_data"]["sheets_update"].clone()),
        ("sheets", "query", json!({"spreadsheetId": "s", "range": "A1"})),
        ("sheets", "delete", json!({"spreadsheetId": "s", "range": "A1"})),
    ];
    let secrets = ["xoxb-1", "secret_1", "trello-key-secret", "trello-token-secret", "ya29", "PRIVATE KEY"];
    for (platform, ty, data) in cases {
        let mut a = action(platform, ty, data);
        a.dry_run = true;
        let shown = apis.run(&a).await.unwrap_or_else(|e| panic!("{platform} {ty}: {e:?}"));
        assert_eq!(shown["dryRun"], true, "{platform} {ty}: {shown}");
        let request =
            if shown["request"].is_object() { shown["request"].clone() } else { shown["requests"][0].clone() };
        assert!(
            request["method"].is_string() && request["url"].as_str().is_some_and(|u| u.starts_with("http")),
            "{platform} {ty}: {shown}"
        );
        let text = shown.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{platform} {ty} shows a secret: {text}");
        }
    }
    // The uploaded file's bytes are not echoed either.
    assert!(apis.server.received_requests().await.unwrap_or_default().is_empty(), "a dry run sends nothing");
}

/// Every operation, with ids that must travel as exactly one path segment: each request's
/// path is the operation's template with the ids filled in, percent-encoded where needed.
#[tokio::test]
async fn every_request_path_is_the_operations_template_with_one_segment_per_id() {
    let apis = apis().await;
    apis.token_endpoint().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "id": "x", "channel": "C", "ts": "1"})),
        )
        .mount(&apis.server)
        .await;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("notion", "create", json!({"database_id": "db-1", "title": "t"}), "/notion/v1/pages"),
        ("notion", "update", json!({"page_id": "page_1", "properties": {}}), "/notion/v1/pages/page_1"),
        ("notion", "delete", json!({"page_id": "page-1"}), "/notion/v1/pages/page-1"),
        ("notion", "query", json!({"database_id": "db-1"}), "/notion/v1/databases/db-1/query"),
        ("trello", "create", json!({"name": "n", "listId": "list-1"}), "/trello/1/cards"),
        ("trello", "update", json!({"cardId": "card-1", "name": "n"}), "/trello/1/cards/card-1"),
        ("trello", "update", json!({"cardId": "card-1", "listId": "list-2"}), "/trello/1/cards/card-1"),
        ("trello", "delete", json!({"cardId": "card-1"}), "/trello/1/cards/card-1"),
        ("trello", "delete", json!({"cardIds": ["card-9"]}), "/trello/1/cards/card-9"),
        ("trello", "query", json!({"listId": "list-1"}), "/trello/1/lists/list-1/cards"),
        ("drive", "delete", json!({"fileId": "file-1"}), "/drive/v3/files/file-1"),
        (
            "drive",
            "update",
            json!({"fileId": "file-1", "permissions": [{"type": "anyone", "role": "reader"}]}),
            "/drive/v3/files/file-1/permissions",
        ),
        ("drive", "query", json!({"folderId": "folder-1"}), "/drive/v3/files"),
        (
            "sheets",
            "query",
            json!({"spreadsheetId": "sheet-1", "range": "My Sheet!A1:B2"}),
            "/sheets/v4/spreadsheets/sheet-1/values/My%20Sheet!A1:B2",
        ),
        (
            "sheets",
            "delete",
            json!({"spreadsheetId": "sheet-1", "range": "a/b?c#d!A1"}),
            "/sheets/v4/spreadsheets/sheet-1/values/a%2Fb%3Fc%23d!A1:clear",
        ),
        (
            "sheets",
            "update",
            json!({"spreadsheetId": "sheet-1", "range": "A1", "value": 1}),
            "/sheets/v4/spreadsheets/sheet-1/values/A1",
        ),
        (
            "sheets",
            "log",
            json!({"spreadsheetId": "sheet-1", "range": "A:E", "values": [[1]]}),
            "/sheets/v4/spreadsheets/sheet-1/values/A:E:append",
        ),
    ];
    for (platform, ty, data, expected) in cases {
        let before = apis.server.received_requests().await.map_or(0, |r| r.len());
        apis.run(&action(platform, ty, data.clone())).await.unwrap_or_else(|e| panic!("{platform} {ty}: {e:?}"));
        let requests = apis.server.received_requests().await.unwrap_or_default();
        let sent: Vec<String> = requests[before..]
            .iter()
            .filter(|r| !r.url.path().ends_with("/token"))
            .map(|r| r.url.path().to_owned())
            .collect();
        assert_eq!(sent.first().map(String::as_str), Some(expected), "{platform} {ty} {data}: {sent:?}");
    }
}
