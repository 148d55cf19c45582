//! AWS: the SDK's HTTP client.

pub mod http;
