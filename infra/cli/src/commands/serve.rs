//! `baton serve`: the local runtime.

use anyhow::Context;
use baton_aws::config::StoreConfig;
use baton_aws::telemetry::Redactor;
use baton_cli::embedded::default_data_dir;
use baton_cli::scheduler::DEFAULT_WORKERS;
use baton_cli::{DataLocation, Runtime, ServeOptions};
use baton_domain::model::Priority;
use baton_platforms::PlatformSettings;
use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "Example:\n  baton serve --port 3000 --data-dir .baton\n\n\
On a first start (no key yet) Baton prints an admin API key once. Set BATON_ADMIN_KEY to \
choose the operator's key instead.")]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Address to listen on. Every request needs an API key, so `0.0.0.0` is safe to offer.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Directory of the database file.
    #[arg(long, conflicts_with = "memory")]
    data_dir: Option<PathBuf>,
    /// Keep everything in memory (lost on exit).
    #[arg(long)]
    memory: bool,
    /// Workers per priority, e.g. `critical=8,high=8,normal=16,low=8`.
    #[arg(long, value_parser = parse_workers)]
    workers: Option<[u32; 4]>,
    /// Also serve the database on a loopback port (DynamoDB's API, no auth) for tools that
    /// want to look at it, e.g. `aws dynamodb scan --endpoint-url <printed URL>`.
    #[arg(long)]
    expose_store: bool,
}

fn parse_workers(text: &str) -> Result<[u32; 4], String> {
    let mut workers = DEFAULT_WORKERS;
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, count) = part.split_once('=').ok_or_else(|| format!("'{part}': expected priority=count"))?;
        let priority = Priority::parse(name.trim())
            .ok_or_else(|| format!("'{name}' is not a priority; allowed: {}", Priority::allowed()))?;
        let count: u32 = count.trim().parse().map_err(|_| format!("'{count}' is not a whole number"))?;
        if !(1..=256).contains(&count) {
            return Err(format!("{name}: between 1 and 256 workers"));
        }
        workers[priority.index()] = count;
    }
    Ok(workers)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let data = if args.memory {
        DataLocation::Memory
    } else {
        DataLocation::Dir(args.data_dir.unwrap_or_else(|| default_data_dir().to_path_buf()))
    };
    let platforms = PlatformSettings::from_env();
    for secret in platforms.secret_values() {
        Redactor::global().remember(&secret);
    }
    let mut opts = ServeOptions::new(
        args.bind,
        args.port,
        data,
        platforms,
        args.workers.unwrap_or(DEFAULT_WORKERS),
        StoreConfig::from_env()?,
    );
    opts.expose_store = args.expose_store;
    opts.admin_key = std::env::var("BATON_ADMIN_KEY").ok().filter(|k| !k.trim().is_empty());
    if let Some(k) = &opts.admin_key {
        Redactor::global().remember(k);
    }
    let runtime = Runtime::start(opts).await.context("starting baton")?;
    if let Some(key) = &runtime.first_admin_key {
        // The one time a secret is ever printed: a first start, no key yet.
        println!("BATON ADMIN KEY (shown once, keep it safe): {key}");
    }
    println!("Baton is listening on {} (WebSocket: ws://{}/ws)", runtime.url(), runtime.addr);
    if let Some(endpoint) = &runtime.dynamodb_endpoint {
        println!("The database is exposed at {endpoint} (DynamoDB's API, no auth, this machine only)");
    }
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    tracing::info!("stopping: letting running attempts finish");
    runtime.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_counts_parse_per_priority() {
        assert_eq!(parse_workers("critical=2,low=1").expect("valid"), [2, 8, 16, 1]);
        assert!(parse_workers("urgent=2").is_err());
        assert!(parse_workers("low=0").is_err());
    }
}
