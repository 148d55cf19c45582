//! The API Gateway events in `events/` (the same files `sam local invoke -e`
//! and `cargo lambda invoke --data-file` take), parsed the way the Lambda
//! runtime parses them and answered by the handler.

use std::time::Duration;

use crate::support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn event(name: &str) -> lambda_http::Request {
    let file = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&file).unwrap();
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"))
}

async fn cas(expected_calls: u64) -> Https<MockServer> {
    let cas = upstream().await;
    Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": "tok-event" })))
        .expect(expected_calls)
        .mount(&cas)
        .await;
    cas
}

#[tokio::test]
async fn every_token_event_gets_a_token_with_cors_headers() {
    let names = [
        "http-api-get-token.json",
        "http-api-named-stage-get-token.json",
        "rest-api-get-token.json",
        "function-url-get-token.json",
    ];
    let cas = cas(names.len() as u64).await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2));

    for name in names {
        let response = vendor.handle(event(name)).await;

        assert_eq!(response.status(), 200, "{name}: {:?}", response.body());
        assert_eq!(json(&response)["token"], "tok-event", "{name}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(ALLOWED),
            "{name}"
        );
        assert_eq!(header(&response, "cache-control"), Some("no-store"), "{name}");
    }
}

#[tokio::test]
async fn the_preflight_event_gets_204_without_calling_cas() {
    let cas = cas(0).await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2));

    let response = vendor.handle(event("http-api-preflight.json")).await;

    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
}

#[tokio::test]
async fn the_refused_origin_event_gets_403_without_calling_cas() {
    let cas = cas(0).await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2));

    let response = vendor.handle(event("http-api-refused-origin.json")).await;

    assert_eq!(response.status(), 403);
    assert_eq!(error_code(&response), "origin_not_allowed");
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_malformed_body_event_gets_400() {
    let cas = cas(0).await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2));

    let response = vendor.handle(event("http-api-post-malformed-body.json")).await;

    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&response), "bad_request");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
}

#[tokio::test]
async fn the_lambda_request_id_is_in_the_error_body() {
    let cas = cas(0).await;
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2));
    let mut context = lambda_http::Context::default();
    context.request_id = "8f5e1a2b-request".to_owned();
    let request =
        lambda_http::RequestExt::with_lambda_context(event("http-api-refused-origin.json"), context);

    let response = vendor.handle(request).await;

    assert_eq!(json(&response)["error"]["requestId"], "8f5e1a2b-request");
}

#[tokio::test]
async fn the_stream_token_event_reaches_aipix_with_its_query() {
    use token_vendor::AipixClient;
    use token_vendor::{AipixConfig, AllowedStreams, Rights, StreamPolicy};
    use token_vendor::{CredentialStore, Credentials};
    use wiremock::matchers::body_partial_json;

    let aipix = upstream().await;
    Mock::given(method("POST"))
        .and(path("/api/"))
        .and(body_partial_json(
            serde_json::json!({ "params": { "stream": "cam-1", "ttl": 600, "live": true } }),
        ))
        .respond_with(|request: &wiremock::Request| {
            let call: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({ "jsonrpc": "2.0", "result": "tok-stream", "id": call["id"] }),
            )
        })
        .expect(1)
        .mount(&aipix)
        .await;
    let policy = StreamPolicy {
        streams: AllowedStreams::List(vec!["cam-1".into()]),
        rights: Rights {
            live: true,
            dvr: false,
            copy: false,
        },
        max_ttl: 3600,
        default_ttl: 3600,
        allow_unlimited: false,
    };
    let store = std::sync::Arc::new(CredentialStore::fixed(Credentials::from_values(
        None,
        None,
        Some("t".into()),
    )));
    let client = AipixClient::new(
        provider_http(Duration::from_secs(2)),
        AipixConfig {
            base_url: aipix.uri().parse().unwrap(),
            policy,
        },
        store,
    );
    let vendor = token_vendor::Vendor::new(
        token_vendor::AllowedOrigins::parse(ALLOWED).unwrap(),
        None,
        Some(client),
    );

    let response = vendor.handle(event("http-api-get-stream-token.json")).await;

    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(json(&response)["token"], "tok-stream");
    assert_eq!(json(&response)["stream"], "cam-1");
}

#[tokio::test]
async fn a_created_rooms_location_keeps_the_stage_the_caller_used() {
    use token_vendor::{RoomStore, Rooms};
    // Arrange: the REST API event turned into POST /rooms under stage Prod,
    // and an HTTP API one on the $default stage.
    let mut rest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/rest-api-get-token.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    rest["resource"] = "/rooms".into();
    rest["path"] = "/rooms".into();
    rest["httpMethod"] = "POST".into();
    rest["requestContext"]["httpMethod"] = "POST".into();
    rest["requestContext"]["path"] = "/Prod/rooms".into();
    rest["requestContext"]["resourcePath"] = "/rooms".into();
    let http_api = http_api_event("POST", "/rooms", "", &[("origin", ALLOWED)], "");
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let rooms = Rooms::new(
        RoomStore::memory(),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    let vendor = cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(2)).with_rooms(rooms);

    // Act
    let under_stage = vendor
        .handle(lambda_http::request::from_str(&rest.to_string()).unwrap())
        .await;
    let on_default = vendor
        .handle(lambda_http::request::from_str(&http_api).unwrap())
        .await;

    // Assert
    for (response, prefix) in [(&under_stage, "/Prod/rooms/"), (&on_default, "/rooms/")] {
        assert_eq!(response.status(), 201);
        let room = json(response)["room"].as_str().unwrap().to_owned();
        assert_eq!(
            header(response, "location"),
            Some(format!("{prefix}{room}").as_str())
        );
    }
}
