//! Requests as API Gateway hands them over (in process, and as HTTP API
//! events for the binary) and what tests read off the answers.

use std::time::Duration;

use lambda_http::{Body, Request, Response};

pub(crate) fn request(method: &str, path: &str, origin: Option<&str>) -> Request {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Body::Empty).unwrap()
}

/// `request` as an invocation due in `budget`: its Lambda context carries
/// that deadline, as the runtime would set it.
pub(crate) fn due_in(request: Request, budget: Duration) -> Request {
    use lambda_http::RequestExt as _;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut context = lambda_http::Context::default();
    context.request_id = "test-invocation".to_owned();
    context.deadline = u64::try_from(now_ms + budget.as_millis()).unwrap();
    request.with_lambda_context(context)
}

pub(crate) fn post(path: &str, origin: Option<&str>, body: &str) -> Request {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Body::Text(body.to_owned())).unwrap()
}

pub(crate) fn json(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

pub(crate) fn error_code(response: &Response<Body>) -> String {
    json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An HTTP API (payload 2.0) event as API Gateway hands it over.
/// The text of `events/<name>`.
pub(crate) fn event_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub(crate) fn http_api_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "tests"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795370400000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}
