//! `POST /livekit/token` against the real binary: tokens verified by
//! LiveKit's own verifiers (Node's `livekit-server-sdk`, Python's
//! `livekit-api`), LiveKit's own client fetching one, the identity rules
//! (the JWT authorizer's `sub` under Lambda), each policy refusal, the quota,
//! the audit line, the metrics record and CORS.

use std::time::Duration;

use bench::runtime_api::Kind;
use serde_json::{Value, json};
use token_vendor::fingerprint;

use crate::support::*;

const URL: &str = "ws://127.0.0.1:7880";

/// The binary in local mode with LiveKit on (rooms `lobby` and `party-*`),
/// plus `extra`; its base URL.
async fn local(extra: &[(&'static str, &str)]) -> (Process, String) {
    let mut vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("LIVEKIT_URL", URL.to_owned()),
        ("LIVEKIT_ROOMS", "lobby,party-*".to_owned()),
        ("LIVEKIT_API_KEY", LIVEKIT_KEY.to_owned()),
        ("LIVEKIT_API_SECRET", LIVEKIT_SECRET.to_owned()),
    ];
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, (*value).to_owned()));
    }
    let vendor = Process::spawn(&vars);
    let port = vendor.listening_port().await;
    (vendor, format!("http://127.0.0.1:{port}/livekit/token"))
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn livekit_tokens_verify_with_livekits_node_and_python_verifiers() {
    // Arrange
    let (vendor, url) = local(&[]).await;

    // Act
    let (status, cors, body) = post_json(
        &url,
        r#"{"room_name":"party-42","participant_name":"Alice","participant_metadata":"{\"seat\":3}","participant_attributes":{"team":"red"}}"#,
    )
    .await;
    let output = vendor.stop().await;

    // Assert: LiveKit's answer, with CORS...
    assert_eq!(status, 201, "{body} {output}");
    assert_eq!(cors.as_deref(), Some(ALLOWED));
    assert_eq!(body["server_url"], URL);
    assert!(body["expiresAt"].is_string());
    let token = body["participant_token"].as_str().unwrap();
    // ...that Node's verifier accepts, with the grant and the fields asked...
    let node = verify_with_node(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
    assert_eq!(node["iss"], LIVEKIT_KEY);
    assert_eq!(
        node["video"],
        json!({"room": "party-42", "roomJoin": true, "canPublish": true, "canSubscribe": true, "canPublishData": true})
    );
    assert_eq!(
        (node["name"].as_str(), node["metadata"].as_str()),
        (Some("Alice"), Some("{\"seat\":3}"))
    );
    assert_eq!(node["attributes"], json!({"team": "red"}));
    assert_eq!(node["exp"].as_i64().unwrap() - node["nbf"].as_i64().unwrap(), 600);
    let identity = node["sub"].as_str().unwrap();
    assert!(identity.starts_with("guest-"), "{identity}");
    // ...and Python's too, reading the same identity and rights...
    let python = verify_with_python(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
    assert_eq!(python["identity"], identity);
    assert_eq!(python["room"], "party-42");
    assert_eq!(
        [
            &python["room_join"],
            &python["can_publish"],
            &python["can_subscribe"],
            &python["can_publish_data"]
        ],
        [&json!(true); 4]
    );
    // ...while both refuse it under another secret (the checks can fail).
    let other = "another-livekit-secret-0123456789abcdef";
    assert!(verify_with_node(LIVEKIT_KEY, other, token).is_err());
    assert!(verify_with_python(LIVEKIT_KEY, other, token).is_err());
}

#[tokio::test]
async fn the_grants_and_ttl_follow_the_policy_even_where_python_defaults_to_allowed() {
    // Arrange: subscribe only, a five-minute token, room_config allowed.
    let (vendor, url) = local(&[
        ("LIVEKIT_GRANTS", "subscribe"),
        ("LIVEKIT_TTL_S", "300"),
        ("LIVEKIT_ROOM_CONFIG", "true"),
    ])
    .await;

    // Act
    let (status, _, body) = post_json(
        &url,
        r#"{"room_name":"lobby","room_config":{"agents":[{"agent_name":"helper"}]}}"#,
    )
    .await;
    vendor.stop().await;

    // Assert: the rights are spelled out false (LiveKit's Python SDK reads
    // an absent right as granted), and the room configuration rides along.
    assert_eq!(status, 201, "{body}");
    let token = body["participant_token"].as_str().unwrap();
    let python = verify_with_python(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
    assert_eq!(
        [
            &python["can_publish"],
            &python["can_subscribe"],
            &python["can_publish_data"]
        ],
        [&json!(false), &json!(true), &json!(false)]
    );
    assert_eq!(python["room_config"], true);
    let node = verify_with_node(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
    assert_eq!(node["roomConfig"], json!({"agents": [{"agent_name": "helper"}]}));
    assert_eq!(node["exp"].as_i64().unwrap() - node["nbf"].as_i64().unwrap(), 300);
}

#[tokio::test]
async fn livekits_own_client_fetches_a_token_from_the_vendor_as_is() {
    // Arrange
    let (vendor, url) = local(&[]).await;

    // Act: what `TokenSource.endpoint(url).fetch(...)` does in an app.
    let fetched = fetch_with_livekit_client(&url, &json!({"roomName": "lobby", "participantName": "Bob"}));
    let refused = fetch_with_livekit_client(&url, &json!({"roomName": "vip"}));
    let output = vendor.stop().await;

    // Assert
    let fetched = fetched.unwrap_or_else(|e| panic!("{e}\n{output}"));
    assert_eq!(fetched["serverUrl"], URL);
    let token = fetched["participantToken"].as_str().unwrap();
    let claims = verify_with_node(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
    assert_eq!(
        (claims["video"]["room"].as_str(), claims["name"].as_str()),
        (Some("lobby"), Some("Bob"))
    );
    let refused = refused.unwrap_err();
    assert!(
        refused.contains("403") && refused.contains("room_not_allowed"),
        "{refused}"
    );
}

#[tokio::test]
async fn each_refusal_has_its_status_and_stable_code_with_cors() {
    // Arrange
    let (vendor, url) = local(&[]).await;
    let long_name = format!(
        r#"{{"room_name":"lobby","participant_name":"{}"}}"#,
        "n".repeat(129)
    );
    let long_metadata = format!(
        r#"{{"room_name":"lobby","participant_metadata":"{}"}}"#,
        "m".repeat(4097)
    );
    let cases: [(&str, u16, &str); 10] = [
        ("", 400, "bad_request"),
        ("{}", 400, "bad_request"),
        (r#"{"room_name":"a b"}"#, 400, "bad_request"),
        (r#"{"room_name":"lobby","room":"x"}"#, 400, "bad_request"),
        (r#"["lobby"]"#, 400, "bad_request"),
        (&long_name, 400, "bad_request"),
        (&long_metadata, 400, "bad_request"),
        (r#"{"room_name":"vip"}"#, 403, "room_not_allowed"),
        (
            r#"{"room_name":"lobby","room_config":{}}"#,
            403,
            "room_config_not_allowed",
        ),
        (
            r#"{"room_name":"lobby","participant_identity":"alice"}"#,
            403,
            "identity_not_allowed",
        ),
    ];

    // Act + Assert
    for (body, status, code) in cases {
        let (got, cors, answer) = post_json(&url, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert_eq!(cors.as_deref(), Some(ALLOWED), "{body}");
    }
    let http = reqwest::Client::new();
    let get = http.get(&url).header("origin", ALLOWED).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, OPTIONS");
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", ALLOWED)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "POST, OPTIONS"
    );
    assert_eq!(preflight.headers()["access-control-allow-origin"], ALLOWED);
    vendor.stop().await;
}

#[tokio::test]
async fn a_caller_chosen_identity_needs_the_operators_opt_in() {
    // Arrange
    let (vendor, url) = local(&[("LIVEKIT_IDENTITY", "request")]).await;

    // Act
    let (status, _, body) = post_json(&url, r#"{"room_name":"lobby","participant_identity":"alice"}"#).await;
    vendor.stop().await;

    // Assert: the chosen identity, behind `req:`: never a signed-in one.
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        claims_of(body["participant_token"].as_str().unwrap())["sub"],
        "req:alice"
    );
}

#[tokio::test]
async fn livekit_tokens_count_against_the_quota_after_the_policy() {
    // Arrange
    // A week's window: no boundary falls between the requests.
    let (vendor, url) = local(&[("QUOTA", "2/7d")]).await;

    // Act: a refusal by policy, then three tokens asked for.
    let refused = post_json(&url, r#"{"room_name":"vip"}"#).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(post_json(&url, r#"{"room_name":"lobby"}"#).await);
    }
    vendor.stop().await;

    // Assert: the refusal spent nothing; the third token is over quota.
    assert_eq!(refused.0, 403);
    let codes: Vec<(u16, Option<&str>)> = statuses
        .iter()
        .map(|(s, _, b)| (*s, b["error"]["code"].as_str()))
        .collect();
    assert_eq!(codes, [(201, None), (201, None), (429, Some("quota_exceeded"))]);
}

#[tokio::test]
async fn the_audit_line_and_the_metrics_name_room_and_identity_only_by_hash() {
    // Arrange: everything logged, records on.
    let (vendor, url) = local(&[("RUST_LOG", "trace"), ("METRICS", "emf")]).await;
    let body = r#"{"room_name":"party-secret-7","participant_name":"Carol Secret","participant_metadata":"meta-secret"}"#;

    // Act
    let (status, _, answer) = post_json(&url, body).await;
    let output = vendor.stop().await;

    // Assert: one audit line, with the hashes and never the values...
    assert_eq!(status, 201);
    let token = answer["participant_token"].as_str().unwrap();
    let identity = claims_of(token)["sub"].as_str().unwrap().to_owned();
    let audit = output
        .lines()
        .find(|l| l.contains("token issued"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(audit.contains("provider=\"livekit\""), "{audit}");
    assert!(audit.contains(&fingerprint("party-secret-7")), "{audit}");
    assert!(audit.contains(&fingerprint(&identity)), "{audit}");
    for secret in [
        "party-secret-7",
        "Carol Secret",
        "meta-secret",
        identity.as_str(),
        token.rsplit('.').next().unwrap(),
        LIVEKIT_SECRET,
    ] {
        assert!(!output.contains(secret), "{secret} in:\n{output}");
    }
    // ...and a metrics record under its own route.
    let record: Value = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r.get("Route").is_some())
        .unwrap_or_else(|| panic!("{output}"));
    assert_eq!(
        (record["Route"].as_str(), record["TokensIssued"].as_f64()),
        (Some("livekit"), Some(1.0))
    );
    assert_eq!(record["StatusCode"], 201);
}

#[tokio::test]
async fn under_lambda_the_identity_is_the_authorizers_sub() {
    // Arrange: the LiveKit pair in the secret, the function under Lambda.
    let (_moto, mut runtime, vendor) = livekit_under_lambda(&[]).await;
    let signed_in = |body: &str| {
        let mut event: Value = serde_json::from_str(&http_api_event(
            "POST",
            "/livekit/token",
            "",
            &[("origin", ALLOWED), ("content-type", "application/json")],
            body,
        ))
        .unwrap();
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": {"sub": "user-123", "iss": "https://issuer.example.com"}, "scopes": null}});
        event.to_string()
    };
    let events = [
        signed_in(r#"{"room_name":"lobby"}"#),
        signed_in(r#"{"room_name":"lobby","participant_identity":"user-123"}"#),
        signed_in(r#"{"room_name":"lobby","participant_identity":"someone-else"}"#),
    ];

    // Act
    let mut answers = Vec::new();
    for (n, event) in events.into_iter().enumerate() {
        runtime.invoke(&format!("livekit-{n}"), event);
        match runtime.outcome(Duration::from_secs(20)).await.map(|o| o.kind) {
            Some(Kind::Response(response)) => answers.push((
                response["statusCode"].as_u64().unwrap(),
                serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap(),
            )),
            other => panic!("{other:?}\n{}", vendor.output()),
        }
    }
    let output = vendor.stop().await;

    // Assert: the sub is the identity; another identity is refused...
    for (status, body) in &answers[..2] {
        assert_eq!(*status, 201, "{body}");
        let token = body["participant_token"].as_str().unwrap();
        let claims = verify_with_node(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
        assert_eq!(claims["sub"], "user-123");
        assert_eq!(body["server_url"], "wss://livekit.example.com");
    }
    assert_eq!(answers[2].0, 403);
    assert_eq!(answers[2].1["error"]["code"], "identity_not_allowed");
    // ...and the audit lines name the caller, who is the identity, only by
    // its fingerprint.
    let audits: Vec<&str> = output.lines().filter(|l| l.contains("token issued")).collect();
    assert_eq!(audits.len(), 2, "{output}");
    let hashed = format!("caller=sub{}", fingerprint("user-123"));
    assert!(audits.iter().all(|l| l.contains(&hashed)), "{output}");
    assert!(!output.contains("user-123"), "{output}");
}

#[tokio::test]
async fn a_warm_instance_signs_with_a_rotated_key_once_the_old_one_is_past_its_age() {
    // Arrange: local mode reading the LiveKit pair from moto, keys aged 3 s.
    const AGE: Duration = Duration::from_secs(3);
    let (old_key, old_secret) = (LIVEKIT_KEY, LIVEKIT_SECRET);
    let (new_key, new_secret) = ("APIrotated2", "rotated-livekit-secret-0123456789abcdef");
    let pair =
        |key: &str, secret: &str| json!({"LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret}).to_string();
    let moto = Moto::start();
    moto.create_secret("tv/aging", &pair(old_key, old_secret)).await;
    let mut vars = aws_env(&moto);
    vars.extend([
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("LIVEKIT_URL", URL.to_owned()),
        ("LIVEKIT_ROOMS", "*".to_owned()),
        ("SECRET_ID", "tv/aging".to_owned()),
        ("SECRET_MAX_AGE_S", AGE.as_secs().to_string()),
    ]);
    // The cold start reads the secret after this: no key is older than
    // `read_at.elapsed()`.
    let read_at = std::time::Instant::now();
    let vendor = Process::spawn(&vars);
    let url = format!("http://127.0.0.1:{}/livekit/token", vendor.listening_port().await);
    let token = || async {
        let (status, _, body) = post_json(&url, r#"{"room_name":"lobby"}"#).await;
        assert_eq!(status, 201, "{body}");
        body["participant_token"].as_str().unwrap().to_owned()
    };

    // Act: the key rotates; a token at once, then tokens until one carries
    // the new key.
    let first = token().await;
    moto.put_secret("tv/aging", &pair(new_key, new_secret)).await;
    let before_age = token().await;
    let before_age_elapsed = read_at.elapsed();
    let mut rotated = None;
    while read_at.elapsed() < AGE * 3 {
        let token = token().await;
        if claims_of(&token)["iss"] == new_key {
            rotated = Some((token, read_at.elapsed()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = vendor.stop().await;

    // Assert: the old key until its age...
    assert!(before_age_elapsed < AGE, "the check came too late to say");
    for token in [&first, &before_age] {
        verify_with_node(old_key, old_secret, token).unwrap();
    }
    // ...the new one soon after it (a request starts the re-read, a later
    // one uses it), verified by LiveKit's own verifier under the new secret
    // and refused under the old.
    let (token, at) = rotated.unwrap_or_else(|| panic!("never rotated:\n{output}"));
    assert!(at >= AGE && at < AGE + Duration::from_secs(3), "{at:?}");
    verify_with_node(new_key, new_secret, &token).unwrap();
    assert!(verify_with_node(new_key, old_secret, &token).is_err());
    assert!(
        output.contains("secret re-read after its maximum age"),
        "{output}"
    );
    assert!(!output.contains(new_secret) && !output.contains(old_secret));
}

#[tokio::test]
async fn under_lambda_a_chosen_identity_can_never_take_a_signed_in_one() {
    // Arrange: LIVEKIT_IDENTITY=request; `alice` is a signed-in user's sub.
    let (_moto, mut runtime, vendor) = livekit_under_lambda(&[("LIVEKIT_IDENTITY", "request")]).await;
    let event = |claims: Option<Value>| {
        let mut event: Value = serde_json::from_str(&http_api_event(
            "POST",
            "/livekit/token",
            "",
            &[("origin", ALLOWED), ("content-type", "application/json")],
            r#"{"room_name":"lobby","participant_identity":"alice"}"#,
        ))
        .unwrap();
        if let Some(claims) = claims {
            event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        event.to_string()
    };
    let events = [
        // No authorizer (a Function URL, a route without it)...
        event(None),
        // ...claims whose sub is empty...
        event(Some(json!({"sub": "", "iss": "https://issuer.example.com"}))),
        // ...and alice herself, signed in.
        event(Some(json!({"sub": "alice", "iss": "https://issuer.example.com"}))),
    ];

    // Act
    let mut identities = Vec::new();
    for (n, event) in events.into_iter().enumerate() {
        runtime.invoke(&format!("chosen-{n}"), event);
        match runtime.outcome(Duration::from_secs(20)).await.map(|o| o.kind) {
            Some(Kind::Response(response)) => {
                assert_eq!(response["statusCode"], 201, "{response}");
                let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
                let token = body["participant_token"].as_str().unwrap();
                let claims = verify_with_node(LIVEKIT_KEY, LIVEKIT_SECRET, token).unwrap();
                identities.push(claims["sub"].as_str().unwrap().to_owned());
            }
            other => panic!("{other:?}\n{}", vendor.output()),
        }
    }
    vendor.stop().await;

    // Assert: only the signed-in caller is `alice`.
    assert_eq!(identities, ["req:alice", "req:alice", "alice"]);
}

#[tokio::test]
async fn with_nothing_configured_local_mode_signs_for_livekits_dev_server() {
    // Arrange: `cargo run` as a newcomer types it.
    let vendor = Process::spawn(&[("LISTEN_ADDR", "127.0.0.1:0".to_owned())]);
    let port = vendor.listening_port().await;
    let url = format!("http://127.0.0.1:{port}/livekit/token");

    // Act
    let answer = reqwest::Client::new()
        .post(&url)
        .header("origin", "http://localhost:5173")
        .json(&json!({"room_name": "my-first-room"}))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    let output = vendor.stop().await;

    // Assert: a token for `livekit-server --dev`, its keys, any room; the
    // start-up says so; the demo /token is still there.
    assert_eq!(status, 201, "{body}\n{output}");
    assert_eq!(body["server_url"], token_vendor::DEV_URL);
    let token = body["participant_token"].as_str().unwrap();
    let claims = verify_with_node(token_vendor::DEV_API_KEY, token_vendor::DEV_API_SECRET, token).unwrap();
    assert_eq!(claims["video"]["room"], "my-first-room");
    assert!(output.contains("LIVEKIT DEV SERVER"), "{output}");
    assert!(output.contains("DEMO UPSTREAM"), "{output}");
}
