//! Logs, with one redaction mechanism for every format: each formatted line (text or JSON)
//! passes through `Redactor` on its way out, so API keys, platform tokens, e-mail addresses,
//! private keys and any secret Baton was configured with never reach a log, whatever field or
//! message carried them. File contents are never logged at all; the redactor is the net.

use regex::Regex;
use std::io::Write;
use std::sync::{OnceLock, RwLock};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Patterns of what is never logged, and what each becomes.
const PATTERNS: &[(&str, &str)] = &[
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)", "[private key]"),
    (r"bk_[A-Za-z0-9]+_[A-Za-z0-9_\-]{16,}", "bk_[redacted]"),
    (r"xox[abposr]-[A-Za-z0-9\-]+", "xox[redacted]"),
    (r"(?i)(bearer|oauth)\s+[A-Za-z0-9._~+/=\-]{8,}", "$1 [redacted]"),
    (r"ya29\.[A-Za-z0-9._\-]+", "ya29.[redacted]"),
    (r"(secret|ntn)_[A-Za-z0-9]{8,}", "${1}_[redacted]"),
    (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "[email]"),
];

pub struct Redactor {
    patterns: Vec<(Regex, &'static str)>,
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    fn new() -> Self {
        let patterns = PATTERNS.iter().filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, *r))).collect();
        Self { patterns, secrets: RwLock::new(Vec::new()) }
    }

    /// The one redactor of this process.
    pub fn global() -> &'static Redactor {
        static R: OnceLock<Redactor> = OnceLock::new();
        R.get_or_init(Redactor::new)
    }

    /// A configured secret (a token, a key) that no pattern may know: never logged either.
    pub fn remember(&self, secret: &str) {
        if secret.len() >= 6
            && let Ok(mut s) = self.secrets.write()
            && !s.iter().any(|x| x == secret)
        {
            s.push(secret.to_owned());
        }
    }

    pub fn redact(&self, line: &str) -> String {
        let mut out = line.to_owned();
        if let Ok(secrets) = self.secrets.read() {
            for s in secrets.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "[redacted]");
                }
            }
        }
        for (re, with) in &self.patterns {
            if re.is_match(&out) {
                out = re.replace_all(&out, *with).into_owned();
            }
        }
        out
    }
}

/// A writer of one formatted event: it collects the line, then writes it redacted.
pub struct RedactedLine<W: Write> {
    buf: Vec<u8>,
    out: W,
}

impl<W: Write> Write for RedactedLine<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let line = Redactor::global().redact(&String::from_utf8_lossy(&self.buf));
        self.buf.clear();
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }
}

impl<W: Write> Drop for RedactedLine<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Makes redacted writers over `M`'s (stderr by default).
#[derive(Clone)]
pub struct Redacted<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacted<M> {
    type Writer = RedactedLine<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine { buf: Vec::new(), out: self.0.make_writer() }
    }
}

/// Crates that log whole request and response bodies at `trace` (items, messages, uploads):
/// never below `debug`, whatever the filter asks for.
const BODY_LOGGERS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "tungstenite",
];

/// Text lines (or JSON lines with `json`) on stderr, filtered by `filter` and never below
/// `debug` for the body loggers, always redacted.
pub fn init(filter: EnvFilter, json: bool, lambda: bool) {
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, fmt};
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(BODY_LOGGERS.iter().map(|t| (*t, LevelFilter::DEBUG)));
    let filter = filter.and(caps);
    let out = Redacted(std::io::stderr as fn() -> std::io::Stderr);
    let registry = tracing_subscriber::registry();
    let _ = match (json, lambda) {
        // Lambda stamps every line itself.
        (true, true) => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(false)
                    .without_time()
                    .with_target(false)
                    .with_writer(out)
                    .with_filter(filter),
            )
            .try_init(),
        (true, false) => registry.with(fmt::layer().json().with_writer(out).with_filter(filter)).try_init(),
        (false, _) => registry.with(fmt::layer().with_writer(out).with_filter(filter)).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tokens_addresses_and_remembered_secrets_never_pass() {
        let r = Redactor::new();
        r.remember("trello-token-abcdef");
        let line = r#"{"msg":"x","key":"bk_5c70accabfea_hopZhPGRkAF__jbspkyQwh9TP8","auth":"Bearer ya29.a0AfH6SMB","slack":"xoxb-123-456-abc","who":"alice.smith@example.com","t":"trello-token-abcdef","n":"secret_AbCdEf123456"}"#;
        let out = r.redact(line);
        for leak in ["hopZhPGRkAF", "ya29.a0", "xoxb-123", "alice.smith", "trello-token-abcdef", "AbCdEf123456"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(out.contains("[email]") && out.contains("bk_[redacted]"), "{out}");
        let pem = "key=-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY----- done";
        assert_eq!(r.redact(pem), "key=[private key] done");
        assert_eq!(r.redact("action a-1 completed in 12 ms"), "action a-1 completed in 12 ms", "the rest stays");
    }
}
