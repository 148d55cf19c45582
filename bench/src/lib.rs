//! Local stand-ins for running the real binary the way Lambda does: a Lambda
//! Runtime API ([`runtime_api`]) and a CAS that counts connections
//! ([`cas`]), over http or https ([`tls`]: a CA of the run, certificates it
//! signs and an https front). Used by the benchmark and by the integration tests.

pub mod cas;
pub mod runtime_api;
pub mod tls;
