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

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::json::is_json_whitespace;
use crate::jwt;
use crate::providers::{Minted, UpstreamError};
use crate::rooms::is_room_name;
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};

/// The LiveKit provider: the URL handed back and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKitConfig {
    /// `LIVEKIT_URL` as the operator wrote it (`wss://`, or `ws://` for a
    /// loopback host): the `server_url` of every answer.
    pub url: String,
    pub policy: LiveKitPolicy,
}

/// Which rooms may be asked for (`LIVEKIT_ROOMS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedRooms {
    Any,
    /// Room names, or prefixes ending in `*` (`party-*`).
    List(Vec<RoomPattern>),
}

/// One entry of `LIVEKIT_ROOMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomPattern {
    Exact(String),
    Prefix(String),
}

impl RoomPattern {
    /// `name`, or `prefix*`; the name (or prefix) in the room alphabet.
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_suffix('*') {
            Some(prefix) => {
                (prefix.is_empty() || is_room_name(prefix)).then(|| Self::Prefix(prefix.to_owned()))
            }
            None => is_room_name(text).then(|| Self::Exact(text.to_owned())),
        }
    }

    fn matches(&self, room: &str) -> bool {
        match self {
            Self::Exact(name) => name == room,
            Self::Prefix(prefix) => room.starts_with(prefix.as_str()),
        }
    }
}

/// What a participant may do in the room (`LIVEKIT_GRANTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    pub publish: bool,
    pub subscribe: bool,
    pub data: bool,
}

/// Whose the identity is (`LIVEKIT_IDENTITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// The JWT authorizer's `sub`, else a random identity per token.
    Caller,
    /// Without an authorizer, the caller's `participant_identity`: trusts
    /// the caller to say who it is.
    Request,
}

/// What the operator allows a caller of `/livekit/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKitPolicy {
    pub rooms: AllowedRooms,
    pub grants: Grants,
    /// Seconds from now to `exp`: the first connect must come before it
    /// (LiveKit's server refreshes a connected participant's token).
    pub ttl: u64,
    pub room_config: bool,
    pub identity: IdentitySource,
    /// Characters of `participant_name` and of `participant_metadata`, and
    /// of all attribute keys and values together.
    pub max_name: usize,
    pub max_metadata: usize,
    pub max_attributes: usize,
}

/// The longest identity a caller may ask for, in characters: LiveKit keys
/// participants by it.
pub(crate) const MAX_IDENTITY: usize = 256;
/// The largest `room_config`, as JSON.
pub(crate) const MAX_ROOM_CONFIG: usize = 4096;

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
    pub room_config: Option<serde_json::Map<String, serde_json::Value>>,
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
        if is_json_whitespace(body) {
            return Ok(Self::default());
        }
        let refused = || {
            ApiError::BadRequest(
                "The body must be a JSON object with only room_name, participant_identity, participant_name, participant_metadata (strings), participant_attributes (string map) and room_config (object), each at most once.",
            )
        };
        // An object only: serde would also read these fields from an array.
        let first = body.iter().find(|b| !is_json_whitespace(&[**b]));
        if first != Some(&b'{') {
            return Err(refused());
        }
        serde_json::from_slice(body).map_err(|_| refused())
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
    pub room_config: Option<serde_json::Map<String, serde_json::Value>>,
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

/// A text a participant field may hold: no control characters.
fn plain_text(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

impl LiveKitPolicy {
    /// Validates (400) and then authorizes (403) what a caller asked for.
    /// `sub` is the JWT authorizer's, when API Gateway verified one.
    pub fn decide(&self, asked: &TokenRequest, sub: Option<&str>) -> Result<Grant, ApiError> {
        let room = asked
            .room_name
            .as_deref()
            .ok_or(ApiError::BadRequest("room_name is required."))?;
        if !is_room_name(room) {
            return Err(ApiError::BadRequest(
                "room_name must be 1-128 characters of A-Z a-z 0-9 . _ ~ -",
            ));
        }
        if let Some(identity) = &asked.participant_identity
            && (identity.is_empty() || identity.chars().count() > MAX_IDENTITY || !plain_text(identity))
        {
            return Err(ApiError::BadRequest(
                "participant_identity must be 1-256 characters, none of them a control character.",
            ));
        }
        let chars = |text: &str| text.chars().count();
        if asked
            .participant_name
            .as_ref()
            .is_some_and(|n| chars(n) > self.max_name || !plain_text(n))
        {
            return Err(ApiError::BadRequest(
                "participant_name is too long (LIVEKIT_MAX_NAME) or holds control characters.",
            ));
        }
        if asked
            .participant_metadata
            .as_ref()
            .is_some_and(|m| chars(m) > self.max_metadata)
        {
            return Err(ApiError::BadRequest(
                "participant_metadata is too long (LIVEKIT_MAX_METADATA).",
            ));
        }
        let attributes_size: usize = asked
            .participant_attributes
            .iter()
            .flatten()
            .map(|(key, value)| chars(key) + chars(value))
            .sum();
        if attributes_size > self.max_attributes {
            return Err(ApiError::BadRequest(
                "participant_attributes are too large (LIVEKIT_MAX_ATTRIBUTES).",
            ));
        }
        let config_size = asked.room_config.as_ref().map_or(0, |config| {
            serde_json::Value::Object(config.clone()).to_string().len()
        });
        if config_size > MAX_ROOM_CONFIG {
            return Err(ApiError::BadRequest("room_config is larger than 4096 bytes."));
        }

        let allowed = match &self.rooms {
            AllowedRooms::Any => true,
            AllowedRooms::List(patterns) => patterns.iter().any(|p| p.matches(room)),
        };
        if !allowed {
            return Err(ApiError::RoomNotAllowed);
        }
        if asked.room_config.is_some() && !self.room_config {
            return Err(ApiError::RoomConfigNotAllowed);
        }
        let identity = match (sub, asked.participant_identity.as_deref(), self.identity) {
            // Signed in: the caller is who the authorizer says.
            (Some(sub), None, _) => sub.to_owned(),
            (Some(sub), Some(asked), _) if asked == sub => sub.to_owned(),
            (Some(_), Some(_), _) => return Err(ApiError::IdentityNotAllowed),
            (None, Some(asked), IdentitySource::Request) => asked.to_owned(),
            (None, Some(_), IdentitySource::Caller) => return Err(ApiError::IdentityNotAllowed),
            (None, None, _) => random_identity()?,
        };
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

/// A fresh identity for a caller nobody vouches for: `guest-` and 96
/// random bits.
fn random_identity() -> Result<String, ApiError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(format!(
        "guest-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The LiveKit signer: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct LiveKitSigner {
    config: LiveKitConfig,
    credentials: Arc<CredentialStore>,
}

impl LiveKitSigner {
    pub fn new(config: LiveKitConfig, credentials: Arc<CredentialStore>) -> Self {
        Self { config, credentials }
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
        let credentials = deadline
            .within(self.credentials.current(usable))
            .await
            .map_err(|_| {
                tracing::warn!(
                    provider = "LiveKit",
                    "the secret's read did not end before the request's deadline"
                );
                UpstreamError::Timeout
            })??;
        let (key, secret) = credentials.livekit().map_err(SecretError::from)?;
        let now = Timestamp::now().as_second();
        let exp = now.saturating_add(i64::try_from(grant.ttl).unwrap_or(i64::MAX));
        let claims = claims(grant, key.expose_secret(), now, exp);
        let token = jwt::sign_hs256(&claims, secret.expose_secret().as_bytes())
            .map_err(|_| UpstreamError::Malformed)?;
        Ok(Minted::with_expiry(token, Timestamp::from_second(exp).ok()))
    }
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
    room_config: Option<&'a serde_json::Map<String, serde_json::Value>>,
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
