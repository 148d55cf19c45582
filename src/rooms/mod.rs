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

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::logging::chain;
use crate::providers::{Minted, TokenSource, UpstreamError, UpstreamTrace};
use crate::rooms::store::{Claim, RoomItem, StoreError};

mod name;
mod store;

pub use name::RoomName;
pub(crate) use store::DEFAULT_MEMORY_MAX;
pub use store::RoomStore;

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

/// A room's token, as answered to a client. `Debug` shows neither the room
/// name (a capability: only its fingerprint) nor the token.
#[derive(Debug)]
pub struct RoomToken {
    pub room: RoomName,
    pub token: Minted,
    /// Whether this call minted it (201) rather than joined (200).
    pub minted: bool,
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
    pub async fn get(&self, room: &RoomName, deadline: Deadline) -> Result<RoomToken, ApiError> {
        let item = self.read(room, deadline).await?;
        let now_ms = Timestamp::now().as_millisecond();
        if item.as_ref().is_some_and(|i| i.ended(now_ms)) {
            return Err(ApiError::RoomEnded);
        }
        let now = now_ms.div_euclid(1000);
        match item.as_ref().and_then(|i| i.valid_token(now)) {
            Some((token, expires)) => Ok(self.answer(room, token, expires, false)),
            None => Err(ApiError::RoomNotFound),
        }
    }

    /// `PUT /rooms/{name}` (and `POST /rooms` with a new name): joins a ready
    /// room, or mints its token (creation or renewal), exactly once.
    pub async fn put(
        &self,
        room: &RoomName,
        provider: &impl TokenSource,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<RoomToken, ApiError> {
        let mut poll = POLL_FIRST;
        loop {
            let item = self.read(room, deadline).await?.unwrap_or_default();
            let now_ms = Timestamp::now().as_millisecond();
            if item.ended(now_ms) {
                return Err(ApiError::RoomEnded);
            }
            let now = now_ms.div_euclid(1000);
            if let Some((token, expires)) = item.valid_token(now) {
                if now < item.renew_at(expires, self.refresh_margin) || item.leased(now_ms) {
                    // Fresh, or another instance is renewing it.
                    return Ok(self.answer(room, token, expires, false));
                }
                return self.renew(room, token, expires, provider, trace, deadline).await;
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
                    tracing::info!(room = %room, "room claimed; minting its token");
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

    /// `DELETE /admin/rooms/{name}`: the room's token goes and its name is
    /// closed for `ROOM_TTL_S`: reads and joins answer `410 room_ended`, and
    /// no token is minted under it until then. A token handed out already
    /// stays valid upstream until its own expiry.
    pub async fn end(&self, room: &RoomName, deadline: Deadline) -> Result<(), ApiError> {
        let until = Timestamp::now()
            .as_millisecond()
            .saturating_add(self.default_ttl.saturating_mul(1000));
        Ok(in_time(deadline.within(self.store.end(room, until)).await)?)
    }

    /// Renews a room whose `current` token is still valid: the new token when
    /// this call claims the room and mints it in time, else `current` (the
    /// failure logged), never an error.
    async fn renew(
        &self,
        room: &RoomName,
        current: &str,
        expires: i64,
        provider: &impl TokenSource,
        trace: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<RoomToken, ApiError> {
        let now_ms = Timestamp::now().as_millisecond();
        let Ok(id) = claim_id() else {
            return Ok(self.answer(room, current, expires, false));
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
                tracing::info!(room = %room, "room claimed for renewal; minting a new token");
                self.mint(room, &id, provider, trace, deadline).await
            }
            // Another instance renews (or has renewed) it.
            Ok(false) => Ok(None),
            Err(error) => Err(ApiError::from(error)),
        };
        match renewed {
            Ok(Some(minted)) => return Ok(minted),
            Ok(None) => {}
            Err(error) => tracing::warn!(
                room = %room,
                error = %chain(&error),
                "room renewal failed; answering the current token"
            ),
        }
        // Not renewed here: the room may have been ended meanwhile (which
        // takes the claim away). Then the current token is not answered.
        let now_ms = Timestamp::now().as_millisecond();
        if self
            .read(room, deadline)
            .await
            .is_ok_and(|item| item.is_some_and(|item| item.ended(now_ms)))
        {
            return Err(ApiError::RoomEnded);
        }
        Ok(self.answer(room, current, expires, false))
    }

    /// Mints the room's token under our claim and writes it: `None` when the
    /// claim was lost meanwhile (its lease lapsed and another instance took
    /// the room over; ours is dropped). A failed mint releases the claim.
    async fn mint(
        &self,
        room: &RoomName,
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
                    tracing::warn!(room = %room, "could not release the room claim; it lapses with its lease");
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
            tracing::warn!(room = %room, "room claim lost before the token was written");
            Ok(None)
        }
    }

    async fn read(&self, room: &RoomName, deadline: Deadline) -> Result<Option<RoomItem>, StoreError> {
        in_time(deadline.within(self.store.get(room)).await)
    }

    async fn claim(
        &self,
        room: &RoomName,
        claim: &Claim<'_>,
        deadline: Deadline,
    ) -> Result<bool, StoreError> {
        in_time(deadline.within(self.store.claim(room, claim)).await)
    }

    fn answer(&self, room: &RoomName, token: &str, expires: i64, minted: bool) -> RoomToken {
        RoomToken {
            room: room.clone(),
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

/// A claim's id: random, since an instance recognises its own claim by it
/// (also after a lost reply). Without randomness there is no safe claim.
fn claim_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
