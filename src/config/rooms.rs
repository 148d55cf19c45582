//! Rooms: `ROOM_TTL_S`, `ROOM_REFRESH_MARGIN_S` and `ROOMS_MEMORY_MAX`
//! (`ROOMS_TABLE` is read as it is).

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::env::{ConfigError, Env, invalid};
use crate::rooms::DEFAULT_MEMORY_MAX;

/// `ROOMS_MEMORY_MAX`: one room to ten million (local mode's memory).
pub(super) const ROOMS_MEMORY_MAX_RANGE: RangeInclusive<usize> = 1..=10_000_000;

/// The most rooms local mode holds in memory (`ROOMS_MEMORY_MAX`).
pub(super) fn memory_max(env: &Env<'_>) -> Result<usize, ConfigError> {
    let Some(value) = env.get("ROOMS_MEMORY_MAX") else {
        return Ok(DEFAULT_MEMORY_MAX);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|max| ROOMS_MEMORY_MAX_RANGE.contains(max))
        .ok_or_else(|| {
            invalid(
                "ROOMS_MEMORY_MAX",
                "expected a whole number of rooms from 1 to 10000000",
            )
        })
}

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
