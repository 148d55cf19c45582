//! Where rooms live: a DynamoDB table (`ROOMS_TABLE`, partition key
//! `room`) or, in local mode, memory. Every write is conditional; a write
//! whose reply was lost is recognised by the item read back (`ALL_OLD`)
//! from the failed condition of its retry.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::error::ApiError;
use crate::providers::Minted;
use crate::rooms::RoomName;

/// A room as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct RoomItem {
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
    /// Epoch milliseconds: the room was ended (`DELETE /admin/rooms/{name}`)
    /// and its name is closed until then.
    pub ended_until: Option<i64>,
    /// The memory store only: the second it last filed the room under
    /// ([`Expiries`]), so that writes that do not move it file it once.
    pub(super) filed: Option<i64>,
}

impl std::fmt::Debug for RoomItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomItem")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("expires_at", &self.expires_at)
            .field("minted_at", &self.minted_at)
            .field("lease_until", &self.lease_until)
            .field("ended_until", &self.ended_until)
            .finish()
    }
}

impl RoomItem {
    /// The token, when the room is ready and its token valid at `now`.
    pub(super) fn valid_token(&self, now: i64) -> Option<(&str, i64)> {
        match (&self.token, self.expires_at) {
            (Some(token), Some(expires)) if expires > now => Some((token, expires)),
            _ => None,
        }
    }

    /// When the token is due for renewal: the later of `expires − margin`
    /// and the midpoint of its lifetime (when its minting time is known).
    pub(super) fn renew_at(&self, expires: i64, margin: i64) -> i64 {
        let by_margin = expires.saturating_sub(margin);
        match self.minted_at {
            Some(minted) if minted < expires => by_margin.max(minted + (expires - minted) / 2),
            _ => by_margin,
        }
    }

    /// Whether a claim's lease is live at `now_ms`.
    pub(super) fn leased(&self, now_ms: i64) -> bool {
        self.lease_until.is_some_and(|lease| lease >= now_ms)
    }

    /// Whether the room was ended and its name is still closed at `now_ms`.
    pub(super) fn ended(&self, now_ms: i64) -> bool {
        self.ended_until.is_some_and(|until| until > now_ms)
    }

    /// Whether the memory store may forget the room at `now_ms`: no live
    /// lease, no token (or failed claim) still valid, not ended.
    fn forgettable(&self, now_ms: i64) -> bool {
        !self.leased(now_ms)
            && !self.ended(now_ms)
            && self.expires_at.is_none_or(|e| e <= now_ms.div_euclid(1000))
    }

    /// The first second (epoch) at which [`Self::forgettable`] holds.
    fn forgettable_from(&self) -> i64 {
        let lease = self.lease_until.map_or(i64::MIN, |ms| ms.div_euclid(1000) + 1);
        let ended = self.ended_until.map_or(i64::MIN, |ms| ms.div_euclid(1000) + 1);
        lease.max(ended).max(self.expires_at.unwrap_or(i64::MIN))
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
            ended_until: number("endedUntil"),
            filed: None,
        }
    }
}

/// A store failure: `503 store_unavailable`, or `503 rooms_full` when the
/// memory store holds its most rooms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("room store failed: {0}")]
    Failed(String),
    #[error("room store did not answer before the request's deadline")]
    OutOfTime,
    #[error("the memory store holds its most rooms (ROOMS_MEMORY_MAX)")]
    Full,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Full => Self::RoomsFull,
            error => Self::Store(Box::new(error)),
        }
    }
}

/// What a claim needs to hold for the conditional write. No `Debug`: it
/// holds a token.
pub(super) struct Claim<'a> {
    pub(super) id: &'a str,
    pub(super) now_ms: i64,
    pub(super) lease_until: i64,
    /// The token seen, which the room must still hold (renewal, or an
    /// expired token); `None`: the room must hold no token (creation).
    pub(super) old_token: Option<&'a str>,
    /// The `expiresAt` written with the claim when the room has no valid
    /// token; `None` leaves it (a valid token's expiry is never shortened).
    pub(super) expires_at: Option<i64>,
}

/// Where rooms live. `Debug` names neither rooms nor tokens.
pub enum RoomStore {
    Dynamo { client: DynamoClient, table: String },
    Memory(Mutex<MemoryRooms>),
}

impl std::fmt::Debug for RoomStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dynamo { table, .. } => f
                .debug_struct("Dynamo")
                .field("table", table)
                .finish_non_exhaustive(),
            Self::Memory(memory) => f.debug_tuple("Memory").field(&*lock(memory)).finish(),
        }
    }
}

/// Local mode's rooms: at most `max`, each forgotten once its token (or a
/// failed claim's lease) has expired, as DynamoDB's TTL would. Forgetting
/// costs O(1) amortized per write: every write files the room under the
/// second it may be forgotten ([`Expiries`]); a claim first forgets the
/// rooms filed under the seconds that have passed, never scanning the rest.
pub struct MemoryRooms {
    rooms: HashMap<String, RoomItem>,
    expiries: Expiries,
    max: usize,
}

/// The default most rooms in memory (`ROOMS_MEMORY_MAX`).
pub(crate) const DEFAULT_MEMORY_MAX: usize = 100_000;

impl std::fmt::Debug for MemoryRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRooms")
            .field("rooms", &self.rooms.len())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl MemoryRooms {
    /// Forgets the rooms due by `now_ms` (those not renewed since they
    /// were filed: a renewed room is filed again, later).
    fn forget_expired(&mut self, now_ms: i64) {
        let rooms = &mut self.rooms;
        self.expiries.sweep(now_ms.div_euclid(1000), |room| {
            if rooms.get(&room).is_some_and(|item| item.forgettable(now_ms)) {
                rooms.remove(&room);
            }
        });
    }

    /// Files `room` under the second it may be forgotten, as it now is,
    /// unless it is filed there already (a renewal's claim and its release
    /// leave the second as it was): filings grow with the writes that move
    /// a room's second, never with those that do not.
    fn file(&mut self, room: &str) {
        if let Some(item) = self.rooms.get_mut(room) {
            let second = self.expiries.bucket(item.forgettable_from());
            if item.filed != Some(second) {
                item.filed = Some(second);
                self.expiries.file(second, room);
            }
        }
    }
}

/// Rooms by the second (epoch) from which they may be forgotten: a timing
/// wheel with a bucket per second. A room is filed once per write (so
/// possibly several times); a sweep visits each second that has passed, or
/// each bucket when there are fewer buckets than seconds: each filing is
/// handled once, and each second of time at most once.
#[derive(Default)]
struct Expiries {
    due: HashMap<i64, Vec<String>>,
    /// Every second up to this one has been swept.
    swept: i64,
}

impl Expiries {
    /// The bucket a room due at `second` goes in: none before the next
    /// sweep's.
    fn bucket(&self, second: i64) -> i64 {
        second.max(self.swept + 1)
    }

    fn file(&mut self, second: i64, room: &str) {
        self.due
            .entry(self.bucket(second))
            .or_default()
            .push(room.to_owned());
    }

    fn sweep(&mut self, now: i64, mut forget: impl FnMut(String)) {
        if now <= self.swept {
            return;
        }
        let seconds: Vec<i64> = if usize::try_from(now - self.swept).unwrap_or(usize::MAX) > self.due.len() {
            self.due.keys().copied().filter(|second| *second <= now).collect()
        } else {
            (self.swept + 1..=now).collect()
        };
        for second in seconds {
            for room in self.due.remove(&second).into_iter().flatten() {
                forget(room);
            }
        }
        self.swept = now;
    }
}

impl RoomStore {
    /// The table's partition key: the room's name.
    pub(crate) const KEY: &str = "room";

    pub fn dynamo(client: DynamoClient, table: impl Into<String>) -> Self {
        Self::Dynamo {
            client,
            table: table.into(),
        }
    }

    /// Rooms in memory, at most [`DEFAULT_MEMORY_MAX`].
    pub fn memory() -> Self {
        Self::memory_holding(DEFAULT_MEMORY_MAX)
    }

    /// Rooms in memory, at most `max` (`ROOMS_MEMORY_MAX`): a new room
    /// beyond it is `503 rooms_full`; the rooms held are still served.
    pub fn memory_holding(max: usize) -> Self {
        Self::Memory(Mutex::new(MemoryRooms {
            rooms: HashMap::new(),
            expiries: Expiries::default(),
            max,
        }))
    }

    pub(super) async fn get(&self, room: &RoomName) -> Result<Option<RoomItem>, StoreError> {
        match self {
            Self::Memory(memory) => Ok(lock(memory).rooms.get(room.as_str()).cloned()),
            Self::Dynamo { client, table } => {
                let output = client
                    .get_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(room.as_str().to_owned()))
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
    pub(super) async fn claim(&self, room: &RoomName, claim: &Claim<'_>) -> Result<bool, StoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = lock(memory);
                memory.forget_expired(claim.now_ms);
                if !memory.rooms.contains_key(room.as_str()) {
                    // A room to create (none held, so no token seen).
                    if claim.old_token.is_some() {
                        return Ok(false);
                    }
                    if memory.rooms.len() >= memory.max {
                        return Err(StoreError::Full);
                    }
                }
                let memory = &mut *memory;
                let item = memory.rooms.entry(room.as_str().to_owned()).or_default();
                let lease_free = !item.leased(claim.now_ms) && !item.ended(claim.now_ms);
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
                    item.ended_until = None;
                }
                memory.file(room.as_str());
                Ok(true)
            }
            Self::Dynamo { client, table } => {
                // Free: no live lease, and not ended (or no longer).
                let lease_free = "(attribute_not_exists(leaseUntil) OR leaseUntil < :now) AND \
                                  (attribute_not_exists(endedUntil) OR endedUntil <= :now)";
                let condition = match claim.old_token {
                    Some(_) => format!("{lease_free} AND #t = :old"),
                    None => format!("{lease_free} AND attribute_not_exists(#t)"),
                };
                let mut update = "SET claimId = :id, leaseUntil = :lease".to_owned();
                let mut request = client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(room.as_str().to_owned()))
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
                    update.push_str(", expiresAt = :exp REMOVE #t, mintedAt, endedUntil");
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
    pub(super) async fn fulfil(
        &self,
        room: &RoomName,
        claim_id: &str,
        token: &Minted,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = lock(memory);
                let Some(item) = memory
                    .rooms
                    .get_mut(room.as_str())
                    .filter(|i| i.claim_id.as_deref() == Some(claim_id))
                else {
                    return Ok(false);
                };
                *item = RoomItem {
                    token: Some(token.token().to_owned()),
                    expires_at: Some(expires_at),
                    minted_at: Some(now),
                    created_at: Some(item.created_at.unwrap_or(now)),
                    claim_id: None,
                    lease_until: None,
                    ended_until: None,
                    filed: item.filed,
                };
                memory.file(room.as_str());
                Ok(true)
            }
            Self::Dynamo { client, table } => conditional(
                client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(room.as_str().to_owned()))
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

    /// Ends the room: its token, any claim and its lease go, and its name is
    /// closed until `until_ms` (the item then expires with DynamoDB's TTL).
    /// One unconditional write: a claimant's later write of its token is
    /// conditional on its claim, which this removes, so it fails.
    pub(super) async fn end(&self, room: &RoomName, until_ms: i64) -> Result<(), StoreError> {
        let expires = until_ms.div_euclid(1000) + 1;
        match self {
            Self::Memory(memory) => {
                let mut memory = lock(memory);
                memory.forget_expired(jiff::Timestamp::now().as_millisecond());
                if !memory.rooms.contains_key(room.as_str()) && memory.rooms.len() >= memory.max {
                    return Err(StoreError::Full);
                }
                let memory = &mut *memory;
                let item = memory.rooms.entry(room.as_str().to_owned()).or_default();
                *item = RoomItem {
                    expires_at: Some(expires),
                    ended_until: Some(until_ms),
                    created_at: item.created_at,
                    filed: item.filed,
                    ..RoomItem::default()
                };
                memory.file(room.as_str());
                Ok(())
            }
            Self::Dynamo { client, table } => client
                .update_item()
                .table_name(table)
                .key(Self::KEY, AttributeValue::S(room.as_str().to_owned()))
                .update_expression(
                    "SET endedUntil = :until, expiresAt = :exp REMOVE #t, mintedAt, claimId, leaseUntil",
                )
                .expression_attribute_names("#t", "token")
                .expression_attribute_values(":until", AttributeValue::N(until_ms.to_string()))
                .expression_attribute_values(":exp", AttributeValue::N(expires.to_string()))
                .send()
                .await
                .map(drop)
                .map_err(|e| StoreError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }

    /// Gives a claim up (the CAS call failed), if it is still ours.
    pub(super) async fn release(&self, room: &RoomName, claim_id: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory(memory) => {
                let mut memory = lock(memory);
                if let Some(item) = memory
                    .rooms
                    .get_mut(room.as_str())
                    .filter(|i| i.claim_id.as_deref() == Some(claim_id))
                {
                    item.claim_id = None;
                    item.lease_until = None;
                    memory.file(room.as_str());
                }
                Ok(())
            }
            Self::Dynamo { client, table } => conditional(
                client
                    .update_item()
                    .table_name(table)
                    .key(Self::KEY, AttributeValue::S(room.as_str().to_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_hands_over_each_filing_once_and_only_when_due() {
        let mut expiries = Expiries::default();
        let mut forgotten = Vec::new();
        expiries.sweep(1_000, |room| forgotten.push(room));
        expiries.file(1_005, "a");
        expiries.file(1_010, "b");
        // A filing in the past is due at the next sweep.
        expiries.file(900, "c");
        expiries.sweep(1_004, |room| forgotten.push(room));
        assert_eq!(forgotten, ["c"]);
        expiries.sweep(1_007, |room| forgotten.push(room));
        assert_eq!(forgotten, ["c", "a"]);
        // A long gap: the buckets are visited, not the seconds.
        expiries.sweep(1_000_000_000, |room| forgotten.push(room));
        assert_eq!(forgotten, ["c", "a", "b"]);
        assert!(expiries.due.is_empty());
    }

    #[test]
    fn a_room_renewed_after_it_was_filed_is_not_forgotten_at_its_old_second() {
        let mut memory = MemoryRooms {
            rooms: HashMap::new(),
            expiries: Expiries::default(),
            max: 10,
        };
        let item = |expires_at| RoomItem {
            token: Some("t".into()),
            expires_at: Some(expires_at),
            ..RoomItem::default()
        };
        memory.rooms.insert("room".into(), item(1_010));
        memory.file("room");
        // Renewed: its token now lasts to 1_100.
        memory.rooms.insert("room".into(), item(1_100));
        memory.file("room");
        memory.forget_expired(1_050_000);
        assert!(memory.rooms.contains_key("room"));
        memory.forget_expired(1_100_000);
        assert!(memory.rooms.is_empty());
    }
}
