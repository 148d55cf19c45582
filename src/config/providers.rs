//! The providers: `CAS_URL`; `AIPIX_URL` and the `AIPIX_*` policy;
//! `LIVEKIT_URL` and its policy ([`super::livekit`]); `AGORA_APP_ID` and
//! its policy ([`super::agora`]); `TWILIO_ACCOUNT_SID` and its policy
//! ([`super::twilio`]); `VONAGE_APPLICATION_ID` and its policy
//! ([`super::vonage`]); and where their credentials come from
//! (`SECRET_ID`, or locally the secret's field names as variables:
//! `API_KEY`, `API_SECRET`, `AIPIX_API_TOKEN`, `LIVEKIT_API_KEY`,
//! `LIVEKIT_API_SECRET`, `AGORA_APP_CERTIFICATE`, `TWILIO_API_KEY_SID`,
//! `TWILIO_API_KEY_SECRET`, `VONAGE_PRIVATE_KEY`).

use std::ops::RangeInclusive;
use std::time::Duration;

use url::Url;

use crate::config::CredentialSource;
use crate::config::agora::agora;
use crate::config::env::{ConfigError, Env, check_base_url, invalid};
use crate::config::livekit::livekit;
use crate::config::twilio::twilio;
use crate::config::vonage::vonage;
use crate::names::is_stream_id;
use crate::providers::agora::AgoraConfig;
use crate::providers::aipix::{AipixConfig, AllowedStreams, Rights, StreamPolicy};
use crate::providers::livekit::LiveKitConfig;
use crate::providers::twilio::TwilioConfig;
use crate::providers::vonage::VonageConfig;
use crate::secrets::{Credentials, DEFAULT_MAX_AGE, FIELDS};

/// The providers enabled, and their credentials' source.
pub(super) struct Providers {
    pub(super) cas: Option<Url>,
    pub(super) aipix: Option<AipixConfig>,
    pub(super) livekit: Option<LiveKitConfig>,
    pub(super) agora: Option<AgoraConfig>,
    pub(super) twilio: Option<TwilioConfig>,
    pub(super) vonage: Option<VonageConfig>,
    pub(super) credentials: Option<CredentialSource>,
    pub(super) secret_max_age: Duration,
}

/// `SECRET_MAX_AGE_S`: a second to a day.
pub(super) const SECRET_MAX_AGE_RANGE: RangeInclusive<u64> = 1..=86_400;

pub(super) fn providers(env: &Env<'_>, lambda: bool) -> Result<Providers, ConfigError> {
    let cas = env
        .get("CAS_URL")
        .map(|url| parse_base_url(&url).map_err(|reason| invalid("CAS_URL", reason)))
        .transpose()?;
    let aipix = env
        .get("AIPIX_URL")
        .map(|url| -> Result<AipixConfig, ConfigError> {
            Ok(AipixConfig {
                base_url: parse_base_url(&url).map_err(|reason| invalid("AIPIX_URL", reason))?,
                policy: stream_policy(env)?,
            })
        })
        .transpose()?;
    let livekit = livekit(env)?;
    let agora = agora(env)?;
    let twilio = twilio(env)?;
    let vonage = vonage(env)?;
    let none_enabled = cas.is_none()
        && aipix.is_none()
        && livekit.is_none()
        && agora.is_none()
        && twilio.is_none()
        && vonage.is_none();
    let secret_id = env.get("SECRET_ID");
    let secret_max_age = env.seconds(
        "SECRET_MAX_AGE_S",
        DEFAULT_MAX_AGE.as_secs(),
        SECRET_MAX_AGE_RANGE,
    )?;
    let env_credentials = FIELDS.map(|name| (name, env.get(name)));
    if lambda {
        if let Some((name, _)) = env_credentials.iter().find(|(_, v)| v.is_some()) {
            return Err(invalid(
                name,
                "must not be set under Lambda: credentials come only from SECRET_ID",
            ));
        }
        if none_enabled {
            return Err(invalid(
                "CAS_URL",
                "required under Lambda (or AIPIX_URL, LIVEKIT_URL, AGORA_APP_ID, TWILIO_ACCOUNT_SID or VONAGE_APPLICATION_ID; any of them)",
            ));
        }
    }
    let any_env_credential = env_credentials.iter().any(|(_, v)| v.is_some());
    let credentials = if none_enabled {
        if secret_id.is_some() || any_env_credential {
            return Err(invalid(
                "CAS_URL",
                "credentials are set but no provider URL is; set CAS_URL (or AIPIX_URL, LIVEKIT_URL, AGORA_APP_ID, TWILIO_ACCOUNT_SID, VONAGE_APPLICATION_ID), or unset the credentials to run the demo upstream",
            ));
        }
        None
    } else if let Some(secret_id) = secret_id {
        Some(CredentialSource::SecretsManager { secret_id })
    } else if lambda {
        return Err(invalid("SECRET_ID", "required under Lambda"));
    } else {
        let credentials = Credentials::from_lookup(|name| {
            env_credentials
                .iter()
                .find(|(field, _)| *field == name)
                .and_then(|(_, value)| value.clone())
        });
        // Each enabled provider's fields, and what to set when they are wrong.
        let checks = [
            (
                cas.is_some(),
                credentials.cas().map(drop),
                "API_KEY and API_SECRET",
            ),
            (aipix.is_some(), credentials.aipix().map(drop), "AIPIX_API_TOKEN"),
            (
                livekit.is_some(),
                credentials.livekit().map(drop),
                "LIVEKIT_API_KEY and LIVEKIT_API_SECRET",
            ),
            (
                agora.is_some(),
                credentials.agora().map(drop),
                "AGORA_APP_CERTIFICATE",
            ),
            (
                twilio.is_some(),
                credentials.twilio().map(drop),
                "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET",
            ),
            (
                vonage.is_some(),
                credentials.vonage().map(drop),
                "VONAGE_PRIVATE_KEY",
            ),
        ];
        for (enabled, usable, fields) in checks {
            if let (true, Err(e)) = (enabled, usable) {
                return Err(invalid(e.variable(), format!("{e} (set SECRET_ID, or {fields})")));
            }
        }
        Some(CredentialSource::Environment(Box::new(credentials)))
    };

    Ok(Providers {
        cas,
        aipix,
        livekit,
        agora,
        twilio,
        vonage,
        credentials,
        secret_max_age,
    })
}

/// The AIPIX policy variables (read only when `AIPIX_URL` is set).
fn stream_policy(env: &Env<'_>) -> Result<StreamPolicy, ConfigError> {
    let streams = env
        .allow_list(
            "AIPIX_STREAMS",
            "required when AIPIX_URL is set (stream ids, or *)",
            "stream id (1-128 of A-Z a-z 0-9 . _ -)",
            |id| is_stream_id(id).then(|| id.to_owned()),
        )?
        .map_or(AllowedStreams::Any, AllowedStreams::List);
    let [live, dvr, copy] = env.flags("AIPIX_RIGHTS", "live", "right", ["live", "dvr", "copy"])?;
    let rights = Rights { live, dvr, copy };
    let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
        env.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| invalid(name, "expected a whole number of seconds"))
        })
    };
    let max_ttl = number("AIPIX_MAX_TTL", 3600)?;
    if max_ttl == 0 {
        return Err(invalid(
            "AIPIX_MAX_TTL",
            "must be at least 1 (unlimited tokens are AIPIX_ALLOW_UNLIMITED)",
        ));
    }
    let default_ttl = number("AIPIX_DEFAULT_TTL", max_ttl.min(3600))?;
    if default_ttl == 0 || default_ttl > max_ttl {
        return Err(invalid(
            "AIPIX_DEFAULT_TTL",
            format!("must be between 1 and AIPIX_MAX_TTL ({max_ttl})"),
        ));
    }
    let allow_unlimited = match env.get("AIPIX_ALLOW_UNLIMITED").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(invalid("AIPIX_ALLOW_UNLIMITED", "expected true or false")),
    };
    Ok(StreamPolicy {
        streams,
        rights,
        max_ttl,
        default_ttl,
        allow_unlimited,
    })
}

/// A provider base URL: http(s), no credentials, query or fragment; plain
/// http only for loopback hosts (tests and local stand-ins).
fn parse_base_url(raw: &str) -> Result<Url, String> {
    check_base_url(raw, "https", "http")
}
