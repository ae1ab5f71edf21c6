//! The `baton` command line: one subcommand per noun and verb, global flags accepted before
//! or after the verb.

pub mod keys;
pub mod replay;
pub mod serve;

use clap::{Parser, Subcommand};

pub const EXIT_CODES: &str = "Exit codes: 0 ok; 1 the action or request failed (refused, invalid, \
not found, failed for good); 2 usage; 3 Baton unreachable or a server error.";

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: the orchestration layer of the AI operations command center",
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
    /// The API key to call it with.
    #[arg(long, global = true, env = "BATON_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// JSON output, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole system locally: REST + WebSocket on one port, embedded DynamoDB, workers.
    Serve(serve::ServeArgs),
    /// API keys: create, list, revoke.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Replay what ended badly: actions by id, a filtered set, or a dead-letter queue.
    Replay(replay::ReplayArgs),
}
