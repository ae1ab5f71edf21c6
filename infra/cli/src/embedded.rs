//! The embedded DynamoDB emulator (dynoxide). The runtime's SDK clients reach it in process
//! ([`crate::in_process`]: no socket, no signing); with `--expose-store` it is also served on
//! an ephemeral 127.0.0.1 port for tools that want to look at the database (the AWS CLI,
//! NoSQL Workbench), from its own thread and runtime. It has no auth: loopback only.

use anyhow::{Context, anyhow};
use baton_aws::calls::CallCounter;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::in_process::InProcess;

/// Where the runtime keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    /// A SQLite file under this directory (survives restarts).
    Dir(PathBuf),
    /// In memory: gone when the process ends.
    Memory,
}

impl DataLocation {
    pub fn describe(&self) -> String {
        match self {
            DataLocation::Dir(d) => d.join(DB_FILE).display().to_string(),
            DataLocation::Memory => "memory (nothing is kept after exit)".into(),
        }
    }
}

pub const DB_FILE: &str = "baton.db";
/// How often expired items (DynamoDB TTL) are deleted; the emulator has no sweeper of its own.
const TTL_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The loopback server of `--expose-store`: how to stop it, and its thread.
struct Exposed {
    shutdown: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

pub struct EmbeddedDynamo {
    /// The loopback endpoint, when the store is exposed.
    pub endpoint: Option<String>,
    db: dynoxide::Database,
    in_process: InProcess,
    emulator: Option<std::thread::JoinHandle<()>>,
    /// Dropped to stop the TTL sweeper.
    sweeper: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
    exposed: Option<Exposed>,
}

/// Deletes expired items every minute, on a thread of its own: the emulator steps aside
/// between pages of a sweep, so requests go on meanwhile.
fn sweep(db: dynoxide::Database) -> anyhow::Result<(mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("dynamodb-ttl".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TTL_SWEEP_EVERY) {
                match db.sweep_ttl() {
                    Ok(n) if n > 0 => debug!(deleted = n, "TTL sweep"),
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "TTL sweep failed"),
                }
            }
        })
        .context("starting the TTL sweeper")?;
    Ok((stop, thread))
}

fn open(location: &DataLocation) -> anyhow::Result<dynoxide::Database> {
    match location {
        DataLocation::Memory => dynoxide::Database::memory().map_err(|e| anyhow!("opening in-memory database: {e}")),
        DataLocation::Dir(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
            let file = dir.join(DB_FILE);
            let path = file.to_str().ok_or_else(|| anyhow!("data directory path is not UTF-8: {}", dir.display()))?;
            let db = dynoxide::Database::new(path).map_err(|e| anyhow!("opening {path}: {e}"))?;
            // synchronous=NORMAL: durable across process crashes (WAL), about twice the write
            // rate of the default FULL, which fsyncs every commit.
            db.disable_bulk_loading().map_err(|e| anyhow!("tuning {path}: {e}"))?;
            Ok(db)
        }
    }
}

/// Serves `db` on `listener` from a thread of its own until told to stop.
fn serve(db: dynoxide::Database, listener: std::net::TcpListener) -> anyhow::Result<Exposed> {
    let (shutdown, stop) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("dynamodb-endpoint".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    warn!(error = %e, "could not start the store endpoint's runtime");
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        warn!(error = %e, "store endpoint unusable");
                        return;
                    }
                };
                let stop = async {
                    let _ = stop.await;
                };
                if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, stop).await {
                    warn!(error = %e, "the store endpoint stopped with an error");
                }
            });
        })
        .context("starting the store endpoint's thread")?;
    Ok(Exposed { shutdown, thread })
}

impl EmbeddedDynamo {
    /// The emulator, reached in process only.
    pub fn start(location: &DataLocation) -> anyhow::Result<Self> {
        Self::start_with(location, false)
    }

    /// The emulator, also served on a loopback port when `expose` (`--expose-store`).
    pub fn start_with(location: &DataLocation, expose: bool) -> anyhow::Result<Self> {
        let db = open(location)?;
        let (mut endpoint, mut exposed) = (None, None);
        if expose {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the store endpoint")?;
            listener.set_nonblocking(true)?;
            endpoint = Some(format!("http://{}", listener.local_addr()?));
            exposed = Some(serve(db.clone(), listener)?);
        }
        let sweeper = Some(sweep(db.clone())?);
        let (in_process, emulator) = InProcess::start(db.clone()).context("starting the emulator thread")?;
        Ok(Self { endpoint, db, in_process, emulator: Some(emulator), sweeper, exposed })
    }

    /// An SDK client of this emulator, in process; `counter` counts its calls.
    pub fn client(&self, counter: Option<CallCounter>) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .endpoint_url("http://baton.in-process")
            .http_client(self.in_process.http_client())
            .allow_no_auth();
        if let Some(counter) = counter {
            config = config.interceptor(counter);
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    /// The database itself, for tools that measure it (its own API, no SDK).
    pub fn database(&self) -> dynoxide::Database {
        self.db.clone()
    }

    /// Stops serving and closes the database (flushing it), waiting for the threads.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some((stop, thread)) = self.sweeper.take() {
            drop(stop);
            let _ = thread.join();
        }
        if let Some(exposed) = self.exposed.take() {
            let _ = exposed.shutdown.send(());
            let _ = exposed.thread.join();
        }
        self.in_process.stop();
        if let Some(thread) = self.emulator.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EmbeddedDynamo {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// The default data directory, relative to where `baton serve` runs.
pub fn default_data_dir() -> &'static Path {
    Path::new(".baton")
}
