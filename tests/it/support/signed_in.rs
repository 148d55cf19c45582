//! A signing provider under the Lambda runtime: the binary with its
//! secret in moto, events with the JWT authorizer's claims (HTTP API and
//! REST), and their answers.

use std::time::Duration;

use bench::runtime_api::{Kind, RuntimeApi};
use serde_json::{Value, json};

use super::*;

/// The binary under Lambda with `secret` in moto (`tv/signer`) and `vars`
/// (the provider's), ready for its first event.
pub(crate) async fn signer_under_lambda(
    secret: &Value,
    vars: Vec<(&'static str, String)>,
) -> (Moto, RuntimeApi, Process) {
    let moto = Moto::start();
    moto.create_secret("tv/signer", &secret.to_string()).await;
    let runtime = RuntimeApi::start().await.unwrap();
    let mut env = aws_env(&moto);
    env.extend(lambda_env(&runtime));
    env.extend([
        ("SECRET_ID", "tv/signer".to_owned()),
        ("ALLOWED_ORIGINS", ALLOWED.to_owned()),
    ]);
    env.extend(vars);
    let vendor = Process::spawn(&env);
    runtime
        .wait_first_next(Duration::from_secs(20))
        .await
        .expect("the function polls for its first event");
    (moto, runtime, vendor)
}

/// Invokes `events` in turn: each answer's status, CORS grant and body.
pub(crate) async fn invoke_all(
    runtime: &mut RuntimeApi,
    vendor: &Process,
    events: Vec<String>,
) -> Vec<(u64, Value, Value)> {
    let mut answers = Vec::new();
    for (n, event) in events.into_iter().enumerate() {
        runtime.invoke(&format!("signed-{n}"), event);
        match runtime.outcome(Duration::from_secs(20)).await.map(|o| o.kind) {
            Some(Kind::Response(response)) => {
                // An HTTP API answer's headers, or a REST API's (multi-valued).
                let cors = ["headers", "multiValueHeaders"]
                    .iter()
                    .filter_map(|field| response[field].as_object())
                    .flat_map(|headers| headers.iter())
                    .find(|(name, _)| name.eq_ignore_ascii_case("access-control-allow-origin"))
                    .map_or(Value::Null, |(_, value)| match value {
                        Value::Array(values) => values[0].clone(),
                        other => other.clone(),
                    });
                answers.push((
                    response["statusCode"].as_u64().unwrap(),
                    cors,
                    serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap(),
                ));
            }
            other => panic!("{other:?}\n{}", vendor.output()),
        }
    }
    answers
}

/// An HTTP API `POST path` event with the JWT authorizer's claims (`sub`).
pub(crate) fn http_api_signed_in_at(path: &str, sub: &str, body: &str) -> String {
    let mut event: Value = serde_json::from_str(&http_api_event(
        "POST",
        path,
        "",
        &[("origin", ALLOWED), ("content-type", "application/json")],
        body,
    ))
    .unwrap();
    event["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example.com"}, "scopes": null}});
    event.to_string()
}

/// A REST API `POST path` event (stage `Prod`) with the authorizer's
/// claims (`sub`).
pub(crate) fn rest_api_signed_in_at(path: &str, sub: &str, body: &str) -> String {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/rest-api-get-token.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    event["resource"] = json!(path);
    event["path"] = json!(path);
    event["httpMethod"] = json!("POST");
    event["headers"]["Content-Type"] = json!("application/json");
    event["requestContext"]["httpMethod"] = json!("POST");
    event["requestContext"]["path"] = json!(format!("/Prod{path}"));
    event["requestContext"]["resourcePath"] = json!(path);
    event["requestContext"]["authorizer"] = json!({"claims": {"sub": sub}});
    event["body"] = json!(body);
    event.to_string()
}
