//! The integration tests, in one binary: each file is a module, and the
//! stand-ins they share are in [`support`]. Only tests that need a process
//! of their own sit beside it: `tests/entropy.rs` (the first random bytes of
//! a process) and `tests/log_bridge.rs` (the global logger).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod agora;
mod aipix;
mod binary;
mod cas_upstream;
mod deadlines;
mod docs;
mod events;
mod layers;
mod livekit;
mod log_levels;
mod metrics;
mod openapi;
mod properties;
mod quotas;
mod revocation;
mod rooms;
mod secrets_manager;
mod tls;
mod twilio;
mod vonage;
