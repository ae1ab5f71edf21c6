//! The `baton` command line: one subcommand per noun and verb, global flags accepted before
//! or after the verb.

pub mod actions;
pub mod approvals;
pub mod console;
pub mod keys;
pub mod metrics;
pub mod replay;
pub mod serve;
pub mod submit;
pub mod tail;
pub mod workflows;

use clap::{Parser, Subcommand};

pub const EXIT_CODES: &str = "Exit codes: 0 ok; 1 the action or request failed (refused, invalid, \
not found, failed for good, not confirmed); 2 usage; 3 Baton unreachable or a server error.\n\n\
Against a deployed stack: --url is the stack's RestApiUrl output and --ws-url its WebSocketUrl.";

const EXAMPLES: &str = "Examples:\n  baton serve\n  export BATON_API_KEY=bk_…\n  \
baton submit action.json --wait\n  baton tail --events 'action:*' --platform slack\n  \
baton approvals list\n  baton replay --failed --since 1h\n  baton console";

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: the orchestration layer of the AI operations command center",
    before_long_help = EXAMPLES,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Clone)]
pub struct Globals {
    /// Baton's API: a local `baton serve`, or a stack's REST URL.
    #[arg(long, global = true, env = "BATON_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The WebSocket (default: the API's host, path /ws); a stack's WebSocketUrl output.
    #[arg(long, global = true, env = "BATON_WS_URL")]
    pub ws_url: Option<String>,
    /// The API key to call it with.
    #[arg(long, global = true, env = "BATON_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// JSON output, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Globals {
    pub fn ws_url(&self) -> String {
        crate::live::ws_url(&self.url, self.ws_url.as_deref())
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole system locally: REST + WebSocket on one port, embedded DynamoDB, workers.
    Serve(serve::ServeArgs),
    /// Submit an action; --wait follows it to its end.
    Submit(submit::SubmitArgs),
    /// Follow the live events.
    Tail(tail::TailArgs),
    /// Read actions: one, or the newest.
    #[command(subcommand)]
    Actions(actions::ActionsCommand),
    /// The approvals inbox: list, show, approve, reject.
    #[command(subcommand)]
    Approvals(approvals::ApprovalsCommand),
    /// Workflows: list, show, cancel.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// Replay what ended badly: actions by id, a filtered set, or a dead-letter queue.
    Replay(replay::ReplayArgs),
    /// Throughput, success rate and latency over a window.
    Metrics(metrics::MetricsArgs),
    /// API keys: create, list, revoke.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Open the console in a browser, signed in.
    Console(console::ConsoleArgs),
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  baton completions bash > ~/.local/share/bash-completion/completions/baton\n  \
baton completions zsh > \"${fpath[1]}/_baton\""
    )]
    Completions { shell: clap_complete::Shell },
}

/// A point in time: `90s`, `30m`, `1h`, `7d` ago, or a time or date as the API takes it.
#[derive(Clone, Debug)]
pub struct Since(pub String);

impl std::str::FromStr for Since {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let unit = s.chars().last().unwrap_or(' ');
        let secs = match (s[..s.len().saturating_sub(1)].parse::<i64>(), unit) {
            (Ok(n), 's') => Some(n),
            (Ok(n), 'm') => Some(n * 60),
            (Ok(n), 'h') => Some(n * 3600),
            (Ok(n), 'd') => Some(n * 86_400),
            _ => None,
        };
        match secs {
            Some(n) if n >= 0 => Ok(Self(
                (chrono::Utc::now() - chrono::Duration::seconds(n))
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            )),
            _ if s.len() >= 10 && s.as_bytes()[4] == b'-' => Ok(Self(s.to_owned())),
            _ => Err(format!("'{s}' is neither a duration ago (30m, 1h, 7d) nor a time (2026-12-01T10:00:00Z)")),
        }
    }
}

/// `?a=1&b=2` of the values present.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() { q } else { format!("?{q}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_ago_or_a_time() {
        let hour: Since = "1h".parse().expect("1h");
        let then = chrono::DateTime::parse_from_rfc3339(&hour.0).expect("a time");
        let ago = chrono::Utc::now().signed_duration_since(then).num_seconds();
        assert!((3595..=3605).contains(&ago), "{ago}");
        assert_eq!("2026-12-01".parse::<Since>().expect("date").0, "2026-12-01");
        assert!("soon".parse::<Since>().is_err());
        assert_eq!(query(&[("a", Some("x y".into())), ("b", None)]), "?a=x+y");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
