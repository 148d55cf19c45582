//! Rooms: every client of one watch party gets the same CAS token. A room's
//! token is minted once (one CAS call per room lifetime, whatever the
//! concurrency, across instances) and persisted: in DynamoDB (`ROOMS_TABLE`),
//! or in memory for local mode.
//!
//! The protocol: read the room (strongly consistent). A ready room is joined.
//! Otherwise *claim* it with a conditional write that takes a lease covering
//! the claimant's whole budget; only the claimant calls CAS, then writes the
//! token (conditional on its claim) and drops the lease. Everyone else polls
//! with consistent reads until the token is there or their own deadline
//! comes. A lease whose holder died lapses and can be taken over; a failed
//! CAS call releases the claim. A claim or a write whose reply was lost is
//! recognised by reading the item back from the failed condition.
//!
//! Renewal: a token is renewed from the later of `expiresAt −
//! ROOM_REFRESH_MARGIN_S` and the midpoint of its own lifetime (so a token
//! that lives less than the margin is not minted anew by every `PUT`), by a
//! claim conditional on the old token. While the current token is valid a
//! `PUT` never waits for nor fails with a renewal: it answers that token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::logging::chain;
use crate::providers::{Minted, TokenSource, UpstreamError, UpstreamTrace};

/// How often a waiting `PUT` re-reads the room: from the first interval,
/// growing by half each time up to the last, with jitter, so that many
/// waiters do not hammer the table in step.
const POLL_FIRST: Duration = Duration::from_millis(25);
const POLL_MAX: Duration = Duration::from_millis(250);

/// The time a waiter keeps for its last read of the room.
const READ_RESERVE: Duration = Duration::from_millis(100);

/// Added to a claimant's budget for its lease: clocks of two instances may
/// differ this much.
const LEASE_SKEW_MS: i64 = 1_000;

/// A room as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RoomItem {
    pub token: Option<String>,
    /// Epoch seconds: the token's expiry, or a claim's lease end on a room
    /// without a token (so that DynamoDB's TTL deletes a failed creation).
    pub expires_at: Option<i64>,
    /// Epoch seconds: when the current token was minted.
    pub minted_at: Option<i64>,
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
            .field("minted_at", &self.minted_at)
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

    /// When the token is due for renewal: the later of `expires − margin`
    /// and the midpoint of its lifetime (when its minting time is known).
    fn renew_at(&self, expires: i64, margin: i64) -> i64 {
        let by_margin = expires.saturating_sub(margin);
        match self.minted_at {
            Some(minted) if minted < expires => by_margin.max(minted + (expires - minted) / 2),
            _ => by_margin,
        }
    }

    /// Whether a claim's lease is live at `now_ms`.
    fn leased(&self, now_ms: i64) -> bool {
        self.lease_until.is_some_and(|lease| lease >= now_ms)
    }

    fn from_attributes(item: &HashMap<String, AttributeValue>) -> Self {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        };
        Self {
            token: text("token"),
            expires_at: number("expiresAt"),
            minted_at: number("mintedAt"),
            created_at: number("createdAt"),
            claim_id: text("claimId"),
            lease_until: number("leaseUntil"),
        }
    }
}

/// A store failure: `503 store_unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("room store failed: {0}")]
    Failed(String),
    #[error("room store did not answer before the request's deadline")]
    OutOfTime,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Store(Box::new(error))
    }
}

/// What a claim needs to hold for the conditional write. No `Debug`: it
/// holds a token.
struct Claim<'a> {
    id: &'a str,
    now_ms: i64,
    lease_until: i64,
    /// The token seen, which the room must still hold (renewal, or an
    /// expired token); `None`: the room must hold no token (creation).
    old_token: Option<&'a str>,
    /// The `expiresAt` written with the claim when the room has no valid
    /// token; `None` leaves it (a valid token's expiry is never shortened).
    expires_at: Option<i64>,
}

/// Where rooms live. `Debug` names neither rooms nor tokens.
pub enum RoomStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<HashMap<String, RoomItem>>),
}

impl std::fmt::Debug for RoomStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dynamo { table, .. } => f
                .debug_struct("Dynamo")
                .field("table", table)
                .finish_non_exhaustive(),
            Self::Memory(map) => f.debug_struct("Memory").field("rooms", &lock(map).len()).finish(),
        }
    }
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
                    .map_err(|e| StoreError::Failed(DisplayErrorContext(&e).to_string()))?;
                Ok(output.item().map(RoomItem::from_attributes))
            }
        }
    }

    /// Takes the claim if no live lease holds the room and it still holds
    /// the token seen (or none). `true` when the claim is ours, also when
    /// the write was applied but its reply lost (the item read back from the
    /// failed retry's condition carries our claim id).
    async fn claim(&self, room: &str, claim: &Claim<'_>) -> Result<bool, StoreError> {
        match self {
            Self::Memory(map) => {
                let mut map = lock(map);
                let item = map.entry(room.to_owned()).or_default();
                let lease_free = !item.leased(claim.now_ms);
                let same_token = item.token.as_deref() == claim.old_token;
                if !(lease_free && same_token) {
                    return Ok(false);
                }
                item.claim_id = Some(claim.id.to_owned());
                item.lease_until = Some(claim.lease_until);
                if let Some(expires) = claim.expires_at {
                    // No valid token: an expired one goes, so that no reader
                    // mistakes it for valid under the claim's expiry.
                    item.expires_at = Some(expires);
                    item.token = None;
                    item.minted_at = None;
                }
                Ok(true)
            }
            Self::Dynamo { client, table } => {
                let lease_free = "(attribute_not_exists(leaseUntil) OR leaseUntil < :now)";
                let condition = match claim.old_token {
                    Some(_) => format!("{lease_free} AND #t = :old"),
                    None => format!("{lease_free} AND attribute_not_exists(#t)"),
                };
                let mut update = "SET claimId = :id, leaseUntil = :lease".to_owned();
                let mut request = client
                    .update_item()
                    .table_name(table)
                    .key("room", AttributeValue::S(room.to_owned()))
                    .condition_expression(condition)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .expression_attribute_names("#t", "token")
                    .expression_attribute_values(":id", AttributeValue::S(claim.id.to_owned()))
                    .expression_attribute_values(":lease", AttributeValue::N(claim.lease_until.to_string()))
                    .expression_attribute_values(":now", AttributeValue::N(claim.now_ms.to_string()));
                if let Some(old) = claim.old_token {
                    request = request.expression_attribute_values(":old", AttributeValue::S(old.to_owned()));
                }
                if let Some(expires) = claim.expires_at {
                    // No valid token: an expired one goes, so that no reader
                    // mistakes it for valid under the claim's expiry.
                    update.push_str(", expiresAt = :exp REMOVE #t, mintedAt");
                    request =
                        request.expression_attribute_values(":exp", AttributeValue::N(expires.to_string()));
                }
                conditional(request.update_expression(update).send().await, |old| {
                    old.claim_id.as_deref() == Some(claim.id)
                })
            }
        }
    }

    /// Writes the minted token, if the claim is still ours, and drops the
    /// lease. `true` when written (also when the reply was lost: the item
    /// read back already holds this token).
    async fn fulfil(
        &self,
        room: &str,
        claim_id: &str,
        token: &Minted,
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
                    token: Some(token.token().to_owned()),
                    expires_at: Some(expires_at),
                    minted_at: Some(now),
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
                        "SET #t = :token, expiresAt = :exp, mintedAt = :now, createdAt = if_not_exists(createdAt, :now) \
                         REMOVE claimId, leaseUntil",
                    )
                    .condition_expression("claimId = :id")
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .expression_attribute_names("#t", "token")
                    .expression_attribute_values(":token", AttributeValue::S(token.token().to_owned()))
                    .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                    .expression_attribute_values(":id", AttributeValue::S(claim_id.to_owned()))
                    .send()
                    .await,
                |old| old.token.as_deref() == Some(token.token()),
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
                |_| false,
            )
            .map(drop),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A conditional update: `Ok(false)` when its condition did not hold, unless
/// `applied` recognises in the item read back (`ALL_OLD`) that an earlier
/// attempt of this very write went through and only its reply was lost.
fn conditional<O>(
    result: Result<O, SdkError<UpdateItemError>>,
    applied: impl FnOnce(&RoomItem) -> bool,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) => match e.err() {
            UpdateItemError::ConditionalCheckFailedException(failed) => Ok(failed
                .item()
                .is_some_and(|old| applied(&RoomItem::from_attributes(old)))),
            other => Err(StoreError::Failed(DisplayErrorContext(other).to_string())),
        },
        Err(e) => Err(StoreError::Failed(DisplayErrorContext(&e).to_string())),
    }
}

/// A room's token, as answered to a client. `Debug` shows neither the room
/// name (a capability) nor the token.
pub struct RoomToken {
    pub room: String,
    pub token: Minted,
    /// Whether this call minted it (201) rather than joined (200).
    pub minted: bool,
}

impl std::fmt::Debug for RoomToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomToken")
            .field("room", &fingerprint(&self.room))
            .field("token", &self.token)
            .field("minted", &self.minted)
            .finish()
    }
}

/// Rooms: the store and the timing rules.
#[derive(Debug)]
pub struct Rooms {
    store: RoomStore,
    /// Renew a token that expires within this many seconds (and is past
    /// the midpoint of its lifetime).
    refresh_margin: i64,
    /// Lifetime of a token without `exp`, seconds.
    default_ttl: i64,
}

impl Rooms {
    /// `refresh_margin` and `default_ttl` as `Config` validates them
    /// (`ROOM_REFRESH_MARGIN_S`, `ROOM_TTL_S`).
    pub fn new(store: RoomStore, refresh_margin: Duration, default_ttl: Duration) -> Self {
        Self {
            store,
            refresh_margin: secs(refresh_margin),
            default_ttl: secs(default_ttl),
        }
    }

    /// `GET /rooms/{name}`: the room's token while valid. Never calls CAS,
    /// never waits.
    pub async fn get(&self, room: &str, deadline: Deadline) -> Result<RoomToken, ApiError> {
        let item = self.read(room, deadline).await?;
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
        provider: &impl TokenSource,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<RoomToken, ApiError> {
        let mut poll = POLL_FIRST;
        loop {
            let item = self.read(room, deadline).await?.unwrap_or_default();
            let now_ms = Timestamp::now().as_millisecond();
            let now = now_ms.div_euclid(1000);
            if let Some((token, expires)) = item.valid_token(now) {
                if now < item.renew_at(expires, self.refresh_margin) || item.leased(now_ms) {
                    // Fresh, or another instance is renewing it.
                    return Ok(self.answer(room, token, expires, false));
                }
                return Ok(self.renew(room, token, expires, provider, trace, deadline).await);
            }
            if !item.leased(now_ms) {
                let id = claim_id()?;
                let lease_until = lease_end(now_ms, deadline);
                let claim = Claim {
                    id: &id,
                    now_ms,
                    lease_until,
                    old_token: item.token.as_deref(),
                    expires_at: Some(lease_until.div_euclid(1000) + 1),
                };
                if self.claim(room, &claim, deadline).await? {
                    tracing::info!(room = %fingerprint(room), "room claimed; minting its token");
                    if let Some(minted) = self.mint(room, &id, provider, trace, deadline).await? {
                        return Ok(minted);
                    }
                }
            }
            // Wait for the claimant, while a read still fits in the time
            // left; then the wait has run out (504), not the table (503).
            let left = deadline.remaining().saturating_sub(READ_RESERVE);
            if left.is_zero() {
                return Err(UpstreamError::Timeout.into());
            }
            tokio::time::sleep(jittered(poll).min(left)).await;
            poll = (poll * 3 / 2).min(POLL_MAX);
        }
    }

    /// Renews a room whose `current` token is still valid: the new token when
    /// this call claims the room and mints it in time, else `current` (the
    /// failure logged), never an error.
    async fn renew(
        &self,
        room: &str,
        current: &str,
        expires: i64,
        provider: &impl TokenSource,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> RoomToken {
        let now_ms = Timestamp::now().as_millisecond();
        let Ok(id) = claim_id() else {
            return self.answer(room, current, expires, false);
        };
        let claim = Claim {
            id: &id,
            now_ms,
            lease_until: lease_end(now_ms, deadline),
            old_token: Some(current),
            expires_at: None,
        };
        let renewed = match self.claim(room, &claim, deadline).await {
            Ok(true) => {
                tracing::info!(room = %fingerprint(room), "room claimed for renewal; minting a new token");
                self.mint(room, &id, provider, trace, deadline).await
            }
            // Another instance renews (or has renewed) it.
            Ok(false) => Ok(None),
            Err(error) => Err(ApiError::from(error)),
        };
        match renewed {
            Ok(Some(minted)) => minted,
            Ok(None) => self.answer(room, current, expires, false),
            Err(error) => {
                tracing::warn!(
                    room = %fingerprint(room),
                    error = %chain(&error),
                    "room renewal failed; answering the current token"
                );
                self.answer(room, current, expires, false)
            }
        }
    }

    /// Mints the room's token under our claim and writes it: `None` when the
    /// claim was lost meanwhile (its lease lapsed and another instance took
    /// the room over; ours is dropped). A failed mint releases the claim.
    async fn mint(
        &self,
        room: &str,
        claim_id: &str,
        provider: &impl TokenSource,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Option<RoomToken>, ApiError> {
        let minted = match provider.mint(trace, deadline).await {
            Ok(minted) => minted,
            Err(error) => {
                // Best effort, and not past the deadline: an unreleased claim
                // lapses with its lease.
                let released = in_time(deadline.within(self.store.release(room, claim_id)).await);
                if released.is_err() {
                    tracing::warn!(room = %fingerprint(room), "could not release the room claim; it lapses with its lease");
                }
                return Err(error.into());
            }
        };
        let now = Timestamp::now().as_second();
        let expires = minted
            .expires_at()
            .map_or(now.saturating_add(self.default_ttl), |e| e.as_second());
        let written = in_time(
            deadline
                .within(self.store.fulfil(room, claim_id, &minted, expires, now))
                .await,
        )?;
        if written {
            Ok(Some(self.answer(room, minted.token(), expires, true)))
        } else {
            tracing::warn!(room = %fingerprint(room), "room claim lost before the token was written");
            Ok(None)
        }
    }

    async fn read(&self, room: &str, deadline: Deadline) -> Result<Option<RoomItem>, StoreError> {
        in_time(deadline.within(self.store.get(room)).await)
    }

    async fn claim(&self, room: &str, claim: &Claim<'_>, deadline: Deadline) -> Result<bool, StoreError> {
        in_time(deadline.within(self.store.claim(room, claim)).await)
    }

    fn answer(&self, room: &str, token: &str, expires: i64, minted: bool) -> RoomToken {
        RoomToken {
            room: room.to_owned(),
            token: Minted::with_expiry(token.to_owned(), Timestamp::from_second(expires).ok()),
            minted,
        }
    }
}

/// A store call's outcome, `OutOfTime` (503) when the request's deadline
/// came first.
fn in_time<T>(outcome: Result<Result<T, StoreError>, tokio::time::error::Elapsed>) -> Result<T, StoreError> {
    outcome.unwrap_or(Err(StoreError::OutOfTime))
}

/// A claim's lease end (epoch ms): the claimant cannot work past its
/// deadline, so its budget (and a clock skew allowance) covers it.
fn lease_end(now_ms: i64, deadline: Deadline) -> i64 {
    let budget = i64::try_from(deadline.remaining().as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_add(budget).saturating_add(LEASE_SKEW_MS)
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

/// A claim's id: random, since an instance recognises its own claim by it
/// (also after a lost reply). Without randomness there is no safe claim.
fn claim_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
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
