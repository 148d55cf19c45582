//! The AIPIX media server's JSON-RPC API: `Auth.CreateApiToken` for one
//! stream, behind `/streams/{stream}/token`. This module parses what a
//! caller asks for, checks it against the operator's policy, and makes the
//! call (`POST <AIPIX_URL>/api/` with `Authorization: Bearer <token>`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::json::is_json_whitespace;
use crate::names::is_stream_id;
use crate::providers::{
    Attempt, Minted, ProviderCall, UpstreamError, UpstreamTrace, endpoint, read_bounded, sensitive_header,
    with_rotation,
};
use crate::secrets::{AIPIX_API_TOKEN, CredentialStore, Credentials, SecretError, SecretFormatError};

/// The JSON-RPC endpoint, relative to `AIPIX_URL`.
pub(crate) const API_PATH: &str = "api/";
/// The JSON-RPC method.
pub(crate) const METHOD: &str = "Auth.CreateApiToken";

/// The AIPIX provider: its URL and the policy of what a caller may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AipixConfig {
    pub base_url: Url,
    pub policy: StreamPolicy,
}

/// Which streams may be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedStreams {
    Any,
    List(Vec<String>),
}

/// The viewing rights of an AIPIX token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rights {
    pub live: bool,
    pub dvr: bool,
    pub copy: bool,
}

/// What the operator allows a caller of `/streams/{stream}/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPolicy {
    pub streams: AllowedStreams,
    pub rights: Rights,
    pub max_ttl: u64,
    pub default_ttl: u64,
    pub allow_unlimited: bool,
}

/// What a caller asked for, as sent (before defaults and policy).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    pub ttl: Option<u64>,
    pub live: Option<bool>,
    pub dvr: Option<bool>,
    pub copy: Option<bool>,
    pub from: Option<u64>,
    pub to: Option<u64>,
}

impl Asked {
    /// The query string of a GET (`ttl=&live=&dvr=&copy=&from=&to=`, booleans
    /// `true`/`false`/`1`/`0`); unknown, duplicated or malformed is refused.
    pub fn from_query(query: &str) -> Result<Self, ApiError> {
        let mut asked = Self::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let duplicate = || ApiError::BadRequest("A query parameter is given twice.");
            match name.as_ref() {
                "ttl" => set(&mut asked.ttl, number(&value)?).map_err(|()| duplicate())?,
                "from" => set(&mut asked.from, number(&value)?).map_err(|()| duplicate())?,
                "to" => set(&mut asked.to, number(&value)?).map_err(|()| duplicate())?,
                "live" => set(&mut asked.live, boolean(&value)?).map_err(|()| duplicate())?,
                "dvr" => set(&mut asked.dvr, boolean(&value)?).map_err(|()| duplicate())?,
                "copy" => set(&mut asked.copy, boolean(&value)?).map_err(|()| duplicate())?,
                _ => {
                    return Err(ApiError::BadRequest(
                        "Unknown query parameter (expected ttl, live, dvr, copy, from, to).",
                    ));
                }
            }
        }
        Ok(asked)
    }

    /// A POST body: empty, or a JSON object with the same fields (JSON types).
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        if is_json_whitespace(body) {
            return Ok(Self::default());
        }
        let refused = || {
            ApiError::BadRequest(
                "The body must be a JSON object with only ttl, from, to (whole seconds) and live, dvr, copy (booleans), each at most once.",
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

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

fn number(value: &str) -> Result<u64, ApiError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(
            "ttl, from and to must be whole numbers of seconds.",
        ));
    }
    value
        .parse()
        .map_err(|_| ApiError::BadRequest("ttl, from and to must be whole numbers of seconds."))
}

fn boolean(value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::BadRequest(
            "live, dvr and copy must be true, false, 1 or 0.",
        )),
    }
}

/// A validated, policy-approved token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    pub stream: String,
    /// Seconds; 0 = unlimited (only when the policy allows it).
    pub ttl: u64,
    pub rights: Rights,
    pub from: Option<u64>,
    pub to: Option<u64>,
}

impl StreamPolicy {
    /// Validates (400) and then authorizes (403) what a caller asked for.
    pub fn decide(&self, stream: &str, asked: &Asked) -> Result<StreamRequest, ApiError> {
        if !is_stream_id(stream) {
            return Err(ApiError::BadRequest(
                "The stream id must be 1-128 characters of A-Z a-z 0-9 . _ -",
            ));
        }
        let ttl = asked.ttl.unwrap_or(self.default_ttl);
        if ttl == 0 && !self.allow_unlimited {
            return Err(ApiError::BadRequest("ttl=0 (unlimited) is not allowed here."));
        }
        if ttl > self.max_ttl {
            return Err(ApiError::BadRequest(
                "ttl is above the maximum this service allows.",
            ));
        }
        let mut rights = Rights {
            live: asked.live.unwrap_or(false),
            dvr: asked.dvr.unwrap_or(false),
            copy: asked.copy.unwrap_or(false),
        };
        if !(rights.live || rights.dvr || rights.copy) {
            rights.live = true;
        }
        if (asked.from.is_some() || asked.to.is_some()) && !(rights.dvr || rights.copy) {
            return Err(ApiError::BadRequest("from and to apply only with dvr or copy."));
        }
        if let (Some(from), Some(to)) = (asked.from, asked.to)
            && to != 0
            && to < from
        {
            return Err(ApiError::BadRequest(
                "to must not be before from (0 means unbounded).",
            ));
        }

        let stream_allowed = match &self.streams {
            AllowedStreams::Any => true,
            AllowedStreams::List(list) => list.iter().any(|s| s == stream),
        };
        if !stream_allowed {
            return Err(ApiError::StreamNotAllowed);
        }
        if (rights.live && !self.rights.live)
            || (rights.dvr && !self.rights.dvr)
            || (rights.copy && !self.rights.copy)
        {
            return Err(ApiError::RightNotAllowed);
        }
        Ok(StreamRequest {
            stream: stream.to_owned(),
            ttl,
            rights,
            from: asked.from,
            to: asked.to,
        })
    }
}

/// The AIPIX client: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct AipixClient {
    http: reqwest::Client,
    api_url: Url,
    policy: StreamPolicy,
    credentials: Arc<CredentialStore>,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct RpcResponse {
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<RpcError>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RpcError {
    #[serde(default)]
    code: Option<i64>,
}

impl AipixClient {
    pub fn new(http: reqwest::Client, config: AipixConfig, credentials: Arc<CredentialStore>) -> Self {
        Self {
            http,
            api_url: endpoint(&config.base_url, API_PATH),
            policy: config.policy,
            credentials,
            // Ids start at a random point so a stale or replayed answer does
            // not match by accident.
            next_id: AtomicU64::new(u64::from(random_u32())),
        }
    }

    pub fn policy(&self) -> &StreamPolicy {
        &self.policy
    }

    /// One stream token. On HTTP 401/403 the secret is re-read at once and
    /// the call retried once (rotation); a second refusal is `AuthRejected`.
    pub async fn mint(
        &self,
        request: &StreamRequest,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Minted, UpstreamError> {
        let call = AipixCall {
            client: self,
            request,
        };
        with_rotation(&call, &self.credentials, trace, deadline).await
    }
}

/// One `Auth.CreateApiToken` call for one request.
struct AipixCall<'a> {
    client: &'a AipixClient,
    request: &'a StreamRequest,
}

impl ProviderCall for AipixCall<'_> {
    const PROVIDER: &'static str = "AIPIX";

    fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
        credentials.aipix().map(drop)
    }

    async fn call(
        &self,
        credentials: &Credentials,
        status: &mut Option<u16>,
    ) -> Result<Attempt, UpstreamError> {
        let (client, request) = (self.client, self.request);
        let token = credentials.aipix().map_err(SecretError::from)?;
        let id = client.next_id.fetch_add(1, Ordering::Relaxed);
        let mut params = json!({
            "stream": request.stream,
            "ttl": request.ttl,
            "live": request.rights.live,
            "dvr": request.rights.dvr,
            "copy": request.rights.copy,
        });
        if let Some(from) = request.from {
            params["from"] = json!(from);
        }
        if let Some(to) = request.to {
            params["to"] = json!(to);
        }
        let body = json!({ "jsonrpc": "2.0", "method": METHOD, "params": params, "id": id });
        let response = client
            .http
            .post(client.api_url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, sensitive_header(AIPIX_API_TOKEN, &bearer(token))?)
            .body(body.to_string())
            .send()
            .await?;
        let code = response.status();
        *status = Some(code.as_u16());
        if code == StatusCode::UNAUTHORIZED || code == StatusCode::FORBIDDEN {
            return Ok(Attempt::Rejected(code.as_u16()));
        }
        let body = read_bounded(response).await?;
        let parsed: Option<RpcResponse> = serde_json::from_slice(&body).ok();
        if let Some(RpcResponse {
            error: Some(error), ..
        }) = &parsed
        {
            return Err(UpstreamError::Rpc(error.code));
        }
        if !code.is_success() {
            return Err(UpstreamError::Status(code.as_u16()));
        }
        match parsed {
            Some(RpcResponse {
                result: Some(serde_json::Value::String(token)),
                id: Some(answered),
                ..
            }) if !token.trim().is_empty() && answered == json!(id) => {
                Ok(Attempt::Minted(Minted::opaque(token)))
            }
            _ => Err(UpstreamError::Malformed),
        }
    }
}

fn bearer(token: &SecretString) -> SecretString {
    SecretString::from(format!("Bearer {}", token.expose_secret()))
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Without randomness the ids merely start at 0.
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}

/// When a token of `ttl` seconds minted now expires (`None`: unlimited).
pub(crate) fn expiry(ttl: u64) -> Option<Timestamp> {
    if ttl == 0 {
        return None;
    }
    let ttl = i64::try_from(ttl).ok()?;
    Timestamp::from_second(Timestamp::now().as_second().checked_add(ttl)?).ok()
}

#[cfg(test)]
mod tests;
