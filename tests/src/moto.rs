//! `Moto`: a moto server (the AWS emulator from PyPI) on a free loopback port, for one test,
//! stopped when dropped. scripts/tools.sh installs it into ./.venv.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn moto_server() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("BATON_MOTO_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    if !path.exists() {
        bail!("moto_server not found at {}: run scripts/tools.sh (scripts/test.sh does)", path.display());
    }
    Ok(path)
}

impl Moto {
    pub async fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(moto_server()?)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto_server")?;
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http.get(format!("{}/moto-api/", moto.endpoint)).send().await.is_ok() {
                return Ok(moto);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("moto_server did not start on port {port}")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
