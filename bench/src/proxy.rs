//! An HTTP/1.1 proxy that counts the connections clients open to it (and the
//! requests they send): put in
//! front of moto's DynamoDB, it tells how many connections the vendor opened
//! to DynamoDB, and when. It keeps its clients' connections alive whatever
//! the upstream does (moto on one thread speaks HTTP/1.0 and closes each
//! connection after its answer), forwarding each request on a connection of
//! its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug)]
pub struct CountingProxy {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl CountingProxy {
    /// Starts the proxy on 127.0.0.1, forwarding every request to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (counted, asked) = (Arc::clone(&connections), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let asked = Arc::clone(&asked);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        asked.fetch_add(1, Ordering::SeqCst);
                        forward(upstream, request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            connections,
            requests,
        })
    }

    /// The proxy's base URL (http).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests forwarded so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// One request, forwarded on a new connection to `upstream`; the answer's
/// body is read whole, so the client's connection stays usable.
async fn forward(upstream: SocketAddr, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut forwarded = Request::from_parts(parts, Full::new(body));
    forwarded.headers_mut().remove(hyper::header::CONNECTION);
    let answer = sender.send_request(forwarded).await?;
    let (mut parts, body) = answer.into_parts();
    let body = body.collect().await?.to_bytes();
    // Answered as HTTP/1.1, whatever the upstream spoke: kept alive.
    parts.version = hyper::Version::HTTP_11;
    for hop in [
        hyper::header::CONNECTION,
        hyper::header::TRANSFER_ENCODING,
        hyper::header::CONTENT_LENGTH,
    ] {
        parts.headers.remove(hop);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}
