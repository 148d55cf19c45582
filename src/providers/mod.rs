//! What every token provider shares: the minted token, the ways an upstream
//! call fails, a bounded body reader, and the HTTP client built once at cold
//! start. Each provider lives in its own module; this one names none of them.

pub(crate) mod agora;
pub(crate) mod aipix;
pub(crate) mod cas;
pub(crate) mod demo;
pub(crate) mod livekit;
pub(crate) mod twilio;
pub(crate) mod vonage;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::deadline::Deadline;
use crate::jwt;
use crate::secrets::{CredentialStore, Credentials, SecretError, SecretFormatError};
use crate::tls::{self, ExtraRoots};

/// The largest upstream response body read. A CAS token is a few hundred
/// bytes; anything near this is not a token response.
pub(crate) const MAX_UPSTREAM_BODY: usize = 16 * 1024;

/// A token from a provider. `Debug` never prints it.
pub struct Minted {
    token: SecretString,
    expires_at: Option<Timestamp>,
}

impl Minted {
    pub fn new(token: String) -> Self {
        let expires_at = jwt::expiry(&token);
        Self::with_expiry(token, expires_at)
    }

    /// A token with a known expiry (a room's stored token).
    pub fn with_expiry(token: String, expires_at: Option<Timestamp>) -> Self {
        Self {
            token: SecretString::from(token),
            expires_at,
        }
    }

    /// A token whose claims are not read (not a JWT, or not ours to parse).
    pub fn opaque(token: String) -> Self {
        Self::with_expiry(token, None)
    }

    /// The token itself, for the one place that writes the response body.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }
}

impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a provider did not hand out a token.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("credentials unavailable")]
    Credentials(#[from] SecretError),
    #[error("upstream rejected the credentials (HTTP {0}), also after re-reading the secret")]
    AuthRejected(u16),
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    #[error("upstream body is larger than {MAX_UPSTREAM_BODY} bytes")]
    TooLarge,
    #[error("upstream body is not the expected JSON")]
    Malformed,
    /// A token the function signs itself could not be made (no random
    /// bytes, a clock out of range): the vendor's fault, not a provider's.
    #[error("the token could not be signed here: {0}")]
    Unsigned(&'static str),
    #[error("upstream answered a JSON-RPC error (code {0:?})")]
    Rpc(Option<i64>),
    #[error("upstream did not answer within the timeout")]
    Timeout,
    #[error("upstream's TLS certificate refused")]
    Certificate(#[source] reqwest::Error),
    #[error("upstream request failed")]
    Transport(#[source] reqwest::Error),
}

impl From<reqwest::Error> for UpstreamError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if tls::refused_certificate(&error) {
            Self::Certificate(error)
        } else {
            Self::Transport(error)
        }
    }
}

/// What the request log records about the upstream call(s) of one request.
#[derive(Debug, Default, Clone, Copy)]
pub struct UpstreamTrace {
    /// The last HTTP status the upstream answered, if any.
    pub status: Option<u16>,
    /// Time spent in upstream calls (all attempts).
    pub latency: Duration,
    /// Number of upstream calls made.
    pub calls: u32,
}

impl UpstreamTrace {
    /// Records one upstream call.
    pub fn record(&mut self, latency: Duration, status: Option<u16>) {
        self.latency += latency;
        self.calls += 1;
        if status.is_some() {
            self.status = status;
        }
    }
}

/// The HTTP client shared by every provider: rustls, keep-alive, no
/// redirects (a redirect would carry the auth headers to another host), the
/// compiled-in trust roots and the operator's extra CAs ([`crate::tls`]), and
/// a whole-request timeout that also covers reading the body.
pub fn http_client(
    timeout: Duration,
    extra_roots: &ExtraRoots,
) -> Result<reqwest::Client, Box<dyn std::error::Error + Send + Sync>> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls::provider_config(extra_roots)?)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("token-vendor/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Reads a response body of at most [`MAX_UPSTREAM_BODY`] bytes, refusing a
/// larger one as soon as its `Content-Length` or its bytes say so.
pub(crate) async fn read_bounded(response: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    read_at_most(response, MAX_UPSTREAM_BODY)
        .await?
        .ok_or(UpstreamError::TooLarge)
}

/// Reads a response body of at most `limit` bytes: `None` as soon as its
/// `Content-Length` or its bytes say it is larger.
pub(crate) async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The outcome of one upstream call, before rotation is considered.
#[derive(Debug)]
pub(crate) enum Attempt {
    Minted(Minted),
    /// HTTP 401 or 403: the credentials were refused.
    Rejected(u16),
}

/// One call to a provider's token endpoint with given credentials.
pub(crate) trait ProviderCall {
    /// The provider's name, for the log.
    const PROVIDER: &'static str;

    /// Whether the credentials hold this provider's fields.
    fn usable(credentials: &Credentials) -> Result<(), SecretFormatError>;

    /// Makes the call, recording the HTTP status it saw in `status`.
    fn call(
        &self,
        credentials: &Credentials,
        status: &mut Option<u16>,
    ) -> impl Future<Output = Result<Attempt, UpstreamError>> + Send;
}

/// Calls a provider with the current credentials. On a refusal (401/403) the
/// secret is re-read at once and the call retried once (key rotation); a
/// second refusal is `AuthRejected`, and so is a refusal within the spacing
/// of the last refusal-triggered re-read ([`CredentialStore::refresh`]).
/// Every call is timed into `trace`; all of it ends by `deadline`
/// (`Timeout` when it came first).
pub(crate) async fn with_rotation<C: ProviderCall + Sync>(
    call: &C,
    store: &Arc<CredentialStore>,
    trace: &mut UpstreamTrace,
    deadline: Deadline,
) -> Result<Minted, UpstreamError> {
    let credentials = deadline
        .within(store.current(C::usable))
        .await
        .map_err(|_| secret_read_out_of_time(C::PROVIDER))??;
    let status = match timed(call, &credentials, trace, deadline).await? {
        Attempt::Minted(minted) => return Ok(minted),
        Attempt::Rejected(status) => status,
    };
    let refreshed = deadline
        .within(store.refresh(&credentials, C::usable))
        .await
        .map_err(|_| secret_read_out_of_time(C::PROVIDER))??;
    let Some(credentials) = refreshed else {
        tracing::warn!(
            provider = C::PROVIDER,
            status,
            "credentials refused again soon after a re-read; not re-reading the secret"
        );
        return Err(UpstreamError::AuthRejected(status));
    };
    tracing::warn!(
        provider = C::PROVIDER,
        status,
        "credentials refused; secret re-read, retrying once"
    );
    match timed(call, &credentials, trace, deadline).await? {
        Attempt::Minted(minted) => Ok(minted),
        Attempt::Rejected(status) => Err(UpstreamError::AuthRejected(status)),
    }
}

/// The credentials a provider that signs in the function (no call to
/// refuse them) uses: the ones held, or a spaced re-read when they are
/// missing or unusable, all by `deadline`.
pub(crate) async fn signing_credentials(
    store: &Arc<CredentialStore>,
    provider: &'static str,
    usable: fn(&Credentials) -> Result<(), SecretFormatError>,
    deadline: Deadline,
) -> Result<Arc<Credentials>, UpstreamError> {
    Ok(deadline
        .within(store.current(usable))
        .await
        .map_err(|_| secret_read_out_of_time(provider))??)
}

/// A secret read the request's deadline cut short: `504` like a slow
/// provider, and the log says it was Secrets Manager.
fn secret_read_out_of_time(provider: &'static str) -> UpstreamError {
    tracing::warn!(
        provider,
        "the secret's read did not end before the request's deadline"
    );
    UpstreamError::Timeout
}

async fn timed<C: ProviderCall>(
    call: &C,
    credentials: &Credentials,
    trace: &mut UpstreamTrace,
    deadline: Deadline,
) -> Result<Attempt, UpstreamError> {
    let started = std::time::Instant::now();
    let mut status = None;
    let result = deadline
        .within(call.call(credentials, &mut status))
        .await
        .unwrap_or(Err(UpstreamError::Timeout));
    trace.record(started.elapsed(), status);
    result
}

/// A source of session tokens: what `/token` serves and rooms hand out.
pub trait TokenSource: Sync {
    /// Mints one token by `deadline`, recording the upstream call(s) in `trace`.
    fn mint(
        &self,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Minted, UpstreamError>> + Send;
}

/// A header value marked sensitive, so that no HTTP-layer debug output shows
/// it. Credentials are checked to be header-safe when read, so the error is
/// unreachable in practice.
pub(crate) fn sensitive_header(
    name: &'static str,
    value: &SecretString,
) -> Result<reqwest::header::HeaderValue, UpstreamError> {
    let mut header = reqwest::header::HeaderValue::from_str(value.expose_secret())
        .map_err(|_| UpstreamError::Credentials(SecretFormatError::NotHeaderSafe(name).into()))?;
    header.set_sensitive(true);
    Ok(header)
}

/// Joins `path` (relative, e.g. `stream/token/v2/`) onto a base URL, with
/// exactly one slash between them whether or not the base ends with one.
pub(crate) fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_never_doubles_the_slash() {
        let path = "stream/token/v2/";
        for base in ["https://cas.example.com", "https://cas.example.com/"] {
            let url = endpoint(&Url::parse(base).unwrap(), path);
            assert_eq!(url.as_str(), "https://cas.example.com/stream/token/v2/");
        }
        let url = endpoint(&Url::parse("https://h.example/prefix/").unwrap(), path);
        assert_eq!(url.as_str(), "https://h.example/prefix/stream/token/v2/");
    }
}
