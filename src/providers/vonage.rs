//! Vonage Video: what a caller may ask for (a session id, a role, its own
//! connection data), the operator's policy, and the client token itself,
//! signed here (RS256 with the application's private key) with the claims
//! Vonage's own `generateClientToken` writes. No upstream call.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::{IdentityRule, IdentitySource};
use crate::json::object_or_empty;
use crate::jwt;
use crate::names::is_plain_text;
use crate::providers::{Minted, UpstreamError, signing_credentials};
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};

/// The longest token lifetime taken here: a day.
pub(crate) const MAX_TTL: u32 = 86_400;
/// The longest session id, in bytes (Vonage's are under 100).
pub(crate) const MAX_SESSION_ID: usize = 256;
/// The longest identity put in `connection_data`, in UTF-8 bytes.
pub(crate) const MAX_IDENTITY: usize = 256;
/// The largest `connection_data`, in bytes: Vonage's bound.
pub(crate) const MAX_CONNECTION_DATA: usize = 1000;

/// The Vonage provider: the application and the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VonageConfig {
    /// `VONAGE_APPLICATION_ID`: a UUID; not secret (it is in every token),
    /// it enables the route.
    pub application_id: String,
    pub policy: VonagePolicy,
}

/// Which roles may be asked for (`VONAGE_ROLES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub subscriber: bool,
    pub publisher: bool,
    pub publisher_only: bool,
    pub moderator: bool,
}

/// What the operator allows a caller of `/vonage/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VonagePolicy {
    pub roles: Roles,
    /// `VONAGE_TTL_S`: seconds from now to `exp`.
    pub ttl: u32,
    /// `VONAGE_DATA`: whether a caller's `data` goes into the token's
    /// `connection_data` (beside the identity), or is refused.
    pub data: bool,
}

/// A Vonage role, as the token carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Subscriber,
    Publisher,
    PublisherOnly,
    Moderator,
}

/// What a caller asked for, as sent. `Debug` names no session or data.
#[derive(Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VonageRequest {
    pub session_id: Option<String>,
    pub role: Option<Role>,
    pub data: Option<String>,
}

impl fmt::Debug for VonageRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "[set]" } else { "-" };
        f.debug_struct("VonageRequest")
            .field("session_id", &set(self.session_id.is_some()))
            .field("role", &self.role)
            .field("data", &set(self.data.is_some()))
            .finish()
    }
}

impl VonageRequest {
    /// A POST body: empty (JSON whitespace), or a JSON object with only
    /// `session_id`, `role` and `data`, each at most once.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        object_or_empty(body, || {
            ApiError::BadRequest(
                "The body must be a JSON object with only session_id (string), role (\"subscriber\", \"publisher\", \"publisheronly\" or \"moderator\") and data (string), each at most once.",
            )
        })
    }
}

/// A validated, policy-approved token: what will be signed. `Debug` names
/// no session, identity or data.
#[derive(Clone, PartialEq, Eq)]
pub struct VonageGrant {
    pub session_id: String,
    pub role: Role,
    /// The identity the token is for (inside `connection_data` too).
    pub identity: String,
    /// `connection_data`: `{"identity":…}`, and the caller's `data` when
    /// the policy lets it in, as JSON text.
    pub connection_data: String,
    pub ttl: u32,
}

impl fmt::Debug for VonageGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VonageGrant")
            .field("role", &self.role)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A Vonage session id: 1-256 bytes of `A-Z a-z 0-9 - _ ~ .` (the
/// alphabet of the ids Vonage's servers issue).
pub fn is_session_id(id: &str) -> bool {
    (1..=MAX_SESSION_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~.".contains(&b))
}

#[derive(Serialize)]
struct ConnectionData<'a> {
    identity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a str>,
}

impl VonagePolicy {
    /// Validates (400) and then authorizes (403) what a caller asked for.
    /// `sub` is the JWT authorizer's, when API Gateway verified one.
    pub fn decide(&self, asked: &VonageRequest, sub: Option<&str>) -> Result<VonageGrant, ApiError> {
        let session_id = asked
            .session_id
            .as_deref()
            .ok_or(ApiError::BadRequest("session_id is required."))?;
        if !is_session_id(session_id) {
            return Err(ApiError::BadRequest(
                "session_id must be 1-256 bytes of A-Z a-z 0-9 - _ ~ .",
            ));
        }
        if let Some(data) = &asked.data
            && !is_plain_text(data, MAX_CONNECTION_DATA)
        {
            return Err(ApiError::BadRequest(
                "data must be at most 1000 bytes with no control character.",
            ));
        }
        // Nobody chooses an identity here: the sub, or a random one.
        let rule = IdentityRule {
            source: IdentitySource::Caller,
            max_bytes: MAX_IDENTITY,
            invalid: "",
        };
        rule.check(sub, None)?;
        let role = match asked.role {
            Some(role) => role,
            None if self.roles.publisher => Role::Publisher,
            None => Role::Subscriber,
        };
        let allowed = match role {
            Role::Subscriber => self.roles.subscriber,
            Role::Publisher => self.roles.publisher,
            Role::PublisherOnly => self.roles.publisher_only,
            Role::Moderator => self.roles.moderator,
        };
        if !allowed {
            return Err(ApiError::RoleNotAllowed);
        }
        if asked.data.is_some() && !self.data {
            return Err(ApiError::DataNotAllowed);
        }
        let identity = rule.resolve(sub, None)?;
        let connection_data = serde_json::to_string(&ConnectionData {
            identity: &identity,
            data: asked.data.as_deref(),
        })
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
        if connection_data.len() > MAX_CONNECTION_DATA {
            return Err(ApiError::BadRequest(
                "data and the identity together make connection_data longer than Vonage's 1000 bytes.",
            ));
        }
        Ok(VonageGrant {
            session_id: session_id.to_owned(),
            role,
            identity,
            connection_data,
            ttl: self.ttl,
        })
    }
}

/// The Vonage signer: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct VonageSigner {
    config: VonageConfig,
    credentials: Arc<CredentialStore>,
}

impl VonageSigner {
    pub fn new(config: VonageConfig, credentials: Arc<CredentialStore>) -> Self {
        Self { config, credentials }
    }

    pub fn policy(&self) -> &VonagePolicy {
        &self.config.policy
    }

    /// The application id handed back with every token.
    pub fn application_id(&self) -> &str {
        &self.config.application_id
    }

    /// Signs `grant` with the private key held (read again, spaced, when
    /// it is missing or not an RSA key), by `deadline`: issued now, with a
    /// fresh `jti`.
    pub async fn mint(&self, grant: &VonageGrant, deadline: Deadline) -> Result<Minted, UpstreamError> {
        let credentials = signing_credentials(&self.credentials, "Vonage", usable, deadline).await?;
        let key = credentials.vonage().map_err(SecretError::from)?;
        let now = Timestamp::now().as_second();
        let expires = Timestamp::from_second(now + i64::from(grant.ttl))
            .map_err(|_| UpstreamError::Unsigned("the clock is out of range"))?;
        let jti = uuid_v4().map_err(|_| UpstreamError::Unsigned("no random bytes for the jti"))?;
        let token = sign(&self.config.application_id, key, grant, now, &jti)
            .map_err(|_| UpstreamError::Unsigned("the RSA signature failed"))?;
        Ok(Minted::with_expiry(token, Some(expires)))
    }
}

fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
    credentials.vonage().map(drop)
}

/// A random (version 4) UUID, as `generateClientToken`'s `jti`: 16 bytes
/// and a `format!` do what the `uuid` crate would, for one call site.
fn uuid_v4() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex(&b[..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..])
    ))
}

/// The client token's claims, as `@vonage/video`'s `generateClientToken`
/// and `@vonage/jwt`'s `tokenGenerate` write them.
#[derive(Serialize)]
struct Claims<'a> {
    scope: &'static str,
    session_id: &'a str,
    role: Role,
    initial_layout_class_list: &'static str,
    exp: i64,
    sub: &'static str,
    acl: Acl,
    connection_data: &'a str,
    jti: &'a str,
    iat: i64,
    application_id: &'a str,
}

/// `{"paths":{"/session/**":{}}}`.
#[derive(Serialize)]
struct Acl {
    paths: Paths,
}

#[derive(Serialize)]
struct Paths {
    #[serde(rename = "/session/**")]
    session: Empty,
}

#[derive(Serialize)]
struct Empty {}

/// The client token of `grant` for `application_id`, signed with `key`,
/// issued at `now` (seconds) with `jti`.
pub(crate) fn sign(
    application_id: &str,
    key: &ring::rsa::KeyPair,
    grant: &VonageGrant,
    now: i64,
    jti: &str,
) -> Result<String, jwt::SignError> {
    let claims = Claims {
        scope: "session.connect",
        session_id: &grant.session_id,
        role: grant.role,
        initial_layout_class_list: "",
        exp: now + i64::from(grant.ttl),
        sub: "video",
        acl: Acl {
            paths: Paths { session: Empty {} },
        },
        connection_data: &grant.connection_data,
        jti,
        iat: now,
        application_id,
    };
    jwt::sign_rs256(&claims, key)
}

/// A UUID as Vonage writes application ids: 8-4-4-4-12 hex digits.
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests;
