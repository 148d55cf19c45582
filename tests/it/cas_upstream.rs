//! The CAS call against a real local HTTP server: the exact request, every
//! documented answer, and the failures a production upstream can produce.

use std::time::{Duration, Instant};

use crate::support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{any, header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_millis(800);

fn token_json(token: &str) -> serde_json::Value {
    serde_json::json!({ "token": token })
}

async fn cas_answering(template: ResponseTemplate) -> Https<MockServer> {
    let cas = upstream().await;
    Mock::given(any()).respond_with(template).mount(&cas).await;
    cas
}

#[tokio::test]
async fn get_token_sends_the_documented_request_and_returns_the_token_unchanged() {
    // Arrange
    let cas = upstream().await;
    let token = jwt(r#"{"rid":"e01dbe4589354be7977984fe66211808","exp":1800000000}"#);
    Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .and(has_header("auth-api-key", KEY))
        .and(has_header("auth-api-secret", SECRET))
        .and(has_header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(&token)))
        .expect(1)
        .mount(&cas)
        .await;
    // A trailing slash on CAS_URL must not double the slash.
    let vendor = cas_vendor(&format!("{}/", cas.uri()), fixed_store(), TIMEOUT);

    // Act
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    // Assert
    assert_eq!(response.status(), 200);
    let body = json(&response);
    assert_eq!(body["token"], token.as_str());
    assert_eq!(body["expiresAt"], "2027-01-15T08:00:00Z");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(header(&response, "vary"), Some("Origin"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "pragma"), Some("no-cache"));
    assert_eq!(cas.handshakes(), 1, "over https, one connection");
}

#[tokio::test]
async fn post_token_with_json_body_is_served_and_a_token_without_exp_has_no_expiry() {
    let cas = upstream().await;
    Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("opaque-token")))
        .expect(2)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    for body in ["", "{}"] {
        let response = vendor.handle(post("/token", None, body)).await;
        assert_eq!(response.status(), 200, "body {body:?}");
        assert_eq!(json(&response), serde_json::json!({ "token": "opaque-token" }));
    }
}

#[tokio::test]
async fn post_with_a_body_that_is_not_json_is_a_bad_request_and_never_reaches_cas() {
    let cas = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    for body in ["token please", "[1,2]", "{\"a\":"] {
        let response = vendor.handle(post("/token", Some(ALLOWED), body)).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(error_code(&response), "bad_request");
        assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    }
}

#[tokio::test]
async fn preflight_answers_204_with_cors_headers_and_never_calls_cas() {
    let cas = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    let response = vendor.handle(request("OPTIONS", "/token", Some(ALLOWED))).await;

    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
    let allowed_headers = header(&response, "access-control-allow-headers").unwrap();
    assert!(allowed_headers.contains("content-type") && allowed_headers.contains("authorization"));
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
    assert_eq!(header(&response, "vary"), Some("Origin"));
}

#[tokio::test]
async fn request_from_unknown_origin_is_refused_without_cors_grant_and_never_reaches_cas() {
    let cas = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    for (method_name, origin) in [
        ("GET", "https://evil.example"),
        ("OPTIONS", "https://evil.example"),
        ("POST", "https://app.example.com.evil.example"),
        ("GET", "null"),
    ] {
        let response = vendor.handle(request(method_name, "/token", Some(origin))).await;
        assert_eq!(response.status(), 403, "{method_name} {origin}");
        assert_eq!(error_code(&response), "origin_not_allowed");
        assert_eq!(header(&response, "access-control-allow-origin"), None);
        assert_eq!(header(&response, "vary"), Some("Origin"));
    }
}

#[tokio::test]
async fn unknown_path_and_method_get_404_and_405_with_cors_headers() {
    let cas = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    let response = vendor.handle(request("GET", "/tokens", Some(ALLOWED))).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(&response), "not_found");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));

    let response = vendor.handle(request("DELETE", "/token", Some(ALLOWED))).await;
    assert_eq!(response.status(), 405);
    assert_eq!(error_code(&response), "method_not_allowed");
    assert_eq!(header(&response, "allow"), Some("GET, POST, OPTIONS"));
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
}

#[tokio::test]
async fn cas_refusing_the_credentials_twice_is_upstream_auth_failed_after_one_retry() {
    for status in [401, 403] {
        let cas = upstream().await;
        Mock::given(method("GET"))
            .and(path("/stream/token/v2/"))
            .respond_with(ResponseTemplate::new(status).set_body_string("invalid api key test-api-key-7f3a"))
            .expect(2)
            .mount(&cas)
            .await;
        let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

        let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

        assert_eq!(response.status(), 502, "CAS {status}");
        assert_eq!(error_code(&response), "upstream_auth_failed");
        assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(!text.contains("invalid api key") && !text.contains(KEY), "{text}");
    }
}

#[tokio::test]
async fn cas_failures_are_upstream_errors_that_never_echo_the_upstream_body() {
    let cases = [
        (
            "5xx",
            ResponseTemplate::new(503).set_body_string("backend cas-7 exploded"),
        ),
        ("404", ResponseTemplate::new(404).set_body_string("no such page")),
        (
            "html",
            ResponseTemplate::new(200).set_body_raw("<html>cas-7 maintenance</html>", "text/html"),
        ),
        (
            "empty token",
            ResponseTemplate::new(200).set_body_json(token_json("")),
        ),
        (
            "blank token",
            ResponseTemplate::new(200).set_body_json(token_json("   ")),
        ),
        (
            "missing token",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"jwt": "x"})),
        ),
        (
            "token not a string",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": 42})),
        ),
        (
            "oversized",
            ResponseTemplate::new(200).set_body_json(token_json(&"a".repeat(2 * 1024 * 1024))),
        ),
    ];
    for (case, template) in cases {
        let cas = cas_answering(template).await;
        let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

        let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

        assert_eq!(response.status(), 502, "{case}");
        assert_eq!(error_code(&response), "upstream_error", "{case}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(ALLOWED),
            "{case}"
        );
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(
            !text.contains("cas-7") && !text.contains("no such page"),
            "{case}: {text}"
        );
        assert_eq!(cas.received_requests().await.unwrap().len(), 1, "{case}");
    }
}

#[tokio::test]
async fn cas_slower_than_the_timeout_is_upstream_timeout() {
    let cas = cas_answering(
        ResponseTemplate::new(200)
            .set_body_json(token_json("late"))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    let started = Instant::now();
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// A raw HTTP/1.1 upstream for what wiremock cannot do: it reads the request
/// head, then writes `head` and `chunks` (pausing `pause` between them), and
/// either closes or keeps the socket open for `hold`.
async fn raw_upstream(head: &'static str, chunks: Vec<Vec<u8>>, pause: Duration, hold: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let chunks = chunks.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in chunks {
                    tokio::time::sleep(pause).await;
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(hold).await;
            });
        }
    });
    over_https(&format!("http://{addr}")).await
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

#[tokio::test]
async fn oversized_body_without_content_length_is_refused_before_it_ends() {
    // 64 chunks of 64 KiB (4 MiB in all), sent slowly: the vendor must stop at 16 KiB.
    let chunks = vec![chunk(&[b'a'; 64 * 1024]); 64];
    let url = raw_upstream(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        chunks,
        Duration::from_millis(60),
        Duration::ZERO,
    )
    .await;
    let vendor = cas_vendor(&url, fixed_store(), Duration::from_secs(10));

    let started = Instant::now();
    let response = vendor.handle(request("GET", "/token", None)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_error");
    // The whole body would take 64 × 60 ms (3.8 s); refusing early takes a
    // few chunks.
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_dropped_mid_body_is_upstream_error() {
    let url = raw_upstream(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"token\":\"abc",
        vec![],
        Duration::ZERO,
        Duration::ZERO,
    )
    .await;
    let vendor = cas_vendor(&url, fixed_store(), TIMEOUT);

    let response = vendor.handle(request("GET", "/token", None)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_error");
}

#[tokio::test]
async fn connection_closed_without_an_answer_is_upstream_error() {
    let url = raw_upstream("", vec![], Duration::ZERO, Duration::ZERO).await;
    let vendor = cas_vendor(&url, fixed_store(), TIMEOUT);

    let response = vendor.handle(request("GET", "/token", None)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_error");
}

#[tokio::test]
async fn the_timeout_covers_a_body_that_never_finishes() {
    // Headers at once, then the body stalls forever.
    let url = raw_upstream(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"tok",
        vec![],
        Duration::ZERO,
        Duration::from_secs(30),
    )
    .await;
    let vendor = cas_vendor(&url, fixed_store(), TIMEOUT);

    let started = Instant::now();
    let response = vendor.handle(request("GET", "/token", None)).await;

    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_cas_is_upstream_error() {
    let port = free_port();
    let vendor = cas_vendor(&format!("https://127.0.0.1:{port}"), fixed_store(), TIMEOUT);

    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_error");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_keys_never_travel_elsewhere() {
    let cas = upstream().await;
    Mock::given(path("/stream/token/v2/"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{}/elsewhere", cas.uri())),
        )
        .expect(1)
        .mount(&cas)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("stolen")))
        .expect(0)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), TIMEOUT);

    let response = vendor.handle(request("GET", "/token", None)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_error");
}
