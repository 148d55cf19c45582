//! `/streams/{stream}/token` against a real local JSON-RPC stand-in of the
//! AIPIX media server: the exact request, the policy (never reaching the
//! upstream when it refuses), each upstream failure, and rotation.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use token_vendor::AipixClient;
use token_vendor::AllowedOrigins;
use token_vendor::TokenProvider;
use token_vendor::Vendor;
use token_vendor::{AipixConfig, AllowedStreams, Rights, StreamPolicy};
use token_vendor::{CredentialStore, Credentials};
use wiremock::matchers::{any, header as has_header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "aipix-api-token-5b1e";
const TIMEOUT: Duration = Duration::from_millis(800);

fn policy() -> StreamPolicy {
    StreamPolicy {
        streams: AllowedStreams::List(vec!["cam-1".into(), "lobby.main".into()]),
        rights: Rights {
            live: true,
            dvr: true,
            copy: false,
        },
        max_ttl: 3600,
        default_ttl: 600,
        allow_unlimited: false,
    }
}

fn aipix_vendor(url: &str, store: Arc<CredentialStore>, policy: StreamPolicy) -> Vendor {
    let config = AipixConfig {
        base_url: url.parse().unwrap(),
        policy,
    };
    let client = AipixClient::new(provider_http(TIMEOUT), config, store);
    Vendor::new(AllowedOrigins::parse(ALLOWED).unwrap(), None, Some(client))
}

fn token_store(token: &str) -> Arc<CredentialStore> {
    Arc::new(CredentialStore::fixed(Credentials::from_values(
        None,
        None,
        Some(token.to_owned()),
    )))
}

/// Answers a JSON-RPC call with `result`, echoing the request's id.
struct Echo(serde_json::Value);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let call: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({ "jsonrpc": "2.0", "result": self.0, "id": call["id"] }))
    }
}

async fn aipix_answering(responder: impl Respond + 'static) -> Https<MockServer> {
    let server = upstream().await;
    Mock::given(method("POST"))
        .and(path("/api/"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn calls(requests: &[Request]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn get_sends_exactly_the_documented_json_rpc_call_and_answers_token_stream_rights_expiry() {
    // Arrange
    let server = upstream().await;
    Mock::given(method("POST"))
        .and(path("/api/"))
        .and(has_header("content-type", "application/json"))
        .and(has_header("accept", "application/json"))
        .and(has_header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(Echo(serde_json::json!("stream-token-1")))
        .expect(1)
        .mount(&server)
        .await;
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

    // Act
    let response = vendor
        .handle(request(
            "GET",
            "/streams/cam-1/token?ttl=120&dvr=1&from=100&to=200",
            Some(ALLOWED),
        ))
        .await;

    // Assert: the call...
    let call = &calls(&server.received_requests().await.unwrap())[0];
    let id = call["id"].clone();
    assert!(id.is_u64(), "{call}");
    assert_eq!(
        *call,
        serde_json::json!({
            "jsonrpc": "2.0",
            "method": "Auth.CreateApiToken",
            "params": { "stream": "cam-1", "ttl": 120, "live": false, "dvr": true, "copy": false, "from": 100, "to": 200 },
            "id": id,
        })
    );
    // ...and the answer.
    assert_eq!(response.status(), 200);
    let body = json(&response);
    assert_eq!(body["token"], "stream-token-1");
    assert_eq!(body["stream"], "cam-1");
    assert_eq!(
        body["rights"],
        serde_json::json!({ "live": false, "dvr": true, "copy": false })
    );
    let expires: jiff::Timestamp = body["expiresAt"].as_str().unwrap().parse().unwrap();
    let ttl = expires.as_second() - jiff::Timestamp::now().as_second();
    assert!((118..=120).contains(&ttl), "{ttl}");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
}

#[tokio::test]
async fn post_takes_the_same_fields_as_json_and_defaults_to_live_and_the_default_ttl() {
    let server = aipix_answering(Echo(serde_json::json!("stream-token-2"))).await;
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

    let defaulted = vendor.handle(post("/streams/lobby.main/token", None, "")).await;
    let explicit = vendor
        .handle(post(
            "/streams/lobby.main/token",
            None,
            r#"{"ttl": 60, "live": true, "dvr": true}"#,
        ))
        .await;

    assert_eq!(defaulted.status(), 200);
    assert_eq!(explicit.status(), 200);
    let sent = calls(&server.received_requests().await.unwrap());
    assert_eq!(
        sent[0]["params"],
        serde_json::json!({ "stream": "lobby.main", "ttl": 600, "live": true, "dvr": false, "copy": false })
    );
    assert_eq!(
        sent[1]["params"],
        serde_json::json!({ "stream": "lobby.main", "ttl": 60, "live": true, "dvr": true, "copy": false })
    );
    assert_ne!(sent[0]["id"], sent[1]["id"]);
}

#[tokio::test]
async fn every_refusal_is_decided_before_the_upstream_is_called() {
    let server = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

    let cases: Vec<(lambda_http::Request, u16, &str)> = vec![
        (
            request("GET", "/streams/cam-9/token", None),
            403,
            "stream_not_allowed",
        ),
        (
            request("GET", "/streams/cam-1/token?copy=true", None),
            403,
            "right_not_allowed",
        ),
        (request("GET", "/streams/cam%2D1/token", None), 400, "bad_request"),
        (
            request("GET", "/streams/cam-1/token?ttl=3601", None),
            400,
            "bad_request",
        ),
        (
            request("GET", "/streams/cam-1/token?ttl=0", None),
            400,
            "bad_request",
        ),
        (
            request("GET", "/streams/cam-1/token?from=5", None),
            400,
            "bad_request",
        ),
        (
            request("GET", "/streams/cam-1/token?dvr=1&from=9&to=5", None),
            400,
            "bad_request",
        ),
        (
            request("GET", "/streams/cam-1/token?ttl=60&ttl=70", None),
            400,
            "bad_request",
        ),
        (
            request("GET", "/streams/cam-1/token?colour=red", None),
            400,
            "bad_request",
        ),
        // Validation comes before policy: a bad ttl on a foreign stream is a 400.
        (
            request("GET", "/streams/cam-9/token?ttl=abc", None),
            400,
            "bad_request",
        ),
        (post("/streams/cam-1/token?ttl=60", None, ""), 400, "bad_request"),
        (
            post("/streams/cam-1/token", None, r#"{"ttl":"60"}"#),
            400,
            "bad_request",
        ),
        (
            request("DELETE", "/streams/cam-1/token", None),
            405,
            "method_not_allowed",
        ),
        (
            request("GET", "/streams/cam-1/token", Some("https://evil.example")),
            403,
            "origin_not_allowed",
        ),
    ];
    for (req, status, code) in cases {
        let uri = req.uri().to_string();
        let response = vendor.handle(req).await;
        assert_eq!(response.status(), status, "{uri}");
        assert_eq!(error_code(&response), code, "{uri}");
    }
}

#[tokio::test]
async fn upstream_failures_are_upstream_errors_without_the_upstream_text() {
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        (
            "json-rpc error",
            ResponseTemplate::new(400).set_body_json(
                serde_json::json!({ "jsonrpc": "2.0", "error": { "code": -32601, "message": "Method not found aipix-7" }, "id": 1 }),
            ),
        ),
        ("500", ResponseTemplate::new(500).set_body_string("aipix-7 exploded")),
        ("not json", ResponseTemplate::new(200).set_body_string("<html>aipix-7</html>")),
        ("no result", ResponseTemplate::new(200).set_body_json(serde_json::json!({ "jsonrpc": "2.0", "id": 1 }))),
        (
            "bare string",
            ResponseTemplate::new(200).set_body_json(serde_json::json!("token-without-envelope")),
        ),
        (
            "too large",
            ResponseTemplate::new(200).set_body_string("x".repeat(100_000)),
        ),
    ];
    for (case, template) in cases {
        let server = aipix_answering(template).await;
        let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

        let response = vendor
            .handle(request("GET", "/streams/cam-1/token", Some(ALLOWED)))
            .await;

        assert_eq!(response.status(), 502, "{case}");
        assert_eq!(error_code(&response), "upstream_error", "{case}");
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(
            !text.contains("aipix-7") && !text.contains("Method not found"),
            "{case}: {text}"
        );
    }
}

/// Answers with a wrong id, or an empty result, to an otherwise valid call.
struct Wrong {
    empty_result: bool,
}

impl Respond for Wrong {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let call: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let (result, id) = if self.empty_result {
            (serde_json::json!(""), call["id"].clone())
        } else {
            (
                serde_json::json!("tok"),
                serde_json::json!(call["id"].as_u64().unwrap() + 1),
            )
        };
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({ "jsonrpc": "2.0", "result": result, "id": id }))
    }
}

#[tokio::test]
async fn a_wrong_id_or_an_empty_result_is_an_upstream_error() {
    for empty_result in [false, true] {
        let server = aipix_answering(Wrong { empty_result }).await;
        let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

        let response = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;

        assert_eq!(response.status(), 502, "empty_result={empty_result}");
        assert_eq!(error_code(&response), "upstream_error");
    }
}

#[tokio::test]
async fn a_slow_upstream_is_upstream_timeout() {
    let server = aipix_answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

    let response = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;

    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
}

#[tokio::test]
async fn refused_twice_is_upstream_auth_failed_after_one_retry() {
    let server = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy());

    let response = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_auth_failed");
}

#[tokio::test]
async fn rotation_a_new_aipix_token_in_the_secret_is_picked_up_when_the_old_one_is_refused() {
    // Arrange: the secret holds both providers' fields; AIPIX accepts only the new token.
    let moto = Moto::start();
    let secret = |token: &str| {
        serde_json::json!({ "API_KEY": KEY, "API_SECRET": SECRET, "AIPIX_API_TOKEN": token }).to_string()
    };
    moto.create_secret("both", &secret("old-aipix-token")).await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "both"));
    store.load().await;
    moto.put_secret("both", &secret("new-aipix-token")).await;
    let server = upstream().await;
    Mock::given(has_header("authorization", "Bearer new-aipix-token"))
        .respond_with(Echo(serde_json::json!("rotated-stream-token")))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403))
        .with_priority(2)
        .mount(&server)
        .await;
    let vendor = aipix_vendor(&server.uri(), store, policy());

    // Act
    let response = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["token"], "rotated-stream-token");
    let auth: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(auth, ["Bearer old-aipix-token", "Bearer new-aipix-token"]);
}

/// A vendor with both providers sharing `store`.
fn both_providers(cas_url: &str, aipix_url: &str, store: Arc<CredentialStore>) -> Vendor {
    let http = provider_http(TIMEOUT);
    Vendor::new(
        AllowedOrigins::parse(ALLOWED).unwrap(),
        Some(TokenProvider::Cas(token_vendor::CasClient::new(
            http.clone(),
            &cas_url.parse().unwrap(),
            Arc::clone(&store),
        ))),
        Some(AipixClient::new(
            http,
            AipixConfig {
                base_url: aipix_url.parse().unwrap(),
                policy: policy(),
            },
            store,
        )),
    )
}

#[tokio::test]
async fn a_missing_aipix_token_is_503_for_streams_only_while_cas_keeps_serving() {
    // Arrange: the secret has the CAS pair but no AIPIX_API_TOKEN.
    let moto = Moto::start();
    moto.create_secret("cas-only", &secret_json(KEY, SECRET)).await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "cas-only"));
    store.load().await;
    let cas = cas_accepting(KEY, SECRET, "cas-token").await;
    let aipix = upstream().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&aipix)
        .await;
    let vendor = both_providers(&cas.uri(), &aipix.uri(), store);

    // Act
    let streams = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;
    let tokens = vendor.handle(request("GET", "/token", None)).await;

    // Assert
    assert_eq!(streams.status(), 503);
    assert_eq!(error_code(&streams), "credentials_unavailable");
    assert_eq!(tokens.status(), 200);
    assert_eq!(json(&tokens)["token"], "cas-token");
}

async fn delete_secret(moto: &Moto, name: &str) {
    moto.client()
        .delete_secret()
        .secret_id(name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}

/// A secret holding only `held` (the fields of one provider), read at cold
/// start and then deleted: twice, spaced past the re-read spacing, the
/// route `missing` (the other provider's) answers 503 after a failed
/// re-read, and `serving` still answers 200 with the held fields.
async fn with_the_secret_gone_after_start(name: &str, held: serde_json::Value, missing: &str, serving: &str) {
    // Arrange
    let moto = Moto::start();
    moto.create_secret(name, &held.to_string()).await;
    let store = Arc::new(
        CredentialStore::secrets_manager(moto.client(), name).with_retry_spacing(Duration::from_millis(100)),
    );
    store.load().await;
    delete_secret(&moto, name).await;
    let cas = cas_accepting(KEY, SECRET, "cas-token").await;
    let aipix = aipix_answering(Echo("stream-token".into())).await;
    let vendor = both_providers(&cas.uri(), &aipix.uri(), store);

    // Act
    let mut answers = Vec::new();
    for _ in 0..2 {
        let refused = vendor.handle(request("GET", missing, None)).await;
        let served = vendor.handle(request("GET", serving, None)).await;
        answers.push((
            refused.status().as_u16(),
            error_code(&refused),
            served.status().as_u16(),
        ));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    // Assert: the route whose provider lacks its field never reached it.
    let expected = (503, "credentials_unavailable".to_owned(), 200);
    assert_eq!(answers, [expected.clone(), expected]);
    let unreached = if missing == "/token" { &cas } else { &aipix };
    assert!(unreached.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn with_the_secret_gone_after_start_cas_keeps_its_pair_while_streams_answer_503() {
    let cas_only = serde_json::json!({ "API_KEY": KEY, "API_SECRET": SECRET });
    with_the_secret_gone_after_start("gone-cas", cas_only, "/streams/cam-1/token", "/token").await;
}

#[tokio::test]
async fn with_the_secret_gone_after_start_streams_keep_their_token_while_token_answers_503() {
    let aipix_only = serde_json::json!({ "AIPIX_API_TOKEN": TOKEN });
    with_the_secret_gone_after_start("gone-aipix", aipix_only, "/token", "/streams/cam-1/token").await;
}

#[tokio::test]
async fn a_route_whose_provider_is_not_configured_is_501_not_enabled() {
    let only_aipix = aipix_vendor("http://127.0.0.1:9", token_store(TOKEN), policy());
    let only_cas = cas_vendor("http://127.0.0.1:9", fixed_store(), TIMEOUT);

    let token = only_aipix.handle(request("GET", "/token", Some(ALLOWED))).await;
    let stream = only_cas
        .handle(request("GET", "/streams/cam-1/token", Some(ALLOWED)))
        .await;

    for response in [&token, &stream] {
        assert_eq!(response.status(), 501);
        assert_eq!(error_code(response), "not_enabled");
        assert_eq!(header(response, "access-control-allow-origin"), Some(ALLOWED));
        assert!(
            json(response)["error"]["message"]
                .as_str()
                .unwrap()
                .contains("AIPIX_URL")
        );
    }
}

#[tokio::test]
async fn a_redirect_an_oversized_chunked_body_and_a_dropped_connection_are_upstream_errors() {
    // Arrange: three AIPIX stand-ins, each failing one way.
    let redirect = scripted_server(vec![
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/api/\r\ncontent-length: 0\r\n\r\n".to_owned(),
    ])
    .await;
    // 32 KiB in chunks and no end: only a reader that stops at 16 KiB
    // answers 502; one that waits for the end runs into the timeout (504).
    let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
    let oversized = scripted_server(vec![format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{chunk}{chunk}"
    )])
    .await;
    let dropped = closing_server().await;

    // Act + Assert
    for (fault, url) in [
        ("redirect", redirect),
        ("oversized", oversized),
        ("dropped", dropped),
    ] {
        let vendor = aipix_vendor(&over_https(&url).await, token_store(TOKEN), policy());
        let response = vendor.handle(request("GET", "/streams/cam-1/token", None)).await;
        assert_eq!(response.status(), 502, "{fault}");
        assert_eq!(error_code(&response), "upstream_error", "{fault}");
    }
}

#[tokio::test]
async fn stream_tokens_are_counted_by_the_quota_after_the_policy_and_validation() {
    use token_vendor::{FailMode, Quota, QuotaSpec, QuotaStore};
    // Arrange: one token per hour, counted in memory.
    let server = aipix_answering(Echo(serde_json::json!("stream-tok"))).await;
    let quota = Quota::new(
        QuotaSpec::parse("1/1h").unwrap(),
        QuotaStore::memory(),
        FailMode::Closed,
    );
    let vendor = aipix_vendor(&server.uri(), token_store(TOKEN), policy()).with_quota(quota);

    // Act: refusals first (not counted), then one token, then one too many.
    let not_allowed = vendor
        .handle(request("GET", "/streams/cam-9/token", Some(ALLOWED)))
        .await;
    let bad_ttl = vendor
        .handle(request("GET", "/streams/cam-1/token?ttl=soon", Some(ALLOWED)))
        .await;
    let right = vendor
        .handle(request("GET", "/streams/cam-1/token?copy=true", Some(ALLOWED)))
        .await;
    let served = vendor
        .handle(request("GET", "/streams/cam-1/token", Some(ALLOWED)))
        .await;
    let over = vendor
        .handle(request("POST", "/streams/lobby.main/token", Some(ALLOWED)))
        .await;

    // Assert
    let statuses = [&not_allowed, &bad_ttl, &right, &served, &over].map(|r| r.status().as_u16());
    assert_eq!(statuses, [403, 400, 403, 200, 429]);
    assert_eq!(header(&served, "ratelimit-remaining"), Some("0"));
    assert_eq!(
        header(&not_allowed, "ratelimit-remaining"),
        None,
        "refusals are not counted"
    );
    assert_eq!(error_code(&over), "quota_exceeded");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
