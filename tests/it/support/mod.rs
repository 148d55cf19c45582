//! The integration tests' stand-ins, one file per kind: moto (Secrets
//! Manager, DynamoDB), TLS (the run's CA, https fronts), CAS, DynamoDB,
//! LiveKit's and Agora's own verifiers,
//! the binary as a process, raw sockets and API Gateway events. Tests
//! `use crate::support::*`.

mod agora;
mod cas;
mod dynamo;
mod events;
mod livekit;
mod moto;
mod process;
mod signed_in;
mod sockets;
mod tls;
mod twilio;
mod verifiers;
mod vonage;

pub(crate) use agora::*;
pub(crate) use cas::*;
pub(crate) use dynamo::*;
pub(crate) use events::*;
pub(crate) use livekit::*;
pub(crate) use moto::*;
pub(crate) use process::*;
pub(crate) use signed_in::*;
pub(crate) use sockets::*;
pub(crate) use tls::*;
pub(crate) use twilio::*;
pub(crate) use vonage::*;

pub(crate) const ALLOWED: &str = "https://app.example.com";
pub(crate) const KEY: &str = "test-api-key-7f3a";
pub(crate) const SECRET: &str = "test-api-secret-c91e";

/// `POST url` with `body` from the allowed origin: status, CORS grant, body.
pub(crate) async fn post_json(url: &str, body: &str) -> (u16, Option<String>, serde_json::Value) {
    let answer = reqwest::Client::new()
        .post(url)
        .header("origin", ALLOWED)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let cors = answer
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        cors,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    )
}
