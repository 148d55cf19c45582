//! Secrets Manager through the real AWS SDK against `moto_server` on
//! 127.0.0.1 (signing, endpoint resolution and the wire protocol for real).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use token_vendor::secrets_manager_client;
use token_vendor::{CredentialStore, SecretError, SecretFormatError};

const TIMEOUT: Duration = Duration::from_secs(2);

/// CAS that accepts exactly the pair (`key`, `secret`) and refuses any other.

#[tokio::test]
async fn the_secret_is_read_at_cold_start_and_its_pair_reaches_cas() {
    // Arrange
    let moto = Moto::start();
    moto.create_secret("token-vendor/cas", &secret_json(KEY, SECRET))
        .await;
    let cas = cas_accepting(KEY, SECRET, "tok-happy").await;
    let store = Arc::new(CredentialStore::secrets_manager(
        moto.client(),
        "token-vendor/cas",
    ));
    store.load().await;
    let vendor = cas_vendor(&cas.uri(), store, TIMEOUT);

    // Act
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["token"], "tok-happy");
}

#[tokio::test]
async fn a_missing_secret_answers_503_until_it_is_created_and_the_spacing_has_passed() {
    let moto = Moto::start();
    let cas = cas_accepting(KEY, SECRET, "tok-late").await;
    let store = Arc::new(
        CredentialStore::secrets_manager(moto.client(), "token-vendor/late")
            .with_retry_spacing(Duration::from_millis(500)),
    );
    store.load().await;
    let vendor = cas_vendor(&cas.uri(), Arc::clone(&store), TIMEOUT);

    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "credentials_unavailable");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));

    moto.create_secret("token-vendor/late", &secret_json(KEY, SECRET))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["token"], "tok-late");
    assert_eq!(
        cas.received_requests().await.unwrap().len(),
        1,
        "CAS is never called without credentials"
    );
}

#[tokio::test]
async fn a_malformed_secret_is_credentials_unavailable_and_says_what_is_wrong() {
    let moto = Moto::start();
    let cases = [
        ("not-json", "API_KEY=zq-sekrit".to_owned(), None),
        (
            "no-secret",
            r#"{"API_KEY":"zq-sekrit"}"#.to_owned(),
            Some(SecretFormatError::Missing("API_SECRET")),
        ),
        (
            "no-key",
            r#"{"API_SECRET":"zq-sekrit"}"#.to_owned(),
            Some(SecretFormatError::Missing("API_KEY")),
        ),
    ];
    for (name, value, expected) in cases {
        moto.create_secret(name, &value).await;
        let store = Arc::new(CredentialStore::secrets_manager(moto.client(), name));

        let error = store.current(|c| c.cas().map(drop)).await.unwrap_err();

        match (&error, expected) {
            (SecretError::Format(found), Some(expected)) => assert_eq!(*found, expected),
            (SecretError::Format(SecretFormatError::NotJson { .. }), None) => {}
            _ => panic!("{name}: unexpected {error:?}"),
        }
        let vendor = cas_vendor("http://127.0.0.1:9", store, TIMEOUT);
        let response = vendor.handle(request("GET", "/token", None)).await;
        assert_eq!(response.status(), 503, "{name}");
        assert_eq!(error_code(&response), "credentials_unavailable");
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(!body.contains("zq-sekrit"), "{body}");
    }
}

#[tokio::test]
async fn rotation_a_new_secret_version_is_picked_up_when_cas_refuses_the_old_pair() {
    // Arrange: the instance holds the old pair; then the secret is rotated and
    // CAS accepts only the new one.
    let moto = Moto::start();
    moto.create_secret("rotating", &secret_json("old-key-1", "old-secret-1"))
        .await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "rotating"));
    store.load().await;
    moto.put_secret("rotating", &secret_json("new-key-2", "new-secret-2"))
        .await;
    let cas = cas_accepting("new-key-2", "new-secret-2", "tok-rotated").await;
    let vendor = cas_vendor(&cas.uri(), store, TIMEOUT);

    // Act
    let first = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;
    let second = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    // Assert: one refusal, one re-read, then the new pair for good.
    assert_eq!(first.status(), 200);
    assert_eq!(json(&first)["token"], "tok-rotated");
    assert_eq!(second.status(), 200);
    let keys: Vec<String> = cas
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["auth-api-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["old-key-1", "new-key-2", "new-key-2"]);
}

#[tokio::test]
async fn rotation_that_brings_no_accepted_pair_is_upstream_auth_failed() {
    let moto = Moto::start();
    moto.create_secret("revoked", &secret_json("revoked-key", "revoked-secret"))
        .await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "revoked"));
    store.load().await;
    let cas = cas_accepting("other-key", "other-secret", "never").await;
    let vendor = cas_vendor(&cas.uri(), store, TIMEOUT);

    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    assert_eq!(response.status(), 502);
    assert_eq!(error_code(&response), "upstream_auth_failed");
    assert_eq!(
        cas.received_requests().await.unwrap().len(),
        2,
        "one call, one retry"
    );
}

#[tokio::test]
async fn a_secrets_manager_that_accepts_connections_and_never_answers_costs_seconds_not_minutes() {
    // Arrange: a listener that accepts and then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = secrets_manager_client(&sdk_config(&endpoint));
    let store =
        Arc::new(CredentialStore::secrets_manager(client, "hanging").with_retry_spacing(Duration::ZERO));

    // Act: cold start, then a request that tries again.
    let started = Instant::now();
    store.load().await;
    let cold_start = started.elapsed();
    let vendor = cas_vendor("http://127.0.0.1:9", store, TIMEOUT);
    let started = Instant::now();
    let response = vendor.handle(request("GET", "/token", None)).await;
    let in_request = started.elapsed();

    // Assert
    assert!(
        cold_start < Duration::from_secs(5),
        "cold start took {cold_start:?}"
    );
    assert!(in_request < Duration::from_secs(5), "request took {in_request:?}");
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "credentials_unavailable");
}

/// CAS that refuses every key, counting its calls.
async fn cas_refusing_everything() -> Https<wiremock::MockServer> {
    let cas = upstream().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(401))
        .mount(&cas)
        .await;
    cas
}

#[tokio::test]
async fn ten_quick_requests_to_a_provider_that_refuses_every_key_cost_eleven_calls_not_twenty() {
    // Arrange
    let moto = Moto::start();
    moto.create_secret("tv/refused", &secret_json(KEY, SECRET)).await;
    let cas = cas_refusing_everything().await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "tv/refused"));
    store.load().await;
    let vendor = cas_vendor(&cas.uri(), store, TIMEOUT);

    // Act: one after another.
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(error_code(&vendor.handle(request("GET", "/token", None)).await));
    }

    // Assert: the first re-reads and retries (2 calls); the nine within the
    // spacing answer at once (1 call each).
    assert!(codes.iter().all(|c| c == "upstream_auth_failed"), "{codes:?}");
    assert_eq!(cas.received_requests().await.unwrap().len(), 11);
}

#[tokio::test]
async fn ten_concurrent_refusals_share_one_re_read_and_one_retry() {
    let moto = Moto::start();
    moto.create_secret("tv/refused-all", &secret_json(KEY, SECRET))
        .await;
    let cas = cas_refusing_everything().await;
    let store = Arc::new(CredentialStore::secrets_manager(moto.client(), "tv/refused-all"));
    store.load().await;
    let vendor = Arc::new(cas_vendor(&cas.uri(), store, TIMEOUT));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let vendor = Arc::clone(&vendor);
        tasks.spawn(async move { error_code(&vendor.handle(request("GET", "/token", None)).await) });
    }
    let mut codes = Vec::new();
    while let Some(code) = tasks.join_next().await {
        codes.push(code.unwrap());
    }

    assert!(codes.iter().all(|c| c == "upstream_auth_failed"), "{codes:?}");
    // One re-read (same values) and one retry, whoever got there first;
    // every other refusal found the spacing running.
    assert_eq!(cas.received_requests().await.unwrap().len(), 11);
}

#[tokio::test]
async fn after_the_spacing_a_refusal_re_reads_again_and_picks_up_a_rotated_key() {
    // Arrange: CAS accepts only the new pair, which is put into the secret
    // after a first refusal has re-read it.
    let moto = Moto::start();
    moto.create_secret("tv/later", &secret_json(KEY, SECRET)).await;
    let cas = cas_accepting("key-v2", "secret-v2", "tok-v2").await;
    let store = Arc::new(
        CredentialStore::secrets_manager(moto.client(), "tv/later")
            .with_retry_spacing(Duration::from_secs(2)),
    );
    store.load().await;
    let vendor = cas_vendor(&cas.uri(), store, TIMEOUT);
    let first = vendor.handle(request("GET", "/token", None)).await;
    moto.put_secret("tv/later", &secret_json("key-v2", "secret-v2"))
        .await;

    // Act
    let within = vendor.handle(request("GET", "/token", None)).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let after = vendor.handle(request("GET", "/token", None)).await;

    // Assert: 2 calls, then 1 (no re-read), then 2 (re-read, new pair).
    assert_eq!(error_code(&first), "upstream_auth_failed");
    assert_eq!(error_code(&within), "upstream_auth_failed");
    assert_eq!(after.status(), 200);
    assert_eq!(json(&after)["token"], "tok-v2");
    assert_eq!(cas.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn access_denied_to_the_secret_is_credentials_unavailable_and_named_so() {
    // Arrange: Secrets Manager refuses the role (what AWS answers then).
    let denied = json_reply(
        400,
        r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform secretsmanager:GetSecretValue"}"#,
    );
    let endpoint = scripted_server(vec![denied]).await;
    let store = Arc::new(CredentialStore::secrets_manager(
        secrets_manager_client(&sdk_config(&endpoint)),
        "tv/denied",
    ));

    // Act
    let read = store.current(|c| c.cas().map(drop)).await;
    let vendor = cas_vendor("http://127.0.0.1:9", store, TIMEOUT);
    let response = vendor.handle(request("GET", "/token", Some(ALLOWED))).await;

    // Assert
    assert!(matches!(read, Err(SecretError::AccessDenied)), "{read:?}");
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "credentials_unavailable");
}
