//! The one place that reads the configuration: every variable is parsed and
//! validated here, and a bad value is a start-up error that names it (the
//! log set-up and the Lambda runtime read their own, `RUST_LOG`,
//! `AWS_LAMBDA_*`). This
//! file is the facade ([`Config`]); each concern reads its own variables in
//! its own file, into the types its feature owns. Only the wiring
//! ([`crate::cold_start`]) and the binary read [`Config`].

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use crate::api::AdminAccess;
use crate::api::cors::AllowedOrigins;
use crate::metrics::MetricsSetting;
use crate::providers::agora::AgoraConfig;
use crate::providers::aipix::AipixConfig;
use crate::providers::livekit::LiveKitConfig;
use crate::providers::twilio::TwilioConfig;
use crate::providers::vonage::VonageConfig;
use crate::quota::{FailMode, QuotaSpec};
use crate::secrets::Credentials;
use crate::tls::ExtraRoots;

mod admin;
mod agora;
mod env;
mod livekit;
mod providers;
mod quota;
mod rooms;
mod server;
#[cfg(test)]
mod tests;
mod twilio;
mod vonage;

pub use env::ConfigError;

/// How the process is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Under the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API` is set).
    Lambda,
    /// A plain HTTP server for development.
    Local { listen: SocketAddr },
}

/// Where the providers' credentials come from.
#[derive(Debug)]
pub enum CredentialSource {
    /// A Secrets Manager secret (name or ARN) holding a JSON object with the
    /// enabled providers' fields (`API_KEY`, `API_SECRET`, `AIPIX_API_TOKEN`,
    /// `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`, `AGORA_APP_CERTIFICATE`,
    /// `TWILIO_API_KEY_SID`, `TWILIO_API_KEY_SECRET`, `VONAGE_PRIVATE_KEY`).
    SecretsManager { secret_id: String },
    /// The same fields from the environment: local mode only.
    Environment(Box<Credentials>),
}

/// The validated configuration of one process.
#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    /// `CAS_URL`: Sceenic CAS behind `/token`.
    pub cas: Option<Url>,
    /// `AIPIX_URL` and its policy: AIPIX behind `/streams/{stream}/token`.
    pub aipix: Option<AipixConfig>,
    /// `LIVEKIT_URL` and its policy: LiveKit tokens behind `/livekit/token`.
    pub livekit: Option<LiveKitConfig>,
    /// `AGORA_APP_ID` and its policy: Agora tokens behind `/agora/token`.
    pub agora: Option<AgoraConfig>,
    /// `TWILIO_ACCOUNT_SID` and its policy: Twilio tokens behind `/twilio/token`.
    pub twilio: Option<TwilioConfig>,
    /// `VONAGE_APPLICATION_ID` and its policy: Vonage tokens behind `/vonage/token`.
    pub vonage: Option<VonageConfig>,
    /// Local mode without `LIVEKIT_URL`: `/livekit/token` signs for
    /// LiveKit's development server (`livekit-server --dev`) with its
    /// well-known keys. Not a provider the operator enabled: it changes
    /// nothing else (the demo upstream, the credentials' source).
    pub livekit_dev: Option<LiveKitConfig>,
    /// `None` only in local mode with no provider: the demo upstream.
    pub credentials: Option<CredentialSource>,
    /// `SECRET_MAX_AGE_S`: credentials read from Secrets Manager are read
    /// again, in the background, once they are this old.
    pub secret_max_age: Duration,
    pub allowed_origins: AllowedOrigins,
    pub upstream_timeout: Duration,
    /// `ROOMS_TABLE`: the DynamoDB table of rooms. Unset: rooms live in
    /// memory in local mode, and are off (501) under Lambda.
    pub rooms_table: Option<String>,
    /// `ROOM_REFRESH_MARGIN_S`: renew a room token that expires this soon.
    pub room_refresh_margin: Duration,
    /// `ROOM_TTL_S`: lifetime of a room whose token has no `exp`.
    pub room_ttl: Duration,
    /// `ROOMS_MEMORY_MAX`: the most rooms local mode holds in memory.
    pub rooms_memory_max: usize,
    /// `EXTRA_CA_CERTS`: CA certificates the provider calls trust besides
    /// the compiled-in roots (read from the PEM file at start-up).
    pub extra_roots: ExtraRoots,
    /// `QUOTA`: tokens per caller and window; `None` = no quota.
    pub quota: Option<QuotaSpec>,
    /// `QUOTA_TABLE`: the DynamoDB table of counts (required under Lambda
    /// with `QUOTA`; locally, unset = in memory).
    pub quota_table: Option<String>,
    /// `QUOTA_FAIL`: serve (`open`, the default) or answer 503 (`closed`)
    /// when the quota table cannot be used.
    pub quota_fail: FailMode,
    /// `METRICS` and `METRICS_NAMESPACE`: the EMF records, on or off.
    pub metrics: MetricsSetting,
    /// `ADMIN_TOKEN` (local mode) or IAM and `ADMIN_PRINCIPALS` (Lambda):
    /// who may call the admin routes.
    pub admin: AdminAccess,
    /// `BANS_TABLE`: the DynamoDB table of bans. Unset: bans live in memory
    /// in local mode, and are off (501) under Lambda.
    pub bans_table: Option<String>,
    /// `BANS_FAIL`: answer 503 (`closed`, the default) or serve unchecked
    /// (`open`) when the bans table cannot be read.
    pub bans_fail: FailMode,
}

impl Config {
    /// Whether `/token` is served by the built-in demo upstream (local mode
    /// with no provider configured; never under Lambda).
    pub fn demo(&self) -> bool {
        self.cas.is_none()
            && self.aipix.is_none()
            && self.livekit.is_none()
            && self.agora.is_none()
            && self.twilio.is_none()
            && self.vonage.is_none()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; empty values count as unset.
    /// Concern by concern, in this order: the first bad value is the one
    /// named.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = env::Env::new(&lookup);
        let mode = server::mode(&env)?;
        let lambda = mode == Mode::Lambda;
        let allowed_origins = server::allowed_origins(&env, lambda)?;
        let upstream_timeout = server::upstream_timeout(&env)?;
        let providers = providers::providers(&env, lambda)?;
        let (room_ttl, room_refresh_margin) = rooms::timing(&env)?;
        let rooms_memory_max = rooms::memory_max(&env)?;
        let quota = quota::settings(&env, lambda)?;
        let metrics = server::metrics(&env, lambda)?;
        let admin = admin::settings(&env, lambda)?;
        let extra_roots = server::extra_roots(&env)?;
        Ok(Self {
            mode,
            cas: providers.cas,
            aipix: providers.aipix,
            livekit: providers.livekit,
            agora: providers.agora,
            twilio: providers.twilio,
            vonage: providers.vonage,
            livekit_dev: livekit::livekit_dev(&env, lambda),
            credentials: providers.credentials,
            secret_max_age: providers.secret_max_age,
            allowed_origins,
            upstream_timeout,
            rooms_table: env.get("ROOMS_TABLE"),
            room_refresh_margin,
            room_ttl,
            rooms_memory_max,
            extra_roots,
            quota: quota.quota,
            quota_table: quota.table,
            quota_fail: quota.fail,
            metrics,
            admin: admin.access,
            bans_table: admin.bans_table,
            bans_fail: admin.bans_fail,
        })
    }
}
