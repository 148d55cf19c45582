//! The provider's API key and secret: read from Secrets Manager at cold start,
//! kept in memory, re-read when the provider rejects them (rotation), re-read
//! in the background once they are older than their maximum age (keys that
//! no provider call can refuse: those the function signs with), and
//! retried, spaced out, when they could not be read.

use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client as SecretsManagerClient;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::logging::chain;

/// How long after a failed read the next request may try again.
pub(crate) const RETRY_SPACING: Duration = Duration::from_secs(5);

/// How long credentials read from Secrets Manager are used before they are
/// read again (`SECRET_MAX_AGE_S`): the AWS Parameters and Secrets Lambda
/// Extension's default TTL.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The provider credentials held in the secret, each field checked on its
/// own: a deployment needs only the fields of the providers it enables.
/// No value can be printed: `Debug` redacts them and they are exposed only
/// where an upstream request (or a token) is made.
pub struct Credentials {
    /// One entry per name of [`FIELDS`], in its order.
    fields: [Field; FIELDS.len()],
    /// Vonage's private key, parsed from `VONAGE_PRIVATE_KEY` the first
    /// time it is asked for: once per read of the secret, not per token.
    vonage_key: OnceLock<Result<Box<ring::rsa::KeyPair>, SecretFormatError>>,
}

type Field = Result<SecretString, SecretFormatError>;

/// The secret's field names.
pub(crate) const API_KEY: &str = "API_KEY";
pub(crate) const API_SECRET: &str = "API_SECRET";
pub(crate) const AIPIX_API_TOKEN: &str = "AIPIX_API_TOKEN";
pub(crate) const LIVEKIT_API_KEY: &str = "LIVEKIT_API_KEY";
pub(crate) const LIVEKIT_API_SECRET: &str = "LIVEKIT_API_SECRET";
pub(crate) const AGORA_APP_CERTIFICATE: &str = "AGORA_APP_CERTIFICATE";
pub(crate) const TWILIO_API_KEY_SID: &str = "TWILIO_API_KEY_SID";
pub(crate) const TWILIO_API_KEY_SECRET: &str = "TWILIO_API_KEY_SECRET";
pub(crate) const VONAGE_PRIVATE_KEY: &str = "VONAGE_PRIVATE_KEY";
/// Every field the secret may hold (CAS's pair, AIPIX's token, LiveKit's
/// pair, Agora's app certificate, Twilio's API key, Vonage's private key).
pub(crate) const FIELDS: [&str; 9] = [
    API_KEY,
    API_SECRET,
    AIPIX_API_TOKEN,
    LIVEKIT_API_KEY,
    LIVEKIT_API_SECRET,
    AGORA_APP_CERTIFICATE,
    TWILIO_API_KEY_SID,
    TWILIO_API_KEY_SECRET,
    VONAGE_PRIVATE_KEY,
];

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Credentials");
        for (name, field) in FIELDS.iter().zip(&self.fields) {
            debug.field(name, &if field.is_ok() { "[REDACTED]" } else { "[unusable]" });
        }
        debug.finish()
    }
}

/// Why a secret's value is unusable. Names the field, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("the secret is not a JSON object (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("the secret has no SecretString (binary secrets are not supported)")]
    NotText,
    #[error("{0} missing")]
    Missing(&'static str),
    #[error("{0} is not a non-empty string")]
    Empty(&'static str),
    #[error("{0} contains characters that cannot be sent in an HTTP header")]
    NotHeaderSafe(&'static str),
    #[error("{0} is not 32 hexadecimal digits")]
    NotHex32(&'static str),
    #[error("{0} is not SK followed by 32 hexadecimal digits")]
    NotKeySid(&'static str),
    #[error("{0} is not an RSA private key in PEM (PKCS#8 or PKCS#1)")]
    NotRsaKey(&'static str),
}

impl SecretFormatError {
    /// The variable (field) this error is about, for configuration errors.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Missing(v)
            | Self::Empty(v)
            | Self::NotHeaderSafe(v)
            | Self::NotHex32(v)
            | Self::NotKeySid(v)
            | Self::NotRsaKey(v) => v,
            Self::NotJson { .. } | Self::NotText => "SECRET_ID",
        }
    }
}

impl Credentials {
    /// Credentials from individual values (local mode's environment): each
    /// of [`FIELDS`] through `value`; an absent one is `Missing`, the others
    /// are checked as in the secret.
    pub(crate) fn from_lookup(value: impl Fn(&'static str) -> Option<String>) -> Self {
        Self {
            fields: FIELDS.map(|name| match value(name) {
                None => Err(SecretFormatError::Missing(name)),
                Some(v) => checked(name, v),
            }),
            vonage_key: OnceLock::new(),
        }
    }

    /// CAS's pair and AIPIX's token from values (tests and local use).
    pub fn from_values(
        api_key: Option<String>,
        api_secret: Option<String>,
        aipix_api_token: Option<String>,
    ) -> Self {
        let values = [
            (API_KEY, api_key),
            (API_SECRET, api_secret),
            (AIPIX_API_TOKEN, aipix_api_token),
        ];
        Self::from_lookup(|name| {
            values
                .iter()
                .find(|(field, _)| *field == name)
                .and_then(|(_, value)| value.clone())
        })
    }

    /// A LiveKit key pair alone (local mode's development server).
    pub fn livekit_pair(api_key: &str, api_secret: &str) -> Self {
        Self::from_lookup(|name| match name {
            LIVEKIT_API_KEY => Some(api_key.to_owned()),
            LIVEKIT_API_SECRET => Some(api_secret.to_owned()),
            _ => None,
        })
    }

    /// A CAS key pair, for tests and local use.
    pub fn cas_pair(api_key: &str, api_secret: &str) -> Self {
        Self::from_values(Some(api_key.to_owned()), Some(api_secret.to_owned()), None)
    }

    /// Parses the secret's value, a JSON object such as
    /// `{"API_KEY": "...", "API_SECRET": "...", "AIPIX_API_TOKEN": "..."}`
    /// (any of [`FIELDS`]).
    /// Only a value that is not a JSON object fails here; each field's own
    /// problem is reported when a provider asks for it. The parser's messages
    /// are not kept: they can quote the input.
    pub fn from_json(text: &str) -> Result<Self, SecretFormatError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SecretFormatError::NotJson {
                line: e.line(),
                column: e.column(),
            })?;
        let Some(object) = value.as_object() else {
            return Err(SecretFormatError::NotJson { line: 1, column: 1 });
        };
        Ok(Self {
            fields: FIELDS.map(|name| match object.get(name) {
                None => Err(SecretFormatError::Missing(name)),
                Some(serde_json::Value::String(s)) => checked(name, s.clone()),
                Some(_) => Err(SecretFormatError::Empty(name)),
            }),
            vonage_key: OnceLock::new(),
        })
    }

    /// The field `name` (one of [`FIELDS`]).
    fn field(&self, name: &'static str) -> Result<&SecretString, SecretFormatError> {
        let index = FIELDS.iter().position(|f| *f == name);
        match index.map(|i| &self.fields[i]) {
            Some(field) => field.as_ref().map_err(Clone::clone),
            None => Err(SecretFormatError::Missing(name)),
        }
    }

    /// The CAS key pair (`API_KEY`, `API_SECRET`).
    pub fn cas(&self) -> Result<(&SecretString, &SecretString), SecretFormatError> {
        Ok((self.field(API_KEY)?, self.field(API_SECRET)?))
    }

    /// The AIPIX API token (`AIPIX_API_TOKEN`).
    pub fn aipix(&self) -> Result<&SecretString, SecretFormatError> {
        self.field(AIPIX_API_TOKEN)
    }

    /// The LiveKit key pair (`LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`).
    pub fn livekit(&self) -> Result<(&SecretString, &SecretString), SecretFormatError> {
        Ok((self.field(LIVEKIT_API_KEY)?, self.field(LIVEKIT_API_SECRET)?))
    }

    /// Agora's app certificate (`AGORA_APP_CERTIFICATE`): 32 hex digits.
    pub fn agora(&self) -> Result<&SecretString, SecretFormatError> {
        let certificate = self.field(AGORA_APP_CERTIFICATE)?;
        if is_hex32(certificate.expose_secret()) {
            Ok(certificate)
        } else {
            Err(SecretFormatError::NotHex32(AGORA_APP_CERTIFICATE))
        }
    }

    /// Twilio's API key (`TWILIO_API_KEY_SID`, `SK` and 32 hex digits, and
    /// `TWILIO_API_KEY_SECRET`).
    pub fn twilio(&self) -> Result<(&SecretString, &SecretString), SecretFormatError> {
        let sid = self.field(TWILIO_API_KEY_SID)?;
        if !is_sid(sid.expose_secret(), "SK") {
            return Err(SecretFormatError::NotKeySid(TWILIO_API_KEY_SID));
        }
        Ok((sid, self.field(TWILIO_API_KEY_SECRET)?))
    }

    /// Vonage's private key (`VONAGE_PRIVATE_KEY`): an RSA key in PEM,
    /// PKCS#8 as Vonage's dashboard hands it out, or PKCS#1; parsed once
    /// per read of the secret. Its `\n` may be the two characters
    /// backslash and n, as a key pasted into one line of JSON or an
    /// environment variable often has them.
    pub fn vonage(&self) -> Result<&ring::rsa::KeyPair, SecretFormatError> {
        self.vonage_key
            .get_or_init(|| {
                let pem = self.field(VONAGE_PRIVATE_KEY)?;
                rsa_key_pair(pem.expose_secret())
                    .map(Box::new)
                    .ok_or(SecretFormatError::NotRsaKey(VONAGE_PRIVATE_KEY))
            })
            .as_ref()
            .map(AsRef::as_ref)
            .map_err(Clone::clone)
    }

    /// Whether both hold the same values (logged after a rotation re-read).
    fn same_as(&self, other: &Self) -> bool {
        self.fields.iter().zip(&other.fields).all(|pair| match pair {
            (Ok(a), Ok(b)) => a.expose_secret() == b.expose_secret(),
            (Err(a), Err(b)) => a == b,
            _ => false,
        })
    }
}

/// 32 hex digits: an Agora app id or app certificate.
pub(crate) fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A Twilio SID: its two-letter prefix and 32 hex digits.
pub(crate) fn is_sid(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(is_hex32)
}

/// An RSA key pair from PEM text (one `PRIVATE KEY` or `RSA PRIVATE KEY`
/// block). ring checks the key (its modulus 2048 to 4096 bits, and its
/// consistency); nothing about why a key was refused is kept. The copies
/// made on the way (the text with its `\n`s turned to newlines, the DER)
/// are wiped once read.
fn rsa_key_pair(pem: &str) -> Option<ring::rsa::KeyPair> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    use zeroize::{Zeroize, Zeroizing};
    let pem = Zeroizing::new(pem.replace("\\n", "\n"));
    let mut der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).ok()?;
    let key = match &der {
        PrivateKeyDer::Pkcs8(der) => ring::rsa::KeyPair::from_pkcs8(der.secret_pkcs8_der()).ok(),
        PrivateKeyDer::Pkcs1(der) => ring::rsa::KeyPair::from_der(der.secret_pkcs1_der()).ok(),
        _ => None,
    };
    der.zeroize();
    key
}

fn checked(name: &'static str, value: String) -> Result<SecretString, SecretFormatError> {
    if value.trim().is_empty() {
        return Err(SecretFormatError::Empty(name));
    }
    // A PEM key is lines of text: it is never sent in a header.
    let text = |b: u8| b.is_ascii_graphic() || (name == VONAGE_PRIVATE_KEY && b.is_ascii_whitespace());
    if !value.bytes().all(text) {
        return Err(SecretFormatError::NotHeaderSafe(name));
    }
    Ok(SecretString::from(value))
}

/// Why the credentials are not available.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret not found")]
    NotFound,
    #[error("access to the secret denied")]
    AccessDenied,
    #[error("Secrets Manager did not answer in time")]
    Timeout,
    #[error("Secrets Manager call failed: {0}")]
    Service(String),
    #[error("secret unusable")]
    Format(#[from] SecretFormatError),
    #[error("a recent read failed; next attempt in {0:?}")]
    Backoff(Duration),
}

/// How old the credentials held are (see [`CredentialStore::current`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    Fresh,
    /// Past the maximum age: re-read in the background.
    Aged,
    /// Past twice the maximum age: re-read by the request.
    Overdue,
}

/// Where the credentials are read from.
#[derive(Debug)]
enum Source {
    SecretsManager {
        client: SecretsManagerClient,
        secret_id: String,
    },
    Fixed(Arc<Credentials>),
}

#[derive(Debug, Default)]
struct Cached {
    credentials: Option<Arc<Credentials>>,
    /// When the secret was last read, successfully or not.
    read_at: Option<Instant>,
    /// When the credentials held were last read successfully (their age).
    fresh_at: Option<Instant>,
    /// When the last re-read caused by the credentials' age began.
    aged_read_at: Option<Instant>,
    /// When the last request began to read them itself, overdue.
    overdue_read_at: Option<Instant>,
    /// When the last re-read caused by a provider's refusal began.
    refusal_read_at: Option<Instant>,
}

/// The in-memory credentials of one process and the rules for re-reading them.
#[derive(Debug)]
pub struct CredentialStore {
    source: Source,
    cached: RwLock<Cached>,
    /// Serializes reads of the secret so that concurrent requests share one.
    reading: Mutex<()>,
    retry_spacing: Duration,
    /// Credentials older than this are read again in the background.
    max_age: Duration,
}

impl CredentialStore {
    /// Credentials from a Secrets Manager secret (name or ARN). Nothing is read
    /// until [`CredentialStore::load`] or the first [`CredentialStore::current`].
    pub fn secrets_manager(client: SecretsManagerClient, secret_id: impl Into<String>) -> Self {
        Self::with_source(Source::SecretsManager {
            client,
            secret_id: secret_id.into(),
        })
    }

    /// Fixed credentials (local mode's environment variables).
    pub fn fixed(credentials: Credentials) -> Self {
        let store = Self::with_source(Source::Fixed(Arc::new(credentials)));
        if let Source::Fixed(c) = &store.source {
            store.write().credentials = Some(Arc::clone(c));
        }
        store
    }

    fn with_source(source: Source) -> Self {
        Self {
            source,
            cached: RwLock::new(Cached::default()),
            reading: Mutex::new(()),
            retry_spacing: RETRY_SPACING,
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// Overrides [`DEFAULT_MAX_AGE`] (`SECRET_MAX_AGE_S`).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Overrides [`RETRY_SPACING`] (tests use a short one).
    pub fn with_retry_spacing(mut self, spacing: Duration) -> Self {
        self.retry_spacing = spacing;
        self
    }

    /// Cold start: reads the secret once. A failure is logged and remembered;
    /// the process keeps serving and a later request tries again.
    pub async fn load(&self) {
        let _reading = self.reading.lock().await;
        // The error is logged inside; the request that next needs the
        // credentials reports it.
        let _ = self.read_and_cache().await;
    }

    /// The credentials held, if any (whether or not a provider can use them).
    pub fn held(&self) -> Option<Arc<Credentials>> {
        self.read().credentials.clone()
    }

    /// The current credentials, provided `usable` accepts them (each provider
    /// checks its own fields). When none are held, or `usable` refuses them,
    /// the secret is read again, at most once per [`RETRY_SPACING`]. When
    /// those held are older than the maximum age, they are served and a
    /// re-read starts in the background ([`Self::renew_if_aged`]); when
    /// they are twice that old (the background reads did not land), the
    /// request reads in the foreground ([`Self::renew_overdue`]).
    pub async fn current(
        self: &Arc<Self>,
        usable: impl Fn(&Credentials) -> Result<(), SecretFormatError>,
    ) -> Result<Arc<Credentials>, SecretError> {
        if let Some(c) = self.held().filter(|c| usable(c).is_ok()) {
            return Ok(match self.age() {
                Age::Fresh => c,
                Age::Aged => {
                    self.renew_if_aged();
                    c
                }
                Age::Overdue => self.renew_overdue(c, &usable).await,
            });
        }
        let _reading = self.reading.lock().await;
        {
            let cached = self.read();
            if let Some(c) = cached.credentials.clone().filter(|c| usable(c).is_ok()) {
                return Ok(c);
            }
            if let Some(waited) = cached.read_at.map(|t| t.elapsed())
                && waited < self.retry_spacing
            {
                return Err(match &cached.credentials {
                    Some(c) => usable(c)
                        .err()
                        .map_or(SecretError::Backoff(self.retry_spacing - waited), Into::into),
                    None => SecretError::Backoff(self.retry_spacing - waited),
                });
            }
        }
        let fresh = self.read_and_cache().await?;
        usable(&fresh)?;
        Ok(fresh)
    }

    /// How old the credentials held are, against the maximum age, for a
    /// re-read that is due: a background one at most once per
    /// [`RETRY_SPACING`], a request's own at most once per maximum age (so
    /// that a Secrets Manager that is down costs one request's wait per
    /// age, not one per spacing). Fixed credentials never age.
    fn age(&self) -> Age {
        if !matches!(self.source, Source::SecretsManager { .. }) {
            return Age::Fresh;
        }
        let cached = self.read();
        let since = |at: Option<Instant>, spacing: Duration| at.is_none_or(|at| at.elapsed() >= spacing);
        match cached.fresh_at.map(|at| at.elapsed()) {
            Some(age)
                if age >= self.max_age.saturating_mul(2)
                    && since(cached.overdue_read_at, self.max_age.max(self.retry_spacing)) =>
            {
                Age::Overdue
            }
            Some(age) if age >= self.max_age && since(cached.aged_read_at, self.retry_spacing) => Age::Aged,
            _ => Age::Fresh,
        }
    }

    /// Starts a background re-read of the secret when the credentials held
    /// are older than the maximum age: no request waits on it, a failed read
    /// keeps them (and is logged), and such re-reads begin at most once per
    /// [`RETRY_SPACING`]. Skipped when another read is in flight (it brings
    /// the same news). Under Lambda, a read that the function's freeze cuts
    /// short fails; the next request after the spacing starts another, and
    /// at twice the age a request reads in the foreground.
    fn renew_if_aged(self: &Arc<Self>) {
        if !self.stamp_aged_read() {
            return;
        }
        let store = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(_reading) = store.reading.try_lock() else {
                return;
            };
            let held = store.held();
            if let Ok(fresh) = store.read_and_cache().await
                && !held.is_some_and(|held| Arc::ptr_eq(&held, &fresh))
            {
                tracing::info!("secret re-read after its maximum age: new credentials are in use");
            }
        });
    }

    /// Credentials held twice past the maximum age: the background reads
    /// did not land (under Lambda, a function frozen between sparse
    /// invocations cuts them short), so this request reads the secret
    /// itself, by its deadline, and serves what it brings, or the keys held
    /// when the read fails. At most once per maximum age.
    async fn renew_overdue(
        &self,
        held: Arc<Credentials>,
        usable: impl Fn(&Credentials) -> Result<(), SecretFormatError>,
    ) -> Arc<Credentials> {
        let _reading = self.reading.lock().await;
        if self.age() != Age::Overdue {
            // Another request read it (or began to) meanwhile.
            return self.held().filter(|c| usable(c).is_ok()).unwrap_or(held);
        }
        self.write().overdue_read_at = Some(Instant::now());
        match self.read_and_cache().await {
            Ok(fresh) if usable(&fresh).is_ok() => {
                if !Arc::ptr_eq(&fresh, &held) {
                    tracing::info!("secret re-read past twice its maximum age: new credentials are in use");
                }
                fresh
            }
            _ => held,
        }
    }

    /// Stamps the start of a background re-read, if one is due: `false`
    /// when none is (another began within the spacing, or a read made the
    /// credentials fresh).
    fn stamp_aged_read(&self) -> bool {
        if self.age() != Age::Aged {
            return false;
        }
        let mut cached = self.write();
        let due = cached
            .aged_read_at
            .is_none_or(|at| at.elapsed() >= self.retry_spacing)
            && cached.fresh_at.is_some_and(|at| at.elapsed() >= self.max_age);
        if due {
            cached.aged_read_at = Some(Instant::now());
        }
        due
    }

    /// The provider rejected `stale`: re-read the secret at once and hand
    /// back what to retry with, unless a concurrent request already replaced
    /// `stale` (then that). `None`: a refusal-triggered re-read began less
    /// than the spacing ago (this one, or one shared with a concurrent
    /// request), so nothing is re-read and the caller should not retry: a
    /// provider that refuses every key costs one call per request, not two
    /// calls and a secret read. The read at cold start does not count, so a
    /// key rotated just after a cold start is picked up by the first refusal.
    pub async fn refresh(
        &self,
        stale: &Arc<Credentials>,
        usable: impl Fn(&Credentials) -> Result<(), SecretFormatError>,
    ) -> Result<Option<Arc<Credentials>>, SecretError> {
        let _reading = self.reading.lock().await;
        if let Some(c) = self.held().filter(|c| !Arc::ptr_eq(c, stale)) {
            usable(&c)?;
            return Ok(Some(c));
        }
        {
            let mut cached = self.write();
            if cached
                .refusal_read_at
                .is_some_and(|at| at.elapsed() < self.retry_spacing)
            {
                return Ok(None);
            }
            // Stamped before the read: a read cut short by the request's
            // deadline counts too.
            cached.refusal_read_at = Some(Instant::now());
        }
        let fresh = self.read_and_cache().await?;
        if Arc::ptr_eq(&fresh, stale) {
            tracing::warn!(
                "secret re-read after the provider rejected the credentials, but it holds the same values"
            );
        } else {
            tracing::info!("secret re-read: new credentials are in use");
        }
        usable(&fresh)?;
        Ok(Some(fresh))
    }

    /// Reads the source and updates the cache; the caller holds `reading`.
    /// A failed read keeps what is held (it may still serve a provider whose
    /// fields it has); a read that brings the same values keeps the held
    /// `Arc`, so that pointer identity means "same values" to [`Self::refresh`].
    async fn read_and_cache(&self) -> Result<Arc<Credentials>, SecretError> {
        let result = match &self.source {
            Source::Fixed(c) => Ok(Arc::clone(c)),
            // Boxed: the SDK call's future is large and rarely run; every
            // request future that might re-read would otherwise carry it.
            Source::SecretsManager { client, secret_id } => {
                Box::pin(fetch(client, secret_id)).await.map(Arc::new)
            }
        };
        let mut cached = self.write();
        cached.read_at = Some(Instant::now());
        match result {
            Ok(fresh) => {
                cached.fresh_at = cached.read_at;
                let kept = match &cached.credentials {
                    Some(held) if held.same_as(&fresh) => Arc::clone(held),
                    _ => fresh,
                };
                cached.credentials = Some(Arc::clone(&kept));
                Ok(kept)
            }
            Err(error) => {
                tracing::error!(
                    error = %chain(&error),
                    held = cached.credentials.is_some(),
                    "secret read failed: the credentials held (if any) stay in use; requests that need others answer 503"
                );
                Err(error)
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cached> {
        self.cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cached> {
        self.cached
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn fetch(client: &SecretsManagerClient, secret_id: &str) -> Result<Credentials, SecretError> {
    let started = Instant::now();
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "secret read");
    let text = output.secret_string().ok_or(SecretFormatError::NotText)?;
    Ok(Credentials::from_json(text)?)
}

fn classify(error: &SdkError<GetSecretValueError>) -> SecretError {
    match error {
        SdkError::TimeoutError(_) => SecretError::Timeout,
        SdkError::ServiceError(e) => match e.err() {
            GetSecretValueError::ResourceNotFoundException(_) => SecretError::NotFound,
            other => match aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(other) {
                Some("AccessDeniedException") => SecretError::AccessDenied,
                _ => SecretError::Service(DisplayErrorContext(error).to_string()),
            },
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => SecretError::Timeout,
        _ => SecretError::Service(DisplayErrorContext(error).to_string()),
    }
}

#[cfg(test)]
mod tests;
