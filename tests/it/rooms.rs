//! Rooms against DynamoDB in moto on 127.0.0.1 through the real SDK (and the
//! in-memory store): create, join, unknown, expired, renewal, bad names,
//! store down, concurrency, and a race across two vendor processes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use aws_sdk_dynamodb::types::AttributeValue;
use token_vendor::AllowedOrigins;
use token_vendor::TokenProvider;
use token_vendor::Vendor;
use token_vendor::{RoomStore, Rooms};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_secs(2);

fn vendor(cas_url: &str, store: RoomStore) -> Vendor {
    let cas = token_vendor::CasClient::new(provider_http(TIMEOUT), &cas_url.parse().unwrap(), fixed_store());
    let rooms = Rooms::new(store, Duration::from_secs(60), Duration::from_secs(86_400));
    Vendor::new(
        AllowedOrigins::parse(ALLOWED).unwrap(),
        Some(TokenProvider::Cas(cas)),
        None,
    )
    .with_rooms(rooms)
}

async fn dynamo_vendor(moto: &Moto, cas_url: &str) -> (Vendor, aws_sdk_dynamodb::Client) {
    let client = dynamodb(&moto.endpoint);
    create_table(&client).await;
    (vendor(cas_url, RoomStore::dynamo(client.clone(), TABLE)), client)
}

/// A vendor on a fresh moto table with a minting CAS; the servers live as
/// long as the fixture.
struct Fixture {
    _moto: Moto,
    _cas: Https<MockServer>,
    minting: Minting,
    vendor: Vendor,
    client: aws_sdk_dynamodb::Client,
}

async fn fixture() -> Fixture {
    let moto = Moto::start();
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;
    Fixture {
        _moto: moto,
        _cas: cas,
        minting,
        vendor,
        client,
    }
}

fn token_of(response: &lambda_http::Response<lambda_http::Body>) -> String {
    json(response)["token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_room_is_created_once_then_joined_and_read_with_the_same_token() {
    // Arrange
    let f = fixture().await;
    let (minting, vendor) = (&f.minting, &f.vendor);

    // Act
    let created = vendor
        .handle(request("PUT", "/rooms/movie-night", Some(ALLOWED)))
        .await;
    let joined = vendor
        .handle(request("PUT", "/rooms/movie-night", Some(ALLOWED)))
        .await;
    let read = vendor
        .handle(request("GET", "/rooms/movie-night", Some(ALLOWED)))
        .await;

    // Assert
    assert_eq!(created.status(), 201, "{:?}", created.body());
    assert_eq!(joined.status(), 200);
    assert_eq!(read.status(), 200);
    let token = token_of(&created);
    assert!(!token.is_empty());
    assert_eq!(token_of(&joined), token);
    assert_eq!(token_of(&read), token);
    assert_eq!(json(&created)["room"], "movie-night");
    assert!(json(&created)["expiresAt"].is_string());
    assert_eq!(header(&created, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(minting.calls(), 1);
}

#[tokio::test]
async fn post_rooms_generates_an_unguessable_name_with_a_location() {
    let f = fixture().await;
    let vendor = &f.vendor;

    let created = vendor.handle(post("/rooms", Some(ALLOWED), "")).await;

    assert_eq!(created.status(), 201);
    let room = json(&created)["room"].as_str().unwrap().to_owned();
    assert_eq!(room.len(), 22, "128 random bits, base64url");
    assert_eq!(
        header(&created, "location"),
        Some(format!("/rooms/{room}").as_str())
    );
    let read = vendor
        .handle(request("GET", &format!("/rooms/{room}"), None))
        .await;
    assert_eq!(token_of(&read), token_of(&created));
}

#[tokio::test]
async fn an_unknown_room_is_404_and_never_calls_cas() {
    let f = fixture().await;
    let (minting, vendor) = (&f.minting, &f.vendor);

    let response = vendor
        .handle(request("GET", "/rooms/nobody-here", Some(ALLOWED)))
        .await;

    assert_eq!(response.status(), 404);
    assert_eq!(error_code(&response), "room_not_found");
    assert_eq!(minting.calls(), 0);
}

async fn put_item(client: &aws_sdk_dynamodb::Client, room: &str, token: &str, expires_at: i64) {
    put_minted(client, room, token, None, expires_at).await;
}

#[tokio::test]
async fn an_expired_room_counts_as_absent_and_the_next_put_mints_anew() {
    let f = fixture().await;
    let (minting, vendor, client) = (&f.minting, &f.vendor, &f.client);
    put_item(
        client,
        "yesterday",
        "old-token",
        jiff::Timestamp::now().as_second() - 10,
    )
    .await;

    let read = vendor.handle(request("GET", "/rooms/yesterday", None)).await;
    let put = vendor.handle(request("PUT", "/rooms/yesterday", None)).await;

    assert_eq!(read.status(), 404);
    assert_eq!(put.status(), 201);
    assert_ne!(token_of(&put), "old-token");
    assert_eq!(minting.calls(), 1);
}

#[tokio::test]
async fn a_room_expiring_within_the_margin_is_renewed_once_under_concurrency() {
    // Arrange: a token valid for 30 more seconds (margin 60).
    let f = fixture().await;
    put_item(
        &f.client,
        "late-show",
        "expiring-token",
        jiff::Timestamp::now().as_second() + 30,
    )
    .await;
    let minting = f.minting.clone();
    let vendor = Arc::new(f.vendor);

    // Act: GET still answers the valid token; ten PUTs at once renew it.
    let read = vendor.handle(request("GET", "/rooms/late-show", None)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let vendor = Arc::clone(&vendor);
        tasks.spawn(async move { vendor.handle(request("PUT", "/rooms/late-show", None)).await });
    }
    let mut statuses = Vec::new();
    let mut tokens = Vec::new();
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        statuses.push(response.status().as_u16());
        tokens.push(token_of(&response));
    }

    let after = vendor.handle(request("PUT", "/rooms/late-show", None)).await;

    // Assert: one renewal; the PUTs that found it under way answered the
    // current token at once; the next PUT joins the new one.
    assert_eq!(token_of(&read), "expiring-token");
    assert_eq!(minting.calls(), 1, "one CAS call for the renewal");
    let renewed = minting.issued().pop().unwrap();
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201), "{statuses:?}");
    assert!(
        tokens.iter().all(|t| t == "expiring-token" || *t == renewed),
        "{tokens:?}"
    );
    assert_eq!((after.status().as_u16(), token_of(&after)), (200, renewed));
}

#[tokio::test]
async fn bad_room_names_are_400_before_any_store_or_cas_call() {
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    // A store that would fail if it were reached.
    let vendor = vendor(
        &cas.uri(),
        RoomStore::dynamo(dynamodb(&format!("http://127.0.0.1:{}", free_port())), TABLE),
    );

    for path in [
        "/rooms/a%20b",
        "/rooms/",
        "/rooms/a/b",
        "/rooms/%41",
        &format!("/rooms/{}", "x".repeat(129)),
    ] {
        let response = vendor.handle(request("PUT", path, Some(ALLOWED))).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(error_code(&response), "bad_request", "{path}");
    }
    assert_eq!(minting.calls(), 0);
}

#[tokio::test]
async fn a_store_that_is_down_is_503_store_unavailable_within_seconds() {
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = vendor(
        &cas.uri(),
        RoomStore::dynamo(dynamodb(&format!("http://127.0.0.1:{}", free_port())), TABLE),
    );

    let started = Instant::now();
    let put = vendor.handle(request("PUT", "/rooms/party", Some(ALLOWED))).await;
    let get = vendor.handle(request("GET", "/rooms/party", Some(ALLOWED))).await;

    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    for response in [&put, &get] {
        assert_eq!(response.status(), 503);
        assert_eq!(error_code(response), "store_unavailable");
        assert_eq!(header(response, "access-control-allow-origin"), Some(ALLOWED));
    }
    assert_eq!(minting.calls(), 0);
}

#[tokio::test]
async fn a_failed_cas_call_releases_the_claim_so_the_next_put_is_not_stuck() {
    let moto = Moto::start();
    let minting = Minting::default();
    let cas = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&cas)
        .await;
    Mock::given(method("GET"))
        .respond_with(minting.clone())
        .with_priority(2)
        .mount(&cas)
        .await;
    let (vendor, _) = dynamo_vendor(&moto, &cas.uri()).await;

    let failed = vendor.handle(request("PUT", "/rooms/retry", None)).await;
    let started = Instant::now();
    let retried = vendor.handle(request("PUT", "/rooms/retry", None)).await;

    assert_eq!(failed.status(), 502);
    assert_eq!(retried.status(), 201);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for a lease: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn in_memory_rooms_make_one_cas_call_for_many_concurrent_puts() {
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = Arc::new(vendor(&cas.uri(), RoomStore::memory()));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let vendor = Arc::clone(&vendor);
        tasks.spawn(async move { token_of(&vendor.handle(request("PUT", "/rooms/local", None)).await) });
    }
    let mut tokens = Vec::new();
    while let Some(token) = tasks.join_next().await {
        tokens.push(token.unwrap());
    }

    tokens.dedup();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(!tokens[0].is_empty());
    assert_eq!(minting.calls(), 1);
}

#[tokio::test]
async fn rooms_not_configured_answer_501_saying_how_to_enable_them() {
    let vendor = cas_vendor("http://127.0.0.1:9", fixed_store(), TIMEOUT);

    let response = vendor.handle(request("PUT", "/rooms/party", Some(ALLOWED))).await;

    assert_eq!(response.status(), 501);
    assert_eq!(error_code(&response), "not_enabled");
    assert!(
        json(&response)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ROOMS_TABLE")
    );
}

#[tokio::test]
async fn fifty_concurrent_puts_over_two_vendor_processes_make_one_cas_call_and_fifty_identical_tokens() {
    // Arrange: one moto table, one counting CAS, two local vendor processes.
    let moto = Moto::start();
    create_table(&dynamodb(&moto.endpoint)).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let mut ports = Vec::new();
    let mut processes = Vec::new();
    for _ in 0..2 {
        let mut vars = aws_env(&moto);
        vars.extend([
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
            ("ROOMS_TABLE", TABLE.to_owned()),
            ("CAS_URL", cas.uri()),
            ("API_KEY", KEY.to_owned()),
            ("API_SECRET", SECRET.to_owned()),
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ]);
        let process = Process::spawn(&vars);
        ports.push(process.listening_port().await);
        processes.push(process);
    }
    let http = reqwest::Client::new();

    // Act
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (http, port) = (http.clone(), ports[i % 2]);
        tasks.spawn(async move {
            let response = http
                .put(format!("http://127.0.0.1:{port}/rooms/watch-party"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["token"].as_str().unwrap_or_default().to_owned())
        });
    }
    let mut results = Vec::new();
    while let Some(result) = tasks.join_next().await {
        results.push(result.unwrap());
    }
    let mut outputs = String::new();
    for process in processes {
        outputs.push_str(&process.stop().await);
    }

    // Assert
    assert_eq!(minting.calls(), 1, "{outputs}");
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 201), "{results:?}");
    let first = &results[0].1;
    assert!(!first.is_empty());
    assert!(results.iter().all(|(_, t)| t == first), "{results:?}");
    assert!(
        !outputs.contains("watch-party"),
        "room names are never logged:\n{outputs}"
    );
}

async fn put_pending(client: &aws_sdk_dynamodb::Client, room: &str, lease_until_ms: i64) {
    client
        .put_item()
        .table_name(TABLE)
        .item("room", AttributeValue::S(room.into()))
        .item("claimId", AttributeValue::S("a-claimant-that-died".into()))
        .item("leaseUntil", AttributeValue::N(lease_until_ms.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_claim_whose_holder_died_is_taken_over_once_its_lease_lapsed() {
    let f = fixture().await;
    let (minting, vendor, client) = (&f.minting, &f.vendor, &f.client);
    put_pending(client, "orphan", jiff::Timestamp::now().as_millisecond() - 1).await;

    let pending = vendor.handle(request("GET", "/rooms/orphan", None)).await;
    let taken_over = vendor.handle(request("PUT", "/rooms/orphan", None)).await;

    assert_eq!(pending.status(), 404, "a pending room is not found yet");
    assert_eq!(taken_over.status(), 201);
    assert_eq!(minting.calls(), 1);
}

#[tokio::test]
async fn a_put_that_cannot_get_the_token_in_time_is_504_and_calls_nobody() {
    // A live lease held by someone who never finishes (lease far in the future).
    let f = fixture().await;
    let (minting, vendor, client) = (&f.minting, &f.vendor, &f.client);
    put_pending(client, "stuck", jiff::Timestamp::now().as_millisecond() + 60_000).await;

    let started = Instant::now();
    let response = vendor
        .handle(due_in(
            request("PUT", "/rooms/stuck", None),
            Duration::from_secs(2),
        ))
        .await;

    // It waited for its own deadline (2 s less the margin), not past it.
    let waited = started.elapsed();
    assert_eq!(response.status(), 504);
    assert_eq!(error_code(&response), "upstream_timeout");
    assert!(
        waited >= Duration::from_millis(1_500) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(minting.calls(), 0);
}

async fn item(
    client: &aws_sdk_dynamodb::Client,
    room: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(TABLE)
        .key("room", AttributeValue::S(room.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap_or_default()
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

#[tokio::test]
async fn tokens_living_less_than_the_margin_are_renewed_at_mid_life_not_by_every_put() {
    // Arrange: CAS tokens live 40 s; the margin is 60 s.
    let moto = Moto::start();
    let minting = Minting::living(40);
    let cas = minting_cas(&minting).await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;

    // Act: five PUTs.
    let mut answers = Vec::new();
    for _ in 0..5 {
        let response = vendor.handle(request("PUT", "/rooms/short-lived", None)).await;
        answers.push((response.status().as_u16(), token_of(&response)));
    }

    // Assert: one token, one CAS call; its minting time is stored with it.
    assert_eq!(minting.calls(), 1, "{answers:?}");
    assert_eq!(answers[0].0, 201);
    assert!(answers.iter().all(|(_, t)| *t == answers[0].1), "{answers:?}");
    let stored = item(&client, "short-lived").await;
    let (minted, expires) = (
        number(&stored, "mintedAt").unwrap(),
        number(&stored, "expiresAt").unwrap(),
    );
    assert!((39..=41).contains(&(expires - minted)), "{minted} {expires}");
}

#[tokio::test]
async fn a_renewal_that_fails_answers_the_current_token_with_200_and_releases_the_claim() {
    // Arrange: a valid token due for renewal; CAS fails.
    let moto = Moto::start();
    let cas = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&cas)
        .await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;
    let expires = jiff::Timestamp::now().as_second() + 30;
    put_item(&client, "renew-fails", "current-token", expires).await;

    // Act
    let response = vendor.handle(request("PUT", "/rooms/renew-fails", None)).await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(token_of(&response), "current-token");
    let stored = item(&client, "renew-fails").await;
    assert!(
        !stored.contains_key("claimId") && !stored.contains_key("leaseUntil"),
        "{stored:?}"
    );
    assert_eq!(
        number(&stored, "expiresAt"),
        Some(expires),
        "a renewal claim never shortens expiresAt"
    );
}

#[tokio::test]
async fn a_put_that_finds_another_instance_renewing_answers_the_current_token_at_once() {
    let f = fixture().await;
    let now = jiff::Timestamp::now();
    put_item(&f.client, "renewing", "current-token", now.as_second() + 30).await;
    f.client
        .update_item()
        .table_name(TABLE)
        .key("room", AttributeValue::S("renewing".into()))
        .update_expression("SET claimId = :id, leaseUntil = :lease")
        .expression_attribute_values(":id", AttributeValue::S("another-instance".into()))
        .expression_attribute_values(
            ":lease",
            AttributeValue::N((now.as_millisecond() + 60_000).to_string()),
        )
        .send()
        .await
        .unwrap();

    let started = Instant::now();
    let response = f.vendor.handle(request("PUT", "/rooms/renewing", None)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(token_of(&response), "current-token");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(f.minting.calls(), 0);
}

/// CAS answering 500 to every call.
async fn cas_failing() -> Https<MockServer> {
    let cas = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&cas)
        .await;
    cas
}

#[tokio::test]
async fn a_failed_creation_leaves_an_item_that_dynamodbs_ttl_deletes() {
    let moto = Moto::start();
    let cas = cas_failing().await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;

    let response = vendor.handle(request("PUT", "/rooms/never-made", None)).await;

    assert_eq!(response.status(), 502);
    let stored = item(&client, "never-made").await;
    let now = jiff::Timestamp::now().as_second();
    let expires = number(&stored, "expiresAt").expect("a TTL on the leftover item");
    assert!(
        expires > now && expires <= now + 17,
        "the lease's end: {expires} vs now {now}"
    );
    assert!(
        !stored.contains_key("token") && !stored.contains_key("claimId"),
        "{stored:?}"
    );
}

async fn a_write_whose_reply_is_lost_counts_as_done(nth_update: usize) {
    // Arrange: the table behind a proxy that loses one UpdateItem reply.
    let moto = Moto::start();
    create_table(&dynamodb(&moto.endpoint)).await;
    let proxy = losing_proxy(moto.endpoint.clone(), nth_update).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = vendor(&cas.uri(), RoomStore::dynamo(dynamodb(&proxy), TABLE));

    // Act
    let started = Instant::now();
    let response = vendor.handle(request("PUT", "/rooms/lost-reply", None)).await;

    // Assert: recognised as ours at once (no wait for our own lease), one token.
    assert_eq!(response.status(), 201, "{}", json(&response));
    assert_eq!(minting.calls(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let stored = item(&dynamodb(&moto.endpoint), "lost-reply").await;
    assert_eq!(
        stored
            .get("token")
            .and_then(|t| t.as_s().ok())
            .map(String::as_str),
        Some(token_of(&response).as_str())
    );
}

#[tokio::test]
async fn a_claim_whose_reply_was_lost_counts_as_won() {
    a_write_whose_reply_is_lost_counts_as_done(1).await;
}

#[tokio::test]
async fn a_token_write_whose_reply_was_lost_counts_as_written() {
    a_write_whose_reply_is_lost_counts_as_done(2).await;
}

#[tokio::test]
async fn an_expired_token_never_comes_back_while_or_after_a_re_creation_fails() {
    // Arrange: the room's token has expired; CAS fails.
    let moto = Moto::start();
    let cas = cas_failing().await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;
    put_item(
        &client,
        "dead",
        "dead-token",
        jiff::Timestamp::now().as_second() - 5,
    )
    .await;

    // Act
    let first = vendor.handle(request("PUT", "/rooms/dead", None)).await;
    let read = vendor.handle(request("GET", "/rooms/dead", None)).await;
    let second = vendor.handle(request("PUT", "/rooms/dead", None)).await;

    // Assert: the claim took the dead token away with it.
    assert_eq!(first.status(), 502);
    assert_eq!(read.status(), 404);
    assert_eq!(second.status(), 502);
    assert!(!item(&client, "dead").await.contains_key("token"));
}

/// A ready room, as the table holds it (`mintedAt` only when given, as
/// rooms written before it was stored).
async fn put_minted(
    client: &aws_sdk_dynamodb::Client,
    room: &str,
    token: &str,
    minted_at: Option<i64>,
    expires_at: i64,
) {
    let mut put = client
        .put_item()
        .table_name(TABLE)
        .item("room", AttributeValue::S(room.into()))
        .item("token", AttributeValue::S(token.into()))
        .item("expiresAt", AttributeValue::N(expires_at.to_string()))
        .item(
            "createdAt",
            AttributeValue::N(minted_at.unwrap_or(expires_at - 86_400).to_string()),
        );
    if let Some(minted_at) = minted_at {
        put = put.item("mintedAt", AttributeValue::N(minted_at.to_string()));
    }
    put.send().await.unwrap();
}

#[tokio::test]
async fn a_token_is_renewed_from_the_later_of_its_margin_and_its_mid_life() {
    // Arrange: two 40 s tokens (margin 60 s, so both are "within the
    // margin"): one minted 10 s ago (mid-life in 10 s), one 30 s ago (past it).
    let f = fixture().await;
    let now = jiff::Timestamp::now().as_second();
    put_minted(&f.client, "young", "young-token", Some(now - 10), now + 30).await;
    put_minted(&f.client, "old", "old-token", Some(now - 30), now + 10).await;

    // Act
    let young = f.vendor.handle(request("PUT", "/rooms/young", None)).await;
    let calls_after_young = f.minting.calls();
    let old = f.vendor.handle(request("PUT", "/rooms/old", None)).await;

    // Assert
    assert_eq!(
        (young.status().as_u16(), token_of(&young)),
        (200, "young-token".to_owned())
    );
    assert_eq!(calls_after_young, 0);
    assert_eq!(old.status(), 201);
    assert_ne!(token_of(&old), "old-token");
    assert_eq!(f.minting.calls(), 1);
}

#[tokio::test]
async fn a_claim_taken_over_while_minting_joins_the_takers_token() {
    // Arrange: CAS takes a second; meanwhile another instance (the test)
    // takes the room over and writes its own token.
    let moto = Moto::start();
    let cas = upstream().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "token": "our-token" }))
                .set_delay(Duration::from_secs(1)),
        )
        .expect(1)
        .mount(&cas)
        .await;
    let (vendor, client) = dynamo_vendor(&moto, &cas.uri()).await;
    let takeover = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        put_item(
            &client,
            "contested",
            "takers-token",
            jiff::Timestamp::now().as_second() + 3600,
        )
        .await;
    };

    // Act
    let (response, ()) = tokio::join!(vendor.handle(request("PUT", "/rooms/contested", None)), takeover);

    // Assert: our write found the claim gone and the taker's token there.
    assert_eq!(response.status(), 200);
    assert_eq!(token_of(&response), "takers-token");
    let stored = item(&client, "contested").await;
    assert_eq!(
        stored
            .get("token")
            .and_then(|t| t.as_s().ok())
            .map(String::as_str),
        Some("takers-token")
    );
}

#[tokio::test]
async fn a_whitespace_body_sent_as_json_is_a_bad_request_not_a_room() {
    // Arrange: what schemathesis found: POST /rooms with a body of "\n"
    // sent as JSON made a room.
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = vendor(&cas.uri(), RoomStore::memory());

    // Act
    let as_json = vendor.handle(post("/rooms", Some(ALLOWED), "\n")).await;
    let empty = vendor.handle(post("/rooms", Some(ALLOWED), "")).await;
    let token = vendor.handle(post("/token", Some(ALLOWED), " \r\n")).await;

    // Assert: refused before CAS is called; an empty body is still none.
    assert_eq!(as_json.status(), 400);
    assert_eq!(error_code(&as_json), "bad_request");
    assert_eq!(header(&as_json, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(empty.status(), 201);
    assert_eq!(token.status(), 400);
    assert_eq!(minting.calls(), 1, "only the empty body's room was minted");
}

#[tokio::test]
async fn the_memory_store_forgets_rooms_whose_token_has_expired() {
    // Arrange: tokens that live three seconds (a second boundary between
    // two requests must not expire one).
    let minting = Minting::living(3);
    let cas = minting_cas(&minting).await;
    let vendor = vendor(&cas.uri(), RoomStore::memory());
    for room in ["first", "second"] {
        assert_eq!(
            vendor
                .handle(request("PUT", &format!("/rooms/{room}"), Some(ALLOWED)))
                .await
                .status(),
            201
        );
    }
    assert!(
        format!("{vendor:?}").contains("MemoryRooms { rooms: 2,"),
        "{vendor:?}"
    );

    // Act: a new room once both tokens have expired.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let third = vendor.handle(request("PUT", "/rooms/third", Some(ALLOWED))).await;

    // Assert: only the new room is kept (locally, as DynamoDB's TTL would).
    assert_eq!(third.status(), 201);
    assert!(
        format!("{vendor:?}").contains("MemoryRooms { rooms: 1,"),
        "{vendor:?}"
    );
}

#[tokio::test]
async fn beyond_rooms_memory_max_a_new_room_is_a_503_and_the_rooms_held_are_served() {
    // Arrange: room for two; tokens that live three seconds.
    let minting = Minting::living(3);
    let cas = minting_cas(&minting).await;
    let vendor = vendor(&cas.uri(), RoomStore::memory_holding(2));
    let put = |room: &'static str| vendor.handle(request("PUT", &format!("/rooms/{room}"), Some(ALLOWED)));
    assert_eq!(put("first").await.status(), 201);
    assert_eq!(put("second").await.status(), 201);

    // Act: a third room while both are live, the first again, then the
    // third once both have expired.
    let minted = minting.calls();
    let full = put("third").await;
    let minted_for_full = minting.calls() - minted;
    let held = put("first").await;
    let post = vendor.handle(post("/rooms", Some(ALLOWED), "")).await;
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let later = put("third").await;

    // Assert: 503 rooms_full with CORS, no CAS call for it; the rooms held
    // are still served; room again once the expired ones are forgotten.
    assert_eq!(full.status(), 503);
    assert_eq!(error_code(&full), "rooms_full");
    assert_eq!(header(&full, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(error_code(&post), "rooms_full");
    assert_eq!(minted_for_full, 0);
    // (The held room's short-lived token is due for renewal: 200 or 201.)
    assert!(held.status().is_success(), "{:?}", json(&held));
    assert_eq!(json(&held)["room"], "first");
    assert_eq!(later.status(), 201);
}
