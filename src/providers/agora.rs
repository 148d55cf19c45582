//! Agora, through a body shaped as agora-token-service's `POST /getToken`
//! (so its users switch by changing the URL): what a caller may ask for,
//! the operator's policy, and the AccessToken2 itself, signed here with
//! the app certificate ([`access_token`]). No upstream call.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::deadline::Deadline;
use crate::error::ApiError;
pub(crate) use crate::identity::IdentitySource;
use crate::json::object_or_empty;
pub(crate) use crate::names::{AllowedRooms, RoomPattern};
use crate::names::{is_agora_account, is_channel_name};
use crate::providers::{Minted, UpstreamError, signing_credentials};
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};

mod access_token;

/// The longest token lifetime Agora takes: a day.
pub(crate) const MAX_TTL: u32 = 86_400;

/// RTC privileges (`ServiceRtc`): join, publish audio, video, data.
const JOIN_CHANNEL: u16 = 1;
const PUBLISH_AUDIO: u16 = 2;
const PUBLISH_VIDEO: u16 = 3;
const PUBLISH_DATA: u16 = 4;
/// RTM's one privilege (`ServiceRtm`): login.
const RTM_LOGIN: u16 = 1;

/// The Agora provider: the app id handed back and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgoraConfig {
    /// `AGORA_APP_ID`: 32 hex digits; clients hold it, so it is not secret.
    pub app_id: String,
    pub policy: AgoraPolicy,
}

/// Which roles may be asked for (`AGORA_ROLES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub publisher: bool,
    pub subscriber: bool,
}

/// What the operator allows a caller of `/agora/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgoraPolicy {
    /// `AGORA_CHANNELS`.
    pub channels: AllowedRooms,
    pub roles: Roles,
    /// `AGORA_TTL_S`: the lifetime of a token when `expire` is not asked.
    pub ttl: u32,
    /// `AGORA_MAX_TTL_S`: the longest `expire` a caller may ask for.
    pub max_ttl: u32,
    /// `AGORA_IDENTITY`: without an authorizer, a random uid (`Caller`), or
    /// the uid asked for, as given (`Request`).
    pub identity: IdentitySource,
}

/// `tokenType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    #[default]
    Rtc,
    Rtm,
}

/// `role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Publisher,
    #[default]
    Subscriber,
}

/// A `uid` as sent: a JSON number (Agora's integer uid) or a string (a
/// uid in digits, or a user account).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AskedUid {
    Number(u64),
    Text(String),
}

impl fmt::Debug for AskedUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Number(_) => "AskedUid::Number",
            Self::Text(_) => "AskedUid::Text",
        })
    }
}

impl AskedUid {
    /// The uid as the token carries it: its decimal digits, or the account.
    fn as_account(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(text) => text.clone(),
        }
    }
}

/// What a caller asked for, as sent: agora-token-service's body.
/// `Debug` names no channel or uid.
#[derive(Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgoraRequest {
    pub token_type: Option<TokenType>,
    pub channel: Option<String>,
    pub role: Option<Role>,
    pub uid: Option<AskedUid>,
    pub expire: Option<u64>,
}

impl fmt::Debug for AgoraRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "[set]" } else { "-" };
        f.debug_struct("AgoraRequest")
            .field("token_type", &self.token_type)
            .field("channel", &set(self.channel.is_some()))
            .field("role", &self.role)
            .field("uid", &set(self.uid.is_some()))
            .field("expire", &self.expire)
            .finish()
    }
}

impl AgoraRequest {
    /// A POST body: empty (JSON whitespace), or a JSON object with only
    /// agora-token-service's fields, each at most once.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        object_or_empty(body, || {
            ApiError::BadRequest(
                "The body must be a JSON object with only tokenType (\"rtc\" or \"rtm\"), channel (string), role (\"publisher\" or \"subscriber\"), uid (string or whole number) and expire (whole seconds), each at most once.",
            )
        })
    }
}

/// What the token is for: RTC in a channel with a role, or RTM.
#[derive(Clone, PartialEq, Eq)]
pub enum Service {
    Rtc { channel: String, role: Role },
    Rtm,
}

/// A validated, policy-approved token: what will be signed. `Debug` names
/// no channel or uid.
#[derive(Clone, PartialEq, Eq)]
pub struct AgoraGrant {
    pub service: Service,
    /// The uid or user account, as the token carries it.
    pub uid: String,
    /// Seconds from the issue time to the expiry (the token's and each
    /// privilege's).
    pub ttl: u32,
}

impl fmt::Debug for AgoraGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgoraGrant")
            .field("service", &self.service)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtc { role, .. } => f.debug_struct("Rtc").field("role", role).finish_non_exhaustive(),
            Self::Rtm => f.write_str("Rtm"),
        }
    }
}

impl AgoraGrant {
    /// The channel of an RTC token.
    pub fn channel(&self) -> Option<&str> {
        match &self.service {
            Service::Rtc { channel, .. } => Some(channel),
            Service::Rtm => None,
        }
    }
}

impl AgoraPolicy {
    /// Validates (400) and then authorizes (403) what a caller asked for.
    /// `sub` is the JWT authorizer's, when API Gateway verified one.
    pub fn decide(&self, asked: &AgoraRequest, sub: Option<&str>) -> Result<AgoraGrant, ApiError> {
        let token_type = asked.token_type.unwrap_or_default();
        let channel = match (token_type, asked.channel.as_deref()) {
            (TokenType::Rtc, None) => {
                return Err(ApiError::BadRequest("channel is required for an rtc token."));
            }
            (_, Some(channel)) if !is_channel_name(channel) => {
                return Err(ApiError::BadRequest(
                    "channel must be 1-64 bytes of A-Z a-z 0-9, space and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,",
                ));
            }
            (TokenType::Rtc, Some(channel)) => Some(channel),
            // An RTM token names no channel: one sent is checked, not used.
            (TokenType::Rtm, _) => None,
        };
        let ttl = match asked.expire {
            None => self.ttl,
            Some(expire) if (1..=u64::from(self.max_ttl)).contains(&expire) => expire as u32,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "expire must be 1 to AGORA_MAX_TTL_S seconds.",
                ));
            }
        };
        let asked_uid = asked.uid.as_ref().map(AskedUid::as_account);
        for uid in [asked_uid.as_deref(), sub].into_iter().flatten() {
            check_account(uid)?;
        }
        if let Some(AskedUid::Number(n)) = asked.uid
            && n > u64::from(u32::MAX)
        {
            return Err(ApiError::BadRequest(INVALID_UID));
        }

        let role = asked.role.unwrap_or_default();
        if let Some(channel) = channel {
            if !self.channels.allows(channel) {
                return Err(ApiError::ChannelNotAllowed);
            }
            let allowed = match role {
                Role::Publisher => self.roles.publisher,
                Role::Subscriber => self.roles.subscriber,
            };
            if !allowed {
                return Err(ApiError::RoleNotAllowed);
            }
        }
        let uid = match (sub, asked_uid, self.identity) {
            (Some(sub), None, _) => sub.to_owned(),
            (Some(sub), Some(asked), _) if asked == sub => asked,
            (Some(_), Some(_), _) | (None, Some(_), IdentitySource::Caller) => {
                return Err(ApiError::IdentityNotAllowed);
            }
            (None, Some(asked), IdentitySource::Request) => asked,
            (None, None, _) => random_uid()?,
        };
        Ok(AgoraGrant {
            service: match channel {
                Some(channel) => Service::Rtc {
                    channel: channel.to_owned(),
                    role,
                },
                None => Service::Rtm,
            },
            uid,
            ttl,
        })
    }
}

const INVALID_UID: &str = "uid must be 1 to 4294967295, or 1-255 bytes of A-Z a-z 0-9, space and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ , (Agora's user account alphabet).";

/// A uid or account, asked for or the authorizer's `sub`: 1-255 bytes of
/// Agora's account alphabet (400: Agora's SDKs refuse any other), and never Agora's "any uid may join", `0`
/// (403, in every mode).
fn check_account(uid: &str) -> Result<(), ApiError> {
    if !is_agora_account(uid) {
        return Err(ApiError::BadRequest(INVALID_UID));
    }
    if uid == "0" {
        return Err(ApiError::IdentityNotAllowed);
    }
    Ok(())
}

/// A fresh uid for a caller nobody vouches for: 1 to 2^32 - 1, in digits.
fn random_uid() -> Result<String, ApiError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
        let uid = u32::from_le_bytes(bytes);
        if uid != 0 {
            return Ok(uid.to_string());
        }
    }
}

/// The Agora signer: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct AgoraSigner {
    config: AgoraConfig,
    credentials: Arc<CredentialStore>,
}

impl AgoraSigner {
    pub fn new(config: AgoraConfig, credentials: Arc<CredentialStore>) -> Self {
        Self { config, credentials }
    }

    pub fn policy(&self) -> &AgoraPolicy {
        &self.config.policy
    }

    /// The app id handed back with every token.
    pub fn app_id(&self) -> &str {
        &self.config.app_id
    }

    /// Signs `grant` with the app certificate held (read again, spaced,
    /// when it is missing), by `deadline`: issued now, with a fresh salt.
    pub async fn mint(&self, grant: &AgoraGrant, deadline: Deadline) -> Result<Minted, UpstreamError> {
        let credentials = signing_credentials(&self.credentials, "Agora", usable, deadline).await?;
        let certificate = credentials.agora().map_err(SecretError::from)?;
        let issued = u32::try_from(Timestamp::now().as_second())
            .map_err(|_| UpstreamError::Unsigned("the clock is out of range"))?;
        let token = sign(
            &self.config.app_id,
            certificate.expose_secret().as_bytes(),
            grant,
            issued,
            salt().map_err(|_| UpstreamError::Unsigned("no random bytes for the salt"))?,
        );
        let expires = Timestamp::from_second(i64::from(issued) + i64::from(grant.ttl)).ok();
        Ok(Minted::with_expiry(token, expires))
    }
}

fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
    credentials.agora().map(drop)
}

/// A fresh salt, in the range Agora's builders draw it from (1 to
/// 99,999,999).
fn salt() -> Result<u32, getrandom::Error> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)?;
    // The bias of a modulo of 2^32 by 10^8 is under 3 %: a salt is not a key.
    Ok(u32::from_le_bytes(bytes) % 99_999_999 + 1)
}

/// The AccessToken2 of `grant`: RTC with join (subscriber) or join and
/// publish audio, video and data (publisher), or RTM's login; each
/// privilege with the token's own expiry.
pub fn sign(app_id: &str, certificate: &[u8], grant: &AgoraGrant, issued: u32, salt: u32) -> String {
    let ttl = grant.ttl;
    let publisher = [
        (JOIN_CHANNEL, ttl),
        (PUBLISH_AUDIO, ttl),
        (PUBLISH_VIDEO, ttl),
        (PUBLISH_DATA, ttl),
    ];
    let envelope = access_token::Envelope {
        app_id,
        certificate,
        issued,
        expire: ttl,
        salt,
    };
    let service = match &grant.service {
        Service::Rtc { channel, role } => access_token::Service::Rtc {
            channel,
            uid: &grant.uid,
            privileges: match role {
                Role::Publisher => &publisher,
                Role::Subscriber => &publisher[..1],
            },
        },
        Service::Rtm => access_token::Service::Rtm {
            user_id: &grant.uid,
            privileges: &[(RTM_LOGIN, ttl)],
        },
    };
    access_token::build(&envelope, &service)
}

#[cfg(test)]
mod tests;
