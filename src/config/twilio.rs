//! Twilio: `TWILIO_ACCOUNT_SID` and the policy, `TWILIO_ROOMS`,
//! `TWILIO_TTL_S` and `TWILIO_IDENTITY` (read only when
//! `TWILIO_ACCOUNT_SID` is set; the API key is a credential).

use std::ops::RangeInclusive;

use crate::config::env::{ConfigError, Env, invalid};
use crate::providers::twilio::{
    AllowedRooms, IdentitySource, MAX_TTL, RoomPattern, TwilioConfig, TwilioPolicy,
};
use crate::secrets::is_sid;

/// `TWILIO_TTL_S`: a minute to a day (Twilio's ceiling).
pub(super) const TWILIO_TTL_RANGE: RangeInclusive<u64> = 60..=MAX_TTL as u64;

pub(super) fn twilio(env: &Env<'_>) -> Result<Option<TwilioConfig>, ConfigError> {
    let Some(account_sid) = env.get("TWILIO_ACCOUNT_SID") else {
        return Ok(None);
    };
    if !is_sid(&account_sid, "AC") {
        return Err(invalid(
            "TWILIO_ACCOUNT_SID",
            "expected AC followed by 32 hexadecimal digits",
        ));
    }
    let rooms = env
        .allow_list(
            "TWILIO_ROOMS",
            "required when TWILIO_ACCOUNT_SID is set (room names, prefixes ending in *, or *)",
            "room name or prefix* (1-128 of A-Z a-z 0-9 . _ ~ -)",
            RoomPattern::parse,
        )?
        .map_or(AllowedRooms::Any, AllowedRooms::List);
    let ttl = env.seconds("TWILIO_TTL_S", 3600, TWILIO_TTL_RANGE)?.as_secs();
    let identity = match env.get("TWILIO_IDENTITY").as_deref() {
        None | Some("caller") => IdentitySource::Caller,
        Some("request") => IdentitySource::Request,
        Some(_) => return Err(invalid("TWILIO_IDENTITY", "expected caller or request")),
    };
    Ok(Some(TwilioConfig {
        account_sid,
        policy: TwilioPolicy {
            rooms,
            // Within a day: it fits.
            ttl: ttl as u32,
            identity,
        },
    }))
}
