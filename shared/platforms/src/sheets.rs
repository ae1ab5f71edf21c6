//! `SheetsClient`: Google Sheets v4 values API with a service account (see `google`).
//! An append reports its inverse: clearing the range it wrote.

use async_trait::async_trait;
use baton_domain::model::{Action, Platform};
use baton_domain::ports::{Pacer, PlatformClient};
use baton_domain::validation::Operation;
use baton_domain::{ErrorCode, PlatformError};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::google::{GoogleAuth, classify};
use crate::request::{PreparedRequest, inverse, url_with_segments, with_inverse};

pub const DEFAULT_URL: &str = "https://sheets.googleapis.com/v4";

pub struct SheetsClient {
    http: reqwest::Client,
    base: String,
    auth: Arc<GoogleAuth>,
}

impl SheetsClient {
    pub fn new(http: reqwest::Client, base: impl Into<String>, auth: Arc<GoogleAuth>) -> Self {
        Self { http, base: base.into(), auth }
    }

    /// `{base}/spreadsheets/{id}/values/{range}{suffix}`, each part one encoded segment.
    fn values_url(&self, id: &str, range: &str, suffix: &str) -> String {
        url_with_segments(&self.base, &["spreadsheets", id, "values", &format!("{range}{suffix}")])
    }

    fn prepare(
        &self,
        operation: Operation,
        data: &Value,
        token: &SecretString,
    ) -> Result<PreparedRequest, PlatformError> {
        let id = data.get("spreadsheetId").and_then(Value::as_str).unwrap_or_default();
        let range = data.get("range").and_then(Value::as_str).unwrap_or_default();
        let rows = match (data.get("values"), data.get("value")) {
            (Some(v), _) if v.is_array() => v.clone(),
            (_, Some(single)) => json!([[single]]),
            _ => json!([]),
        };
        let request = match operation {
            Operation::SheetsAppend => PreparedRequest::new(Method::POST, self.values_url(id, range, ":append"))
                .query(&[("valueInputOption", "USER_ENTERED"), ("insertDataOption", "INSERT_ROWS")])
                .json(json!({"range": range, "majorDimension": "ROWS", "values": rows})),
            Operation::SheetsUpdate => PreparedRequest::new(Method::PUT, self.values_url(id, range, ""))
                .query(&[("valueInputOption", "USER_ENTERED")])
                .json(json!({"range": range, "majorDimension": "ROWS", "values": rows})),
            Operation::SheetsRead => PreparedRequest::new(Method::GET, self.values_url(id, range, "")),
            Operation::SheetsClear => {
                PreparedRequest::new(Method::POST, self.values_url(id, range, ":clear")).json(json!({}))
            }
            other => {
                return Err(PlatformError::new(
                    ErrorCode::ValidationError,
                    format!("{} is not a Sheets operation", other.name()),
                ));
            }
        };
        Ok(request.bearer(token))
    }
}

#[async_trait]
impl PlatformClient for SheetsClient {
    fn platform(&self) -> Platform {
        Platform::Sheets
    }

    async fn execute(&self, action: &Action, operation: Operation, _: &dyn Pacer) -> Result<Value, PlatformError> {
        let token = if action.dry_run { SecretString::from("") } else { self.auth.token().await? };
        let request = self.prepare(operation, &action.data, &token)?;
        if action.dry_run {
            return Ok(request.describe());
        }
        let body = request.send(&self.http, "Sheets", |s, h, b| classify(s, h, b, "Sheets")).await?.body;
        Ok(match operation {
            Operation::SheetsAppend => {
                let written = body.pointer("/updates/updatedRange").cloned().unwrap_or(Value::Null);
                let id = action.data.get("spreadsheetId").cloned().unwrap_or(Value::Null);
                with_inverse(body, inverse("sheets", "delete", json!({"spreadsheetId": id, "range": written})))
            }
            _ => body,
        })
    }
}
