//! token-vendor: an AWS Lambda that hands streaming-session tokens to web and
//! mobile apps, so that the provider's API keys never leave the server.
//!
//! Request flow: API Gateway → [`handler::Vendor::handle`] (routing, origin
//! policy, errors) → [`handler::TokenProvider`] → [`cas::CasClient`] with
//! the key pair from [`secrets::CredentialStore`] → `{"token": "..."}`.

pub mod aipix;
pub mod aws_http;
pub mod cas;
pub mod cold_start;
pub mod config;
pub mod cors;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod handler;
pub mod jwt;
pub mod lambda_event;
pub mod local;
pub mod logging;
pub mod metrics;
pub mod provider;
pub mod quota;
pub mod rooms;
pub mod secrets;
pub mod tls;

pub use cold_start::cold_start;
pub use config::Config;
pub use handler::Vendor;
