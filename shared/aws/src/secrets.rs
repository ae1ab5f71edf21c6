//! Platform credentials on AWS: one Secrets Manager secret (a JSON object of the same names
//! the local runtime reads from the environment: `SLACK_BOT_TOKEN`, `NOTION_TOKEN`,
//! `TRELLO_KEY`, `TRELLO_TOKEN`, `GOOGLE_SERVICE_ACCOUNT_JSON`, ...), read once per cold start.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use std::collections::HashMap;

/// The secret's fields; `Err` names the secret and why it could not be used.
pub async fn read_platform_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<HashMap<String, String>, String> {
    let resp = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| format!("reading secret {name}: {}", DisplayErrorContext(&e)))?;
    let text = resp.secret_string().ok_or_else(|| format!("secret {name} has no string value"))?;
    parse(text).map_err(|e| format!("secret {name}: {e}"))
}

/// The platform secret named by `BATON_PLATFORM_SECRET` (once per cold start); empty when
/// none is named (credentials then come from the environment).
pub async fn platform_secret(sdk: &aws_config::SdkConfig) -> Result<HashMap<String, String>, String> {
    match std::env::var("BATON_PLATFORM_SECRET").ok().filter(|s| !s.is_empty()) {
        Some(name) => read_platform_secret(&aws_sdk_secretsmanager::Client::new(sdk), &name).await,
        None => Ok(HashMap::new()),
    }
}

/// A JSON object of strings; a nested object (a service account key) is kept as its JSON text.
pub fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    Ok(obj.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_stay_strings_and_objects_become_their_json() {
        let m =
            super::parse(r#"{"SLACK_BOT_TOKEN": "xoxb-1", "GOOGLE_SERVICE_ACCOUNT_JSON": {"client_email": "a@b"}}"#)
                .expect("ok");
        assert_eq!(m["SLACK_BOT_TOKEN"], "xoxb-1");
        assert_eq!(m["GOOGLE_SERVICE_ACCOUNT_JSON"], r#"{"client_email":"a@b"}"#);
        assert!(super::parse("[1]").is_err());
    }
}
