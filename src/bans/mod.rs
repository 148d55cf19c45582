//! Bans: "not this user any more". An operator's backend bans an identity
//! (for every room, or for rooms matching patterns; until deleted or for a
//! time) through the admin routes, and while the ban holds no token route
//! issues a token to that identity. Kept in DynamoDB (`BANS_TABLE`, read
//! strongly consistent, so a ban answered on one instance holds on every
//! other at once) or, in local mode, in memory ([`store`]).
//!
//! The store never holds an identity: an entry is keyed by the SHA-256 of
//! the identity ([`key_of`]); the admin names the identity to read it back.

use std::time::Duration;

use jiff::Timestamp;

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::logging::chain;
use crate::names::{RoomPattern, is_plain_text};
use crate::quota::FailMode;

mod store;
#[cfg(test)]
mod tests;

pub use store::BanStore;
pub(crate) use store::BanStoreError;

/// The longest identity a ban names, in UTF-8 bytes (every provider's
/// identity fits: LiveKit's bound is the largest).
pub(crate) const MAX_IDENTITY: usize = 256;
/// The longest room pattern of a ban, in bytes (Vonage's session ids are
/// the longest room names).
pub(crate) const MAX_ROOM_PATTERN: usize = 256;
/// The most room patterns one ban holds.
pub(crate) const MAX_ROOMS: usize = 50;
/// The longest `reason`, in bytes.
pub(crate) const MAX_REASON: usize = 512;
/// The longest `ttl_s`: a year.
pub(crate) const MAX_TTL_S: u64 = 366 * 86_400;

/// One ban as stored. `Debug` shows the reason's length, not its text.
#[derive(Clone, PartialEq, Eq)]
pub struct Ban {
    /// The patterns of the rooms it covers; `None`: every room, and the
    /// routes that name no room (`/token`, Agora's RTM).
    pub rooms: Option<Vec<String>>,
    /// Epoch seconds; `None`: until deleted.
    pub expires_at: Option<i64>,
    pub reason: Option<String>,
}

impl std::fmt::Debug for Ban {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ban")
            .field("rooms", &self.rooms.as_ref().map(Vec::len))
            .field("expires_at", &self.expires_at)
            .field("reason", &self.reason.as_ref().map(String::len))
            .finish()
    }
}

impl Ban {
    /// Whether the ban holds at `now` for a token for `room` (`None`: a
    /// route that names no room, which only a ban of every room covers).
    pub fn covers(&self, room: Option<&str>, now: i64) -> bool {
        if self.expires_at.is_some_and(|expires| expires <= now) {
            return false;
        }
        match (&self.rooms, room) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(patterns), Some(room)) => patterns
                .iter()
                .filter_map(|p| parse_pattern(p))
                .any(|p| p.matches(room)),
        }
    }

    /// The rooms named exactly (no `*`): where LiveKit can remove the
    /// participant.
    pub fn concrete_rooms(&self) -> impl Iterator<Item = &str> {
        self.rooms
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|r| !r.ends_with('*'))
    }
}

/// A room pattern of a ban: a name, or a prefix ending in `*`, in any
/// route's room alphabet (rooms, channels, streams, sessions): plain text
/// of at most [`MAX_ROOM_PATTERN`] bytes, no other `*`.
pub fn parse_pattern(text: &str) -> Option<RoomPattern> {
    RoomPattern::parse_with(text, |name| {
        !name.is_empty()
            && !name.contains('*')
            && !name.contains(' ')
            && is_plain_text(name, MAX_ROOM_PATTERN)
    })
}

/// An identity as a ban names it: 1 to [`MAX_IDENTITY`] bytes of plain
/// text.
pub fn is_identity(identity: &str) -> bool {
    !identity.is_empty() && is_plain_text(identity, MAX_IDENTITY)
}

/// The store's key of an identity: its SHA-256, hex.
pub(crate) fn key_of(identity: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, identity.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// No ban holds.
    Clear,
    /// The table could not be read and `BANS_FAIL=open`: served unchecked.
    Bypassed,
}

/// The bans of one deployment.
#[derive(Debug)]
pub struct Bans {
    store: BanStore,
    fail: FailMode,
}

impl Bans {
    pub fn new(store: BanStore, fail: FailMode) -> Self {
        Self { store, fail }
    }

    /// Whether a token for `identity` (in `room`) may be issued: `403
    /// banned` while a ban covers it; when the table cannot be read in
    /// time, `503 bans_unavailable` (`BANS_FAIL=closed`) or
    /// [`Checked::Bypassed`] (`open`, logged as an error).
    pub async fn check(
        &self,
        identity: &str,
        room: Option<&str>,
        deadline: Deadline,
    ) -> Result<Checked, ApiError> {
        let read = deadline
            .within(self.store.get(&key_of(identity)))
            .await
            .unwrap_or(Err(BanStoreError::OutOfTime));
        match read {
            Ok(Some(ban)) if ban.covers(room, Timestamp::now().as_second()) => Err(ApiError::Banned),
            Ok(_) => Ok(Checked::Clear),
            Err(error) => match self.fail {
                FailMode::Open => {
                    tracing::error!(error = %chain(&error), "bans table unusable: serving unchecked (BANS_FAIL=open)");
                    Ok(Checked::Bypassed)
                }
                FailMode::Closed => Err(ApiError::BansUnavailable(Box::new(error))),
            },
        }
    }

    /// The ban of `identity`, while it holds.
    pub async fn get(&self, identity: &str, deadline: Deadline) -> Result<Option<Ban>, ApiError> {
        let now = Timestamp::now().as_second();
        let ban = within(deadline, self.store.get(&key_of(identity))).await?;
        Ok(ban.filter(|ban| ban.expires_at.is_none_or(|expires| expires > now)))
    }

    /// Bans `identity` (replacing any ban it had).
    pub async fn put(&self, identity: &str, ban: &Ban, deadline: Deadline) -> Result<(), ApiError> {
        within(deadline, self.store.put(&key_of(identity), ban)).await
    }

    /// Lifts the ban of `identity`, if any.
    pub async fn delete(&self, identity: &str, deadline: Deadline) -> Result<(), ApiError> {
        within(deadline, self.store.delete(&key_of(identity))).await
    }
}

/// An admin call to the store: `503 bans_unavailable` when it fails or the
/// deadline comes first (an admin write never fails open).
async fn within<T>(
    deadline: Deadline,
    call: impl Future<Output = Result<T, BanStoreError>>,
) -> Result<T, ApiError> {
    deadline
        .within(call)
        .await
        .unwrap_or(Err(BanStoreError::OutOfTime))
        .map_err(|error| ApiError::BansUnavailable(Box::new(error)))
}

/// A ban's end, `ttl` from now (epoch seconds).
pub(crate) fn expiry(ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|ttl| {
        Timestamp::now()
            .as_second()
            .saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
    })
}
