//! The AWS SDK's transport to the embedded emulator in the same process: each request is
//! handed to the emulator's thread over a channel and answered the way its HTTP server
//! would — no socket, no HTTP parsing, no signing — so the very same `Dynamo*` adapters run
//! on it as on AWS.
//!
//! Why a thread of its own: every emulator operation runs synchronously behind one lock
//! (SQLite), so calling it from the application's runtime would stall that runtime's workers.

use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use dynoxide::{Database, DynoxideError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::mpsc;
use tokio::sync::oneshot;

const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// What the emulator's thread is asked to do.
enum Job {
    /// Run an operation (its JSON body) and answer.
    Call { operation: String, body: Vec<u8>, reply: oneshot::Sender<(u16, String)> },
    /// Close the database and end.
    Stop,
}

/// The connector: a sender to the emulator's thread.
#[derive(Clone, Debug)]
pub struct InProcess {
    jobs: mpsc::Sender<Job>,
}

impl InProcess {
    /// Starts the emulator's thread on `db`; it ends on [`stop`](Self::stop) (or when the last
    /// connector is dropped), closing the database.
    pub fn start(db: Database) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name("dynamodb-emulator".into()).spawn(move || {
            while let Ok(Job::Call { operation, body, reply }) = queue.recv() {
                let _ = reply.send(dispatch(&db, &operation, &body));
            }
        })?;
        Ok((Self { jobs }, thread))
    }

    /// Asks the thread to close the database and end; calls after this fail.
    pub fn stop(&self) {
        let _ = self.jobs.send(Job::Stop);
    }

    /// The SDK's `http_client` for this emulator.
    pub fn http_client(&self) -> SharedHttpClient {
        let connector = SharedHttpConnector::new(self.clone());
        http_client_fn(move |_, _| connector.clone())
    }
}

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target).to_owned();
        let body = request.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job::Call { operation, body, reply });
        HttpConnectorFuture::new(async move {
            let gone = || ConnectorError::other("the embedded emulator has stopped".into(), None);
            sent.map_err(|_| gone())?;
            let (status, body) = answer.await.map_err(|_| gone())?;
            let status = StatusCode::try_from(status).map_err(|e| ConnectorError::other(e.into(), None))?;
            let mut resp = HttpResponse::new(status, SdkBody::from(body));
            resp.headers_mut().insert("content-type", CONTENT_TYPE);
            Ok(resp)
        })
    }
}

fn call<Req: DeserializeOwned, Resp: Serialize>(
    body: &[u8],
    op: impl FnOnce(Req) -> dynoxide::Result<Resp>,
) -> dynoxide::Result<String> {
    let req = serde_json::from_slice(body).map_err(|e| DynoxideError::ValidationException(e.to_string()))?;
    serde_json::to_string(&op(req)?).map_err(|e| DynoxideError::InternalServerError(e.to_string()))
}

/// The operations Baton's adapters call, as the emulator's HTTP server answers them.
fn dispatch(db: &Database, operation: &str, body: &[u8]) -> (u16, String) {
    let result = match operation {
        "CreateTable" => call(body, |r| db.create_table(r)),
        "DeleteTable" => call(body, |r| db.delete_table(r)),
        "DescribeTable" => call(body, |r| db.describe_table(r)),
        "ListTables" => call(body, |r| db.list_tables(r)),
        "UpdateTable" => call(body, |r| db.update_table(r)),
        "UpdateTimeToLive" => call(body, |r| db.update_time_to_live(r)),
        "DescribeTimeToLive" => call(body, |r| db.describe_time_to_live(r)),
        "PutItem" => call(body, |r| db.put_item(r)),
        "GetItem" => call(body, |r| db.get_item(r)),
        "DeleteItem" => call(body, |r| db.delete_item(r)),
        "UpdateItem" => call(body, |r| db.update_item(r)),
        "Query" => call(body, |r| db.query(r)),
        "Scan" => call(body, |r| db.scan(r)),
        "BatchGetItem" => call(body, |r| db.batch_get_item(r)),
        "BatchWriteItem" => call(body, |r| db.batch_write_item(r)),
        "TransactWriteItems" => call(body, |r| db.transact_write_items(r)),
        "TransactGetItems" => call(body, |r| db.transact_get_items(r)),
        other => {
            let body = serde_json::json!({
                "__type": "com.amazon.coral.service#UnknownOperationException",
                "message": format!("{other} is not served in process"),
            });
            return (400, body.to_string());
        }
    };
    match result {
        Ok(json) => (200, json),
        Err(e) => (e.status_code(), e.to_json()),
    }
}
