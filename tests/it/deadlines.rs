//! Every request is answered before its deadline: 250 ms before the
//! invocation's (`Lambda-Runtime-Deadline-Ms`), or 15 s locally, whatever hangs
//! behind it — the provider, the secret's re-read during a rotation, the rooms
//! table — with the documented JSON error and the CORS headers.

use std::time::{Duration, Instant};

use crate::support::*;
use bench::runtime_api::{Kind, Outcome, RuntimeApi};
use token_vendor::CredentialStore;
use token_vendor::{RoomStore, Rooms};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

/// The longest allowed upstream timeout: only the deadline can cut the call.
const LONG: Duration = Duration::from_secs(25);
const BUDGET: Duration = Duration::from_secs(2);

/// Answered in time: after most of the budget (the work was cut at the
/// deadline, 250 ms before its end, not earlier) and before the end.
fn assert_cut_at_the_deadline(took: Duration) {
    assert!(
        took >= Duration::from_millis(1_500) && took < BUDGET,
        "answered after {took:?} of a {BUDGET:?} budget"
    );
}

#[tokio::test]
async fn under_lambda_a_hung_provider_is_answered_504_with_cors_before_the_invocation_deadline() {
    // Arrange: CAS accepts connections and never answers; its timeout is 25 s.
    let moto = Moto::start();
    moto.create_secret("tv/deadline", &secret_json(KEY, SECRET)).await;
    let cas = over_https(&stalled_server().await).await;
    let mut runtime = RuntimeApi::start().await.unwrap();
    let mut vars = lambda_env(&runtime);
    vars.extend(aws_env(&moto));
    vars.extend([
        ("SECRET_ID", "tv/deadline".to_owned()),
        ("CAS_URL", cas),
        ("UPSTREAM_TIMEOUT_MS", "25000".to_owned()),
    ]);
    let vendor = Process::spawn(&vars);
    runtime.wait_first_next(Duration::from_secs(20)).await.unwrap();
    let event = std::fs::read_to_string(format!(
        "{}/events/http-api-get-token.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();

    // Act: an invocation with two seconds to live.
    runtime.invoke_due("due-in-2s", event, BUDGET);
    let outcome = runtime.outcome(Duration::from_secs(10)).await;
    let output = vendor.stop().await;

    // Assert
    match outcome {
        Some(Outcome {
            kind: Kind::Response(body),
            latency: Some(latency),
            ..
        }) => {
            assert_eq!(body["statusCode"], 504, "{body}\n{output}");
            assert_eq!(body["headers"]["access-control-allow-origin"], ALLOWED);
            let payload: serde_json::Value = serde_json::from_str(body["body"].as_str().unwrap()).unwrap();
            assert_eq!(payload["error"]["code"], "upstream_timeout");
            assert_cut_at_the_deadline(latency);
        }
        other => panic!("{other:?}\n{output}"),
    }
}

#[tokio::test]
async fn a_rotation_whose_secret_re_read_hangs_is_504_before_the_deadline() {
    // Arrange: Secrets Manager answers the cold start's read, then hangs; CAS
    // refuses the key, so the request re-reads the secret.
    let secret = serde_json::json!({ "SecretString": secret_json(KEY, SECRET) }).to_string();
    let secrets_manager = scripted_server(vec![json_reply(200, &secret)]).await;
    let store = CredentialStore::secrets_manager(
        token_vendor::secrets_manager_client(&sdk_config(&secrets_manager)),
        "tv/hangs",
    );
    store.load().await;
    assert!(store.held().is_some(), "the cold start read the secret");
    let cas = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&cas)
        .await;
    let vendor = cas_vendor(&cas.uri(), std::sync::Arc::new(store), LONG);

    // Act
    let started = Instant::now();
    let response = vendor
        .handle(due_in(request("GET", "/token", Some(ALLOWED)), BUDGET))
        .await;

    // Assert: the re-read (whose own SDK timeout is 3 s) was cut at the deadline.
    assert_cut_at_the_deadline(started.elapsed());
    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
}

#[tokio::test]
async fn a_hung_rooms_table_is_503_store_unavailable_before_the_deadline() {
    // Arrange: DynamoDB accepts connections and never answers (the SDK's own
    // timeout is 3 s, more than the budget).
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let table = stalled_server().await;
    let rooms = Rooms::new(
        RoomStore::dynamo(dynamodb(&table), TABLE),
        Duration::from_secs(60),
        Duration::from_secs(86_400),
    );
    let vendor = cas_vendor(&cas.uri(), fixed_store(), LONG).with_rooms(rooms);

    // Act
    let started = Instant::now();
    let response = vendor
        .handle(due_in(request("PUT", "/rooms/hung", Some(ALLOWED)), BUDGET))
        .await;

    // Assert
    assert_cut_at_the_deadline(started.elapsed());
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "store_unavailable");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(minting.calls(), 0);
}

#[tokio::test]
async fn locally_a_request_gets_the_deployed_functions_fifteen_seconds() {
    // Arrange: a hung CAS and the longest upstream timeout (25 s).
    let cas = over_https(&stalled_server().await).await;
    let vendor = cas_vendor(&cas, fixed_store(), LONG);

    // Act: no Lambda context, as in local mode.
    let started = Instant::now();
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;
    let took = started.elapsed();

    // Assert: 15 s less the margin.
    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
    assert!(
        took >= Duration::from_millis(14_500) && took < Duration::from_secs(15),
        "{took:?}"
    );
}
