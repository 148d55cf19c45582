//! Agora: `AGORA_APP_ID` and the policy, `AGORA_CHANNELS`, `AGORA_ROLES`,
//! `AGORA_TTL_S`, `AGORA_MAX_TTL_S` and `AGORA_IDENTITY` (read only when
//! `AGORA_APP_ID` is set; the app certificate is a credential).

use std::ops::RangeInclusive;

use crate::config::env::{ConfigError, Env, invalid};
use crate::names::is_channel_name;
use crate::providers::agora::{
    AgoraConfig, AgoraPolicy, AllowedRooms, IdentitySource, MAX_TTL, Roles, RoomPattern,
};
use crate::secrets::is_hex32;

/// `AGORA_TTL_S` and `AGORA_MAX_TTL_S`: a minute to a day (Agora's ceiling).
pub(super) const AGORA_TTL_RANGE: RangeInclusive<u64> = 60..=MAX_TTL as u64;

pub(super) fn agora(env: &Env<'_>) -> Result<Option<AgoraConfig>, ConfigError> {
    let Some(app_id) = env.get("AGORA_APP_ID") else {
        return Ok(None);
    };
    if !is_hex32(&app_id) {
        return Err(invalid("AGORA_APP_ID", "expected 32 hexadecimal digits"));
    }
    let channels = env
        .allow_list(
            "AGORA_CHANNELS",
            "required when AGORA_APP_ID is set (channel names, prefixes ending in *, or *)",
            "channel name or prefix* (1-64 bytes of Agora's channel alphabet, no comma)",
            |entry| RoomPattern::parse_with(entry, is_channel_name),
        )?
        .map_or(AllowedRooms::Any, AllowedRooms::List);
    let [publisher, subscriber] = env.flags(
        "AGORA_ROLES",
        "publisher,subscriber",
        "role",
        ["publisher", "subscriber"],
    )?;
    let max_ttl = env.seconds("AGORA_MAX_TTL_S", 3600, AGORA_TTL_RANGE)?.as_secs();
    let ttl = env
        .seconds("AGORA_TTL_S", 3600.min(max_ttl), AGORA_TTL_RANGE)?
        .as_secs();
    if ttl > max_ttl {
        return Err(invalid(
            "AGORA_TTL_S",
            format!("must be at most AGORA_MAX_TTL_S ({max_ttl})"),
        ));
    }
    let identity = match env.get("AGORA_IDENTITY").as_deref() {
        None | Some("caller") => IdentitySource::Caller,
        Some("request") => IdentitySource::Request,
        Some(_) => return Err(invalid("AGORA_IDENTITY", "expected caller or request")),
    };
    Ok(Some(AgoraConfig {
        app_id,
        policy: AgoraPolicy {
            channels,
            roles: Roles {
                publisher,
                subscriber,
            },
            // Both within a day: they fit.
            ttl: ttl as u32,
            max_ttl: max_ttl as u32,
            identity,
        },
    }))
}
