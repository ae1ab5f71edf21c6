//! `baton keys create | list | revoke`: against a running Baton (`--url`, with an admin
//! `--key`), or offline on a data directory (`--data-dir`) when none is running.

use baton_aws::access::{API_KEYS, DynamoKeyStore, DynamoRateCounter, RATE_LIMITS};
use baton_aws::config::StoreConfig;
use baton_cli::DataLocation;
use baton_cli::embedded::EmbeddedDynamo;
use baton_domain::auth::{ApiKey, KeyRateLimit, Scope};
use baton_domain::ports::SystemClock;
use baton_domain::usecases::Access;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

use super::Globals;
use crate::client::{Client, Failure, exit};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is printed this once.
    #[command(
        after_help = "Example:\n  baton keys create --name dashboard --scope actions:read --scope approvals:write"
    )]
    Create(CreateArgs),
    /// List the keys (never their secrets).
    List(Offline),
    /// Revoke a key: it stops working at once.
    #[command(after_help = "Example:\n  baton keys revoke 5c70accabfea")]
    Revoke {
        /// The key's id (the part after `bk_`).
        id: String,
        #[command(flatten)]
        offline: Offline,
    },
}

#[derive(Args)]
pub struct Offline {
    /// Work on this data directory directly instead of asking a running Baton.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// A scope: actions:write, actions:read, approvals:write, context:read, admin (repeatable).
    #[arg(long = "scope", required = true, value_parser = parse_scope)]
    scopes: Vec<Scope>,
    /// When the key stops working (RFC 3339).
    #[arg(long)]
    expires_at: Option<String>,
    /// Requests a minute in each route group, above the default of the contract.
    #[arg(long, requires = "per_hour")]
    per_minute: Option<u64>,
    /// Requests an hour in all.
    #[arg(long, requires = "per_minute")]
    per_hour: Option<u64>,
    #[command(flatten)]
    offline: Offline,
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| format!("'{s}' is not a scope; allowed: {}", Scope::allowed()))
}

/// A key's record as the API shows it (also what offline mode prints).
fn shown(k: &ApiKey) -> Value {
    let mut v = json!({"id": k.id, "name": k.name, "scopes": k.scopes, "createdAt": k.created_at});
    for (n, t) in [("expiresAt", k.expires_at), ("revokedAt", k.revoked_at), ("lastUsedAt", k.last_used_at)] {
        if let Some(t) = t {
            v[n] = json!(t);
        }
    }
    v
}

/// The keys of a data directory, through the same store adapter `baton serve` uses.
async fn offline(dir: &std::path::Path) -> Result<(EmbeddedDynamo, Access), Failure> {
    let db = EmbeddedDynamo::start(&DataLocation::Dir(dir.to_path_buf()))?;
    let client = db.client(None);
    let config = StoreConfig::from_env().map_err(|e| Failure::new(2, e.to_string()))?;
    for (t, name) in [(API_KEYS, &config.api_keys_table), (RATE_LIMITS, &config.rate_limits_table)] {
        t.ensure(&client, name).await.map_err(|e| Failure::new(exit::SERVER, e))?;
    }
    let access = Access {
        keys: Arc::new(DynamoKeyStore::new(client.clone(), &config.api_keys_table)),
        counters: Arc::new(DynamoRateCounter::new(client, &config.rate_limits_table)),
        limits: config.api_limits,
        clock: Arc::new(SystemClock),
    };
    Ok((db, access))
}

fn domain(e: baton_domain::DomainError) -> Failure {
    Failure::new(if e.is_retriable() { exit::SERVER } else { exit::FAILED }, e.envelope().error.message)
}

pub async fn run(globals: &Globals, command: KeysCommand) -> Result<(), Failure> {
    let client = Client::new(&globals.url, globals.key.clone());
    let out = match command {
        KeysCommand::Create(a) => {
            let mut body = json!({"name": a.name, "scopes": a.scopes});
            if let Some(t) = &a.expires_at {
                body["expiresAt"] = json!(t);
            }
            if let (Some(m), Some(h)) = (a.per_minute, a.per_hour) {
                body["rateLimit"] = json!(KeyRateLimit { per_minute: m, per_hour: h });
            }
            match &a.offline.data_dir {
                None => client.post("/api/keys", &body).await?,
                Some(dir) => {
                    let request =
                        baton_domain::auth::parse_key_request(&body, chrono::Utc::now()).map_err(|fields| {
                            Failure::new(2, fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
                        })?;
                    let (db, access) = offline(dir).await?;
                    let (key, text) = access.create_key(request).await.map_err(domain)?;
                    db.stop();
                    let mut v = shown(&key);
                    v["key"] = json!(text);
                    v
                }
            }
        }
        KeysCommand::List(o) => match &o.data_dir {
            None => client.get("/api/keys").await?,
            Some(dir) => {
                let (db, access) = offline(dir).await?;
                let keys = access.list_keys().await.map_err(domain)?;
                db.stop();
                json!({"keys": keys.iter().map(shown).collect::<Vec<_>>()})
            }
        },
        KeysCommand::Revoke { id, offline: o } => match &o.data_dir {
            None => client.call(reqwest::Method::DELETE, &format!("/api/keys/{id}"), None).await?,
            Some(dir) => {
                let (db, access) = offline(dir).await?;
                let key = access.revoke_key(&id).await.map_err(domain)?;
                db.stop();
                shown(&key)
            }
        },
    };
    print(globals, &out);
    Ok(())
}

fn print(globals: &Globals, out: &Value) {
    if globals.json {
        println!("{}", serde_json::to_string_pretty(out).unwrap_or_default());
        return;
    }
    if let Some(text) = out["key"].as_str() {
        println!("{text}");
        eprintln!("(key {} — shown once: keep it safe)", out["id"].as_str().unwrap_or_default());
        return;
    }
    let keys = out["keys"].as_array().cloned().unwrap_or_else(|| vec![out.clone()]);
    println!("{:<14} {:<24} {:<40} {:<9} CREATED", "ID", "NAME", "SCOPES", "STATE");
    for k in keys {
        let scopes: Vec<&str> =
            k["scopes"].as_array().map(|s| s.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let state = if k["revokedAt"].is_string() { "revoked" } else { "active" };
        println!(
            "{:<14} {:<24} {:<40} {:<9} {}",
            k["id"].as_str().unwrap_or_default(),
            k["name"].as_str().unwrap_or_default(),
            scopes.join(","),
            state,
            k["createdAt"].as_str().unwrap_or_default()
        );
    }
}
