//! The integration tests' stand-ins, one file per kind: moto (Secrets
//! Manager, DynamoDB), TLS (the run's CA, https fronts), CAS, DynamoDB,
//! the binary as a process, raw sockets and API Gateway events. Tests
//! `use crate::support::*`.

mod cas;
mod dynamo;
mod events;
mod moto;
mod process;
mod sockets;
mod tls;

pub use cas::*;
pub use dynamo::*;
pub use events::*;
pub use moto::*;
pub use process::*;
pub use sockets::*;
pub use tls::*;

pub const ALLOWED: &str = "https://app.example.com";
pub const KEY: &str = "test-api-key-7f3a";
pub const SECRET: &str = "test-api-secret-c91e";
