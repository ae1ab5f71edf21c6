//! `lambda-init`: cold-start cost of each function's release `bootstrap` — time from exec to
//! its first `GET /2018-06-01/runtime/invocation/next` on a minimal local Lambda Runtime API,
//! and its resident memory at that moment.
//!
//! Usage: `lambda-init [DIR]` where DIR holds `<function>/bootstrap` (default
//! `target/lambda`, where `cargo lambda build --release` puts them). Prints Markdown.

use axum::extract::State;
use axum::routing::get;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};

const FUNCTIONS: [&str; 6] = ["api", "ws", "ingest", "executor", "stream", "scheduler"];
const RUNS: usize = 15;

type Arrivals = Arc<Mutex<Option<mpsc::UnboundedSender<Instant>>>>;

async fn next(State(arrivals): State<Arrivals>) -> &'static str {
    if let Some(tx) = arrivals.lock().await.as_ref() {
        let _ = tx.send(Instant::now());
    }
    // Never hand out an invocation: the function waits here until it is killed.
    std::future::pending::<()>().await;
    ""
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/lambda".into()));
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new().route("/2018-06-01/runtime/invocation/next", get(next)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    println!("| function | bootstrap size | exec → first `/next`, median (of {RUNS}) | RSS then, median | target |");
    println!("|---|---|---|---|---|");
    for name in FUNCTIONS {
        let bin = dir.join(name).join("bootstrap");
        let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        let (mut times, mut rss) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (tx, mut rx) = mpsc::unbounded_channel();
            *arrivals.lock().await = Some(tx);
            let start = Instant::now();
            let mut child = Command::new(&bin)
                .env_clear()
                .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env("AWS_SESSION_TOKEN", "bench")
                .env("BATON_CRITICAL_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/c")
                .env("BATON_HIGH_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/h")
                .env("BATON_NORMAL_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/n")
                .env("BATON_LOW_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/l")
                .env("BATON_EVENTS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/e.fifo")
                .env("BATON_WS_ENDPOINT", "https://abc.execute-api.us-east-1.amazonaws.com/prod")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            let arrived = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
            let pid = child.id();
            let resident = rss_kib(pid);
            let _ = child.kill();
            let _ = child.wait();
            match arrived {
                Ok(Some(at)) => {
                    times.push((at - start).as_secs_f64() * 1000.0);
                    rss.push(resident as f64 / 1024.0);
                }
                _ => anyhow::bail!("{name} never asked for an invocation"),
            }
        }
        println!(
            "| {name} | {:.1} MB | {:.1} ms | {:.1} MB | ≤ 20 ms, ≤ 20 MB |",
            size as f64 / 1e6,
            median(&mut times),
            median(&mut rss)
        );
    }
    Ok(())
}
