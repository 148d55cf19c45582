//! Rooms: `ROOM_TTL_S` and `ROOM_REFRESH_MARGIN_S` (`ROOMS_TABLE` is read
//! as it is).

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::env::{ConfigError, Env, invalid};

/// `ROOM_TTL_S`: a minute to 30 days.
pub(super) const ROOM_TTL_RANGE: RangeInclusive<u64> = 60..=2_592_000;
/// `ROOM_REFRESH_MARGIN_S`: none to a day (and below `ROOM_TTL_S`).
pub(super) const ROOM_REFRESH_MARGIN_RANGE: RangeInclusive<u64> = 0..=86_400;

/// The rooms' lifetime and refresh margin, checked whether or not rooms
/// are enabled.
pub(super) fn timing(env: &Env<'_>) -> Result<(Duration, Duration), ConfigError> {
    let room_ttl = env.seconds("ROOM_TTL_S", 86_400, ROOM_TTL_RANGE)?;
    let room_refresh_margin = env.seconds("ROOM_REFRESH_MARGIN_S", 60, ROOM_REFRESH_MARGIN_RANGE)?;
    if room_refresh_margin >= room_ttl {
        return Err(invalid(
            "ROOM_REFRESH_MARGIN_S",
            format!("must be below ROOM_TTL_S ({} s)", room_ttl.as_secs()),
        ));
    }
    Ok((room_ttl, room_refresh_margin))
}
