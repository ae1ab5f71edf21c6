//! Google stand-ins for tests that drive Drive and Sheets through `baton serve`: a service
//! account with a freshly generated key and a token endpoint on a wiremock server.

use base64::Engine;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A service account whose key is generated now (its token exchange is `google`'s `/token`).
pub fn service_account() -> String {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("rsa key");
    let der = pair.as_der().expect("pkcs8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
    json!({"type": "service_account", "client_email": "baton@project.iam.gserviceaccount.com",
           "private_key": pem, "token_uri": "ignored"})
    .to_string()
}

/// The settings that point Drive and Sheets at `google`, with its token endpoint mounted.
pub async fn google_settings(google: &MockServer) -> Vec<(&'static str, String)> {
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "ya29.token", "expires_in": 3599, "token_type": "Bearer"})),
        )
        .mount(google)
        .await;
    let uri = google.uri();
    vec![
        ("GOOGLE_SERVICE_ACCOUNT_JSON", service_account()),
        ("GOOGLE_DRIVE_API_URL", format!("{uri}/drive/v3")),
        ("GOOGLE_DRIVE_UPLOAD_URL", format!("{uri}/upload/drive/v3")),
        ("GOOGLE_SHEETS_API_URL", format!("{uri}/sheets/v4")),
        ("GOOGLE_TOKEN_URL", format!("{uri}/token")),
    ]
}
