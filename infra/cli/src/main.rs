//! `baton`: the command line (see `commands`). `baton serve` runs the local runtime.

mod client;
mod commands;
mod live;
mod output;

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
        Command::Submit(a) => commands::submit::run(&cli.globals, a).await,
        Command::Tail(a) => commands::tail::run(&cli.globals, a).await,
        Command::Actions(c) => commands::actions::run(&cli.globals, c).await,
        Command::Approvals(c) => commands::approvals::run(&cli.globals, c).await,
        Command::Workflows(c) => commands::workflows::run(&cli.globals, c).await,
        Command::Metrics(a) => commands::metrics::run(&cli.globals, a).await,
        Command::Console(a) => commands::console::run(&cli.globals, a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut commands::Cli::command(), "baton", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}
