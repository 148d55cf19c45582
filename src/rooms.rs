//! Rooms: every client of one watch party gets the same CAS token. A room's
//! token is minted once (one CAS call per room lifetime, whatever the
//! concurrency, across instances) and persisted: in DynamoDB (`ROOMS_TABLE`),
//! or in memory for local mode.
//!
//! The protocol: read the room (strongly consistent). A ready room is joined.
//! Otherwise *claim* it with a conditional write that takes a short lease;
//! only the claimant calls CAS, then writes the token (conditional on its
//! claim) and drops the lease. Everyone else polls with consistent reads until
//! the token is there. A lease whose holder died lapses and can be taken over;
//! a failed CAS call releases the claim. A room whose token expires within the
//! refresh margin is renewed the same way (conditional on the old token).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::provider::{Minted, TokenProvider, UpstreamTrace};

/// How often a waiting `PUT` re-reads the room: from the first interval,
/// growing by half each time up to the last, with jitter, so that many
/// waiters do not hammer the table in step.
const POLL_FIRST: Duration = Duration::from_millis(25);
const POLL_MAX: Duration = Duration::from_millis(250);

/// A room as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RoomItem {
    pub token: Option<String>,
    /// Epoch seconds.
    pub expires_at: Option<i64>,
    pub created_at: Option<i64>,
    pub claim_id: Option<String>,
    /// Epoch milliseconds.
    pub lease_until: Option<i64>,
}

impl std::fmt::Debug for RoomItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomItem")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("expires_at", &self.expires_at)
            .field("lease_until", &self.lease_until)
            .finish()
    }
}

impl RoomItem {
    /// The token, when the room is ready and its token valid at `now`.
    fn valid_token(&self, now: i64) -> Option<(&str, i64)> {
        match (&self.token, self.expires_at) {
            (Some(token), Some(expires)) if expires > now => Some((token, expires)),
            _ => None,
        }
    }
}

/// A store failure: `503 store_unavailable`.
#[derive(Debug, thiserror::Error)]
#[error("room store failed: {0}")]
pub struct StoreError(String);

/// What a claim needs to hold for the conditional write.
#[derive(Debug)]
struct Claim<'a> {
    id: &'a str,
    now_ms: i64,
    lease_until: i64,
    /// The room may be claimed if its token expires before this (seconds).
    renew_before: i64,
    /// The token seen, which a renewal must still find.
    old_token: Option<&'a str>,
}

/// Where rooms live.
#[derive(Debug)]
pub enum RoomStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<HashMap<String, RoomItem>>),
}

impl RoomStore {
    pub fn dynamo(client: DynamoClient, table: impl Into<String>) -> Self {
        Self::Dynamo {
            client,
            table: table.into(),
        }
    }

    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    async fn get(&self, room: &str) -> Result<Option<RoomItem>, StoreError> {
        match self {
            Self::Memory(map) => Ok(lock(map).get(room).cloned()),
            Self::Dynamo { client, table } => {
                let output = client
                    .get_item()
                    .table_name(table)
                    .key("room", AttributeValue::S(room.to_owned()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| StoreError(DisplayErrorContext(&e).to_string()))?;
                Ok(output.item().map(|item| RoomItem {
                    token: item.get("token").and_then(|v| v.as_s().ok()).cloned(),
                    expires_at: number(item.get("expiresAt")),
                    created_at: number(item.get("createdAt")),
                    claim_id: item.get("claimId").and_then(|v| v.as_s().ok()).cloned(),
                    lease_until: number(item.get("leaseUntil")),
                }))
            }
        }
    }

    /// Takes the claim if the room is absent, or tokenless or expiring (and
    /// not under a live lease, and still holding `old_token` if one was seen).
    async fn claim(&self, room: &str, claim: &Claim<'_>) -> Result<bool, StoreError> {
        match self {
            Self::Memory(map) => {
                let mut map = lock(map);
                let item = map.entry(room.to_owned()).or_default();
                let lease_free = item.lease_until.is_none_or(|l| l < claim.now_ms);
                let renewable =
                    item.token.is_none() || item.expires_at.is_none_or(|e| e <= claim.renew_before);
                let same_token = claim.old_token.is_none_or(|t| item.token.as_deref() == Some(t));
                if !(lease_free && renewable && same_token) {
                    return Ok(false);
                }
                item.claim_id = Some(claim.id.to_owned());
                item.lease_until = Some(claim.lease_until);
                Ok(true)
            }
            Self::Dynamo { client, table } => {
                let mut condition =
                    "attribute_not_exists(room) OR ((attribute_not_exists(leaseUntil) OR leaseUntil < :now) \
                                     AND (attribute_not_exists(#t) OR expiresAt <= :renew))"
                        .to_owned();
                let mut request = client
                    .update_item()
                    .table_name(table)
                    .key("room", AttributeValue::S(room.to_owned()))
                    .update_expression("SET claimId = :id, leaseUntil = :lease")
                    .expression_attribute_names("#t", "token")
                    .expression_attribute_values(":id", AttributeValue::S(claim.id.to_owned()))
                    .expression_attribute_values(":lease", AttributeValue::N(claim.lease_until.to_string()))
                    .expression_attribute_values(":now", AttributeValue::N(claim.now_ms.to_string()))
                    .expression_attribute_values(":renew", AttributeValue::N(claim.renew_before.to_string()));
                if let Some(old) = claim.old_token {
                    condition = format!("({condition}) AND #t = :old");
                    request = request.expression_attribute_values(":old", AttributeValue::S(old.to_owned()));
                }
                conditional(request.condition_expression(condition).send().await)
            }
        }
    }

    /// Writes the minted token, if the claim is still ours, and drops the lease.
    async fn fulfil(
        &self,
        room: &str,
        claim_id: &str,
        token: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Memory(map) => {
                let mut map = lock(map);
                let Some(item) = map.get_mut(room).filter(|i| i.claim_id.as_deref() == Some(claim_id)) else {
                    return Ok(false);
                };
                *item = RoomItem {
                    token: Some(token.to_owned()),
                    expires_at: Some(expires_at),
                    created_at: Some(item.created_at.unwrap_or(now)),
                    claim_id: None,
                    lease_until: None,
                };
                Ok(true)
            }
            Self::Dynamo { client, table } => conditional(
                client
                    .update_item()
                    .table_name(table)
                    .key("room", AttributeValue::S(room.to_owned()))
                    .update_expression(
                        "SET #t = :token, expiresAt = :exp, createdAt = if_not_exists(createdAt, :now) REMOVE claimId, leaseUntil",
                    )
                    .condition_expression("claimId = :id")
                    .expression_attribute_names("#t", "token")
                    .expression_attribute_values(":token", AttributeValue::S(token.to_owned()))
                    .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                    .expression_attribute_values(":id", AttributeValue::S(claim_id.to_owned()))
                    .send()
                    .await,
            ),
        }
    }

    /// Gives a claim up (the CAS call failed), if it is still ours.
    async fn release(&self, room: &str, claim_id: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory(map) => {
                if let Some(item) = lock(map)
                    .get_mut(room)
                    .filter(|i| i.claim_id.as_deref() == Some(claim_id))
                {
                    item.claim_id = None;
                    item.lease_until = None;
                }
                Ok(())
            }
            Self::Dynamo { client, table } => conditional(
                client
                    .update_item()
                    .table_name(table)
                    .key("room", AttributeValue::S(room.to_owned()))
                    .update_expression("REMOVE claimId, leaseUntil")
                    .condition_expression("claimId = :id")
                    .expression_attribute_values(":id", AttributeValue::S(claim_id.to_owned()))
                    .send()
                    .await,
            )
            .map(drop),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn number(value: Option<&AttributeValue>) -> Option<i64> {
    value.and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// A conditional write: `Ok(false)` when its condition did not hold.
fn conditional<O, E>(result: Result<O, SdkError<E>>) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConditionalCheckFailedException") => {
            Ok(false)
        }
        Err(e) => Err(StoreError(DisplayErrorContext(&e).to_string())),
    }
}

/// A room's token, as answered to a client.
#[derive(Debug)]
pub struct RoomToken {
    pub room: String,
    pub token: Minted,
    /// Whether this call minted it (201) rather than joined (200).
    pub minted: bool,
}

/// Rooms: the store, the token provider and the timing rules.
#[derive(Debug)]
pub struct Rooms {
    store: RoomStore,
    /// Renew a token that expires within this many seconds.
    refresh_margin: i64,
    /// Lifetime of a token without `exp`, seconds.
    default_ttl: i64,
    /// How long a claim holds: the upstream timeout and a margin.
    lease: Duration,
}

impl Rooms {
    pub fn new(
        store: RoomStore,
        refresh_margin: Duration,
        default_ttl: Duration,
        upstream_timeout: Duration,
    ) -> Self {
        Self {
            store,
            refresh_margin: secs(refresh_margin),
            default_ttl: secs(default_ttl),
            lease: upstream_timeout + Duration::from_secs(2),
        }
    }

    /// `GET /rooms/{name}`: the room's token while valid. Never calls CAS,
    /// never waits.
    pub async fn get(&self, room: &str) -> Result<RoomToken, ApiError> {
        let item = self.store.get(room).await.map_err(ApiError::Store)?;
        let now = Timestamp::now().as_second();
        match item.as_ref().and_then(|i| i.valid_token(now)) {
            Some((token, expires)) => Ok(self.answer(room, token, expires, false)),
            None => Err(ApiError::RoomNotFound),
        }
    }

    /// `PUT /rooms/{name}` (and `POST /rooms` with a new name): joins a ready
    /// room, or mints its token (creation or renewal), exactly once.
    pub async fn put(
        &self,
        room: &str,
        provider: &TokenProvider,
        trace: &mut UpstreamTrace,
    ) -> Result<RoomToken, ApiError> {
        let deadline = Instant::now() + self.lease + Duration::from_secs(1);
        let mut poll = POLL_FIRST;
        loop {
            let item = self.store.get(room).await.map_err(ApiError::Store)?;
            let now_ms = Timestamp::now().as_millisecond();
            let now = now_ms.div_euclid(1000);
            let item = item.unwrap_or_default();
            if let Some((token, expires)) = item.valid_token(now)
                && expires > now + self.refresh_margin
            {
                return Ok(self.answer(room, token, expires, false));
            }
            if item.lease_until.is_none_or(|l| l < now_ms) {
                let id = claim_id();
                let claim = Claim {
                    id: &id,
                    now_ms,
                    lease_until: now_ms + i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX),
                    renew_before: now + self.refresh_margin,
                    old_token: item.token.as_deref(),
                };
                if self.store.claim(room, &claim).await.map_err(ApiError::Store)? {
                    tracing::info!(room = %fingerprint(room), renewal = item.token.is_some(), "room claimed; minting its token");
                    if let Some(minted) = self.mint(room, &id, provider, trace).await? {
                        return Ok(minted);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(ApiError::Upstream(crate::provider::UpstreamError::Timeout));
            }
            tokio::time::sleep(jittered(poll)).await;
            poll = (poll * 3 / 2).min(POLL_MAX);
        }
    }

    async fn mint(
        &self,
        room: &str,
        claim_id: &str,
        provider: &TokenProvider,
        trace: &mut UpstreamTrace,
    ) -> Result<Option<RoomToken>, ApiError> {
        let minted = match provider.mint(trace).await {
            Ok(minted) => minted,
            Err(error) => {
                if let Err(release) = self.store.release(room, claim_id).await {
                    tracing::warn!(error = %release, "could not release the room claim; it lapses with its lease");
                }
                return Err(error.into());
            }
        };
        let now = Timestamp::now().as_second();
        let expires = minted
            .expires_at()
            .map_or(now + self.default_ttl, |e| e.as_second());
        if self
            .store
            .fulfil(room, claim_id, minted.token(), expires, now)
            .await
            .map_err(ApiError::Store)?
        {
            Ok(Some(self.answer(room, minted.token(), expires, true)))
        } else {
            // Our lease lapsed and another instance took the room over: its
            // token is the room's (read it like any waiter). Ours is dropped.
            tracing::warn!(room = %fingerprint(room), "room claim lost before the token was written");
            Ok(None)
        }
    }

    fn answer(&self, room: &str, token: &str, expires: i64, minted: bool) -> RoomToken {
        RoomToken {
            room: room.to_owned(),
            token: Minted::with_expiry(token.to_owned(), Timestamp::from_second(expires).ok()),
            minted,
        }
    }
}

/// `interval` ± 20 %.
fn jittered(interval: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    interval.mul_f64(0.8 + 0.4 * f64::from(byte[0]) / 255.0)
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// A room name: 1-128 characters of `A-Z a-z 0-9 . _ ~ -` (raw path, so `%`
/// and any percent-encoding are refused).
pub fn is_room_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// A new, unguessable room name: 128 random bits, URL-safe (22 characters).
pub fn new_room_name() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn claim_id() -> String {
    let mut bytes = [0u8; 12];
    // Without randomness the claim id is still unique enough per process.
    let _ = getrandom::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Room names are capabilities: logs carry a short hash, never the name.
pub fn fingerprint(room: &str) -> String {
    let digest = Sha256::digest(room.as_bytes());
    format!(
        "#{}",
        digest
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_follow_the_documented_alphabet() {
        for ok in ["a", "watch-party_1.x~y", &"a".repeat(128)] {
            assert!(is_room_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a%20b", "a/b", "ä", &"a".repeat(129)] {
            assert!(!is_room_name(bad), "{bad}");
        }
    }

    #[test]
    fn generated_names_are_valid_distinct_and_carry_128_bits() {
        let (a, b) = (new_room_name().unwrap(), new_room_name().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(is_room_name(&a));
    }

    #[test]
    fn the_fingerprint_does_not_contain_the_name() {
        let f = fingerprint("secret-room-name");
        assert!(!f.contains("secret") && f.len() == 9, "{f}");
    }
}
