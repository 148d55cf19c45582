//! Cold start: everything built once per process, before the first request.

use std::sync::Arc;

use aws_config::BehaviorVersion;

use crate::cas::CasClient;
use crate::config::{Config, CredentialSource, Provider};
use crate::demo::DemoUpstream;
use crate::handler::Vendor;
use crate::provider::{TokenProvider, http_client};
use crate::secrets::{CredentialStore, aws_timeouts, secrets_manager_client};

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
            let http = tokio::task::spawn_blocking(move || http_client(timeout));
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
            let http = http.map_err(StartError::Task)?.map_err(StartError::HttpClient)?;
            TokenProvider::Cas(CasClient::new(http, &base_url, Arc::new(store)))
        }
    };
    Ok(Vendor::new(config.allowed_origins, tokens))
}
