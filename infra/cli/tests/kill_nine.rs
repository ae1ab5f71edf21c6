//! `baton serve` as its own process, killed with SIGKILL at random moments under load, five
//! times over one data directory. At the end every accepted action (every `202`) has finished,
//! none finished twice, and the platform saw a second request only for an action that was
//! killed in the middle of its call (delivery to platforms is at-least-once) — each listed.
#![allow(clippy::zombie_processes)] // a test that fails may leave its server to the harness

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ROUNDS: usize = 5;
const KEY: &str = "bk_operator_kill-nine-test-key-0123456789abcdef0123456789";
const CLIENTS: usize = 4;

struct Serve {
    child: Child,
    base: String,
}

/// A failed assertion must not leave a server running.
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path, slack: &str) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(dir)
        .env("SLACK_BOT_TOKEN", "xoxb-crash")
        .env("SLACK_API_URL", format!("{slack}/api"))
        .env("BATON_RATE_LIMITS", "slack=100000/1s")
        .env("BATON_LOG", "warn")
        .env("BATON_ADMIN_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("baton serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("a line").expect("readable");
        if let Some(rest) = line.strip_prefix("Baton is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve { child, base }
}

async fn submit(http: &reqwest::Client, base: &str, id: &str) -> bool {
    let body = json!({"action": {"id": id, "type": "notify", "platform": "slack", "priority": "normal",
                                 "data": {"channel": "#ops", "text": id}}});
    matches!(
        http.post(format!("{base}/api/actions"))
            .header("content-type", "application/json")
            .bearer_auth(KEY)
            .body(body.to_string())
            .send()
            .await,
        Ok(r) if r.status().as_u16() == 202
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_under_load_five_times_loses_nothing_and_finishes_nothing_twice() {
    let slack = MockServer::start().await;
    let requests: Arc<Mutex<BTreeMap<String, u32>>> = Arc::default();
    let seen = requests.clone();
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(move |req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let id = body["text"].as_str().unwrap_or_default().to_owned();
            *seen.lock().expect("lock").entry(id).or_default() += 1;
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"}))
                .set_delay(Duration::from_millis(fastrand::u64(20..200)))
        })
        .mount(&slack)
        .await;
    let dir = std::env::temp_dir().join(format!("baton-kill9-{}", uuid::Uuid::new_v4()));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut accepted: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut s = serve(&dir, &slack.uri());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (http, base, stop) = (http.clone(), s.base.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let id = format!("r{round}-c{c}-{n}");
                        n += 1;
                        if submit(&http, &base, &id).await {
                            mine.push(id);
                        }
                    }
                    mine
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(fastrand::u64(800..2500))).await;
        s.child.kill().expect("SIGKILL");
        let _ = s.child.wait();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in clients {
            accepted.extend(c.await.expect("client"));
        }
    }
    // A last start finishes what the kills left.
    let mut s = serve(&dir, &slack.uri());
    let mut finals = BTreeMap::new();
    for id in &accepted {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let a: Value = http
                .get(format!("{}/api/actions/{id}", s.base))
                .bearer_auth(KEY)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            if a["status"] == "success" || a["status"] == "failed" {
                finals.insert(id.clone(), a);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} never finished: {a}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    s.child.kill().expect("kill");
    let _ = s.child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    assert!(accepted.len() >= 50, "load was applied: {} accepted", accepted.len());
    let requests = requests.lock().expect("lock").clone();
    let mut repeated = BTreeSet::new();
    for (id, action) in &finals {
        assert_eq!(action["status"], "success", "{action}");
        let sent = requests.get(id).copied().unwrap_or(0);
        assert!(sent >= 1, "{id} finished without reaching the platform");
        if sent > 1 {
            // Only an attempt cut short by a kill may have reached the platform before it.
            let interrupted = action["interrupted"].as_u64().unwrap_or(0);
            assert!(interrupted >= u64::from(sent - 1), "{id}: {sent} requests but {interrupted} interruptions");
            repeated.insert((id.clone(), sent));
        }
    }
    eprintln!(
        "{} accepted over {ROUNDS} kills; all finished once. Platform requests per interrupted action \
         (at-least-once delivery, only for actions killed mid-call): {repeated:?}",
        accepted.len()
    );
}
