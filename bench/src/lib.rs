//! Local stand-ins for running the real binary the way Lambda does: a Lambda
//! Runtime API ([`runtime_api`]) and a CAS that counts connections
//! ([`cas`]), over http or https ([`tls`]: a CA of the run, certificates it
//! signs and an https front), an HTTP proxy that counts connections
//! ([`proxy`]) and DynamoDB's tables ([`dynamo`]). Used by the benchmark and
//! by the integration tests.

pub mod cas;
pub mod dynamo;
pub mod proxy;
pub mod runtime_api;
pub mod tls;
