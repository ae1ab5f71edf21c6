//! `baton serve`: the whole system in one process — the same router, store adapter, use cases
//! and event derivation as the Lambdas, on the embedded emulator and an in-process scheduler.

use anyhow::Context;
use baton_aws::access::{API_KEYS, DynamoKeyStore, DynamoRateCounter, RATE_LIMITS};
use baton_aws::approvals::{APPROVALS, DynamoApprovalStore};
use baton_aws::config::StoreConfig;
use baton_aws::keys::{DynamoKeys, IDEMPOTENCY};
use baton_aws::metrics::{DynamoMetricsStore, METRICS};
use baton_aws::platform_state::{DynamoPlatformState, PLATFORM_STATE};
use baton_aws::store::DynamoActionStore;
use baton_aws::tables;
use baton_aws::workflows::{DynamoWorkflowStore, WORKFLOWS};
use baton_domain::model::Platform;
use baton_domain::ports::{ActionQueue, ActionStore, Clock, Notifier, PlatformStateStore, SystemClock};
use baton_domain::usecases::{
    Access, Approvals, Executor, ExecutorParts, Handoff, Reactor, SlackNotices, Submitter, Workflows, recover,
};
use baton_http::hub::Hub;
use baton_http::{AppState, HealthSource, SlackSettings, router};
use baton_platforms::PlatformSettings;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::background::{publish_metrics, publish_queue_updates, sweep};
use crate::embedded::{DataLocation, EmbeddedDynamo};
use crate::feed::{ChangeFeed, FeedingApprovals, FeedingPlatformState, FeedingStore, FeedingWorkflows, count, react};
use crate::scheduler::{DEFAULT_WORKERS, LocalQueue};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: IpAddr,
    pub port: u16,
    pub data: DataLocation,
    pub platforms: PlatformSettings,
    pub workers: [u32; 4],
    pub store: StoreConfig,
    /// `BATON_ADMIN_KEY`: accepted as an admin key, exempt from rate limits (automation,
    /// tests). Stored hashed, never logged.
    pub admin_key: Option<String>,
    /// `--expose-store`: also serve the database on a loopback port, for tools.
    pub expose_store: bool,
    #[cfg(feature = "test-support")]
    pub hooks: TestHooks,
}

/// What tests and benchmarks may ask of a runtime (feature `test-support`).
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, Default)]
pub struct TestHooks {
    /// Counts the runtime's DynamoDB calls.
    pub dynamodb_calls: Option<baton_aws::calls::CallCounter>,
    /// Accept and queue, but hold the workers until `Runtime::resume_workers`.
    pub start_paused: bool,
}

impl ServeOptions {
    pub fn new(
        bind: IpAddr,
        port: u16,
        data: DataLocation,
        platforms: PlatformSettings,
        workers: [u32; 4],
        store: StoreConfig,
    ) -> Self {
        Self {
            bind,
            port,
            data,
            platforms,
            workers,
            store,
            admin_key: None,
            expose_store: false,
            #[cfg(feature = "test-support")]
            hooks: TestHooks::default(),
        }
    }

    /// In memory on an ephemeral loopback port, no credentials: for tests.
    pub fn ephemeral() -> Self {
        let store = StoreConfig::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults are valid"));
        let platforms = PlatformSettings::from_lookup(|_| None);
        Self::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, DataLocation::Memory, platforms, DEFAULT_WORKERS, store)
    }
}

pub struct Runtime {
    pub addr: SocketAddr,
    /// The database's loopback endpoint, with `--expose-store`.
    pub dynamodb_endpoint: Option<String>,
    pub boot_id: String,
    /// The admin key created on a first start (no key at all), to be shown this once.
    pub first_admin_key: Option<String>,
    pub hub: Arc<Hub>,
    pub queue: Arc<LocalQueue>,
    shutdown: watch::Sender<bool>,
    go: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
    dynamo: EmbeddedDynamo,
}

impl Runtime {
    pub async fn start(opts: ServeOptions) -> anyhow::Result<Runtime> {
        let dynamo = EmbeddedDynamo::start_with(&opts.data, opts.expose_store)?;
        #[cfg(feature = "test-support")]
        let calls = opts.hooks.dynamodb_calls.clone();
        #[cfg(not(feature = "test-support"))]
        let calls = None;
        let client = dynamo.client(calls);
        let redone = tables::ACTIONS
            .ensure(&client, &opts.store.actions_table)
            .await
            .map_err(anyhow::Error::msg)
            .context("preparing the actions table")?;
        if redone.contains(&tables::index::RECENT) {
            // A database of an earlier version: its actions lack the recent index's phase.
            DynamoActionStore::new(client.clone(), &opts.store.actions_table, opts.store.retention)
                .backfill_phase()
                .await
                .context("completing the actions stored by an earlier version")?;
        }
        PLATFORM_STATE
            .ensure(&client, &opts.store.platform_state_table)
            .await
            .map_err(anyhow::Error::msg)
            .context("preparing the platform state table")?;
        for (table, name) in [
            (IDEMPOTENCY, &opts.store.idempotency_table),
            (API_KEYS, &opts.store.api_keys_table),
            (RATE_LIMITS, &opts.store.rate_limits_table),
            (APPROVALS, &opts.store.approvals_table),
            (WORKFLOWS, &opts.store.workflows_table),
            (METRICS, &opts.store.metrics_table),
        ] {
            table
                .ensure(&client, name)
                .await
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("preparing {name}"))?;
        }

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let hub = Arc::new(Hub::default());
        let notifier: Arc<dyn Notifier> = hub.clone();
        let (feed, feed_task, reactions, ended) = ChangeFeed::start(notifier.clone());
        let dynamo_store: Arc<dyn ActionStore> =
            Arc::new(DynamoActionStore::new(client.clone(), &opts.store.actions_table, opts.store.retention));
        let store: Arc<dyn ActionStore> = Arc::new(FeedingStore::new(dynamo_store, feed.clone()));
        let platform_state: Arc<dyn PlatformStateStore> = Arc::new(FeedingPlatformState::new(
            Arc::new(DynamoPlatformState::new(client.clone(), &opts.store.platform_state_table)),
            feed.clone(),
        ));
        let approval_store = Arc::new(FeedingApprovals::new(
            Arc::new(DynamoApprovalStore::new(client.clone(), &opts.store.approvals_table, opts.store.retention)),
            feed.clone(),
        ));
        let workflow_store = Arc::new(FeedingWorkflows::new(
            Arc::new(DynamoWorkflowStore::new(client.clone(), &opts.store.workflows_table, opts.store.retention)),
            feed,
        ));
        let workflow_keys = Arc::new(DynamoKeys::new(client.clone(), &opts.store.workflows_table));
        let keys = Arc::new(DynamoKeys::new(client.clone(), &opts.store.idempotency_table));
        let access = Access::serving(
            Arc::new(DynamoKeyStore::new(client.clone(), &opts.store.api_keys_table)),
            Arc::new(DynamoRateCounter::new(client.clone(), &opts.store.rate_limits_table)),
            opts.store.api_limits,
            clock.clone(),
        );
        // Auth is always on. `BATON_ADMIN_KEY` is the operator's key; without any key at all,
        // a first admin key is made and shown once.
        if let Some(text) = &opts.admin_key {
            access.accept_operator_key(text).await.context("storing BATON_ADMIN_KEY")?;
        }
        let first_admin_key = access.first_admin_key().await.context("creating the first admin key")?;
        let queue = Arc::new(LocalQueue::new(opts.workers));

        let boot_id = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let worker_prefix = format!("{boot_id}/");
        // The table is the truth: whatever a previous run left unfinished is work again.
        let recovered = recover(store.as_ref(), clock.as_ref(), &worker_prefix).await?;
        let recovered_count = recovered.len();
        for (item, delay) in recovered {
            queue.enqueue(item, delay).await?;
        }

        // No stream here: the submitter queues every action itself.
        let submitter =
            Submitter { store: store.clone(), queue: queue.clone(), clock: clock.clone(), handoff: Handoff::NONE };
        let registry = opts.platforms.registry();
        let approvals = Approvals {
            approvals: approval_store,
            actions: store.clone(),
            submitter: submitter.clone(),
            platforms: Arc::new(registry.clone()),
            clock: clock.clone(),
            slack: SlackNotices {
                configured: opts.platforms.has_credentials(Platform::Slack),
                default_channel: opts.store.approval_channel.clone(),
            },
        };
        let workflows = Workflows {
            workflows: workflow_store,
            keys: workflow_keys,
            actions: store.clone(),
            submitter: submitter.clone(),
            approvals: approvals.clone(),
            clock: clock.clone(),
        };
        let executor = Executor::compose(ExecutorParts {
            store: store.clone(),
            queue: queue.clone(),
            platform_state: platform_state.clone(),
            platforms: registry,
            limits: opts.store.limits.clone(),
            clock: clock.clone(),
            worker_id: String::new(),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        #[cfg(feature = "test-support")]
        let paused = opts.hooks.start_paused;
        #[cfg(not(feature = "test-support"))]
        let paused = false;
        let (go, go_rx) = watch::channel(!paused);
        let workers = queue.spawn_workers(&executor, &worker_prefix, go_rx, shutdown_rx.clone());

        let configured = Platform::ALL.iter().copied().filter(|p| opts.platforms.has_credentials(*p)).collect();
        let metrics = baton_domain::usecases::Metrics {
            store: Arc::new(DynamoMetricsStore::new(client.clone(), &opts.store.metrics_table, opts.store.retention)),
            clock: clock.clone(),
        };
        let history = baton_domain::usecases::History {
            store: store.clone(),
            clock: clock.clone(),
            retention: opts.store.retention,
        };
        let state = AppState {
            submitter,
            store,
            queue: queue.clone(),
            keys,
            hub: Some(hub.clone()),
            access,
            cors_origins: opts.store.cors_origins.clone(),
            approvals: approvals.clone(),
            workflows: workflows.clone(),
            operator: baton_domain::usecases::Operator::over(&approvals),
            history,
            metrics: metrics.clone(),
            // Nothing dead-letters locally: an action that cannot run fails, in the table.
            dead_letters: None,
            console: baton_http::console::ConsoleSettings::default(),
            slack: SlackSettings {
                signing_secret: opts.platforms.signing_secret(),
                responder: Some(opts.platforms.slack_responder()),
            },
            health: HealthSource { states: platform_state, limits: opts.store.limits.clone(), configured },
        };
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(opts.bind, opts.port))
            .await
            .with_context(|| format!("binding {}:{}", opts.bind, opts.port))?;
        let addr = listener.local_addr()?;
        let mut server_shutdown = shutdown_rx;
        let app = router(state);
        let server = tokio::spawn(async move {
            let stop = async move {
                let _ = server_shutdown.wait_for(|stop| *stop).await;
            };
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        let reactor =
            tokio::spawn(react(reactions, Reactor { approvals: approvals.clone(), workflows: workflows.clone() }));
        let sweeper = tokio::spawn(sweep(approvals, workflows, clock.clone()));
        let ticker = tokio::spawn(publish_queue_updates(queue.clone(), notifier, clock));
        let counter = tokio::spawn(count(ended, metrics.clone()));
        let live = tokio::spawn(publish_metrics(metrics, queue.clone(), hub.clone()));
        info!(
            %addr,
            data = %opts.data.describe(),
            recovered = recovered_count,
            platforms = ?opts.platforms.configured(),
            "baton is serving"
        );
        Ok(Runtime {
            addr,
            dynamodb_endpoint: dynamo.endpoint.clone(),
            boot_id,
            first_admin_key,
            hub,
            queue,
            shutdown,
            go,
            workers,
            background: vec![feed_task, ticker, reactor, sweeper, counter, live],
            server,
            dynamo,
        })
    }

    /// Lets the workers of a runtime started paused begin.
    #[cfg(feature = "test-support")]
    pub fn resume_workers(&self) {
        let _ = self.go.send(true);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: workers finish the attempt they are on, the server drains, the database
    /// is closed.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        // Workers still held (started paused) end when the release can no longer come.
        drop(self.go);
        for w in self.workers {
            let _ = w.await;
        }
        let _ = self.server.await;
        for t in self.background {
            t.abort();
        }
        let dynamo = self.dynamo;
        let _ = tokio::task::spawn_blocking(move || dynamo.stop()).await;
    }

    /// Abrupt stop, as a crash would leave things: every task is dropped mid-flight. Only the
    /// database is closed cleanly (a real crash leaves SQLite's WAL to recover on open).
    #[cfg(feature = "test-support")]
    pub async fn crash(self) {
        for w in &self.workers {
            w.abort();
        }
        self.server.abort();
        for t in &self.background {
            t.abort();
        }
        let dynamo = self.dynamo;
        let _ = tokio::task::spawn_blocking(move || dynamo.stop()).await;
    }
}
