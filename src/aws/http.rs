//! The AWS SDK's HTTP client: the same reqwest/hyper stack the provider calls
//! use, behind the SDK's `HttpClient` trait.
//!
//! The SDK's own client (`aws-smithy-http-client`) brings a second TLS
//! set-up, HTTP/2 and a second connection pool; together ~0.2 MB of the
//! deployment zip, which the size target could not spare (docs/benchmarks-history.md).
//! Secrets Manager and DynamoDB speak HTTP/1.1 as well, so one stack serves
//! every outgoing call. Two small crates on crates.io do this
//! (`aws-smithy-http-client-reqwest`, `smithy-transport-reqwest`), both at
//! 0.1.0 with one author, the first without connect timeouts; this module is
//! the few lines we need, with the timeouts and error kinds the SDK's retry
//! and timeout logic rely on.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use crate::providers::read_at_most;
use crate::tls;

/// The largest AWS response body read: a secret value is at most 64 KiB and a
/// DynamoDB item 400 KB; anything larger is refused, not buffered.
pub(crate) const MAX_AWS_BODY: usize = 1024 * 1024;

/// The SDK's HTTP client over one `reqwest::Client` (one connection pool):
/// TLS with the given configuration, no redirects, the connect timeout fixed
/// here and the SDK's read timeout applied to each request.
pub(crate) struct AwsHttpClient {
    client: reqwest::Client,
}

impl fmt::Debug for AwsHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsHttpClient").finish_non_exhaustive()
    }
}

/// The AWS SDK's HTTP client (reqwest, rustls with ring) trusting the
/// Amazon roots only ([`crate::tls::amazon_roots`]).
pub fn sdk_http_client(
    connect_timeout: Duration,
) -> Result<SharedHttpClient, Box<dyn std::error::Error + Send + Sync>> {
    let tls = tls::client_config(tls::amazon_roots())?;
    Ok(AwsHttpClient::new(tls, connect_timeout)?.shared())
}

impl AwsHttpClient {
    pub(crate) fn new(tls: rustls::ClientConfig, connect_timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(50))
            .build()?;
        Ok(Self { client })
    }

    pub(crate) fn shared(self) -> SharedHttpClient {
        SharedHttpClient::new(self)
    }
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            client: self.client.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

struct Connector {
    client: reqwest::Client,
    read_timeout: Option<Duration>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request)?;
            let exchange = send(&client, request);
            match read_timeout {
                Some(limit) => tokio::time::timeout(limit, exchange)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => exchange.await,
            }
        })
    }
}

/// The SDK's request as a reqwest request. Every operation this service
/// calls has an in-memory body; a streaming one is refused.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    let body = body
        .bytes()
        .map(bytes::Bytes::copy_from_slice)
        .ok_or_else(|| ConnectorError::user("streaming request bodies are not supported".into()))?;
    reqwest::Request::try_from(http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::user(e.into()))
}

async fn send(client: &reqwest::Client, request: reqwest::Request) -> Result<HttpResponse, ConnectorError> {
    let mut response = client.execute(request).await.map_err(classify)?;
    let mut out = http::Response::builder().status(response.status());
    if let Some(headers) = out.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    let body = read_at_most(response, MAX_AWS_BODY)
        .await
        .map_err(classify)?
        .ok_or_else(too_large)?;
    let out = out
        .body(SdkBody::from(body))
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    HttpResponse::try_from(out).map_err(|e| ConnectorError::other(e.into(), None))
}

fn too_large() -> ConnectorError {
    ConnectorError::other(
        format!("AWS response body over {MAX_AWS_BODY} bytes").into(),
        None,
    )
}

/// Maps reqwest's errors onto the kinds the SDK's retry and timeout logic
/// read: timeouts as timeouts, connection and transfer failures as I/O
/// (transient, retried), the rest as other.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    /// A server on 127.0.0.1 that answers every connection with `reply`
    /// (or, with `None`, reads and never answers).
    async fn server(reply: Option<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if let Some(reply) = &reply {
                    let _ = socket.write_all(reply).await;
                    let _ = socket.shutdown().await;
                }
                held.push(socket);
            }
        });
        format!("http://{addr}/")
    }

    fn connector(read_timeout: Duration) -> Connector {
        let client = AwsHttpClient::new(tls::rustls_config().unwrap(), Duration::from_secs(1)).unwrap();
        Connector {
            client: client.client,
            read_timeout: Some(read_timeout),
        }
    }

    async fn call(url: &str, read_timeout: Duration) -> Result<HttpResponse, ConnectorError> {
        let request = http::Request::post(url)
            .header("content-type", "application/x-amz-json-1.1")
            .body(SdkBody::from("{}"))
            .unwrap();
        connector(read_timeout)
            .call(HttpRequest::try_from(request).unwrap())
            .await
    }

    #[test]
    fn the_sdk_client_builds_with_amazon_roots() {
        assert!(sdk_http_client(Duration::from_secs(1)).is_ok());
    }

    #[tokio::test]
    async fn status_headers_and_body_pass_through() {
        let url = server(Some(
            b"HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: r-1\r\ncontent-length: 9\r\n\r\n{\"a\":\"b\"}"
                .to_vec(),
        ))
        .await;
        let response = call(&url, Duration::from_secs(2)).await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r-1"));
        assert_eq!(response.body().bytes(), Some(&b"{\"a\":\"b\"}"[..]));
    }

    #[tokio::test]
    async fn a_body_over_the_bound_is_refused_declared_or_not() {
        let declared = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", MAX_AWS_BODY + 1);
        let url = server(Some(declared.into_bytes())).await;
        let error = call(&url, Duration::from_secs(2)).await.unwrap_err();
        assert!(error.is_other(), "{error:?}");

        let mut undeclared = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
        undeclared.resize(undeclared.len() + MAX_AWS_BODY + 1, b'x');
        let url = server(Some(undeclared)).await;
        let error = call(&url, Duration::from_secs(2)).await.unwrap_err();
        assert!(error.is_other(), "{error:?}");
    }

    #[tokio::test]
    async fn silence_is_a_timeout_and_a_refused_connection_is_io() {
        let url = server(None).await;
        let error = call(&url, Duration::from_millis(100)).await.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let error = call(&url, Duration::from_secs(2)).await.unwrap_err();
        assert!(error.is_io(), "{error:?}");
    }
}
