//! Slack's request signature: the authentication of `POST /api/slack/interactions`.
//!
//! `X-Slack-Signature` is `v0=` + hex HMAC-SHA256, keyed by the app's signing secret, of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}`; a timestamp more than five minutes from now
//! is refused (a replay). The comparison is constant-time (`Mac::verify_slice`).
//!
//! Pure; must not import any adapter crate.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request is not Slack's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Slack interactions are not configured: set SLACK_SIGNING_SECRET")]
    NotConfigured,
    #[error("the X-Slack-Request-Timestamp header is missing or not a number")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes from now (a replay?)")]
    Stale,
    #[error("the X-Slack-Signature header is missing or malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
}

/// The signature Slack sends for `body` at `timestamp` (for tests and tools).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Checks a request's signature headers against `secret` at `now`.
pub fn verify(
    secret: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let secret = secret.filter(|s| !s.is_empty()).ok_or(SignatureError::NotConfigured)?;
    let timestamp = timestamp.map(str::trim).ok_or(SignatureError::BadTimestamp)?;
    let seconds: i64 = timestamp.parse().map_err(|_| SignatureError::BadTimestamp)?;
    if (now.timestamp() - seconds).abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale);
    }
    let hex_part = signature.and_then(|s| s.trim().strip_prefix("v0=")).ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    mac(secret, timestamp, body).verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's own example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("time")
    }

    #[test]
    fn slacks_published_example_verifies() {
        let now = at(1_531_420_618 + 30);
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIGNATURE);
        assert_eq!(verify(Some(SECRET), Some(TS), Some(SIGNATURE), BODY.as_bytes(), now), Ok(()));
    }

    #[test]
    fn anything_else_is_refused() {
        let now = at(1_531_420_618);
        let body = BODY.as_bytes();
        let check = |secret, ts, sig, body: &[u8], now| verify(secret, ts, sig, body, now);
        assert_eq!(check(None, Some(TS), Some(SIGNATURE), body, now), Err(SignatureError::NotConfigured));
        assert_eq!(check(Some(SECRET), None, Some(SIGNATURE), body, now), Err(SignatureError::BadTimestamp));
        assert_eq!(check(Some(SECRET), Some(TS), None, body, now), Err(SignatureError::Malformed));
        assert_eq!(check(Some(SECRET), Some(TS), Some("v0=zz"), body, now), Err(SignatureError::Malformed));
        assert_eq!(check(Some("other"), Some(TS), Some(SIGNATURE), body, now), Err(SignatureError::Mismatch));
        assert_eq!(check(Some(SECRET), Some(TS), Some(SIGNATURE), b"tampered", now), Err(SignatureError::Mismatch));
        let late = at(1_531_420_618 + 301);
        assert_eq!(check(Some(SECRET), Some(TS), Some(SIGNATURE), body, late), Err(SignatureError::Stale));
    }
}
