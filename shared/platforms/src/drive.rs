//! `DriveClient`: Google Drive v3 with a service account (see `google`).
//!
//! Upload is a multipart/related request (metadata + content); `content` is text, or base64
//! for binary types (`encoding` says which when the type does not). Permissions given with an
//! upload are created after it; one that fails is reported in the result rather than failing
//! the action, because retrying would upload the file a second time.

use async_trait::async_trait;
use base64::Engine;
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{Pacer, PlatformClient};
use baton_domain::validation::Operation;
use baton_domain::{ErrorCode, PlatformError};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::google::{GoogleAuth, classify};
use crate::request::{Gathered, PreparedRequest, RawBody, inverse, url_with_segments as url, with_inverse};

pub const DEFAULT_API_URL: &str = "https://www.googleapis.com/drive/v3";
pub const DEFAULT_UPLOAD_URL: &str = "https://www.googleapis.com/upload/drive/v3";
const FILE_FIELDS: &str = "id,name,mimeType,webViewLink,parents";

pub struct DriveClient {
    http: reqwest::Client,
    api: String,
    upload: String,
    auth: Arc<GoogleAuth>,
}

/// The bytes to upload: text as is, base64 decoded.
pub fn content_bytes(data: &Value) -> Result<Vec<u8>, PlatformError> {
    let content = data.get("content").and_then(Value::as_str).unwrap_or_default();
    let mime = data.get("mimeType").and_then(Value::as_str).unwrap_or_default();
    let textual = mime.starts_with("text/") || mime.ends_with("json") || mime.ends_with("xml") || mime.ends_with("csv");
    match data.get("encoding").and_then(Value::as_str) {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|e| PlatformError::new(ErrorCode::ValidationError, format!("data.content is not base64: {e}"))),
        Some("text") => Ok(content.as_bytes().to_vec()),
        Some(other) => {
            Err(PlatformError::new(ErrorCode::ValidationError, format!("data.encoding '{other}': use text or base64")))
        }
        None if textual => Ok(content.as_bytes().to_vec()),
        None => Ok(base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .unwrap_or_else(|_| content.as_bytes().to_vec())),
    }
}

fn permission_body(p: &Value) -> Value {
    let mut body = json!({"type": p.get("type"), "role": p.get("role")});
    for key in ["emailAddress", "domain"] {
        if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
            body[key] = v.clone();
        }
    }
    body
}

impl DriveClient {
    pub fn new(
        http: reqwest::Client,
        api: impl Into<String>,
        upload: impl Into<String>,
        auth: Arc<GoogleAuth>,
    ) -> Self {
        Self { http, api: api.into(), upload: upload.into(), auth }
    }

    fn upload_request(&self, data: &Value, token: &SecretString) -> Result<PreparedRequest, PlatformError> {
        let bytes = content_bytes(data)?;
        let mime = data.get("mimeType").and_then(Value::as_str).unwrap_or("application/octet-stream");
        let mut metadata = json!({"name": data.get("name"), "mimeType": mime});
        if let Some(folder) = data.get("folderId").and_then(Value::as_str) {
            metadata["parents"] = json!([folder]);
        }
        let boundary = format!("baton-{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::with_capacity(bytes.len() + 512);
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n").as_bytes(),
        );
        body.extend_from_slice(format!("--{boundary}\r\nContent-Type: {mime}\r\n\r\n").as_bytes());
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let shown = json!({"metadata": metadata, "content": {"bytes": bytes.len(), "shown": false}});
        Ok(PreparedRequest::new(Method::POST, url(&self.upload, &["files"]))
            .query(&[("uploadType", "multipart"), ("fields", FILE_FIELDS), ("supportsAllDrives", "true")])
            .bearer(token)
            .raw(RawBody { content_type: format!("multipart/related; boundary={boundary}"), bytes: body, shown }))
    }

    fn permission_request(&self, file_id: &str, p: &Value, token: &SecretString) -> PreparedRequest {
        PreparedRequest::new(Method::POST, url(&self.api, &["files", file_id, "permissions"]))
            .query(&[("sendNotificationEmail", "false"), ("supportsAllDrives", "true")])
            .bearer(token)
            .json(permission_body(p))
    }

    async fn send(&self, request: &PreparedRequest) -> Result<Value, PlatformError> {
        Ok(request.send(&self.http, "Drive", |s, h, b| classify(s, h, b, "Drive")).await?.body)
    }

    /// Creates each permission, each request waiting for its token; permanent failures are
    /// reported, transient ones returned. `first_paid`: the first request's token is taken.
    async fn grant(
        &self,
        file_id: &str,
        perms: &[Value],
        token: &SecretString,
        fail_fast: bool,
        pacer: &dyn Pacer,
        first_paid: bool,
    ) -> Result<Vec<Value>, PlatformError> {
        let mut out = Vec::new();
        for (n, p) in perms.iter().enumerate() {
            if n > 0 || !first_paid {
                pacer.before_call().await?;
            }
            match self.send(&self.permission_request(file_id, p, token)).await {
                Ok(created) => out.push(json!({"ok": true, "permission": created})),
                Err(e) if fail_fast || e.code.is_retriable() && out.is_empty() => return Err(e),
                Err(e) => out.push(
                    json!({"ok": false, "requested": permission_body(p), "errorCode": e.code, "error": e.message}),
                ),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl PlatformClient for DriveClient {
    fn platform(&self) -> Platform {
        Platform::Drive
    }

    async fn execute(&self, action: &Action, operation: Operation, pacer: &dyn Pacer) -> Result<Value, PlatformError> {
        let token = if action.dry_run { SecretString::from("") } else { self.auth.token().await? };
        let data = &action.data;
        let str_of = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let perms: Vec<Value> = data.get("permissions").and_then(Value::as_array).cloned().unwrap_or_default();
        match operation {
            Operation::DriveUpload => {
                let upload = self.upload_request(data, &token)?;
                if action.dry_run {
                    let grants: Vec<Value> = perms
                        .iter()
                        .map(|p| self.permission_request("{fileId}", p, &token).describe()["request"].clone())
                        .collect();
                    return Ok(json!({"dryRun": true, "request": upload.describe()["request"], "then": grants}));
                }
                let file = self.send(&upload).await?;
                let id = file.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let mut result = with_inverse(file, inverse("drive", "delete", json!({"fileId": id})));
                if !perms.is_empty() {
                    // The file exists now: a permission problem must not cause a second upload.
                    result["permissions"] = json!(
                        self.grant(&id, &perms, &token, false, pacer, false)
                            .await
                            .unwrap_or_else(|e| vec![json!({"ok": false, "errorCode": e.code, "error": e.message})])
                    );
                }
                Ok(result)
            }
            Operation::DriveSetPermissions => {
                let file = str_of("fileId");
                if action.dry_run {
                    let shown: Vec<Value> = perms
                        .iter()
                        .map(|p| self.permission_request(&file, p, &token).describe()["request"].clone())
                        .collect();
                    return Ok(json!({"dryRun": true, "requests": shown}));
                }
                Ok(json!({"fileId": file, "permissions": self.grant(&file, &perms, &token, true, pacer, true).await?}))
            }
            Operation::DriveDeleteFile => {
                let request = PreparedRequest::new(Method::DELETE, url(&self.api, &["files", &str_of("fileId")]))
                    .query(&[("supportsAllDrives", "true")])
                    .bearer(&token);
                if action.dry_run {
                    return Ok(request.describe());
                }
                self.send(&request).await?;
                Ok(json!({"fileId": str_of("fileId"), "deleted": true}))
            }
            Operation::DriveListFiles => {
                let mut q = data.get("q").and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
                if let Some(folder) = data.get("folderId").and_then(Value::as_str) {
                    let clause = format!("'{}' in parents", folder.replace('\'', "\\'"));
                    q = if q.is_empty() { clause } else { format!("({q}) and {clause}") };
                }
                let q = if q.is_empty() { "trashed = false".to_owned() } else { format!("({q}) and trashed = false") };
                let fields = format!("nextPageToken,files({FILE_FIELDS})");
                let mut files = Gathered::default();
                let mut page_token: Option<String> = None;
                loop {
                    let mut params = vec![("q", q.as_str()), ("fields", fields.as_str()), ("pageSize", "100")];
                    if let Some(t) = &page_token {
                        params.push(("pageToken", t.as_str()));
                    }
                    let request =
                        PreparedRequest::new(Method::GET, url(&self.api, &["files"])).query(&params).bearer(&token);
                    if action.dry_run {
                        return Ok(request.describe());
                    }
                    let mut page = self.send(&request).await?;
                    let got =
                        page.get_mut("files").and_then(Value::as_array_mut).map(std::mem::take).unwrap_or_default();
                    let room = files.extend(got);
                    match page.get("nextPageToken").and_then(Value::as_str) {
                        Some(t) if room => {
                            page_token = Some(t.to_owned());
                            pacer.before_call().await?;
                        }
                        // Cut short inside a page: going on from that page's own token loses nothing.
                        _ if !room => return Ok(files.result("files", page_token.as_deref(), false)),
                        _ => return Ok(files.result("files", None, true)),
                    }
                }
            }
            other => Err(PlatformError::new(
                ErrorCode::ValidationError,
                format!("{} is not a Drive operation", other.name()),
            )),
        }
    }
}
