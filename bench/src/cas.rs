//! A CAS stand-in that counts what a provider would see: TCP connections
//! opened, TLS handshakes completed (over https), token-path requests and
//! any other requests.

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
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::tls::TlsCounters;

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
    /// Over https: the handshakes.
    pub tls: Option<Arc<TlsCounters>>,
}

impl CasStandIn {
    /// Starts the stand-in over plain http; it closes a connection idle for
    /// `idle_close`.
    pub async fn start(idle_close: Duration) -> std::io::Result<Self> {
        Self::start_with(idle_close, None).await
    }

    /// Starts the stand-in, over https when given a TLS acceptor.
    pub async fn start_with(idle_close: Duration, tls: Option<TlsAcceptor>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let tls_counters = tls.as_ref().map(|_| Arc::new(TlsCounters::default()));
        let server_counters = Arc::clone(&counters);
        let server_tls = tls_counters.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                server_counters.connections.fetch_add(1, Ordering::SeqCst);
                let counters = Arc::clone(&server_counters);
                let tls = tls.clone().zip(server_tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, counters, idle_close).await,
                        Some((acceptor, tls_counters)) => {
                            if let Some(stream) =
                                crate::tls::handshake(&acceptor, stream, &tls_counters).await
                            {
                                serve(stream, counters, idle_close).await;
                            }
                        }
                    }
                });
            }
        });
        Ok(Self {
            addr,
            counters,
            tls: tls_counters,
        })
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Completed TLS handshakes (0 over plain http).
    pub fn handshakes(&self) -> usize {
        self.tls.as_ref().map_or(0, |tls| tls.handshakes())
    }

    pub fn token_requests(&self) -> usize {
        self.counters.token_requests.load(Ordering::SeqCst)
    }

    pub fn other_requests(&self) -> usize {
        self.counters.other_requests.load(Ordering::SeqCst)
    }
}

/// Serves one connection's HTTP/1.1 requests.
async fn serve(
    stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    counters: Arc<Counters>,
    idle_close: Duration,
) {
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
}
