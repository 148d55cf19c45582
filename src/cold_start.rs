//! Cold start: everything built once per process, before the first request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use url::Url;

use crate::cas::CasClient;
use crate::config::{Config, CredentialSource, Provider};
use crate::demo::DemoUpstream;
use crate::handler::Vendor;
use crate::provider::{TokenProvider, http_client};
use crate::secrets::{CredentialStore, aws_timeouts, secrets_manager_client};

/// The longest the connection warm-up may add to a cold start.
const WARM_UP_BUDGET: Duration = Duration::from_millis(1500);

/// A start-up failure that no request could recover from.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("no randomness for the demo upstream's key")]
    Random(#[source] getrandom::Error),
    #[error("start-up task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Builds the vendor: the HTTP client and the credentials (SDK config, client
/// and the secret's first read) concurrently. A secret that cannot be read is
/// not a start-up failure: requests answer 503 and retry it later.
pub async fn cold_start(config: Config) -> Result<Vendor, StartError> {
    let tokens = match config.provider {
        Provider::Demo => {
            tracing::warn!(
                "DEMO UPSTREAM: CAS_URL is not set, so /token returns demo JWTs signed with a throw-away key. \
                 They are NOT valid for Sceenic. Set CAS_URL and credentials to vend real tokens."
            );
            TokenProvider::Demo(DemoUpstream::new().map_err(StartError::Random)?)
        }
        Provider::Cas {
            base_url,
            credentials,
        } => {
            let timeout = config.upstream_timeout;
            let http = async {
                let http = tokio::task::spawn_blocking(move || http_client(timeout))
                    .await
                    .map_err(StartError::Task)?
                    .map_err(StartError::HttpClient)?;
                warm_up(&http, &base_url, timeout.min(WARM_UP_BUDGET)).await;
                Ok::<_, StartError>(http)
            };
            let store = async {
                let store = match credentials {
                    CredentialSource::Environment(credentials) => CredentialStore::fixed(credentials),
                    CredentialSource::SecretsManager { secret_id } => {
                        let sdk = aws_config::defaults(BehaviorVersion::latest())
                            .timeout_config(aws_timeouts())
                            .load()
                            .await;
                        CredentialStore::secrets_manager(secrets_manager_client(&sdk), secret_id)
                    }
                };
                store.load().await;
                store
            };
            let (http, store) = tokio::join!(http, store);
            let http = http?;
            TokenProvider::Cas(CasClient::new(http, &base_url, Arc::new(store)))
        }
    };
    Ok(Vendor::new(config.allowed_origins, tokens))
}

/// Opens the keep-alive connection (TCP, and TLS for https) to the
/// provider's origin during init, concurrently with the secret read, so the
/// first request pays no handshake. It asks `HEAD /` of the origin and never
/// the token path: on a real CAS even a HEAD there might mint a session.
/// Failure only costs the first request its handshake.
async fn warm_up(http: &reqwest::Client, base_url: &Url, budget: Duration) {
    let mut origin = base_url.clone();
    origin.set_path("/");
    let started = Instant::now();
    match tokio::time::timeout(budget, http.head(origin).send()).await {
        Ok(Ok(response)) => tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream connection warmed"
        ),
        Ok(Err(error)) => tracing::warn!(error = %crate::error::chain(&error), "upstream warm-up failed"),
        Err(_) => tracing::warn!(
            budget_ms = budget.as_millis() as u64,
            "upstream warm-up timed out"
        ),
    }
}
