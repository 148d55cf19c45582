//! A signing provider's binary: under the Lambda runtime with its secret
//! in moto, events with the JWT authorizer's claims (HTTP API and REST),
//! and their answers; and locally, a start it must refuse.

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

/// The binary under Lambda as [`signer_under_lambda`] starts it, given
/// `events` in turn: each answer, and the whole output once it stopped.
pub(crate) async fn signed_in_answers(
    secret: &Value,
    vars: Vec<(&'static str, String)>,
    events: Vec<String>,
) -> (Vec<(u64, Value, Value)>, String) {
    let (_moto, mut runtime, vendor) = signer_under_lambda(secret, vars).await;
    let answers = invoke_all(&mut runtime, &vendor, events).await;
    (answers, vendor.stop().await)
}

/// Under Lambda with an unusable `secret`: `event` is answered 503
/// `credentials_unavailable` with CORS, the log `says` why, naming the
/// field, and never holds `hidden` (the value).
pub(crate) async fn assert_unusable_secret_is_503(
    secret: &Value,
    vars: Vec<(&'static str, String)>,
    event: String,
    says: &str,
    hidden: &str,
) {
    let (answers, output) = signed_in_answers(secret, vars, vec![event]).await;
    let (status, cors, body) = &answers[0];
    assert_eq!(
        (*status, body["error"]["code"].as_str()),
        (503, Some("credentials_unavailable"))
    );
    assert_eq!(cors, ALLOWED);
    assert!(output.contains(says), "{output}");
    assert!(!output.contains(hidden), "{output}");
}

/// Starts the binary locally with `vars`, `variable` set to `value`
/// instead: it must refuse to start, naming the variable and never
/// printing the value (nor, for a long one such as a PEM key, 40 bytes from
/// its middle: a key's first bytes are the same in every key).
pub(crate) async fn assert_start_refused(
    mut vars: Vec<(&'static str, String)>,
    variable: &'static str,
    value: &str,
) {
    vars.retain(|(name, _)| *name != variable);
    vars.push((variable, value.to_owned()));
    let (status, output) = Process::spawn(&vars).exit().await;
    assert!(!status.success(), "{output}");
    assert!(output.contains(variable), "{output}");
    assert!(!output.contains(middle(value)), "{output}");
}

/// 40 bytes from the middle of a long `text` (a key whose first bytes every
/// key shares), or all of a short one.
pub(crate) fn middle(text: &str) -> &str {
    let from = text.len() / 2;
    text.get(from..from + 40)
        .filter(|_| text.len() > 80)
        .unwrap_or(text)
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
    let mut event: Value = serde_json::from_str(&event_file("rest-api-get-token.json")).unwrap();
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
