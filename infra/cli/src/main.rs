//! `baton`: the command line (see `commands`). `baton serve` runs the local runtime.

mod client;
mod commands;

use baton_aws::telemetry;
use clap::Parser;
use commands::{Cli, Command};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn init_logging() {
    let filter = EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| EnvFilter::new("info,dynoxide=error"));
    telemetry::init(filter, std::env::var("BATON_LOG_FORMAT").is_ok_and(|v| v == "json"), false);
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args).await.map_err(client::Failure::from),
        Command::Keys(c) => commands::keys::run(&cli.globals, c).await,
        Command::Replay(a) => commands::replay::run(&cli.globals, a).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}
