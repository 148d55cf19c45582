//! Per-caller quotas, counted in DynamoDB (moto on one thread, through the
//! real SDK) or in memory, and the audit line of every token handed out.

use std::time::Duration;

use crate::support::*;
use lambda_http::{Body, Response};
use token_vendor::Vendor;
use token_vendor::{FailMode, Quota, QuotaSpec, QuotaStore};
use token_vendor::{RoomStore, Rooms};

const QUOTAS: &str = "quotas";
const TIMEOUT: Duration = Duration::from_secs(2);

/// An HTTP API event from `ip`, signed in as `sub` when given (the JWT
/// authorizer's claims, as API Gateway hands them over).
fn from(
    ip: &str,
    sub: Option<&str>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> lambda_http::Request {
    let mut event: serde_json::Value =
        serde_json::from_str(&http_api_event(method, path, "", headers, body)).unwrap();
    event["requestContext"]["http"]["sourceIp"] = ip.into();
    if let Some(sub) = sub {
        event["requestContext"]["authorizer"] = serde_json::json!({
            "jwt": { "claims": { "sub": sub, "iss": "https://issuer.example.com" }, "scopes": null }
        });
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// A REST API (payload 1.0) GET /token from `ip`, signed in as `sub`.
fn rest_from(ip: &str, sub: &str) -> lambda_http::Request {
    let event = serde_json::json!({
        "resource": "/token",
        "path": "/token",
        "httpMethod": "GET",
        "headers": { "origin": ALLOWED },
        "multiValueHeaders": { "origin": [ALLOWED] },
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc",
            "stage": "Prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": { "sourceIp": ip, "userAgent": "tests" },
            "authorizer": { "claims": { "sub": sub } },
            "resourcePath": "/token",
            "httpMethod": "GET",
            "apiId": "abc123",
            "path": "/Prod/token"
        },
        "body": null,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn get_token(ip: &str) -> lambda_http::Request {
    from(ip, None, "GET", "/token", &[("origin", ALLOWED)], "")
}

async fn quota_table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let client = dynamodb(&moto.endpoint);
    create_keyed_table(&client, QUOTAS, "pk").await;
    client
}

fn with_quota(vendor: Vendor, spec: &str, store: QuotaStore, fail: FailMode) -> Vendor {
    vendor.with_quota(Quota::new(QuotaSpec::parse(spec).unwrap(), store, fail))
}

fn remaining(response: &Response<Body>) -> Option<&str> {
    header(response, "ratelimit-remaining")
}

#[tokio::test]
async fn each_caller_gets_n_tokens_a_window_and_forged_headers_change_nothing() {
    // Arrange: 2 tokens per caller and hour, counted in DynamoDB.
    let moto = Moto::start();
    let client = quota_table(&moto).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = with_quota(
        cas_vendor(&cas.uri(), fixed_store(), TIMEOUT),
        "2/1h",
        QuotaStore::dynamo(client, QUOTAS),
        FailMode::Closed,
    );

    // Act + Assert: caller A's two tokens, then 429.
    let first = vendor.handle(get_token("203.0.113.10")).await;
    let second = vendor.handle(get_token("203.0.113.10")).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert_eq!((remaining(&first), remaining(&second)), (Some("1"), Some("0")));
    assert_eq!(header(&first, "ratelimit-limit"), Some("2"));
    assert!(
        header(&first, "access-control-expose-headers")
            .unwrap()
            .contains("Retry-After")
    );
    let refused = vendor.handle(get_token("203.0.113.10")).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(error_code(&refused), "quota_exceeded");
    assert_eq!(header(&refused, "access-control-allow-origin"), Some(ALLOWED));
    let retry_after: u64 = header(&refused, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(remaining(&refused), Some("0"));

    // Headers a caller could forge are not who the caller is.
    let forged = vendor
        .handle(from(
            "203.0.113.10",
            None,
            "GET",
            "/token",
            &[
                ("origin", ALLOWED),
                ("x-forwarded-for", "198.51.100.1"),
                ("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            ],
            "",
        ))
        .await;
    assert_eq!(forged.status(), 429);

    // Another address is another caller; a verified `sub` is a caller of its own.
    assert_eq!(vendor.handle(get_token("203.0.113.11")).await.status(), 200);
    let signed_in = || {
        from(
            "203.0.113.10",
            Some("user-1"),
            "GET",
            "/token",
            &[("origin", ALLOWED)],
            "",
        )
    };
    assert_eq!(vendor.handle(signed_in()).await.status(), 200);
    assert_eq!(vendor.handle(signed_in()).await.status(), 200);
    assert_eq!(vendor.handle(signed_in()).await.status(), 429);
    // The same `sub` through a REST API's authorizer is the same caller.
    assert_eq!(
        vendor.handle(rest_from("192.0.2.99", "user-1")).await.status(),
        429
    );
    assert_eq!(
        vendor.handle(rest_from("192.0.2.99", "user-2")).await.status(),
        200
    );

    // Exactly the tokens answered were minted.
    assert_eq!(minting.calls(), 2 + 1 + 2 + 1);
}

#[tokio::test]
async fn refusals_preflights_and_room_reads_are_not_counted_and_room_writes_are() {
    // Arrange: 2 per caller, rooms in memory, counts in DynamoDB.
    let moto = Moto::start();
    let client = quota_table(&moto).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let rooms = Rooms::new(
        RoomStore::memory(),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    let vendor = with_quota(
        cas_vendor(&cas.uri(), fixed_store(), TIMEOUT).with_rooms(rooms),
        "2/1h",
        QuotaStore::dynamo(client, QUOTAS),
        FailMode::Closed,
    );
    let ip = "203.0.113.20";

    // Act: what is not counted, three times each.
    for _ in 0..3 {
        let refused_origin = from(
            ip,
            None,
            "GET",
            "/token",
            &[("origin", "https://evil.example")],
            "",
        );
        assert_eq!(vendor.handle(refused_origin).await.status(), 403);
        let bad_body = from(ip, None, "POST", "/token", &[("origin", ALLOWED)], "[1]");
        assert_eq!(vendor.handle(bad_body).await.status(), 400);
        let preflight = from(
            ip,
            None,
            "OPTIONS",
            "/token",
            &[("origin", ALLOWED), ("access-control-request-method", "GET")],
            "",
        );
        assert_eq!(vendor.handle(preflight).await.status(), 204);
        let bad_room = from(ip, None, "PUT", "/rooms/bad%20name", &[("origin", ALLOWED)], "");
        assert_eq!(vendor.handle(bad_room).await.status(), 400);
        let not_enabled = from(
            ip,
            None,
            "GET",
            "/streams/cam-1/token",
            &[("origin", ALLOWED)],
            "",
        );
        assert_eq!(vendor.handle(not_enabled).await.status(), 501);
        let wrong_method = from(ip, None, "DELETE", "/token", &[("origin", ALLOWED)], "");
        assert_eq!(vendor.handle(wrong_method).await.status(), 405);
    }
    // A room: created (counted), read three times (not), joined (counted).
    let created = vendor
        .handle(from(ip, None, "POST", "/rooms", &[("origin", ALLOWED)], ""))
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(remaining(&created), Some("1"));
    let room = json(&created)["room"].as_str().unwrap().to_owned();
    let path = format!("/rooms/{room}");
    for _ in 0..3 {
        let read = vendor
            .handle(from(ip, None, "GET", &path, &[("origin", ALLOWED)], ""))
            .await;
        assert_eq!(read.status(), 200);
        assert_eq!(remaining(&read), None, "a read is not counted");
    }
    let joined = vendor
        .handle(from(ip, None, "PUT", &path, &[("origin", ALLOWED)], ""))
        .await;
    assert_eq!(joined.status(), 200);
    assert_eq!(remaining(&joined), Some("0"));
    let over = vendor
        .handle(from(ip, None, "PUT", &path, &[("origin", ALLOWED)], ""))
        .await;
    let over_token = vendor.handle(get_token(ip)).await;

    // Assert
    assert_eq!(
        (over.status().as_u16(), error_code(&over).as_str()),
        (429, "quota_exceeded")
    );
    assert_eq!(over_token.status(), 429);
    assert_eq!(
        minting.calls(),
        1,
        "one room token, joined; nothing minted over quota"
    );
}

#[tokio::test]
async fn a_new_window_gives_new_tokens() {
    // Arrange: one token per 2-second window.
    let moto = Moto::start();
    let client = quota_table(&moto).await;
    let cas = cas_accepting(KEY, SECRET, &jwt(r#"{"rid":"r1"}"#)).await;
    let vendor = with_quota(
        cas_vendor(&cas.uri(), fixed_store(), TIMEOUT),
        "1/2s",
        QuotaStore::dynamo(client, QUOTAS),
        FailMode::Closed,
    );
    let ip = "203.0.113.30";
    // Start 600 ms before a window's end (windows are aligned to multiples
    // of their length): a window sliding from the first call would still
    // refuse a second later; an aligned one has rolled over.
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let to_next = (2_000 - now_ms.rem_euclid(2_000)) as u64;
    tokio::time::sleep(Duration::from_millis((to_next + 1_400) % 2_000)).await;

    // Act
    let first = vendor.handle(get_token(ip)).await;
    let second = vendor.handle(get_token(ip)).await;
    let retry_after: u64 = header(&second, "retry-after")
        .expect("a 429 with Retry-After (both calls within 600 ms)")
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let next_window = vendor.handle(get_token(ip)).await;

    // Assert
    assert_eq!(
        (
            first.status().as_u16(),
            second.status().as_u16(),
            next_window.status().as_u16()
        ),
        (200, 429, 200)
    );
    assert_eq!(retry_after, 1, "the window ends within the second");
}

#[tokio::test]
async fn an_unusable_quota_table_fails_open_or_closed_as_configured() {
    // Arrange: the table does not exist.
    let moto = Moto::start();
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let vendor = |fail| {
        with_quota(
            cas_vendor(&cas.uri(), fixed_store(), TIMEOUT),
            "1/1h",
            QuotaStore::dynamo(dynamodb(&moto.endpoint), "no-such-table"),
            fail,
        )
    };

    // Act
    let open = vendor(FailMode::Open);
    let served = [
        open.handle(get_token("203.0.113.40")).await,
        open.handle(get_token("203.0.113.40")).await,
    ];
    let closed = vendor(FailMode::Closed).handle(get_token("203.0.113.40")).await;

    // Assert: open serves (uncounted, so no RateLimit headers); closed is a
    // 503 with CORS, and CAS is not asked.
    assert!(served.iter().all(|r| r.status() == 200 && remaining(r).is_none()));
    assert_eq!(closed.status(), 503);
    assert_eq!(error_code(&closed), "store_unavailable");
    assert_eq!(header(&closed, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(minting.calls(), 2);
}

/// Every "token issued" line in a process's JSON log.
fn audit_lines(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "token issued")
        .collect()
}

#[tokio::test]
async fn four_processes_racing_on_one_caller_hand_out_exactly_n_tokens_and_audit_each() {
    // Arrange: 5 per caller, four vendor processes sharing the table; every
    // request comes from 127.0.0.1, one caller.
    let moto = Moto::start();
    quota_table(&moto).await;
    let minting = Minting::default();
    let cas = minting_cas(&minting).await;
    let mut vars = aws_env(&moto);
    vars.extend([
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
        ("CAS_URL", cas.uri()),
        ("API_KEY", KEY.to_owned()),
        ("API_SECRET", SECRET.to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("QUOTA", "5/1h".to_owned()),
        ("QUOTA_TABLE", QUOTAS.to_owned()),
        ("QUOTA_FAIL", "closed".to_owned()),
    ]);
    let vendors: Vec<Process> = (0..4).map(|_| Process::spawn(&vars)).collect();
    let mut ports = Vec::new();
    for vendor in &vendors {
        ports.push(vendor.listening_port().await);
    }
    let http = reqwest::Client::new();

    // Act: 24 requests at once, six per process.
    let requests: Vec<_> = ports
        .iter()
        .flat_map(|&port| {
            let http = http.clone();
            (0..6).map(move |_| {
                let request = http
                    .get(format!("http://127.0.0.1:{port}/token"))
                    .header("origin", ALLOWED)
                    .send();
                tokio::spawn(request)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap().unwrap().status().as_u16());
    }
    let mut outputs = String::new();
    for vendor in vendors {
        outputs.push_str(&vendor.stop().await);
    }

    // Assert: exactly five tokens, five CAS calls, five audit lines.
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 19, "{statuses:?}");
    assert_eq!(minting.calls(), 5);
    let audit = audit_lines(&outputs);
    assert_eq!(audit.len(), 5, "{outputs}");
    let issued = minting.issued();
    for line in &audit {
        let fields = &line["fields"];
        assert_eq!(fields["caller"], "ip:127.0.0.1", "{line}");
        assert_eq!(fields["provider"], "cas");
        assert_eq!(fields["route"], "/token");
        assert!(
            fields["rid"].as_str().unwrap().starts_with("room-session-"),
            "{line}"
        );
    }
    for token in issued {
        assert!(!outputs.contains(&token), "a token in the log");
    }
}

#[tokio::test]
async fn locally_without_a_table_the_quota_counts_in_memory_per_peer_address() {
    // Arrange: the demo upstream (nothing configured), two tokens per hour.
    let vendor = Process::spawn(&[
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("QUOTA", "2/1h".to_owned()),
    ]);
    let port = vendor.listening_port().await;
    let http = reqwest::Client::new();
    let get = |forwarded: &'static str| {
        http.get(format!("http://127.0.0.1:{port}/token"))
            .header("origin", ALLOWED)
            .header("x-forwarded-for", forwarded)
            .send()
    };

    // Act: a token and a room (each counted), the room read (audited, not
    // counted), then a forged X-Forwarded-For, which makes no second caller.
    let first = get("198.51.100.1").await.unwrap();
    let created: serde_json::Value = http
        .post(format!("http://127.0.0.1:{port}/rooms"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let room = created["room"].as_str().unwrap().to_owned();
    let read = http
        .get(format!("http://127.0.0.1:{port}/rooms/{room}"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let second = get("198.51.100.2").await.unwrap();
    let (first_status, second_status) = (first.status(), second.status());
    let retry_after = second
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = second.json().await.unwrap();
    let output = vendor.stop().await;

    // Assert
    assert_eq!((first_status.as_u16(), second_status.as_u16()), (200, 429));
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert!(retry_after.is_some());
    let audit = audit_lines(&output);
    assert_eq!(audit.len(), 3, "token, room created, room read\n{output}");
    for line in &audit {
        assert_eq!(line["fields"]["caller"], "ip:127.0.0.1");
        assert_eq!(line["fields"]["provider"], "demo");
    }
    let routes: Vec<&str> = audit
        .iter()
        .map(|l| l["fields"]["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes[..2], ["/token", "/rooms"]);
    assert!(routes[2].starts_with("/rooms/#"), "{routes:?}");
    assert!(!output.contains(&room), "a room name in the log");
}

#[tokio::test]
async fn a_unit_is_spent_only_on_a_token_issued_and_failures_give_theirs_back() {
    // Arrange: CAS fails three times (500: the answer is 502), then mints;
    // 2 tokens per caller and week, in DynamoDB and in memory.
    let moto = Moto::start();
    let client = quota_table(&moto).await;
    for store in [QuotaStore::dynamo(client.clone(), QUOTAS), QuotaStore::memory()] {
        let minting = Minting::default();
        let cas = upstream().await;
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(wiremock::ResponseTemplate::new(500))
            .up_to_n_times(3)
            .with_priority(1)
            .mount(&cas)
            .await;
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(minting.clone())
            .with_priority(2)
            .mount(&cas)
            .await;
        let vendor = with_quota(
            cas_vendor(&cas.uri(), fixed_store(), TIMEOUT),
            "2/7d",
            store,
            FailMode::Closed,
        );

        // Act
        let mut answers = Vec::new();
        for _ in 0..6 {
            let response = vendor.handle(get_token("203.0.113.77")).await;
            answers.push((
                response.status().as_u16(),
                remaining(&response).map(str::to_owned),
            ));
        }

        // Assert: the three failures spent nothing (and said so), then the
        // caller's two tokens, then 429.
        let two = Some("2".to_owned());
        assert_eq!(
            answers,
            [
                (502, two.clone()),
                (502, two.clone()),
                (502, two),
                (200, Some("1".to_owned())),
                (200, Some("0".to_owned())),
                (429, Some("0".to_owned())),
            ]
        );
        assert_eq!(minting.calls(), 2);
    }
    // The give-backs are recorded by id (a retried one cannot give twice)
    // and the count is the two tokens issued.
    let items = client.scan().table_name(QUOTAS).send().await.unwrap();
    let item = &items.items()[0];
    assert_eq!(item["count"].as_n().unwrap(), "2");
    assert_eq!(item["refunded"].as_ss().unwrap().len(), 3);
}

#[tokio::test]
async fn a_request_cut_at_its_deadline_still_gives_its_unit_back() {
    // Arrange: CAS answers the first call after 2 s, the request is due in
    // 0.8 s (0.55 s after the margin); one token per caller and week, in
    // DynamoDB.
    let moto = Moto::start();
    let client = quota_table(&moto).await;
    let minting = Minting::default();
    let cas = upstream().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&cas)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(minting.clone())
        .with_priority(2)
        .mount(&cas)
        .await;
    let vendor = with_quota(
        cas_vendor(&cas.uri(), fixed_store(), Duration::from_secs(5)),
        "1/7d",
        QuotaStore::dynamo(client, QUOTAS),
        FailMode::Closed,
    );

    // Act
    let cut = vendor
        .handle(due_in(get_token("203.0.113.88"), Duration::from_millis(800)))
        .await;
    let then = vendor.handle(get_token("203.0.113.88")).await;
    let over = vendor.handle(get_token("203.0.113.88")).await;

    // Assert: the 504 gave its unit back although its own time was up.
    assert_eq!((cut.status().as_u16(), remaining(&cut)), (504, Some("1")));
    assert_eq!((then.status().as_u16(), remaining(&then)), (200, Some("0")));
    assert_eq!(over.status(), 429);
}
