//! Sceenic Watch Together's Cluster Authentication Service (CAS):
//! `GET <CAS_URL>/stream/token/v2/` with `Auth-API-Key` / `Auth-API-Secret`.

use std::sync::Arc;

use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::deadline::Deadline;
use crate::providers::{
    Attempt, Minted, ProviderCall, TokenSource, UpstreamError, UpstreamTrace, endpoint, read_bounded,
    sensitive_header, with_rotation,
};
use crate::secrets::{API_KEY, API_SECRET, CredentialStore, Credentials, SecretError, SecretFormatError};

/// The token path, relative to `CAS_URL`.
pub(crate) const TOKEN_PATH: &str = "stream/token/v2/";

/// A CAS client: built once at cold start, shared by every request.
#[derive(Debug)]
pub struct CasClient {
    http: reqwest::Client,
    token_url: Url,
    credentials: Arc<CredentialStore>,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

impl CasClient {
    pub fn new(http: reqwest::Client, base_url: &Url, credentials: Arc<CredentialStore>) -> Self {
        Self {
            http,
            token_url: endpoint(base_url, TOKEN_PATH),
            credentials,
        }
    }
}

impl TokenSource for CasClient {
    /// One session token. On 401/403 the secret is re-read at once and the
    /// call retried once (key rotation); a second refusal is `AuthRejected`.
    async fn mint(&self, trace: &mut UpstreamTrace, deadline: Deadline) -> Result<Minted, UpstreamError> {
        with_rotation(self, &self.credentials, trace, deadline).await
    }
}

impl ProviderCall for CasClient {
    const PROVIDER: &'static str = "CAS";

    fn usable(credentials: &Credentials) -> Result<(), SecretFormatError> {
        credentials.cas().map(drop)
    }

    async fn call(
        &self,
        credentials: &Credentials,
        status: &mut Option<u16>,
    ) -> Result<Attempt, UpstreamError> {
        let (api_key, api_secret) = credentials.cas().map_err(SecretError::from)?;
        let response = self
            .http
            .get(self.token_url.clone())
            .header(ACCEPT, "application/json")
            .header("Auth-API-Key", sensitive_header(API_KEY, api_key)?)
            .header("Auth-API-Secret", sensitive_header(API_SECRET, api_secret)?)
            .send()
            .await?;
        let code = response.status();
        *status = Some(code.as_u16());
        if code == StatusCode::UNAUTHORIZED || code == StatusCode::FORBIDDEN {
            return Ok(Attempt::Rejected(code.as_u16()));
        }
        if !code.is_success() {
            return Err(UpstreamError::Status(code.as_u16()));
        }
        let body = read_bounded(response).await?;
        let parsed: TokenBody = serde_json::from_slice(&body).map_err(|_| UpstreamError::Malformed)?;
        if parsed.token.trim().is_empty() {
            return Err(UpstreamError::Malformed);
        }
        Ok(Attempt::Minted(Minted::new(parsed.token)))
    }
}
