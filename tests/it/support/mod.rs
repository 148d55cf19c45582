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
mod sockets;
mod tls;

pub(crate) use agora::*;
pub(crate) use cas::*;
pub(crate) use dynamo::*;
pub(crate) use events::*;
pub(crate) use livekit::*;
pub(crate) use moto::*;
pub(crate) use process::*;
pub(crate) use sockets::*;
pub(crate) use tls::*;

pub(crate) const ALLOWED: &str = "https://app.example.com";
pub(crate) const KEY: &str = "test-api-key-7f3a";
pub(crate) const SECRET: &str = "test-api-secret-c91e";
