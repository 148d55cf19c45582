//! CAS stand-ins (wiremock over https) and vendors wired to them: one that
//! accepts exactly one key pair, one that mints a new JWT per call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use token_vendor::AllowedOrigins;
use token_vendor::CasClient;
use token_vendor::{CredentialStore, Credentials};
use token_vendor::{TokenProvider, Vendor};

use super::{ALLOWED, Https, KEY, SECRET, provider_http, upstream};

pub(crate) fn fixed_store() -> Arc<CredentialStore> {
    Arc::new(CredentialStore::fixed(Credentials::cas_pair(KEY, SECRET)))
}

/// A vendor talking to CAS at `cas_url` with `store`, allowing [`ALLOWED`].
pub(crate) fn cas_vendor(cas_url: &str, store: Arc<CredentialStore>, timeout: Duration) -> Vendor {
    let http = provider_http(timeout);
    let cas = CasClient::new(http, &cas_url.parse().unwrap(), store);
    Vendor::new(
        AllowedOrigins::parse(ALLOWED).unwrap(),
        Some(TokenProvider::Cas(cas)),
        None,
    )
}

/// A JWT with the given claims (the signature is not checked by anyone here).
pub(crate) fn jwt(claims: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

/// CAS that answers `token` to exactly the pair (`key`, `secret`) and 401 to
/// any other.
pub(crate) async fn cas_accepting(key: &str, secret: &str, token: &str) -> Https<wiremock::MockServer> {
    let answer = wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": token }));
    cas_accepting_with(key, secret, answer).await
}

/// CAS that answers the pair (`key`, `secret`) with `answer` and any other
/// with 401.
pub(crate) async fn cas_accepting_with(
    key: &str,
    secret: &str,
    answer: impl wiremock::Respond + 'static,
) -> Https<wiremock::MockServer> {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let cas = upstream().await;
    Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .and(header("auth-api-key", key))
        .and(header("auth-api-secret", secret))
        .respond_with(answer)
        .with_priority(1)
        .mount(&cas)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("bad key"))
        .with_priority(2)
        .mount(&cas)
        .await;
    cas
}

/// CAS that mints a new JWT (one hour, unique `rid`) per call, counts them
/// and keeps them (so that tests can look for them in logs).
#[derive(Clone, Default)]
pub(crate) struct Minting {
    calls: Arc<AtomicUsize>,
    issued: Arc<Mutex<Vec<String>>>,
    /// Seconds from now to `exp`; 0 = an hour.
    lifetime: i64,
}

impl wiremock::Respond for Minting {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let lifetime = if self.lifetime == 0 { 3600 } else { self.lifetime };
        let exp = jiff::Timestamp::now().as_second() + lifetime;
        let token = jwt(&format!(r#"{{"rid":"room-session-{n}","exp":{exp}}}"#));
        self.issued.lock().unwrap().push(token.clone());
        wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": token }))
    }
}

impl Minting {
    /// Tokens that live `seconds`.
    pub(crate) fn living(seconds: i64) -> Self {
        Self {
            lifetime: seconds,
            ..Self::default()
        }
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }
}

/// A CAS stand-in answering every token request with [`Minting`].
pub(crate) async fn minting_cas(minting: &Minting) -> Https<wiremock::MockServer> {
    use wiremock::matchers::{method, path};
    let cas = upstream().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .respond_with(minting.clone())
        .mount(&cas)
        .await;
    cas
}
