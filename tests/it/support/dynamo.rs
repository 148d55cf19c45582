//! DynamoDB on moto: clients with the vendor's timeouts, the tables, and a
//! proxy that loses a reply after the write went through.

use std::sync::Arc;

use token_vendor::aws_timeouts;

use super::sdk_config;

/// The rooms table's name in the tests.
pub(crate) const TABLE: &str = "rooms";

/// A DynamoDB client for `endpoint`, with the vendor's timeouts.
pub(crate) fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint))
        .timeout_config(aws_timeouts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates the rooms table ([`TABLE`], partition key `room`).
pub(crate) async fn create_table(client: &aws_sdk_dynamodb::Client) {
    create_keyed_table(client, TABLE, "room").await;
}

/// A DynamoDB table on demand whose partition key `key` is a String.
pub(crate) async fn create_keyed_table(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    bench::dynamo::create_table(client, table, key).await.unwrap();
}

/// An HTTP proxy to `upstream` that forwards every request but drops the
/// reply to the `nth` UpdateItem (1-based): the write goes through, the
/// client sees the connection close and the SDK retries.
pub(crate) async fn losing_proxy(upstream: String, nth: usize) -> String {
    use http_body_util::{BodyExt as _, Full};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let updates = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (updates, client, upstream) = (Arc::clone(&updates), client.clone(), upstream.clone());
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (updates, client, upstream) =
                            (Arc::clone(&updates), client.clone(), upstream.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let is_update = parts
                                .headers
                                .get("x-amz-target")
                                .is_some_and(|t| t.as_bytes().ends_with(b".UpdateItem"));
                            let mut forward =
                                client.request(parts.method, format!("{upstream}{}", parts.uri));
                            for (name, value) in &parts.headers {
                                if name != "host" {
                                    forward = forward.header(name, value);
                                }
                            }
                            let answer = forward.body(body).send().await.unwrap();
                            let status = answer.status();
                            let headers = answer.headers().clone();
                            let bytes = answer.bytes().await.unwrap();
                            if is_update && updates.fetch_add(1, Ordering::SeqCst) + 1 == nth {
                                return Err(std::io::Error::other("reply lost"));
                            }
                            let mut response = hyper::Response::new(Full::new(bytes));
                            *response.status_mut() = status;
                            for (name, value) in &headers {
                                if name != "transfer-encoding" && name != "content-length" {
                                    response.headers_mut().insert(name, value.clone());
                                }
                            }
                            Ok::<_, std::io::Error>(response)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}
