//! LiveKit, through its standard token endpoint: what a caller may ask for
//! (LiveKit's `TokenSourceRequest`, as `TokenSource.endpoint` sends it), the
//! operator's policy, and the access token itself, signed here (HS256 with
//! the LiveKit API secret) as LiveKit's own SDKs sign it. No upstream call:
//! a key the LiveKit server refuses is the operator's to rotate.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use serde_json::value::RawValue;

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::IdentityRule;
pub use crate::identity::IdentitySource;
use crate::json::object_or_empty;
use crate::jwt;
pub use crate::names::{AllowedRooms, RoomPattern};
use crate::names::{is_plain_text, room_name};
use crate::providers::{Minted, UpstreamError, signing_credentials};
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};

/// LiveKit's development server, as `livekit-server --dev` runs it: its
/// URL and its well-known key pair (local mode without `LIVEKIT_URL`).
pub const DEV_URL: &str = "ws://localhost:7880";
pub const DEV_API_KEY: &str = "devkey";
pub const DEV_API_SECRET: &str = "secret";

/// The LiveKit provider: the URL handed back and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKitConfig {
    /// `LIVEKIT_URL` as the operator wrote it (`wss://`, or `ws://` for a
    /// loopback host): the `server_url` of every answer.
    pub url: String,
    pub policy: LiveKitPolicy,
}

/// What a participant may do in the room (`LIVEKIT_GRANTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    pub publish: bool,
    pub subscribe: bool,
    pub data: bool,
}

/// What the operator allows a caller of `/livekit/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKitPolicy {
    /// `LIVEKIT_ROOMS`.
    pub rooms: AllowedRooms,
    pub grants: Grants,
    /// Seconds from now to `exp`: the first connect must come before it
    /// (LiveKit's server refreshes a connected participant's token).
    pub ttl: u64,
    pub room_config: bool,
    /// `LIVEKIT_IDENTITY`: without an authorizer, a random identity
    /// (`Caller`) or the one asked for, issued as `req:<asked>` (`Request`).
    pub identity: IdentitySource,
    /// UTF-8 bytes of `participant_name` and of `participant_metadata`, and
    /// of all attribute keys and values together.
    pub max_name: usize,
    pub max_metadata: usize,
    pub max_attributes: usize,
}

/// The longest identity issued, in UTF-8 bytes (a chosen one's `req:`
/// prefix included): LiveKit keys participants by it.
pub(crate) const MAX_IDENTITY: usize = 256;
/// The largest `room_config`, in bytes of JSON as sent.
pub(crate) const MAX_ROOM_CONFIG: usize = 4096;

/// A `room_config` object as the caller sent it: kept as raw JSON (never a
/// tree), bounded by [`MAX_ROOM_CONFIG`] and copied into the token as is.
#[derive(Clone)]
pub struct RoomConfig(Box<RawValue>);

impl RoomConfig {
    /// The JSON text as sent.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl fmt::Debug for RoomConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomConfig({} bytes)", self.get().len())
    }
}

impl PartialEq for RoomConfig {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RoomConfig {}

impl<'de> Deserialize<'de> for RoomConfig {
    /// Any JSON value is read without building a tree; only an object is
    /// kept (LiveKit's `RoomConfiguration`).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if raw.get().starts_with('{') {
            Ok(Self(raw))
        } else {
            Err(serde::de::Error::custom("room_config must be an object"))
        }
    }
}

impl Serialize for RoomConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// What a caller asked for, as sent: LiveKit's `TokenSourceRequest` in its
/// JSON form (snake_case). `Debug` names no room, identity or metadata.
#[derive(Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub room_name: Option<String>,
    pub participant_identity: Option<String>,
    pub participant_name: Option<String>,
    pub participant_metadata: Option<String>,
    pub participant_attributes: Option<BTreeMap<String, String>>,
    pub room_config: Option<RoomConfig>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "[set]" } else { "-" };
        f.debug_struct("TokenRequest")
            .field("room_name", &set(self.room_name.is_some()))
            .field("participant_identity", &set(self.participant_identity.is_some()))
            .field("participant_name", &set(self.participant_name.is_some()))
            .field("participant_metadata", &set(self.participant_metadata.is_some()))
            .field(
                "participant_attributes",
                &set(self.participant_attributes.is_some()),
            )
            .field("room_config", &set(self.room_config.is_some()))
            .finish()
    }
}

impl TokenRequest {
    /// A POST body: empty (JSON whitespace), or a JSON object with only
    /// LiveKit's fields, each at most once.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        object_or_empty(body, || {
            ApiError::BadRequest(
                "The body must be a JSON object with only room_name, participant_identity, participant_name, participant_metadata (strings), participant_attributes (string map) and room_config (object), each at most once.",
            )
        })
    }
}

/// A validated, policy-approved token: what will be signed. `Debug` names
/// no room, identity or metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub room: String,
    pub identity: String,
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub room_config: Option<RoomConfig>,
    pub grants: Grants,
    pub ttl: u64,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("grants", &self.grants)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LiveKitPolicy {
    /// The identity rule of `/livekit/token` (the shared one, with
    /// LiveKit's field and bound).
    fn identity_rule(&self) -> IdentityRule {
        IdentityRule {
            source: self.identity,
            max_bytes: MAX_IDENTITY,
            invalid: "participant_identity must be 1-256 bytes as issued (1-252 when chosen: req: is added), none of them a control character.",
        }
    }

    /// Validates (400) and then authorizes (403) what a caller asked for.
    /// `sub` is the JWT authorizer's, when API Gateway verified one. Sizes
    /// are UTF-8 bytes, as the token carries them.
    pub fn decide(&self, asked: &TokenRequest, sub: Option<&str>) -> Result<Grant, ApiError> {
        let room = room_name(asked.room_name.as_deref()).map_err(ApiError::BadRequest)?;
        let identity_rule = self.identity_rule();
        identity_rule.check(sub, asked.participant_identity.as_deref())?;
        if asked
            .participant_name
            .as_ref()
            .is_some_and(|n| !is_plain_text(n, self.max_name))
        {
            return Err(ApiError::BadRequest(
                "participant_name is too long (LIVEKIT_MAX_NAME bytes) or holds control characters.",
            ));
        }
        if asked
            .participant_metadata
            .as_ref()
            .is_some_and(|m| !is_plain_text(m, self.max_metadata))
        {
            return Err(ApiError::BadRequest(
                "participant_metadata is too long (LIVEKIT_MAX_METADATA bytes) or holds control characters.",
            ));
        }
        let attributes = asked.participant_attributes.iter().flatten();
        let attributes_size: usize = attributes
            .clone()
            .map(|(key, value)| key.len() + value.len())
            .sum();
        if attributes_size > self.max_attributes
            || attributes
                .clone()
                .any(|(key, value)| !is_plain_text(key, usize::MAX) || !is_plain_text(value, usize::MAX))
        {
            return Err(ApiError::BadRequest(
                "participant_attributes are too large (LIVEKIT_MAX_ATTRIBUTES bytes) or hold control characters.",
            ));
        }

        if !self.rooms.allows(room) {
            return Err(ApiError::RoomNotAllowed);
        }
        // The policy before the size: a refused room_config is refused
        // whatever its size.
        if let Some(config) = &asked.room_config {
            if !self.room_config {
                return Err(ApiError::RoomConfigNotAllowed);
            }
            if config.get().len() > MAX_ROOM_CONFIG {
                return Err(ApiError::BadRequest("room_config is larger than 4096 bytes."));
            }
        }
        let identity = identity_rule.resolve(sub, asked.participant_identity.as_deref())?;
        Ok(Grant {
            room: room.to_owned(),
            identity,
            name: asked.participant_name.clone(),
            metadata: asked.participant_metadata.clone(),
            attributes: asked.participant_attributes.clone(),
            room_config: asked.room_config.clone(),
            grants: self.grants,
            ttl: self.ttl,
        })
    }
}

/// The LiveKit signer: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct LiveKitSigner {
    config: LiveKitConfig,
    credentials: Arc<CredentialStore>,
    /// The HTTP client for LiveKit's RoomService (bans' kicks); `None`: no
    /// kicks (LiveKit's dev server).
    room_service: Option<reqwest::Client>,
}

/// Why a participant could not be removed from a room (`RemoveParticipant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickFailure {
    /// No RoomService client (LiveKit's dev server).
    NotConfigured,
    /// The keys could not be read.
    Credentials,
    /// LiveKit answered this HTTP status (not 2xx, not 404).
    Status(u16),
    /// No answer by the deadline.
    Timeout,
    /// The request failed (connection, TLS).
    Unreachable,
}

impl KickFailure {
    /// The stable text of the admin's answer and the log.
    pub fn reason(self) -> String {
        match self {
            Self::NotConfigured => "not_configured".to_owned(),
            Self::Credentials => "credentials_unavailable".to_owned(),
            Self::Status(status) => format!("status_{status}"),
            Self::Timeout => "timeout".to_owned(),
            Self::Unreachable => "unreachable".to_owned(),
        }
    }
}

/// The lifetime of a RoomService admin token: one call.
const ADMIN_TOKEN_TTL_S: i64 = 60;

impl LiveKitSigner {
    pub fn new(config: LiveKitConfig, credentials: Arc<CredentialStore>) -> Self {
        Self {
            config,
            credentials,
            room_service: None,
        }
    }

    /// Removes banned participants through LiveKit's RoomService, with `http`.
    pub fn with_room_service(mut self, http: reqwest::Client) -> Self {
        self.room_service = Some(http);
        self
    }

    /// Removes `identity` from `room` (LiveKit's RoomService
    /// `RemoveParticipant`, Twirp JSON, under an admin token for that room
    /// alone), by `deadline`: `true` when removed, `false` when LiveKit
    /// answered 404 (not in the room, or no such room: nothing to do). LiveKit's released RoomService takes no
    /// `revokeTokenTs` (livekit/livekit#4344 is open), so none is sent.
    pub async fn kick(&self, identity: &str, room: &str, deadline: Deadline) -> Result<bool, KickFailure> {
        let http = self.room_service.as_ref().ok_or(KickFailure::NotConfigured)?;
        let credentials = signing_credentials(&self.credentials, "LiveKit", usable, deadline)
            .await
            .map_err(|_| KickFailure::Credentials)?;
        let (key, secret) = credentials.livekit().map_err(|_| KickFailure::Credentials)?;
        let now = Timestamp::now().as_second();
        let claims = AdminClaims {
            iss: key.expose_secret(),
            nbf: now,
            exp: now.saturating_add(ADMIN_TOKEN_TTL_S),
            video: AdminGrant {
                room,
                room_admin: true,
            },
        };
        let token = jwt::sign_hs256(&claims, secret.expose_secret().as_bytes())
            .map_err(|_| KickFailure::Credentials)?;
        let body = serde_json::json!({ "room": room, "identity": identity }).to_string();
        let call = http
            .post(room_service_url(&self.config.url, "RemoveParticipant"))
            .bearer_auth(token)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send();
        match deadline.within(call).await {
            Err(_) => Err(KickFailure::Timeout),
            Ok(Err(error)) if error.is_timeout() => Err(KickFailure::Timeout),
            Ok(Err(_)) => Err(KickFailure::Unreachable),
            Ok(Ok(response)) => match response.status().as_u16() {
                200..=299 => Ok(true),
                404 => Ok(false),
                status => Err(KickFailure::Status(status)),
            },
        }
    }

    pub fn policy(&self) -> &LiveKitPolicy {
        &self.config.policy
    }

    /// The `server_url` handed back with every token.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// Signs `grant` with the LiveKit key pair held (read again, spaced,
    /// when it is missing), by `deadline`.
    pub async fn mint(&self, grant: &Grant, deadline: Deadline) -> Result<Minted, UpstreamError> {
        let credentials = signing_credentials(&self.credentials, "LiveKit", usable, deadline).await?;
        let (key, secret) = credentials.livekit().map_err(SecretError::from)?;
        let now = Timestamp::now().as_second();
        let exp = now.saturating_add(i64::try_from(grant.ttl).unwrap_or(i64::MAX));
        let claims = claims(grant, key.expose_secret(), now, exp);
        let token = jwt::sign_hs256(&claims, secret.expose_secret().as_bytes())
            .map_err(|_| UpstreamError::Unsigned("the claims could not be serialized"))?;
        Ok(Minted::with_expiry(token, Timestamp::from_second(exp).ok()))
    }
}

/// A RoomService method's URL: `LIVEKIT_URL` with `ws`/`wss` as
/// `http`/`https`, and `/twirp/livekit.RoomService/<method>`.
pub(crate) fn room_service_url(livekit_url: &str, method: &str) -> String {
    let base = livekit_url.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("wss", rest)) => format!("https://{rest}"),
        Some(("ws", rest)) => format!("http://{rest}"),
        _ => base.to_owned(),
    };
    format!("{base}/twirp/livekit.RoomService/{method}")
}

/// A RoomService admin token's claims: the API key, a minute's life, and
/// `roomAdmin` for the one room.
#[derive(Serialize)]
struct AdminClaims<'a> {
    iss: &'a str,
    nbf: i64,
    exp: i64,
    video: AdminGrant<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdminGrant<'a> {
    room: &'a str,
    room_admin: bool,
}

fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
    credentials.livekit().map(drop)
}

/// The access token's claims, as LiveKit's servers read them: `iss` the
/// API key, `sub` the identity, `nbf`/`exp`, the participant's fields, and
/// the `video` grant in camelCase with every right spelled out (LiveKit's
/// Python SDK reads an absent right as granted).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    nbf: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<&'a BTreeMap<String, String>>,
    video: VideoGrant<'a>,
    #[serde(rename = "roomConfig", skip_serializing_if = "Option::is_none")]
    room_config: Option<&'a RoomConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VideoGrant<'a> {
    room: &'a str,
    room_join: bool,
    can_publish: bool,
    can_subscribe: bool,
    can_publish_data: bool,
}

fn claims<'a>(grant: &'a Grant, api_key: &'a str, now: i64, exp: i64) -> Claims<'a> {
    Claims {
        iss: api_key,
        sub: &grant.identity,
        nbf: now,
        exp,
        name: grant.name.as_deref(),
        metadata: grant.metadata.as_deref(),
        attributes: grant.attributes.as_ref(),
        video: VideoGrant {
            room: &grant.room,
            room_join: true,
            can_publish: grant.grants.publish,
            can_subscribe: grant.grants.subscribe,
            can_publish_data: grant.grants.data,
        },
        room_config: grant.room_config.as_ref(),
    }
}

#[cfg(test)]
mod tests;
