//! `POST /agora/token` against the real binary: tokens checked by Agora's
//! own software (npm's `agora-token` verifies the signature and parses the
//! service; PyPI's `agoraiotools` rebuilds the same signed content), the
//! identity rules (the JWT authorizer's `sub` under Lambda, HTTP API and
//! REST), each refusal with its status, code and CORS, the quota, the
//! audit line, the metrics record and the start-up checks of the keys.

use serde_json::{Value, json};
use token_vendor::fingerprint;

use crate::support::*;

/// The binary in local mode with Agora on (channels `lobby` and `party *`),
/// plus `extra`; its base URL.
async fn local(extra: &[(&'static str, &str)]) -> (Process, String) {
    let mut vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
        ("AGORA_APP_CERTIFICATE", AGORA_CERTIFICATE.to_owned()),
        ("AGORA_CHANNELS", "lobby,party *".to_owned()),
    ];
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name, (*value).to_owned()));
    }
    let vendor = Process::spawn(&vars);
    let port = vendor.listening_port().await;
    (vendor, format!("http://127.0.0.1:{port}/agora/token"))
}

/// Join, or join and publish audio, video and data, each for `ttl`.
fn privileges(publisher: bool, ttl: u64) -> Value {
    if publisher {
        json!({"1": ttl, "2": ttl, "3": ttl, "4": ttl})
    } else {
        json!({"1": ttl})
    }
}

#[tokio::test]
async fn agora_tokens_verify_with_agoras_node_and_python_packages() {
    // Arrange: a caller may name its uid (the operator's opt-in).
    let (vendor, url) = local(&[("AGORA_IDENTITY", "request")]).await;
    let cases = [
        (
            r#"{"tokenType":"rtc","channel":"party 1","role":"publisher","uid":"alice","expire":120}"#,
            true,
            120,
        ),
        (r#"{"channel":"lobby","uid":4294967295}"#, false, 3600),
        (r#"{"tokenType":"rtm","uid":"alice"}"#, false, 3600),
    ];

    // Act
    let mut answers = Vec::new();
    for (body, _, _) in &cases {
        answers.push(post_json(&url, body).await);
    }
    let output = vendor.stop().await;

    // Assert
    let issued_at = jiff::Timestamp::now().as_second() as u64;
    for ((body, publisher, ttl), (status, cors, answer)) in cases.iter().zip(&answers) {
        // The answer, with CORS, names the app and the uid to join with...
        assert_eq!(*status, 200, "{body} {answer} {output}");
        assert_eq!(cors.as_deref(), Some(ALLOWED));
        assert_eq!(answer["appId"], AGORA_APP_ID);
        let token = answer["token"].as_str().unwrap();
        assert!(token.starts_with("007"), "{token}");
        let uid = answer["uid"].as_str().unwrap();
        // ...and Node's agora-token parses it and verifies its signature,
        // with the certificate and not with another...
        let node = verify_agora_with_node(token, AGORA_CERTIFICATE).unwrap();
        assert_eq!(
            (&node["verified"], &node["verifiedWithOther"]),
            (&json!(true), &json!(false)),
            "{body}"
        );
        assert_eq!(node["appId"], AGORA_APP_ID);
        assert_eq!(node["expire"].as_u64(), Some(*ttl));
        let issued = node["issueTs"].as_u64().unwrap();
        assert!(issued.abs_diff(issued_at) < 60, "{issued}");
        let expires: jiff::Timestamp = answer["expiresAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires.as_second() as u64, issued + ttl);
        let service = &node["services"][0];
        assert_eq!(node["services"].as_array().unwrap().len(), 1);
        if body.contains("rtm") {
            assert_eq!(
                (&service["type"], &service["userId"]),
                (&json!(2), &json!("alice"))
            );
            assert_eq!(service["privileges"], json!({"1": ttl}));
        } else {
            assert_eq!(service["type"], 1);
            assert_eq!(service["uid"], uid);
            assert_eq!(service["privileges"], privileges(*publisher, *ttl));
        }
        // ...and Python's agoraiotools, given what it parsed, builds the
        // same signed content byte for byte (and not with another key).
        let python = rebuild_agora_with_python(token, AGORA_CERTIFICATE).unwrap();
        assert_eq!(python["same"], true, "{body} {python}");
        assert_eq!(python["issueTs"].as_u64(), Some(issued));
        assert_eq!(python["salt"], node["salt"]);
        let other = rebuild_agora_with_python(token, OTHER_CERTIFICATE).unwrap();
        assert_eq!(other["same"], false);
    }
    assert_eq!(answers[0].2["uid"], "alice");
    assert_eq!(answers[1].2["uid"], "4294967295");
    let node = verify_agora_with_node(answers[0].2["token"].as_str().unwrap(), AGORA_CERTIFICATE).unwrap();
    assert_eq!(node["services"][0]["channel"], "party 1");
    // Two tokens, two salts.
    let salts: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(_, _, a)| {
            verify_agora_with_node(a["token"].as_str().unwrap(), AGORA_CERTIFICATE).unwrap()["salt"]
                .to_string()
        })
        .collect();
    assert_eq!(salts.len(), 3);
}

#[tokio::test]
async fn without_an_authorizer_each_token_gets_a_random_uid() {
    // Arrange
    let (vendor, url) = local(&[]).await;

    // Act
    let first = post_json(&url, r#"{"channel":"lobby"}"#).await;
    let second = post_json(&url, r#"{"channel":"lobby"}"#).await;
    let asked = post_json(&url, r#"{"channel":"lobby","uid":"alice"}"#).await;
    vendor.stop().await;

    // Assert: two uids, numeric and non-zero, each the token's own; a uid
    // asked for without the opt-in is refused.
    let uids: Vec<u32> = [&first, &second]
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, 200, "{body}");
            let uid = body["uid"].as_str().unwrap();
            let node = verify_agora_with_node(body["token"].as_str().unwrap(), AGORA_CERTIFICATE).unwrap();
            assert_eq!(node["services"][0]["uid"], uid);
            assert_eq!(node["services"][0]["privileges"], privileges(false, 3600));
            uid.parse().unwrap()
        })
        .collect();
    assert!(uids[0] != uids[1] && uids.iter().all(|u| *u != 0), "{uids:?}");
    assert_eq!(
        (asked.0, asked.2["error"]["code"].as_str()),
        (403, Some("identity_not_allowed"))
    );
}

#[tokio::test]
async fn each_refusal_has_its_status_and_stable_code_with_cors() {
    // Arrange: subscribers only, a caller may name its uid.
    let (vendor, url) = local(&[
        ("AGORA_ROLES", "subscriber"),
        ("AGORA_IDENTITY", "request"),
        ("AGORA_MAX_TTL_S", "600"),
    ])
    .await;
    let long_uid = format!(r#"{{"channel":"lobby","uid":"{}"}}"#, "u".repeat(256));
    let long_channel = format!(r#"{{"channel":"{}"}}"#, "c".repeat(65));
    let cases: [(&str, u16, &str); 17] = [
        ("", 400, "bad_request"),
        ("{}", 400, "bad_request"),
        (r#"["lobby"]"#, 400, "bad_request"),
        (r#"{"channel":"lobby","extra":1}"#, 400, "bad_request"),
        (r#"{"channel":"a/b"}"#, 400, "bad_request"),
        (&long_channel, 400, "bad_request"),
        (&long_uid, 400, "bad_request"),
        (r#"{"channel":"lobby","uid":4294967296}"#, 400, "bad_request"),
        (r#"{"channel":"lobby","tokenType":"chat"}"#, 400, "bad_request"),
        (r#"{"channel":"lobby","expire":601}"#, 400, "bad_request"),
        (r#"{"channel":"lobby","expire":0}"#, 400, "bad_request"),
        (r#"{"channel":"vip"}"#, 403, "channel_not_allowed"),
        (
            r#"{"channel":"lobby","role":"publisher"}"#,
            403,
            "role_not_allowed",
        ),
        (r#"{"channel":"lobby","uid":0}"#, 403, "identity_not_allowed"),
        (r#"{"channel":"lobby","uid":"0"}"#, 403, "identity_not_allowed"),
        (r#"{"tokenType":"rtm","uid":0}"#, 403, "identity_not_allowed"),
        (r#"{"channel":"lobby","expire":600}"#, 200, ""),
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
    vendor.stop().await;
}

#[tokio::test]
async fn without_agora_configured_the_route_is_not_enabled() {
    // Arrange: the demo upstream, no Agora.
    let vendor = Process::spawn(&[
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
    ]);
    let port = vendor.listening_port().await;

    // Act
    let (status, cors, body) = post_json(
        &format!("http://127.0.0.1:{port}/agora/token"),
        r#"{"channel":"lobby"}"#,
    )
    .await;
    vendor.stop().await;

    // Assert
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (501, Some("not_enabled"))
    );
    assert_eq!(cors.as_deref(), Some(ALLOWED));
}

#[tokio::test]
async fn agora_tokens_count_against_the_quota_after_the_policy() {
    // Arrange: a week's window, so no boundary falls between the requests.
    let (vendor, url) = local(&[("QUOTA", "2/7d")]).await;

    // Act: a refusal by policy, then three tokens asked for.
    let refused = post_json(&url, r#"{"channel":"vip"}"#).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(post_json(&url, r#"{"channel":"lobby"}"#).await);
    }
    vendor.stop().await;

    // Assert: the refusal spent nothing; the third is over quota.
    assert_eq!(refused.0, 403);
    let codes: Vec<(u16, Option<&str>)> = answers
        .iter()
        .map(|(s, _, b)| (*s, b["error"]["code"].as_str()))
        .collect();
    assert_eq!(codes, [(200, None), (200, None), (429, Some("quota_exceeded"))]);
}

#[tokio::test]
async fn the_audit_line_and_the_metrics_name_channel_and_uid_only_by_hash() {
    // Arrange: everything logged, records on.
    let (vendor, url) = local(&[
        ("RUST_LOG", "trace"),
        ("METRICS", "emf"),
        ("AGORA_IDENTITY", "request"),
    ])
    .await;

    // Act
    let (status, _, answer) = post_json(&url, r#"{"channel":"party secret","uid":"uid-secret-9"}"#).await;
    let output = vendor.stop().await;

    // Assert: one audit line, with the hashes and never the values...
    assert_eq!(status, 200, "{answer}");
    let token = answer["token"].as_str().unwrap();
    let audit = output
        .lines()
        .find(|l| l.contains("token issued"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(audit.contains("provider=\"agora\""), "{audit}");
    assert!(audit.contains(&fingerprint("party secret")), "{audit}");
    assert!(audit.contains(&fingerprint("uid-secret-9")), "{audit}");
    for secret in ["party secret", "uid-secret-9", &token[3..], AGORA_CERTIFICATE] {
        assert!(!output.contains(secret), "{secret} in:\n{output}");
    }
    // ...and a metrics record under its own route.
    let record: Value = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r.get("Route").is_some())
        .unwrap_or_else(|| panic!("{output}"));
    assert_eq!(
        (
            record["Route"].as_str(),
            record["TokensIssued"].as_f64(),
            &record["StatusCode"]
        ),
        (Some("agora"), Some(1.0), &json!(200))
    );
}

#[tokio::test]
async fn a_malformed_key_is_a_start_up_error_naming_the_variable_never_its_value() {
    let vars = vec![
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
        ("AGORA_APP_CERTIFICATE", AGORA_CERTIFICATE.to_owned()),
        ("AGORA_CHANNELS", "*".to_owned()),
    ];
    for (variable, value) in [
        ("AGORA_APP_ID", "not-an-app-id-0123456789abcdef01"),
        ("AGORA_APP_CERTIFICATE", "cert-secret-zz0123456789abcdef01"),
    ] {
        assert_start_refused(vars.clone(), variable, value).await;
    }
}

/// The binary under Lambda with Agora on (`AGORA_CHANNELS=*`) and `secret`
/// in moto, plus `extra`, given `events`: the answers and the output.
async fn agora_answers(
    secret: &Value,
    extra: &[(&'static str, &str)],
    events: Vec<String>,
) -> (Vec<(u64, Value, Value)>, String) {
    let mut vars = vec![
        ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
        ("AGORA_CHANNELS", "*".to_owned()),
    ];
    vars.extend(extra.iter().map(|(name, value)| (*name, (*value).to_owned())));
    signed_in_answers(secret, vars, events).await
}

fn http_api_signed_in(sub: &str, body: &str) -> String {
    http_api_signed_in_at("/agora/token", sub, body)
}

fn rest_api_signed_in(sub: &str, body: &str) -> String {
    rest_api_signed_in_at("/agora/token", sub, body)
}

#[tokio::test]
async fn under_lambda_the_uid_is_the_authorizers_sub_over_http_and_rest_apis() {
    // Arrange: the certificate in the secret, the function under Lambda.
    let secret = json!({"AGORA_APP_CERTIFICATE": AGORA_CERTIFICATE});
    let events = vec![
        http_api_signed_in("user-123", r#"{"channel":"lobby","role":"publisher"}"#),
        rest_api_signed_in("user-123", r#"{"channel":"lobby","uid":"user-123"}"#),
        http_api_signed_in("user-123", r#"{"tokenType":"rtm"}"#),
        http_api_signed_in("user-123", r#"{"channel":"lobby","uid":"someone-else"}"#),
        rest_api_signed_in("user-123", r#"{"channel":"lobby","uid":42}"#),
        http_api_signed_in("0", r#"{"channel":"lobby"}"#),
        http_api_signed_in("user-123", r#"{"channel":"lobby","uid":0}"#),
    ];

    // Act
    let (answers, output) = agora_answers(&secret, &[("METRICS", "emf")], events).await;

    // Assert: the sub is the account of every token, RTC and RTM...
    for (status, cors, body) in &answers[..3] {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(cors, ALLOWED);
        assert_eq!(body["uid"], "user-123");
        let node = verify_agora_with_node(body["token"].as_str().unwrap(), AGORA_CERTIFICATE).unwrap();
        assert_eq!(node["verified"], true);
        let service = &node["services"][0];
        let account = if service["type"] == 2 {
            &service["userId"]
        } else {
            &service["uid"]
        };
        assert_eq!(account, "user-123");
    }
    // ...another uid, and Agora's uid 0 (asked, or as the sub), are refused.
    for (status, cors, body) in &answers[3..] {
        assert_eq!(
            (*status, body["error"]["code"].as_str()),
            (403, Some("identity_not_allowed")),
            "{body}"
        );
        assert_eq!(cors, ALLOWED);
    }
    // The audit lines name the caller, who is the uid, only by fingerprint.
    let audits: Vec<&str> = output.lines().filter(|l| l.contains("token issued")).collect();
    assert_eq!(audits.len(), 3, "{output}");
    let hashed = format!("caller=sub{}", fingerprint("user-123"));
    assert!(
        audits
            .iter()
            .all(|l| l.contains(&hashed) && l.contains("provider=\"agora\"")),
        "{output}"
    );
    assert!(!output.contains("user-123"), "{output}");
    let records = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["Route"] == "agora")
        .count();
    assert_eq!(records, answers.len(), "{output}");
}

#[tokio::test]
async fn under_lambda_a_malformed_certificate_in_the_secret_is_503_naming_the_field() {
    // A certificate that is not 32 hex digits.
    assert_unusable_secret_is_503(
        &json!({"AGORA_APP_CERTIFICATE": "not-hex-secret-value-0123456789ab"}),
        vec![
            ("AGORA_APP_ID", AGORA_APP_ID.to_owned()),
            ("AGORA_CHANNELS", "*".to_owned()),
        ],
        http_api_signed_in("user-123", r#"{"channel":"lobby"}"#),
        "AGORA_APP_CERTIFICATE is not 32 hexadecimal digits",
        "not-hex-secret-value",
    )
    .await;
}

#[tokio::test]
async fn the_agora_event_of_the_bench_is_answered_under_lambda() {
    // Arrange
    let secret = json!({"AGORA_APP_CERTIFICATE": AGORA_CERTIFICATE});
    let event = event_file("http-api-post-agora-token.json");

    // Act
    let (answers, _) = agora_answers(&secret, &[], vec![event]).await;

    // Assert: a publisher's token for `lobby`, with a random uid.
    let (status, cors, body) = &answers[0];
    assert_eq!(*status, 200, "{body}");
    assert_eq!(cors, ALLOWED);
    let node = verify_agora_with_node(body["token"].as_str().unwrap(), AGORA_CERTIFICATE).unwrap();
    assert_eq!(node["services"][0]["channel"], "lobby");
    assert_eq!(node["services"][0]["privileges"], privileges(true, 3600));
}
