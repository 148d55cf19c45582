//! Vonage: `VONAGE_APPLICATION_ID` and the policy, `VONAGE_ROLES`,
//! `VONAGE_TTL_S` and `VONAGE_DATA` (read only when
//! `VONAGE_APPLICATION_ID` is set; the private key is a credential).

use std::ops::RangeInclusive;

use crate::config::env::{ConfigError, Env, invalid};
use crate::providers::vonage::{MAX_TTL, Roles, VonageConfig, VonagePolicy, is_uuid};

/// `VONAGE_TTL_S`: a minute to a day.
pub(super) const VONAGE_TTL_RANGE: RangeInclusive<u64> = 60..=MAX_TTL as u64;

pub(super) fn vonage(env: &Env<'_>) -> Result<Option<VonageConfig>, ConfigError> {
    let Some(application_id) = env.get("VONAGE_APPLICATION_ID") else {
        return Ok(None);
    };
    if !is_uuid(&application_id) {
        return Err(invalid(
            "VONAGE_APPLICATION_ID",
            "expected a UUID (8-4-4-4-12 hexadecimal digits)",
        ));
    }
    let [subscriber, publisher, publisher_only, moderator] = env.flags(
        "VONAGE_ROLES",
        "subscriber,publisher",
        "role",
        ["subscriber", "publisher", "publisheronly", "moderator"],
    )?;
    let ttl = env.seconds("VONAGE_TTL_S", 3600, VONAGE_TTL_RANGE)?.as_secs();
    let data = match env.get("VONAGE_DATA").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(invalid("VONAGE_DATA", "expected true or false")),
    };
    Ok(Some(VonageConfig {
        application_id,
        policy: VonagePolicy {
            roles: Roles {
                subscriber,
                publisher,
                publisher_only,
                moderator,
            },
            // Within a day: it fits.
            ttl: ttl as u32,
            data,
        },
    }))
}
