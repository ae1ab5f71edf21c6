//! The embedded DynamoDB emulator (dynoxide): served on an ephemeral 127.0.0.1 port from its
//! own thread and runtime, and driven by the same SDK adapter as production.
//!
//! Why its own thread: every emulator request runs synchronously behind one lock, so sharing
//! the application's runtime would stall it (DESIGN §8). It has no auth: loopback only.

use anyhow::{Context, anyhow};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{debug, warn};

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

pub struct EmbeddedDynamo {
    pub endpoint: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
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

impl EmbeddedDynamo {
    pub fn start(location: &DataLocation) -> anyhow::Result<Self> {
        let db = open(location)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the emulator port")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dynamodb-emulator".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        warn!(error = %e, "could not start the emulator runtime");
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            warn!(error = %e, "emulator listener unusable");
                            return;
                        }
                    };
                    let sweeper = db.clone();
                    tokio::spawn(async move {
                        let mut every = tokio::time::interval(TTL_SWEEP_EVERY);
                        every.tick().await;
                        loop {
                            every.tick().await;
                            let db = sweeper.clone();
                            match tokio::task::spawn_blocking(move || db.sweep_ttl()).await {
                                Ok(Ok(n)) if n > 0 => debug!(deleted = n, "TTL sweep"),
                                Ok(Err(e)) => warn!(error = %e, "TTL sweep failed"),
                                _ => {}
                            }
                        }
                    });
                    if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, async {
                        let _ = rx.await;
                    })
                    .await
                    {
                        warn!(error = %e, "emulator stopped with an error");
                    }
                });
            })
            .context("starting the emulator thread")?;
        Ok(Self { endpoint: format!("http://{addr}"), shutdown: Some(tx), thread: Some(thread) })
    }

    /// Stops serving and closes the database (flushing it), waiting for the thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
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
