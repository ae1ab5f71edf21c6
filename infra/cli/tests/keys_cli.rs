//! `baton keys` offline on a data directory and against a running `baton serve`, and the
//! admin key a first start prints once.
#![allow(clippy::zombie_processes)] // a test that fails may leave its server to the harness

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton")).args(args).env_remove("BATON_API_KEY").output().expect("baton runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `baton serve` on `dir`: its process, its URL, and the lines it printed before listening.
fn serve(dir: &Path) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(dir)
        .env_remove("BATON_ADMIN_KEY")
        .env("BATON_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut before = Vec::new();
    loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.strip_prefix("Baton is listening on ") {
            let url = rest.split_whitespace().next().expect("url").to_owned();
            std::thread::spawn(move || for _ in lines {});
            return (child, url, before);
        }
        before.push(line);
    }
}

#[test]
fn a_first_start_prints_one_admin_key_once_and_it_manages_keys_remotely() {
    let dir = std::env::temp_dir().join(format!("baton-keys-{}", uuid::Uuid::new_v4()));
    let (mut first, url, printed) = serve(&dir);
    let marked: Vec<&String> = printed.iter().filter(|l| l.starts_with("BATON ADMIN KEY")).collect();
    assert_eq!(marked.len(), 1, "{printed:?}");
    let admin = marked[0].rsplit(' ').next().expect("the key").to_owned();
    assert!(admin.starts_with("bk_"));
    let created = baton(&[
        "keys",
        "create",
        "--name",
        "dashboard",
        "--scope",
        "actions:read",
        "--scope",
        "approvals:write",
        "--url",
        &url,
        "--key",
        &admin,
    ]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let dashboard = text(&created).trim().to_owned();
    assert!(dashboard.starts_with("bk_"), "the secret, printed once: {dashboard}");
    let listed = baton(&["--json", "keys", "list", "--url", &url, "--key", &admin]);
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    let keys = v["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&dashboard[16..]), "never a secret");
    let id = dashboard.trim_start_matches("bk_").split('_').next().expect("id").to_owned();
    // Global flags go before or after the verb.
    let revoked = baton(&["--url", &url, "--key", &admin, "keys", "revoke", &id]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert!(text(&revoked).contains("revoked"));
    let refused = baton(&["keys", "list", "--url", &url, "--key", &dashboard]);
    assert_eq!(refused.status.code(), Some(1), "a refused request");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("AUTH_ERROR"));
    let unreachable = baton(&["keys", "list", "--url", "http://127.0.0.1:9", "--key", &admin]);
    assert_eq!(unreachable.status.code(), Some(3));
    first.kill().expect("stop");
    let _ = first.wait();

    // A second start prints no key; keys made offline on the directory work at once.
    let offline = baton(&[
        "keys",
        "create",
        "--name",
        "engine",
        "--scope",
        "actions:write",
        "--per-minute",
        "5000",
        "--per-hour",
        "100000",
        "--data-dir",
        dir.to_str().expect("utf-8"),
    ]);
    assert!(offline.status.success(), "{}", String::from_utf8_lossy(&offline.stderr));
    let engine = text(&offline).trim().to_owned();
    let (mut second, url, printed) = serve(&dir);
    assert!(printed.iter().all(|l| !l.contains("bk_")), "a secret is shown once, never again: {printed:?}");
    let listed = baton(&["keys", "list", "--url", &url, "--key", &admin]);
    assert!(text(&listed).contains("engine") && text(&listed).contains("revoked"), "{}", text(&listed));
    let forbidden = baton(&["keys", "list", "--url", &url, "--key", &engine]);
    assert_eq!(forbidden.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forbidden.stderr).contains("PERMISSION_DENIED"));
    let usage = baton(&["keys", "create", "--name", "x", "--scope", "root"]);
    assert_eq!(usage.status.code(), Some(2), "a usage error");
    second.kill().expect("stop");
    let _ = second.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
