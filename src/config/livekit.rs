//! LiveKit: `LIVEKIT_URL` and the policy, `LIVEKIT_ROOMS`, `LIVEKIT_GRANTS`,
//! `LIVEKIT_TTL_S`, `LIVEKIT_ROOM_CONFIG`, `LIVEKIT_IDENTITY` and the
//! `LIVEKIT_MAX_*` bounds (read only when `LIVEKIT_URL` is set).

use std::ops::RangeInclusive;

use crate::config::env::{ConfigError, Env, check_base_url, invalid};
use crate::providers::livekit::{
    AllowedRooms, DEV_URL, Grants, IdentitySource, LiveKitConfig, LiveKitPolicy, RoomPattern,
};

/// Local mode without `LIVEKIT_URL`: LiveKit's development server as
/// `livekit-server --dev` runs it (`ws://localhost:7880`, key `devkey`,
/// secret `secret`), any room, the default policy. Never under Lambda.
pub(super) fn livekit_dev(env: &Env<'_>, lambda: bool) -> Option<LiveKitConfig> {
    (!lambda && env.get("LIVEKIT_URL").is_none()).then(|| LiveKitConfig {
        url: DEV_URL.to_owned(),
        policy: LiveKitPolicy {
            rooms: AllowedRooms::Any,
            grants: Grants {
                publish: true,
                subscribe: true,
                data: true,
            },
            ttl: 600,
            room_config: false,
            identity: IdentitySource::Caller,
            max_name: 128,
            max_metadata: 4096,
            max_attributes: 4096,
        },
    })
}

/// `LIVEKIT_TTL_S`: a minute to a day (the first connect must come before
/// it; LiveKit's server refreshes the tokens of connected participants).
pub(super) const LIVEKIT_TTL_RANGE: RangeInclusive<u64> = 60..=86_400;

pub(super) fn livekit(env: &Env<'_>) -> Result<Option<LiveKitConfig>, ConfigError> {
    let Some(url) = env.get("LIVEKIT_URL") else {
        return Ok(None);
    };
    // wss, or ws for a loopback host (a local LiveKit server).
    check_base_url(&url, "wss", "ws").map_err(|reason| invalid("LIVEKIT_URL", reason))?;
    let rooms = env
        .allow_list(
            "LIVEKIT_ROOMS",
            "required when LIVEKIT_URL is set (room names, prefixes ending in *, or *)",
            "room name or prefix* (1-128 of A-Z a-z 0-9 . _ ~ -)",
            RoomPattern::parse,
        )?
        .map_or(AllowedRooms::Any, AllowedRooms::List);
    let [publish, subscribe, data] = env.flags(
        "LIVEKIT_GRANTS",
        "publish,subscribe,data",
        "grant",
        ["publish", "subscribe", "data"],
    )?;
    let grants = Grants {
        publish,
        subscribe,
        data,
    };
    let ttl = env.seconds("LIVEKIT_TTL_S", 600, LIVEKIT_TTL_RANGE)?.as_secs();
    let room_config = match env.get("LIVEKIT_ROOM_CONFIG").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(invalid("LIVEKIT_ROOM_CONFIG", "expected true or false")),
    };
    let identity = match env.get("LIVEKIT_IDENTITY").as_deref() {
        None | Some("caller") => IdentitySource::Caller,
        Some("request") => IdentitySource::Request,
        Some(_) => return Err(invalid("LIVEKIT_IDENTITY", "expected caller or request")),
    };
    let chars = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
        let value = env.get(name).map_or(Ok(default), |v| {
            v.parse::<usize>()
                .map_err(|_| invalid(name, "expected a whole number of bytes"))
        })?;
        if value > 65_536 {
            return Err(invalid(name, "must be at most 65536 bytes"));
        }
        Ok(value)
    };
    Ok(Some(LiveKitConfig {
        url,
        policy: LiveKitPolicy {
            rooms,
            grants,
            ttl,
            room_config,
            identity,
            max_name: chars("LIVEKIT_MAX_NAME", 128)?,
            max_metadata: chars("LIVEKIT_MAX_METADATA", 4096)?,
            max_attributes: chars("LIVEKIT_MAX_ATTRIBUTES", 4096)?,
        },
    }))
}
