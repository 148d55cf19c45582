//! Local mode: the same handler behind a plain HTTP/1.1 server, for
//! `cargo run` and browser tests. Not used under Lambda.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::api::{BodyTooLarge, MAX_REQUEST_BODY, Vendor};
use crate::quota::PeerIp;

/// Binds `listen` and serves until the process ends.
pub async fn serve(listen: SocketAddr, vendor: Arc<Vendor>) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    serve_on(listener, vendor).await
}

/// Serves on a bound listener, logging its address (with `LISTEN_ADDR` port
/// 0 the OS picks it, and tests read it from this line).
async fn serve_on(listener: TcpListener, vendor: Arc<Vendor>) -> std::io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "token-vendor listening (local mode)");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let vendor = Arc::clone(&vendor);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let vendor = Arc::clone(&vendor);
                async move { Ok::<_, Infallible>(handle(&vendor, request, peer).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

async fn handle(
    vendor: &Vendor,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    // The caller, for quotas: the peer's address (not its port), never a header.
    parts.extensions.insert(PeerIp(peer.ip()));
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            parts.extensions.insert(BodyTooLarge);
            Bytes::new()
        }
    };
    let request = lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
    let (parts, body) = vendor.handle(request).await.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
}
