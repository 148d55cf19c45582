//! Cold start: everything built once per process, before the first request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::api::{TokenProvider, Vendor};
use crate::aws::{Preconnect, dynamodb_client, load_sdk, preconnect_dynamodb, secrets_manager_client};
use crate::bans::{BanStore, Bans};
use crate::config::{Config, CredentialSource, Mode};
use crate::logging::chain;
use crate::metrics::Metrics;
use crate::providers::agora::AgoraSigner;
use crate::providers::aipix::AipixClient;
use crate::providers::cas::CasClient;
use crate::providers::demo::DemoUpstream;
use crate::providers::http_client;
use crate::providers::livekit::{DEV_API_KEY, DEV_API_SECRET, DEV_URL, LiveKitConfig, LiveKitSigner};
use crate::providers::twilio::TwilioSigner;
use crate::providers::vonage::VonageSigner;
use crate::quota::{Quota, QuotaStore};
use crate::rooms::{RoomStore, Rooms};
use crate::secrets::{CredentialStore, Credentials};

/// The longest the connection warm-up may add to a cold start.
const WARM_UP_BUDGET: Duration = Duration::from_millis(1500);

/// A start-up failure that no request could recover from.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("no randomness for the demo upstream's key")]
    Random(#[source] getrandom::Error),
}

/// Builds the vendor: the HTTP client, then the upstream warm-up and the
/// credentials (SDK config, client and the secret's first read), with
/// DynamoDB's client and connection warm-up, concurrently. A secret that cannot be read is
/// not a start-up failure: requests answer 503 and retry it later.
pub async fn cold_start(config: Config) -> Result<Vendor, StartError> {
    let started = Instant::now();
    let lambda = config.mode == Mode::Lambda;
    let metrics = Metrics::new(&config.metrics);
    let Some(credentials) = config.credentials else {
        tracing::warn!(
            "DEMO UPSTREAM: CAS_URL is not set, so /token returns demo JWTs signed with a throw-away key. \
             They are NOT valid for Sceenic. Set CAS_URL and credentials to vend real tokens."
        );
        let demo = TokenProvider::Demo(DemoUpstream::new().map_err(StartError::Random)?);
        let rooms = Rooms::new(
            RoomStore::memory_holding(config.rooms_memory_max),
            config.room_refresh_margin,
            config.room_ttl,
        );
        let mut vendor = Vendor::new(config.allowed_origins, Some(demo), None)
            .with_rooms(rooms)
            .with_metrics(metrics, None)
            .with_admin(config.admin);
        if let Some(livekit) = livekit_dev(config.livekit_dev) {
            vendor = vendor.with_livekit(livekit);
        }
        let warm_up = config
            .quota_table
            .as_deref()
            .map(|table| (table, QuotaStore::KEY))
            .or_else(|| config.bans_table.as_deref().map(|table| (table, BanStore::KEY)));
        let dynamo = match warm_up {
            Some(warm_up) => {
                let client =
                    dynamodb_client(&Box::pin(load_sdk(lambda)).await.map_err(StartError::HttpClient)?);
                warm_up_dynamodb(&client, warm_up).await;
                Some(client)
            }
            None => None,
        };
        if let Some(spec) = config.quota {
            let store = match (&dynamo, config.quota_table) {
                (Some(client), Some(table)) => QuotaStore::dynamo(client.clone(), table),
                _ => QuotaStore::memory(),
            };
            vendor = vendor.with_quota(Quota::new(spec, store, config.quota_fail));
        }
        let bans = match (dynamo, config.bans_table) {
            (Some(client), Some(table)) => BanStore::dynamo(client, table),
            _ => BanStore::memory(),
        };
        return Ok(vendor.with_bans(Bans::new(bans, config.bans_fail)));
    };

    // Building the client is cheap (~0.15 ms: the trust roots are compiled
    // in); the warm-up connections then overlap the secret read.
    let timeout = config.upstream_timeout;
    if !config.extra_roots.is_empty() {
        tracing::info!(
            certificates = config.extra_roots.len(),
            "EXTRA_CA_CERTS: provider calls also trust these CA certificates"
        );
    }
    let http = http_client(timeout, &config.extra_roots).map_err(StartError::HttpClient)?;
    let budget = timeout.min(WARM_UP_BUDGET);
    let warm = async {
        let cas = async {
            if let Some(url) = &config.cas {
                warm_up(&http, url, budget).await;
            }
        };
        let aipix = async {
            if let Some(aipix) = &config.aipix {
                warm_up(&http, &aipix.base_url, budget).await;
            }
        };
        tokio::join!(cas, aipix);
    };
    // The AWS SDK configuration (loaded once, for the secret and/or the rooms
    // table), then the secret's first read.
    let aws = async {
        let mut sdk = None;
        let from_secret = matches!(credentials, CredentialSource::SecretsManager { .. });
        let store = match credentials {
            CredentialSource::Environment(credentials) => CredentialStore::fixed(*credentials),
            CredentialSource::SecretsManager { secret_id } => {
                let sdk = sdk.insert(load_sdk(lambda).await.map_err(StartError::HttpClient)?);
                let client = secrets_manager_client(sdk);
                tracing::debug!(at_ms = millis(started), "Secrets Manager client built");
                CredentialStore::secrets_manager(client, secret_id).with_max_age(config.secret_max_age)
            }
        };
        // The DynamoDB client is built, and its connection opened, while
        // the secret's request is in flight: `join!` polls the read first,
        // which sends it and waits. One table's read opens the connection
        // both tables use.
        let warm_up = config
            .rooms_table
            .as_deref()
            .map(|table| (table, RoomStore::KEY))
            .or_else(|| {
                config
                    .quota_table
                    .as_deref()
                    .map(|table| (table, QuotaStore::KEY))
            })
            .or_else(|| config.bans_table.as_deref().map(|table| (table, BanStore::KEY)));
        let dynamo = async {
            let Some(warm_up) = warm_up else {
                return Ok(None);
            };
            let client = match sdk {
                Some(sdk) => dynamodb_client(&sdk),
                None => dynamodb_client(&Box::pin(load_sdk(lambda)).await.map_err(StartError::HttpClient)?),
            };
            warm_up_dynamodb(&client, warm_up).await;
            Ok(Some(client))
        };
        let read = async {
            let reading = Instant::now();
            store.load().await;
            tracing::debug!(at_ms = millis(started), "secret read");
            from_secret.then(|| reading.elapsed())
        };
        let (secret_read, dynamo) = tokio::join!(read, dynamo);
        Ok::<_, StartError>((store, dynamo?, secret_read))
    };
    let ((), aws) = tokio::join!(warm, aws);
    let (store, dynamo, secret_read) = aws?;
    let store = Arc::new(store);
    if let Some(held) = store.held() {
        if let (Some(_), Err(error)) = (&config.cas, held.cas()) {
            tracing::error!(%error, "CAS credentials unusable: /token answers 503 until the secret is fixed");
        }
        if let (Some(_), Err(error)) = (&config.aipix, held.aipix()) {
            tracing::error!(%error, "AIPIX credentials unusable: /streams answers 503 until the secret is fixed");
        }
        if let (Some(_), Err(error)) = (&config.livekit, held.livekit()) {
            tracing::error!(%error, "LiveKit credentials unusable: /livekit/token answers 503 until the secret is fixed");
        }
        if let (Some(_), Err(error)) = (&config.twilio, held.twilio()) {
            tracing::error!(%error, "Twilio credentials unusable: /twilio/token answers 503 until the secret is fixed");
        }
        if let (Some(_), Err(error)) = (&config.vonage, held.vonage()) {
            tracing::error!(%error, "Vonage credentials unusable: /vonage/token answers 503 until the secret is fixed");
        }
        if let (Some(_), Err(error)) = (&config.agora, held.agora()) {
            tracing::error!(%error, "Agora credentials unusable: /agora/token answers 503 until the secret is fixed");
        }
    }

    let tokens = config
        .cas
        .map(|url| TokenProvider::Cas(CasClient::new(http.clone(), &url, Arc::clone(&store))));
    let livekit = config
        .livekit
        .map(|livekit| LiveKitSigner::new(livekit, Arc::clone(&store)).with_room_service(http.clone()))
        .or_else(|| livekit_dev(config.livekit_dev));
    let agora = config
        .agora
        .map(|agora| AgoraSigner::new(agora, Arc::clone(&store)));
    let twilio = config
        .twilio
        .map(|twilio| TwilioSigner::new(twilio, Arc::clone(&store)));
    let vonage = config
        .vonage
        .map(|vonage| VonageSigner::new(vonage, Arc::clone(&store)));
    let streams = config.aipix.map(|aipix| AipixClient::new(http, aipix, store));
    let quota_store = match (&dynamo, config.quota_table) {
        (Some(client), Some(table)) => QuotaStore::dynamo(client.clone(), table),
        // Under Lambda the configuration requires the table with a quota.
        _ => QuotaStore::memory(),
    };
    let ban_store = match (&dynamo, config.bans_table) {
        (Some(client), Some(table)) => Some(BanStore::dynamo(client.clone(), table)),
        // Under Lambda, bans in one instance's memory would not be bans.
        _ if !lambda => Some(BanStore::memory()),
        _ => None,
    };
    let room_store = match (dynamo, config.rooms_table) {
        (Some(client), Some(table)) => Some(RoomStore::dynamo(client, table)),
        _ if !lambda => Some(RoomStore::memory_holding(config.rooms_memory_max)),
        _ => None,
    };
    let mut vendor = Vendor::new(config.allowed_origins, tokens, streams)
        .with_metrics(metrics, secret_read)
        .with_admin(config.admin);
    if let Some(ban_store) = ban_store {
        vendor = vendor.with_bans(Bans::new(ban_store, config.bans_fail));
    }
    if let Some(livekit) = livekit {
        vendor = vendor.with_livekit(livekit);
    }
    if let Some(agora) = agora {
        vendor = vendor.with_agora(agora);
    }
    if let Some(twilio) = twilio {
        vendor = vendor.with_twilio(twilio);
    }
    if let Some(vonage) = vonage {
        vendor = vendor.with_vonage(vonage);
    }
    if let Some(room_store) = room_store {
        vendor = vendor.with_rooms(Rooms::new(
            room_store,
            config.room_refresh_margin,
            config.room_ttl,
        ));
    }
    if let Some(spec) = config.quota {
        vendor = vendor.with_quota(Quota::new(spec, quota_store, config.quota_fail));
    }
    tracing::debug!(at_ms = millis(started), "cold start done");
    Ok(vendor)
}

/// Local mode without `LIVEKIT_URL`: a signer for LiveKit's development
/// server, announced as the demo upstream is.
fn livekit_dev(config: Option<LiveKitConfig>) -> Option<LiveKitSigner> {
    let config = config?;
    tracing::warn!(
        url = DEV_URL,
        "LIVEKIT DEV SERVER: LIVEKIT_URL is not set, so /livekit/token signs for `livekit-server --dev` \
         (its well-known key pair, any room). Set LIVEKIT_URL, LIVEKIT_ROOMS and the LiveKit keys for a real LiveKit."
    );
    let keys = Credentials::livekit_pair(DEV_API_KEY, DEV_API_SECRET);
    Some(LiveKitSigner::new(config, Arc::new(CredentialStore::fixed(keys))))
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
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
        Ok(Err(error)) => tracing::warn!(error = %chain(&error), "upstream warm-up failed"),
        Err(_) => tracing::warn!(
            budget_ms = budget.as_millis() as u64,
            "upstream warm-up timed out"
        ),
    }
}

/// Opens the DynamoDB client's connection during init ([`preconnect_dynamodb`]);
/// failure only costs the first room or quota call its handshake.
async fn warm_up_dynamodb(client: &aws_sdk_dynamodb::Client, (table, key): (&str, &str)) {
    let started = Instant::now();
    match preconnect_dynamodb(client, table, key, WARM_UP_BUDGET).await {
        Preconnect::Answered(200) => tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "DynamoDB connection warmed"
        ),
        // The connection is open, but the table refused the read: a wrong
        // table name, or a role without GetItem on it, which the first room
        // or quota call will meet too.
        Preconnect::Answered(status) => tracing::warn!(
            status,
            table,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "DynamoDB warm-up read refused (the connection is open): check the table's name and the role's GetItem on it"
        ),
        Preconnect::Failed(error) => tracing::warn!(%error, "DynamoDB warm-up failed"),
        Preconnect::TimedOut => tracing::warn!(
            budget_ms = WARM_UP_BUDGET.as_millis() as u64,
            "DynamoDB warm-up timed out"
        ),
    }
}
