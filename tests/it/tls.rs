//! TLS end to end, with the real binary: a CAS stand-in over https whose
//! certificate a CA made by the test run signs, trusted through
//! `EXTRA_CA_CERTS`. The stand-in counts completed TLS handshakes, so the
//! warm-up's claim (the handshake happens during init) is checked directly.

use std::time::Duration;

use crate::support::*;
use bench::cas::CasStandIn;
use bench::runtime_api::{Kind, Outcome, RuntimeApi};
use bench::tls::{Leaf, ServerCert, TestCa};

fn token_event() -> String {
    std::fs::read_to_string(format!(
        "{}/events/http-api-get-token.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn cas_over_tls(cert: &ServerCert) -> CasStandIn {
    CasStandIn::start_with(Duration::from_secs(30), Some(cert.acceptor().unwrap()))
        .await
        .unwrap()
}

#[tokio::test]
async fn under_lambda_the_handshake_happens_during_init_and_a_hundred_requests_add_none() {
    // Arrange
    let moto = Moto::start();
    moto.create_secret("tv/tls", &secret_json(KEY, SECRET)).await;
    let cas = cas_over_tls(&run_ca().server).await;
    let mut runtime = RuntimeApi::start().await.unwrap();
    let mut vars = lambda_env(&runtime);
    vars.extend(aws_env(&moto));
    vars.extend([
        ("SECRET_ID", "tv/tls".to_owned()),
        ("CAS_URL", cas.url()),
        ("EXTRA_CA_CERTS", run_ca().pem_path.display().to_string()),
    ]);
    let event = token_event();

    // Act: the cold start, the first request, then 99 more.
    let vendor = Process::spawn(&vars);
    let init = runtime.wait_first_next(Duration::from_secs(20)).await;
    let at_ready = (cas.handshakes(), cas.token_requests());
    let mut statuses = Vec::new();
    let mut after_first = None;
    for i in 0..100 {
        runtime.invoke(&format!("tls-{i}"), event.clone());
        match runtime.outcome(Duration::from_secs(10)).await {
            Some(Outcome {
                kind: Kind::Response(body),
                ..
            }) => statuses.push(body["statusCode"].as_u64().unwrap()),
            other => panic!("{other:?}"),
        }
        if i == 0 {
            after_first = Some((cas.handshakes(), cas.token_requests()));
        }
    }
    let at_end = (cas.handshakes(), cas.connections(), cas.token_requests());
    let output = vendor.stop().await;

    // Assert
    assert!(init.is_some(), "{output}");
    assert_eq!(at_ready, (1, 0), "handshakes, token requests at ready\n{output}");
    assert_eq!(
        after_first,
        Some((1, 1)),
        "the first request adds no handshake\n{output}"
    );
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}\n{output}");
    assert_eq!(
        at_end,
        (1, 1, 100),
        "handshakes, connections, token requests after 100 requests\n{output}"
    );
    assert!(
        output.contains("EXTRA_CA_CERTS: provider calls also trust"),
        "{output}"
    );
}

/// What the log said about the failed request: the `error` field of its
/// `request failed` line.
fn request_failure(output: &str) -> Option<String> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "request failed")
        .map(|line| line["fields"]["error"].as_str().unwrap_or_default().to_owned())
}

/// Runs the binary locally against `cas` and asks for one token: the
/// response's status, `error.code`, CORS header, and the whole output.
async fn one_token_request(
    cas: &CasStandIn,
    extra: &[(&str, String)],
) -> (u16, String, Option<String>, String) {
    let mut vars = vec![
        ("CAS_URL", cas.url()),
        ("API_KEY", KEY.to_owned()),
        ("API_SECRET", SECRET.to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("RUST_LOG", "debug".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    let vendor = Process::spawn(&vars);
    let port = vendor.listening_port().await;
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/token"))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cors = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or_default().to_owned();
    (status, code, cors, vendor.stop().await)
}

#[tokio::test]
async fn a_certificate_for_another_host_expired_or_from_an_unknown_issuer_is_a_502_and_the_log_names_it() {
    let stranger = TestCa::new("a CA nobody trusts").unwrap();
    let cases = [
        (
            "another host",
            run_ca().ca.leaf(Leaf::OtherHost).unwrap(),
            "certificate not valid for name",
        ),
        (
            "expired",
            run_ca().ca.leaf(Leaf::Expired).unwrap(),
            "certificate expired",
        ),
        (
            "unknown issuer",
            stranger.leaf(Leaf::Valid).unwrap(),
            "UnknownIssuer",
        ),
    ];
    for (case, cert, cause) in cases {
        // Arrange
        let cas = cas_over_tls(&cert).await;

        // Act
        let (status, code, cors, output) = one_token_request(&cas, &[]).await;

        // Assert: a 502 with CORS; the log's chain says it was the certificate.
        assert_eq!(
            (status, code.as_str()),
            (502, "upstream_error"),
            "{case}\n{output}"
        );
        assert_eq!(cors.as_deref(), Some(ALLOWED), "{case}");
        let logged =
            request_failure(&output).unwrap_or_else(|| panic!("{case}: no request failed line\n{output}"));
        assert!(
            logged.starts_with("token provider failed: upstream's TLS certificate refused"),
            "{case}: {logged}"
        );
        assert!(logged.contains("invalid peer certificate"), "{case}: {logged}");
        assert!(logged.contains(cause), "{case}: {logged}");
        let warm_up = output
            .lines()
            .find(|line| line.contains("upstream warm-up failed"))
            .unwrap_or_else(|| panic!("{case}: no warm-up warning\n{output}"));
        assert!(warm_up.contains(cause), "{case}: {warm_up}");
        assert_eq!(cas.token_requests(), 0, "{case}: nothing reached the token path");
        assert_eq!(
            cas.counters
                .other_requests
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
        for secret in [KEY, SECRET] {
            assert!(!output.contains(secret), "{case}: {output}");
        }
    }
}

#[tokio::test]
async fn without_extra_ca_certs_a_private_ca_is_not_trusted() {
    // Arrange: the run's own CA signed the certificate, but it is not added.
    let cas = cas_over_tls(&run_ca().server).await;

    // Act: an empty EXTRA_CA_CERTS counts as unset.
    let (status, code, _, output) = one_token_request(&cas, &[("EXTRA_CA_CERTS", String::new())]).await;

    // Assert
    assert_eq!((status, code.as_str()), (502, "upstream_error"), "{output}");
    let logged = request_failure(&output).unwrap();
    assert!(logged.contains("UnknownIssuer"), "{logged}");
    assert!(
        !output.contains("EXTRA_CA_CERTS: provider calls also trust"),
        "{output}"
    );
}

#[tokio::test]
async fn a_bad_extra_ca_certs_stops_the_start_locally_and_under_lambda() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let empty = dir.join(format!("no-certificate-{}.pem", std::process::id()));
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let key_only = dir.join(format!("key-only-{}.pem", std::process::id()));
    std::fs::write(&key_only, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let missing = dir.join("no-such-file.pem");
    for path in [&empty, &key_only, &missing] {
        for lambda in [false, true] {
            // Arrange
            let runtime = RuntimeApi::start().await.unwrap();
            let mut vars = vec![
                ("CAS_URL", "https://cas.example.com".to_owned()),
                ("EXTRA_CA_CERTS", path.display().to_string()),
                ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
            ];
            if lambda {
                vars.extend(lambda_env(&runtime));
                vars.push(("SECRET_ID", "tv/any".to_owned()));
            } else {
                vars.extend([
                    ("API_KEY", KEY.to_owned()),
                    ("API_SECRET", SECRET.to_owned()),
                    ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
                ]);
            }

            // Act
            let (status, output) = Process::spawn(&vars).exit().await;

            // Assert: a failed start naming the variable; under Lambda the
            // runtime was never asked for an event.
            let case = format!("{} lambda={lambda}", path.display());
            assert!(!status.success(), "{case}");
            assert!(
                output.contains("invalid configuration: EXTRA_CA_CERTS"),
                "{case}\n{output}"
            );
            if lambda {
                assert!(runtime.first_next().is_none(), "{case}");
            } else {
                assert!(!output.contains("listening"), "{case}\n{output}");
            }
            assert!(!output.contains(SECRET), "{case}");
        }
    }
    std::fs::remove_file(empty).unwrap();
    std::fs::remove_file(key_only).unwrap();
}
