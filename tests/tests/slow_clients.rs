//! A WebSocket client that stops reading never holds anything up: the hub drops it (a 1013
//! close, or its TCP connection closed when even that cannot be sent) within seconds, its
//! task ends, and every other client and the executors go on.

use baton_cli::DataLocation;
use baton_tests::{Platforms, TestApp, spawn_app_on};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const WITHIN: Duration = Duration::from_secs(60);

async fn app(platforms: &Platforms) -> TestApp {
    spawn_app_on(platforms, DataLocation::Memory).await.expect("runtime starts")
}

/// Large dry-run actions: each event's frame carries kilobytes.
async fn flood(app: &TestApp, n: usize, kib: usize) -> Vec<String> {
    let text = "x".repeat(kib * 1024);
    futures_util::stream::iter(0..n)
        .map(|i| {
            app.submit(json!({"type": "notify", "platform": "slack", "priority": "normal", "dryRun": true,
                              "data": {"channel": "#a", "text": format!("{i} {text}")}}))
        })
        .buffered(16)
        .map(|r| r.expect("accepted"))
        .collect()
        .await
}

/// Waits until the hub holds at most `n` connections.
async fn connections_at_most(app: &TestApp, n: usize, within: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    while app.runtime.hub.connection_count() > n {
        assert!(started.elapsed() < within, "still {} connections", app.runtime.hub.connection_count());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// What the stalled client finds when it reads again: its close, or the connection gone.
async fn end_of<S>(mut stream: S) -> Option<u16>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(WITHIN, stream.next()).await.expect("the connection ends") {
            Some(Ok(Message::Close(frame))) => return Some(frame.map_or(1005, |f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_execution_goes_on() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    let (sleeper, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("connect");
    let mut reader = app.ws().await.expect("ws");
    reader.subscribe(&["action:completed"], &[]).await.expect("subscribed");
    let mut done = 0;
    let read_all = reader.collect_until(WITHIN, |_| {
        done += 1;
        done == 1000
    });
    let (ids, received) = tokio::join!(flood(&app, 1000, 8), read_all);
    assert_eq!(ids.len(), 1000);
    received.expect("the reading client receives everything");
    connections_at_most(&app, 1, Duration::from_secs(15)).await;
    if let Some(code) = end_of(sleeper).await {
        assert_eq!(code, 1013, "too slow");
    }
    app.runtime.stop().await;
}

#[tokio::test]
async fn a_client_with_a_tiny_receive_buffer_that_stops_reading_is_dropped_within_seconds() {
    let platforms = Platforms::start().await;
    let app = app(&platforms).await;
    // A real stalled reader: its kernel buffer holds a few KiB, so the server's sends block.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(app.runtime.addr).await.expect("tcp");
    let (stalled, _) = tokio_tungstenite::client_async(app.ws_url(), stream).await.expect("handshake");
    connections_at_most(&app, 1, Duration::from_secs(5)).await;
    assert_eq!(app.runtime.hub.connection_count(), 1);
    // 120 completions of 60 KiB: far more than the kernel buffers on both ends hold (a few
    // MiB), far fewer frames than the hub's per-client queue, so only a bounded send notices.
    let ids = flood(&app, 120, 60).await;
    let mut last = None;
    for id in &ids {
        last = Some(app.wait_terminal(id, WITHIN).await.expect("execution goes on"));
    }
    assert_eq!(last.expect("done")["status"], "success");
    let took = connections_at_most(&app, 0, Duration::from_secs(20)).await;
    eprintln!("the stalled client was dropped {took:?} after the last action finished");
    if let Some(code) = end_of(stalled).await {
        assert_eq!(code, 1013);
    }
    app.runtime.stop().await;
}
