//! The OpenAPI document against the server it describes: `schemathesis` (PyPI, installed by
//! scripts/tools.sh) fuzzes every operation of a real `baton serve`, once with the operator's
//! key and once without any: no server error, every answer conforms to the document, and
//! the server's log has no panic.
#![allow(clippy::zombie_processes)] // a test that fails may leave its server to the harness

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const KEY: &str = "bk_operator_schemathesis-test-key-0123456789abcdef012345";

fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/schemathesis");
    assert!(path.exists(), "schemathesis not found at {}: run scripts/tools.sh (scripts/test.sh does)", path.display());
    path
}

fn run(url: &str, key: Option<&str>, dir: &std::path::Path) -> (bool, String) {
    let mut cmd = Command::new(schemathesis());
    cmd.current_dir(dir).args([
        "run",
        &format!("{url}/api/openapi.json"),
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        "15",
        "--seed",
        "7",
        "--generation-database",
        "none",
        "--no-color",
    ]);
    if let Some(k) = key {
        cmd.args(["-H", &format!("Authorization: Bearer {k}")]);
    }
    let out = cmd.output().expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let dir = std::env::temp_dir().join(format!("baton-fuzz-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = std::fs::File::create(dir.join("serve.log")).expect("log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--memory", "--port", "0"])
        .env("BATON_ADMIN_KEY", KEY)
        .env("BATON_LOG", "info,dynoxide=error")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("serve");
    let mut stdout = server.stdout.take().expect("stdout");
    let mut seen = String::new();
    let url = loop {
        let mut b = [0u8; 256];
        let n = stdout.read(&mut b).expect("read");
        assert!(n > 0, "baton serve ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&b[..n]));
        if let Some(line) = seen.lines().find(|l| l.starts_with("Baton is listening on ") && seen.contains('\n')) {
            break line.trim_start_matches("Baton is listening on ").split_whitespace().next().expect("url").to_owned();
        }
    };
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    let (with_key, report) = run(&url, Some(KEY), &dir);
    assert!(with_key, "with the operator's key:\n{report}");
    let (without, report) = run(&url, None, &dir);
    assert!(without, "without a key:\n{report}");
    std::thread::sleep(Duration::from_millis(100));
    server.kill().expect("stop");
    let _ = server.wait();
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "a panic in the server's log:\n{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
