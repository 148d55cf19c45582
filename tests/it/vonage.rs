//! `POST /vonage/token` against the real binary: tokens checked by
//! Vonage's own npm packages (`@vonage/jwt`'s `verifySignature` with the
//! application's public key, and not with another; the claims of
//! `@vonage/video`'s `generateClientToken` for the same inputs), keys in
//! PKCS#8 and PKCS#1, the identity in `connection_data` (the JWT
//! authorizer's `sub` under Lambda, HTTP API and REST), each refusal with
//! its status, code and CORS, the quota, the audit line, the metrics
//! record and the start-up checks of the key.

use serde_json::{Value, json};
use token_vendor::fingerprint;

use crate::support::*;

const SESSION: &str = "1_MX4xMjM0NTY3OH4xMjcuMC4wLjF-V2VkIE5vdiAxMyAyMDEzfjAuMX4";
/// The session of `events/http-api-post-vonage-token.json`.
const BENCH_SESSION: &str = "1_MX4xMjM0NTY3OH4xMjcuMC4wLjF-V2VkIE5vdiAxMyAwMDowMDowMCBQU1QgMjAxM34wLjE-fg";

/// The binary in local mode with Vonage on and `private_key`, plus
/// `extra`; its base URL.
async fn local(private_key: &str, extra: &[(&'static str, &str)]) -> (Process, String) {
    let mut vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned()),
        ("VONAGE_PRIVATE_KEY", private_key.to_owned()),
    ];
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, (*value).to_owned()));
    }
    let vendor = Process::spawn(&vars);
    let port = vendor.listening_port().await;
    (vendor, format!("http://127.0.0.1:{port}/vonage/token"))
}

/// Asserts that `answer` holds a token Vonage's `verifySignature` accepts
/// with `public_key` (and not with `other_public_key`) whose claims are
/// `generateClientToken`'s for the same inputs (`jti` and `iat` aside),
/// for `role`, `connection_data` and `ttl`.
fn assert_vonages_own(answer: &Value, keys: (&str, &str, &str), role: &str, connection_data: &str, ttl: i64) {
    let (private_key, public_key, other_public_key) = keys;
    let token = answer["token"].as_str().unwrap();
    let checked = check_vonage_with_node(token, public_key, other_public_key, private_key)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (&checked["verified"], &checked["verifiedWithOther"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(checked["header"], json!({"alg": "RS256", "typ": "JWT"}));
    let claims = &checked["claims"];
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat.abs_diff(jiff::Timestamp::now().as_second()) < 60, "{claims}");
    assert_eq!(claims["exp"].as_i64(), Some(iat + ttl));
    assert_eq!(claims["role"], role);
    assert_eq!(claims["session_id"], answer["sessionId"]);
    assert_eq!(claims["connection_data"], connection_data);
    let jti = claims["jti"].as_str().unwrap();
    assert!(jti.len() == 36 && jti.as_bytes()[14] == b'4', "{jti}");
    // Vonage's own claims for the same session, role, data and expiry.
    let mut reference = checked["reference"].clone();
    assert_eq!(checked["referenceVerified"], true);
    reference["jti"] = claims["jti"].clone();
    reference["iat"] = claims["iat"].clone();
    assert_eq!(reference, *claims);
    let expires: jiff::Timestamp = answer["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.as_second(), iat + ttl);
    assert_eq!(
        (
            answer["applicationId"].as_str(),
            answer["sessionId"].as_str(),
            answer["role"].as_str()
        ),
        (Some(VONAGE_APPLICATION_ID), Some(SESSION), Some(role))
    );
}

#[tokio::test]
async fn vonage_tokens_verify_with_vonages_own_packages_from_pkcs8_and_pkcs1_keys() {
    let (_, other_public) = vonage_key_pair("pkcs8");
    for encoding in ["pkcs8", "pkcs1"] {
        // Arrange: callers' data allowed, every role.
        let (private_key, public_key) = vonage_key_pair(encoding);
        let (vendor, url) = local(
            &private_key,
            &[
                ("VONAGE_DATA", "true"),
                ("VONAGE_ROLES", "subscriber,publisher,publisheronly,moderator"),
                ("VONAGE_TTL_S", "600"),
            ],
        )
        .await;

        // Act
        let plain = post_json(&url, &format!(r#"{{"session_id":"{SESSION}"}}"#)).await;
        let with_data = post_json(
            &url,
            &format!(r#"{{"session_id":"{SESSION}","role":"moderator","data":"seat=\"4\""}}"#),
        )
        .await;
        let output = vendor.stop().await;

        // Assert
        let keys = (private_key.as_str(), public_key.as_str(), other_public.as_str());
        for (status, cors, answer) in [&plain, &with_data] {
            assert_eq!(
                (*status, cors.as_deref()),
                (200, Some(ALLOWED)),
                "{answer} {output}"
            );
        }
        let claims = check_vonage_with_node(
            plain.2["token"].as_str().unwrap(),
            &public_key,
            &other_public,
            &private_key,
        )
        .unwrap();
        let data: Value =
            serde_json::from_str(claims["claims"]["connection_data"].as_str().unwrap()).unwrap();
        let identity = data["identity"].as_str().unwrap();
        assert!(identity.starts_with("guest-"), "{identity}");
        let expected = json!({"identity": identity}).to_string();
        assert_vonages_own(&plain.2, keys, "publisher", &expected, 600);
        let moderator = check_vonage_with_node(
            with_data.2["token"].as_str().unwrap(),
            &public_key,
            &other_public,
            &private_key,
        )
        .unwrap();
        let data: Value =
            serde_json::from_str(moderator["claims"]["connection_data"].as_str().unwrap()).unwrap();
        assert_eq!(data["data"], "seat=\"4\"");
        let expected = json!({"identity": data["identity"], "data": "seat=\"4\""}).to_string();
        assert_vonages_own(&with_data.2, keys, "moderator", &expected, 600);
    }
}

#[tokio::test]
async fn each_refusal_has_its_status_and_stable_code_with_cors() {
    // Arrange: the default policy (subscriber and publisher, no data).
    let (private_key, _) = vonage_key_pair("pkcs8");
    let (vendor, url) = local(&private_key, &[]).await;
    let long_session = format!(r#"{{"session_id":"{}"}}"#, "s".repeat(257));
    let with = |extra: &str| format!(r#"{{"session_id":"{SESSION}"{extra}}}"#);
    let cases: Vec<(String, u16, &str)> = vec![
        (String::new(), 400, "bad_request"),
        ("{}".to_owned(), 400, "bad_request"),
        (r#"["s"]"#.to_owned(), 400, "bad_request"),
        (with(r#","expireTime":1"#), 400, "bad_request"),
        (r#"{"session_id":"a/b"}"#.to_owned(), 400, "bad_request"),
        (long_session, 400, "bad_request"),
        (with(r#","role":"host""#), 400, "bad_request"),
        (with(r#","role":"moderator""#), 403, "role_not_allowed"),
        (with(r#","role":"publisheronly""#), 403, "role_not_allowed"),
        (with(r#","data":"x""#), 403, "data_not_allowed"),
        (with(r#","role":"subscriber""#), 200, ""),
    ];

    // Act + Assert
    for (body, status, code) in &cases {
        let (got, cors, answer) = post_json(&url, body).await;
        assert_eq!(got, *status, "{body} {answer}");
        if *status != 200 {
            assert_eq!(answer["error"]["code"].as_str(), Some(*code), "{body}");
        }
        assert_eq!(cors.as_deref(), Some(ALLOWED), "{body}");
    }
    vendor.stop().await;
}

#[tokio::test]
async fn vonage_tokens_count_against_the_quota_and_are_audited_by_hash_only() {
    // Arrange: a week's window, everything logged, records on.
    let (private_key, _) = vonage_key_pair("pkcs8");
    let (vendor, url) = local(
        &private_key,
        &[
            ("QUOTA", "2/7d"),
            ("RUST_LOG", "trace"),
            ("METRICS", "emf"),
            ("VONAGE_DATA", "true"),
        ],
    )
    .await;

    // Act: a refusal by policy, then three tokens asked for.
    let refused = post_json(
        &url,
        &format!(r#"{{"session_id":"{SESSION}","role":"moderator"}}"#),
    )
    .await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let body = format!(r#"{{"session_id":"{SESSION}","data":"data-secret-5"}}"#);
        answers.push(post_json(&url, &body).await);
    }
    let output = vendor.stop().await;

    // Assert: the refusal spent nothing; the third is over quota...
    assert_eq!(refused.0, 403);
    let codes: Vec<(u16, Option<&str>)> = answers
        .iter()
        .map(|(s, _, b)| (*s, b["error"]["code"].as_str()))
        .collect();
    assert_eq!(codes, [(200, None), (200, None), (429, Some("quota_exceeded"))]);
    // ...the audit lines name the session by hash only...
    let audits: Vec<&str> = output.lines().filter(|l| l.contains("token issued")).collect();
    assert_eq!(audits.len(), 2, "{output}");
    for audit in &audits {
        assert!(audit.contains("provider=\"vonage\""), "{audit}");
        assert!(audit.contains(&fingerprint(SESSION)), "{audit}");
    }
    let token = answers[0].2["token"].as_str().unwrap();
    let signature = token.rsplit('.').next().unwrap();
    // A line from the middle of the key (its first bytes are every key's).
    let key_line = private_key.lines().nth(12).unwrap();
    for secret in [SESSION, "data-secret-5", signature, key_line] {
        assert!(!output.contains(secret), "{secret} in:\n{output}");
    }
    // ...and each request has a metrics record under its own route.
    let routes: Vec<Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r.get("Route").cloned())
        .collect();
    assert_eq!(routes, vec![json!("vonage"); 4], "{output}");
}

#[tokio::test]
async fn a_key_that_is_not_an_rsa_private_key_is_a_start_up_error_naming_the_variable() {
    let (private_key, public_key) = vonage_key_pair("pkcs8");
    let body: String = private_key.lines().filter(|l| !l.starts_with("-----")).collect();
    let vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned()),
        ("VONAGE_PRIVATE_KEY", private_key.clone()),
    ];
    for (variable, value) in [
        ("VONAGE_APPLICATION_ID", "not-a-uuid-secret"),
        ("VONAGE_PRIVATE_KEY", &public_key),
        ("VONAGE_PRIVATE_KEY", &body),
    ] {
        assert_start_refused(vars.clone(), variable, value).await;
    }
}

#[tokio::test]
async fn under_lambda_the_identity_is_the_authorizers_sub_over_http_and_rest_apis() {
    // Arrange: the private key in the secret (one line of JSON), the
    // function under Lambda.
    let (private_key, public_key) = vonage_key_pair("pkcs8");
    let (_, other_public) = vonage_key_pair("pkcs8");
    let secret = json!({"VONAGE_PRIVATE_KEY": private_key});
    let vars = vec![
        ("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned()),
        ("METRICS", "emf".to_owned()),
    ];
    let path = "/vonage/token";
    let body = format!(r#"{{"session_id":"{SESSION}"}}"#);
    let events = vec![
        http_api_signed_in_at(path, "user-123", &body),
        rest_api_signed_in_at(
            path,
            "user-123",
            &format!(r#"{{"session_id":"{SESSION}","role":"subscriber"}}"#),
        ),
        http_api_signed_in_at(path, "guest-abc", &body),
        rest_api_signed_in_at(
            path,
            "user-123",
            &format!(r#"{{"session_id":"{SESSION}","data":"x"}}"#),
        ),
    ];

    // Act
    let (answers, output) = signed_in_answers(&secret, vars, events).await;

    // Assert: the sub is the identity in connection_data...
    let keys = (private_key.as_str(), public_key.as_str(), other_public.as_str());
    let identity = json!({"identity": "user-123"}).to_string();
    for ((status, cors, answer), role) in answers[..2].iter().zip(["publisher", "subscriber"]) {
        assert_eq!((*status, cors), (200, &json!(ALLOWED)), "{answer}");
        assert_vonages_own(answer, keys, role, &identity, 3600);
    }
    // ...a sub in a reserved namespace and data by default are refused.
    let refusals: Vec<(u64, &str)> = answers[2..]
        .iter()
        .map(|(status, cors, body)| {
            assert_eq!(cors, ALLOWED);
            (*status, body["error"]["code"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        refusals,
        [(403, "identity_not_allowed"), (403, "data_not_allowed")]
    );
    assert!(!output.contains("user-123"), "{output}");
    let records = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["Route"] == "vonage")
        .count();
    assert_eq!(records, answers.len(), "{output}");
}

#[tokio::test]
async fn under_lambda_a_key_that_is_not_rsa_in_the_secret_is_503_naming_the_field() {
    // A public key where the private one belongs.
    let (_, public_key) = vonage_key_pair("pkcs8");
    assert_unusable_secret_is_503(
        &json!({"VONAGE_PRIVATE_KEY": public_key}),
        vec![("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned())],
        http_api_signed_in_at(
            "/vonage/token",
            "user-123",
            &format!(r#"{{"session_id":"{SESSION}"}}"#),
        ),
        "VONAGE_PRIVATE_KEY is not an RSA private key",
        middle(&public_key),
    )
    .await;
}

#[tokio::test]
async fn the_vonage_event_of_the_bench_is_answered_under_lambda() {
    // Arrange
    let (private_key, public_key) = vonage_key_pair("pkcs8");
    let (_, other_public) = vonage_key_pair("pkcs8");
    let secret = json!({"VONAGE_PRIVATE_KEY": private_key});
    let vars = vec![("VONAGE_APPLICATION_ID", VONAGE_APPLICATION_ID.to_owned())];
    let event = event_file("http-api-post-vonage-token.json");

    // Act
    let (answers, _) = signed_in_answers(&secret, vars, vec![event]).await;

    // Assert: a publisher's token for the event's session.
    let (status, cors, body) = &answers[0];
    assert_eq!((*status, cors), (200, &json!(ALLOWED)), "{body}");
    let token = body["token"].as_str().unwrap();
    let checked = check_vonage_with_node(token, &public_key, &other_public, &private_key).unwrap();
    assert_eq!(checked["verified"], true);
    assert_eq!(checked["claims"]["session_id"], BENCH_SESSION);
    assert_eq!(checked["claims"]["role"], "publisher");
}
