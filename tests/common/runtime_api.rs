//! A minimal Lambda Runtime API on 127.0.0.1, enough to run the real binary
//! the way Lambda does: `/next` hands out queued events, `/response` and
//! `/error` are recorded.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// What the function posted back for one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response {
        request_id: String,
        body: serde_json::Value,
    },
    Error {
        request_id: String,
        body: String,
    },
    InitError {
        body: String,
    },
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, String)>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (events_tx, events_rx) = mpsc::unbounded_channel::<(String, String)>();
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let events_rx = Arc::new(Mutex::new(events_rx));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (events_rx, outcomes_tx) = (Arc::clone(&events_rx), outcomes_tx.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (events_rx, outcomes_tx) = (Arc::clone(&events_rx), outcomes_tx.clone());
                        async move {
                            let path = request.uri().path().to_owned();
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            let body = String::from_utf8_lossy(&body).into_owned();
                            let mut reply = hyper::Response::builder().status(202);
                            let mut payload = Bytes::new();
                            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                            match parts.as_slice() {
                                ["2018-06-01", "runtime", "invocation", "next"] => {
                                    let Some((id, event)) = events_rx.lock().await.recv().await else {
                                        // No more events: park the runtime forever.
                                        std::future::pending::<()>().await;
                                        unreachable!()
                                    };
                                    reply = hyper::Response::builder()
                                        .status(200)
                                        .header("lambda-runtime-aws-request-id", id)
                                        .header("lambda-runtime-deadline-ms", "4102444800000")
                                        .header(
                                            "lambda-runtime-invoked-function-arn",
                                            "arn:aws:lambda:us-east-1:123456789012:function:token-vendor",
                                        )
                                        .header(
                                            "lambda-runtime-trace-id",
                                            "Root=1-5759e988-bd862e3fe1be46a994272793",
                                        );
                                    payload = Bytes::from(event);
                                }
                                ["2018-06-01", "runtime", "invocation", id, "response"] => {
                                    let body = serde_json::from_str(&body)
                                        .unwrap_or(serde_json::Value::String(body));
                                    let _ = outcomes_tx.send(Outcome::Response {
                                        request_id: (*id).to_owned(),
                                        body,
                                    });
                                }
                                ["2018-06-01", "runtime", "invocation", id, "error"] => {
                                    let _ = outcomes_tx.send(Outcome::Error {
                                        request_id: (*id).to_owned(),
                                        body,
                                    });
                                }
                                ["2018-06-01", "runtime", "init", "error"] => {
                                    let _ = outcomes_tx.send(Outcome::InitError { body });
                                }
                                _ => reply = hyper::Response::builder().status(404),
                            }
                            Ok::<_, Infallible>(reply.body(Full::new(payload)).unwrap())
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            events: events_tx,
            outcomes: outcomes_rx,
        }
    }

    /// Queues one invocation.
    pub fn invoke(&self, request_id: &str, event: impl Into<String>) {
        self.events.send((request_id.to_owned(), event.into())).unwrap();
    }

    /// The next thing the function posted back (or `None` after `wait`).
    pub async fn outcome(&mut self, wait: std::time::Duration) -> Option<Outcome> {
        tokio::time::timeout(wait, self.outcomes.recv())
            .await
            .ok()
            .flatten()
    }
}
