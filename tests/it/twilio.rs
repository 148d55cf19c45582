//! `POST /twilio/token` against the real binary: tokens checked by Twilio's
//! own PyPI `twilio` (`Jwt.from_jwt` verifies signature, `exp` and `nbf`;
//! its `AccessToken` built with the same inputs carries the same claims),
//! the identity rules (the JWT authorizer's `sub` under Lambda, HTTP API
//! and REST), each refusal with its status, code and CORS, the quota, the
//! audit line, the metrics record and the start-up checks of the keys.

use serde_json::{Value, json};
use token_vendor::fingerprint;

use crate::support::*;

/// The binary in local mode with Twilio on (rooms `lobby` and `party-*`),
/// plus `extra`; its base URL.
async fn local(extra: &[(&'static str, &str)]) -> (Process, String) {
    let mut vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_API_KEY_SID", TWILIO_KEY_SID.to_owned()),
        ("TWILIO_API_KEY_SECRET", TWILIO_KEY_SECRET.to_owned()),
        ("TWILIO_ROOMS", "lobby,party-*".to_owned()),
    ];
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, (*value).to_owned()));
    }
    let vendor = Process::spawn(&vars);
    let port = vendor.listening_port().await;
    (vendor, format!("http://127.0.0.1:{port}/twilio/token"))
}

/// Asserts that `answer` holds a token Twilio's library verifies for
/// `identity` in `room`, lasting `ttl`, whose claims and header equal
/// those of Twilio's own `AccessToken` (which writes no `iat`).
fn assert_twilios_own(answer: &Value, identity: &str, room: &str, ttl: i64) {
    let token = answer["token"].as_str().unwrap();
    let checked = check_twilio_with_python(token, TWILIO_KEY_SECRET).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(checked["verifiedWithOther"], false);
    let claims = &checked["claims"];
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat.abs_diff(jiff::Timestamp::now().as_second()) < 60, "{claims}");
    assert_eq!(
        *claims,
        json!({
            "jti": format!("{TWILIO_KEY_SID}-{iat}"),
            "grants": {"identity": identity, "video": {"room": room}},
            "iss": TWILIO_KEY_SID,
            "sub": TWILIO_ACCOUNT_SID,
            "iat": iat,
            "nbf": iat,
            "exp": iat + ttl,
        })
    );
    let mut reference = checked["reference"].clone();
    reference["iat"] = json!(iat);
    assert_eq!(reference, *claims, "Twilio's AccessToken, with iat added");
    assert_eq!(checked["header"], checked["referenceHeader"]);
    assert_eq!(
        checked["header"],
        json!({"typ": "JWT", "alg": "HS256", "cty": "twilio-fpa;v=1"})
    );
    let expires: jiff::Timestamp = answer["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.as_second(), iat + ttl);
    assert_eq!(
        (answer["identity"].as_str(), answer["room"].as_str()),
        (Some(identity), Some(room))
    );
}

#[tokio::test]
async fn twilio_tokens_verify_with_twilios_own_library_and_match_its_access_token() {
    // Arrange: a caller may name its identity (the operator's opt-in).
    let (vendor, url) = local(&[("TWILIO_IDENTITY", "request"), ("TWILIO_TTL_S", "600")]).await;

    // Act
    let chosen = post_json(&url, r#"{"room_name":"party-7","user_identity":"alice"}"#).await;
    let guest = post_json(&url, r#"{"room_name":"lobby"}"#).await;
    let output = vendor.stop().await;

    // Assert
    for (status, cors, answer) in [&chosen, &guest] {
        assert_eq!(*status, 200, "{answer} {output}");
        assert_eq!(cors.as_deref(), Some(ALLOWED));
    }
    assert_twilios_own(&chosen.2, "req:alice", "party-7", 600);
    let guest_identity = guest.2["identity"].as_str().unwrap();
    assert!(guest_identity.starts_with("guest-"), "{guest_identity}");
    assert_twilios_own(&guest.2, guest_identity, "lobby", 600);
    // A token signed with another secret is refused by Twilio's library.
    let forged = check_twilio_with_python(chosen.2["token"].as_str().unwrap(), TWILIO_OTHER_SECRET);
    assert!(forged.unwrap_err().contains("Signature"));
}

#[tokio::test]
async fn each_refusal_has_its_status_and_stable_code_with_cors() {
    // Arrange: callers may not choose their identity (the default).
    let (vendor, url) = local(&[]).await;
    let long_room = format!(r#"{{"room_name":"{}"}}"#, "r".repeat(129));
    let cases: [(&str, u16, &str); 10] = [
        ("", 400, "bad_request"),
        ("{}", 400, "bad_request"),
        (r#"["lobby"]"#, 400, "bad_request"),
        (r#"{"room_name":"lobby","passcode":"123456"}"#, 400, "bad_request"),
        (r#"{"room_name":"a b"}"#, 400, "bad_request"),
        (&long_room, 400, "bad_request"),
        (r#"{"room_name":7}"#, 400, "bad_request"),
        (r#"{"room_name":"vip"}"#, 403, "room_not_allowed"),
        (
            r#"{"room_name":"lobby","user_identity":"alice"}"#,
            403,
            "identity_not_allowed",
        ),
        (r#"{"room_name":"lobby"}"#, 200, ""),
    ];

    // Act + Assert
    for (body, status, code) in cases {
        let (got, cors, answer) = post_json(&url, body).await;
        assert_eq!(got, status, "{body} {answer}");
        if status != 200 {
            assert_eq!(answer["error"]["code"].as_str(), Some(code), "{body}");
        }
        assert_eq!(cors.as_deref(), Some(ALLOWED), "{body}");
    }
    let get = reqwest::Client::new()
        .get(&url)
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, OPTIONS");
    vendor.stop().await;

    // An identity chosen under the opt-in is bounded by Twilio's 121.
    let (vendor, url) = local(&[("TWILIO_IDENTITY", "request")]).await;
    for (length, status) in [(117, 200), (118, 400)] {
        let body = format!(
            r#"{{"room_name":"lobby","user_identity":"{}"}}"#,
            "i".repeat(length)
        );
        let (got, cors, answer) = post_json(&url, &body).await;
        assert_eq!(
            (got, cors.as_deref()),
            (status, Some(ALLOWED)),
            "{length} {answer}"
        );
    }
    vendor.stop().await;
}

#[tokio::test]
async fn twilio_tokens_count_against_the_quota_and_are_audited_by_hash_only() {
    // Arrange: a week's window, everything logged, records on.
    let (vendor, url) = local(&[
        ("QUOTA", "2/7d"),
        ("RUST_LOG", "trace"),
        ("METRICS", "emf"),
        ("TWILIO_IDENTITY", "request"),
    ])
    .await;

    // Act: a refusal by policy, then three tokens asked for.
    let refused = post_json(&url, r#"{"room_name":"vip"}"#).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(
            post_json(
                &url,
                r#"{"room_name":"party-secret","user_identity":"ident-secret-9"}"#,
            )
            .await,
        );
    }
    let output = vendor.stop().await;

    // Assert: the refusal spent nothing; the third is over quota...
    assert_eq!(refused.0, 403);
    let codes: Vec<(u16, Option<&str>)> = answers
        .iter()
        .map(|(s, _, b)| (*s, b["error"]["code"].as_str()))
        .collect();
    assert_eq!(codes, [(200, None), (200, None), (429, Some("quota_exceeded"))]);
    // ...the audit lines name room and identity by hash only...
    let audits: Vec<&str> = output.lines().filter(|l| l.contains("token issued")).collect();
    assert_eq!(audits.len(), 2, "{output}");
    for audit in &audits {
        assert!(audit.contains("provider=\"twilio\""), "{audit}");
        assert!(audit.contains(&fingerprint("party-secret")), "{audit}");
        assert!(audit.contains(&fingerprint("req:ident-secret-9")), "{audit}");
    }
    let token = answers[0].2["token"].as_str().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    for secret in ["party-secret", "ident-secret-9", signature, TWILIO_KEY_SECRET] {
        assert!(!output.contains(secret), "{secret} in:\n{output}");
    }
    // ...and each request has a metrics record under its own route.
    let routes: Vec<Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r.get("Route").cloned())
        .collect();
    assert_eq!(routes, vec![json!("twilio"); 4], "{output}");
}

#[tokio::test]
async fn a_malformed_key_is_a_start_up_error_naming_the_variable_never_its_value() {
    let vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_API_KEY_SID", TWILIO_KEY_SID.to_owned()),
        ("TWILIO_API_KEY_SECRET", TWILIO_KEY_SECRET.to_owned()),
        ("TWILIO_ROOMS", "*".to_owned()),
    ];
    for (variable, value) in [
        ("TWILIO_ACCOUNT_SID", "ACnot-an-account-0123456789abcdef"),
        ("TWILIO_API_KEY_SID", "SKnot-a-key-sid-secret-0123456789"),
        ("TWILIO_API_KEY_SECRET", "secret with spaces"),
    ] {
        assert_start_refused(vars.clone(), variable, value).await;
    }
}

#[tokio::test]
async fn under_lambda_the_identity_is_the_authorizers_sub_over_http_and_rest_apis() {
    // Arrange: the API key in the secret, the function under Lambda.
    let secret = json!({"TWILIO_API_KEY_SID": TWILIO_KEY_SID, "TWILIO_API_KEY_SECRET": TWILIO_KEY_SECRET});
    let vars = vec![
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_ROOMS", "*".to_owned()),
        ("TWILIO_IDENTITY", "request".to_owned()),
    ];
    let path = "/twilio/token";
    let long_sub = "s".repeat(122);
    let events = vec![
        http_api_signed_in_at(path, "user-123", r#"{"room_name":"lobby"}"#),
        rest_api_signed_in_at(
            path,
            "user-123",
            r#"{"room_name":"lobby","user_identity":"user-123"}"#,
        ),
        http_api_signed_in_at(
            path,
            "user-123",
            r#"{"room_name":"lobby","user_identity":"someone-else"}"#,
        ),
        rest_api_signed_in_at(path, "req:alice", r#"{"room_name":"lobby"}"#),
        http_api_signed_in_at(path, &long_sub, r#"{"room_name":"lobby"}"#),
    ];

    // Act
    let (answers, output) = signed_in_answers(&secret, vars, events).await;

    // Assert: the sub is the identity, even with the opt-in on...
    for (status, cors, body) in &answers[..2] {
        assert_eq!((*status, cors), (200, &json!(ALLOWED)), "{body}");
        assert_twilios_own(body, "user-123", "lobby", 3600);
    }
    // ...another identity, a sub in a reserved namespace and one longer
    // than Twilio takes are refused.
    let refusals: Vec<(u64, &str)> = answers[2..]
        .iter()
        .map(|(status, cors, body)| {
            assert_eq!(cors, ALLOWED);
            (*status, body["error"]["code"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        refusals,
        [
            (403, "identity_not_allowed"),
            (403, "identity_not_allowed"),
            (400, "bad_request")
        ]
    );
    assert!(!output.contains("user-123"), "{output}");
}

#[tokio::test]
async fn under_lambda_a_malformed_key_sid_in_the_secret_is_503_naming_the_field() {
    // A key SID that is not SK and 32 hex digits.
    let secret =
        json!({"TWILIO_API_KEY_SID": "SKnot-hex-secret-value-0123456789", "TWILIO_API_KEY_SECRET": "s"});
    assert_unusable_secret_is_503(
        &secret,
        vec![
            ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
            ("TWILIO_ROOMS", "*".to_owned()),
        ],
        http_api_signed_in_at("/twilio/token", "user-123", r#"{"room_name":"lobby"}"#),
        "TWILIO_API_KEY_SID is not SK followed by 32 hexadecimal digits",
        "not-hex-secret-value",
    )
    .await;
}

#[tokio::test]
async fn the_twilio_event_of_the_bench_is_answered_under_lambda() {
    // Arrange
    let secret = json!({"TWILIO_API_KEY_SID": TWILIO_KEY_SID, "TWILIO_API_KEY_SECRET": TWILIO_KEY_SECRET});
    let vars = vec![
        ("TWILIO_ACCOUNT_SID", TWILIO_ACCOUNT_SID.to_owned()),
        ("TWILIO_ROOMS", "*".to_owned()),
    ];
    let event = event_file("http-api-post-twilio-token.json");

    // Act
    let (answers, _) = signed_in_answers(&secret, vars, vec![event]).await;

    // Assert: a token for `lobby`, with a random identity.
    let (status, cors, body) = &answers[0];
    assert_eq!((*status, cors), (200, &json!(ALLOWED)), "{body}");
    let identity = body["identity"].as_str().unwrap();
    assert!(identity.starts_with("guest-"), "{identity}");
    assert_twilios_own(body, identity, "lobby", 3600);
}
