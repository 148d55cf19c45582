//! token-vendor: an AWS Lambda that hands streaming-session tokens to web and
//! mobile apps, so that the provider's API keys never leave the server.
//!
//! Request flow: API Gateway → [`api::Vendor::handle`] (routing, origin
//! policy, errors) → [`api::TokenProvider`] → [`providers::cas::CasClient`] with
//! the key pair from [`secrets::CredentialStore`] → `{"token": "..."}`.

pub mod api;
pub mod aws;
pub mod cold_start;
pub mod config;
pub mod deadline;
pub mod error;
pub mod json;
pub mod jwt;
pub mod logging;
pub mod metrics;
pub mod providers;
pub mod quota;
pub mod rooms;
pub mod runtime;
pub mod secrets;
pub mod tls;

// The paths of before the move, for the tests, bench and fuzz targets
// until they follow.
pub use api as handler;
pub use api::cors;
pub use aws::http as aws_http;
pub use cold_start::cold_start;
pub use config::Config;
pub use handler::{TokenProvider, Vendor};
pub use providers as provider;
pub use providers::{aipix, cas, demo};
pub use runtime::{lambda as lambda_event, local};
pub use tls::ExtraRoots;
