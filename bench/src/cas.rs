//! A CAS stand-in that counts what a provider would see: TCP connections
//! opened, token-path requests and any other requests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// The token the stand-in hands out (a JWT with an `exp`).
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJyaWQiOiJlMDFkYmU0NTg5MzU0YmU3OTc3OTg0ZmU2NjIxMTgwOCIsImV4cCI6MTgwMDAwMDAwMH0.c2lnbmF0dXJl";

#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicUsize,
    pub token_requests: AtomicUsize,
    pub other_requests: AtomicUsize,
}

#[derive(Debug)]
pub struct CasStandIn {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
}

impl CasStandIn {
    /// Starts the stand-in; it closes a connection idle for `idle_close`.
    pub async fn start(idle_close: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let server_counters = Arc::clone(&counters);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                server_counters.connections.fetch_add(1, Ordering::SeqCst);
                let counters = Arc::clone(&server_counters);
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let counters = Arc::clone(&counters);
                        async move {
                            let body = if request.uri().path() == "/stream/token/v2/" {
                                counters.token_requests.fetch_add(1, Ordering::SeqCst);
                                Bytes::from(format!(r#"{{"token":"{TOKEN}"}}"#))
                            } else {
                                counters.other_requests.fetch_add(1, Ordering::SeqCst);
                                Bytes::new()
                            };
                            let mut response = hyper::Response::new(Full::new(body));
                            response.headers_mut().insert(
                                hyper::header::CONTENT_TYPE,
                                hyper::header::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(idle_close)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, counters })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    pub fn token_requests(&self) -> usize {
        self.counters.token_requests.load(Ordering::SeqCst)
    }

    pub fn other_requests(&self) -> usize {
        self.counters.other_requests.load(Ordering::SeqCst)
    }
}
