//! Twilio Video, through a body shaped as twilio-labs plugin-rtc's token
//! function (`room_name`, `user_identity`), so its users switch by changing
//! the URL: what a caller may ask for, the operator's policy, and the
//! access token itself, signed here (HS256 with the API key secret) as
//! Twilio's own helper libraries sign it. No upstream call.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::IdentityRule;
pub(crate) use crate::identity::IdentitySource;
use crate::json::object_or_empty;
use crate::jwt;
use crate::names::room_name;
pub(crate) use crate::names::{AllowedRooms, RoomPattern};
use crate::providers::{Minted, UpstreamError, signing_credentials};
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};

/// The longest token lifetime Twilio takes: a day.
pub(crate) const MAX_TTL: u32 = 86_400;
/// The longest identity issued, in UTF-8 bytes (Twilio's bound is 121
/// characters; as bytes it is never longer than Twilio takes).
pub(crate) const MAX_IDENTITY: usize = 121;

/// `{"typ":"JWT","alg":"HS256","cty":"twilio-fpa;v=1"}` in base64url: the
/// JOSE header of Twilio's access tokens, as its helper libraries write it.
const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0";

/// The Twilio provider: the account and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioConfig {
    /// `TWILIO_ACCOUNT_SID`: `AC` and 32 hex digits; not secret (it is in
    /// every token), it enables the route.
    pub account_sid: String,
    pub policy: TwilioPolicy,
}

/// What the operator allows a caller of `/twilio/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioPolicy {
    /// `TWILIO_ROOMS`.
    pub rooms: AllowedRooms,
    /// `TWILIO_TTL_S`: seconds from now to `exp`.
    pub ttl: u32,
    /// `TWILIO_IDENTITY`: without an authorizer, a random identity
    /// (`Caller`) or the one asked for, issued as `req:<asked>` (`Request`).
    pub identity: IdentitySource,
}

/// What a caller asked for, as sent: plugin-rtc's body. Its
/// `create_room` and `create_conversation` flags are taken and ignored (no
/// Twilio REST call is made: a room is made when its first participant
/// connects, Twilio's default); its `passcode` is not taken (400): the
/// vendor's guard is the JWT authorizer. `Debug` names no room or identity.
#[derive(Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TwilioRequest {
    pub room_name: Option<String>,
    pub user_identity: Option<String>,
    pub create_room: Option<bool>,
    pub create_conversation: Option<bool>,
}

impl fmt::Debug for TwilioRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "[set]" } else { "-" };
        f.debug_struct("TwilioRequest")
            .field("room_name", &set(self.room_name.is_some()))
            .field("user_identity", &set(self.user_identity.is_some()))
            .finish()
    }
}

impl TwilioRequest {
    /// A POST body: empty (JSON whitespace), or a JSON object with only
    /// plugin-rtc's fields, each at most once.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        object_or_empty(body, || {
            ApiError::BadRequest(
                "The body must be a JSON object with only room_name and user_identity (strings), create_room and create_conversation (booleans, ignored), each at most once.",
            )
        })
    }
}

/// A validated, policy-approved token: what will be signed. `Debug` names
/// no room or identity.
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioGrant {
    pub room: String,
    pub identity: String,
    pub ttl: u32,
}

impl fmt::Debug for TwilioGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioGrant")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TwilioPolicy {
    /// The identity rule of `/twilio/token` (the shared one, with
    /// Twilio's field and bound).
    fn identity_rule(&self) -> IdentityRule {
        IdentityRule {
            source: self.identity,
            max_bytes: MAX_IDENTITY,
            invalid: "user_identity must be 1-121 bytes as issued (1-117 when chosen: req: is added), none of them a control character.",
        }
    }

    /// Validates (400) and then authorizes (403) what a caller asked for.
    /// `sub` is the JWT authorizer's, when API Gateway verified one.
    pub fn decide(&self, asked: &TwilioRequest, sub: Option<&str>) -> Result<TwilioGrant, ApiError> {
        let room = room_name(asked.room_name.as_deref()).map_err(ApiError::BadRequest)?;
        let identity_rule = self.identity_rule();
        identity_rule.check(sub, asked.user_identity.as_deref())?;
        if !self.rooms.allows(room) {
            return Err(ApiError::RoomNotAllowed);
        }
        let identity = identity_rule.resolve(sub, asked.user_identity.as_deref())?;
        Ok(TwilioGrant {
            room: room.to_owned(),
            identity,
            ttl: self.ttl,
        })
    }
}

/// The Twilio signer: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct TwilioSigner {
    config: TwilioConfig,
    credentials: Arc<CredentialStore>,
}

impl TwilioSigner {
    pub fn new(config: TwilioConfig, credentials: Arc<CredentialStore>) -> Self {
        Self { config, credentials }
    }

    pub fn policy(&self) -> &TwilioPolicy {
        &self.config.policy
    }

    /// Signs `grant` with the API key held (read again, spaced, when it is
    /// missing), by `deadline`: issued now.
    pub async fn mint(&self, grant: &TwilioGrant, deadline: Deadline) -> Result<Minted, UpstreamError> {
        let credentials = signing_credentials(&self.credentials, "Twilio", usable, deadline).await?;
        let (sid, secret) = credentials.twilio().map_err(SecretError::from)?;
        let now = Timestamp::now().as_second();
        let expires = Timestamp::from_second(now + i64::from(grant.ttl))
            .map_err(|_| UpstreamError::Unsigned("the clock is out of range"))?;
        let token = sign(
            &self.config.account_sid,
            sid.expose_secret(),
            secret.expose_secret().as_bytes(),
            grant,
            now,
        )
        .map_err(|_| UpstreamError::Unsigned("the claims could not be serialized"))?;
        Ok(Minted::with_expiry(token, Some(expires)))
    }
}

fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
    credentials.twilio().map(drop)
}

/// The access token's claims, as Twilio's helper libraries write them:
/// `jti` the key SID and the issue time, `iss` the key SID, `sub` the
/// account, `iat`/`nbf` now, `exp`, and the identity and the video grant.
#[derive(Serialize)]
struct Claims<'a> {
    jti: String,
    grants: Grants<'a>,
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

#[derive(Serialize)]
struct Grants<'a> {
    identity: &'a str,
    video: VideoGrant<'a>,
}

#[derive(Serialize)]
struct VideoGrant<'a> {
    room: &'a str,
}

/// The access token of `grant` for `account_sid`, signed with the API key
/// `key_sid`/`secret`, issued at `now` (seconds).
pub(crate) fn sign(
    account_sid: &str,
    key_sid: &str,
    secret: &[u8],
    grant: &TwilioGrant,
    now: i64,
) -> Result<String, jwt::SignError> {
    let claims = Claims {
        jti: format!("{key_sid}-{now}"),
        grants: Grants {
            identity: &grant.identity,
            video: VideoGrant { room: &grant.room },
        },
        iss: key_sid,
        sub: account_sid,
        iat: now,
        nbf: now,
        exp: now + i64::from(grant.ttl),
    };
    jwt::sign_hs256_with(HEADER, &claims, secret)
}

#[cfg(test)]
mod tests;
