//! token-vendor: an AWS Lambda that hands streaming-session tokens to web and
//! mobile apps, so that the provider's API keys never leave the server.
//!
//! Request flow: API Gateway → [`runtime`] → [`Vendor::handle`] (deadline,
//! origin policy, routing, errors, the request line and metrics record) →
//! the route family's file in `api/` → a provider in `providers/` with the
//! keys from [`CredentialStore`] → `{"token": "..."}`.
//!
//! The modules are private and form floors (docs/ARCHITECTURE.md; checked
//! by tests/it/layers.rs). What the binary, the bench and the tests use is
//! re-exported here, floor by floor.

mod api;
mod aws;
mod bans;
mod cold_start;
mod config;
mod deadline;
mod error;
mod identity;
mod json;
mod jwt;
mod logging;
mod metrics;
mod names;
mod providers;
mod quota;
mod rooms;
mod runtime;
mod secrets;
mod tls;

// The wiring, the configuration and the runtime adapters: what `main` uses.
pub use cold_start::{StartError, cold_start};
pub use config::{Config, ConfigError, Mode};
pub use logging::{chain, init as init_logging};
pub use runtime::lambda::{ApiGatewayEvent, run as run_lambda};
pub use runtime::local::serve as serve_local;

// The HTTP layer.
pub use api::cors::{AllowedOrigins, OriginCheck};
pub use api::{AdminAccess, MIN_ADMIN_TOKEN, ROUTES, TokenProvider, Vendor};

// The features: providers, rooms, quotas.
pub use bans::{Ban, BanStore, Bans, is_identity as is_ban_identity, parse_pattern as parse_ban_room};
pub use providers::agora::{
    AgoraConfig, AgoraGrant, AgoraPolicy, AgoraRequest, AgoraSigner, AskedUid, Role as AgoraRole,
    Roles as AgoraRoles, Service as AgoraService, TokenType as AgoraTokenType, sign as sign_agora,
};
pub use providers::aipix::{
    AipixClient, AipixConfig, AllowedStreams, Asked, Rights, StreamPolicy, StreamRequest,
};
pub use providers::cas::CasClient;
pub use providers::livekit::{
    AllowedRooms, DEV_API_KEY, DEV_API_SECRET, DEV_URL, Grant, Grants, IdentitySource, KickFailure,
    LiveKitConfig, LiveKitPolicy, LiveKitSigner, RoomPattern, TokenRequest,
};
pub use providers::twilio::{TwilioConfig, TwilioGrant, TwilioPolicy, TwilioRequest, TwilioSigner};
pub use providers::vonage::{
    Role as VonageRole, Roles as VonageRoles, VonageConfig, VonageGrant, VonagePolicy, VonageRequest,
    VonageSigner, is_session_id as is_vonage_session_id,
};
pub use quota::{FailMode, Quota, QuotaSpec, QuotaStore};
pub use rooms::{RoomName, RoomStore, Rooms};

// What they share.
pub use aws::http::sdk_http_client;
pub use aws::{AWS_CONNECT_TIMEOUT, aws_timeouts, secrets_manager_client};
pub use error::ERROR_CODES;
pub use identity::{GUEST_PREFIX, IdentityRule, REQUESTED_PREFIX};
pub use names::{
    MAX_CHANNEL, MAX_NAME, fingerprint, is_channel_name, is_plain_text, is_room_name, is_stream_id,
};
pub use providers::http_client;
pub use secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};
pub use tls::{ExtraRoots, crypto_provider};
