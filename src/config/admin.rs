//! Revocation: `ADMIN_TOKEN` and `ADMIN_PRINCIPALS` (who may call the admin
//! routes), `BANS_TABLE` and `BANS_FAIL`.

use secrecy::SecretString;

use crate::api::{AdminAccess, MIN_ADMIN_TOKEN};
use crate::config::env::{ConfigError, Env, invalid};
use crate::names::is_plain_text;
use crate::quota::FailMode;

/// What the revocation variables say.
pub(super) struct AdminSettings {
    pub(super) access: AdminAccess,
    pub(super) bans_table: Option<String>,
    pub(super) bans_fail: FailMode,
}

pub(super) fn settings(env: &Env<'_>, lambda: bool) -> Result<AdminSettings, ConfigError> {
    let token = env.get("ADMIN_TOKEN");
    let principals = env.get("ADMIN_PRINCIPALS");
    let access = if lambda {
        if token.is_some() {
            return Err(invalid(
                "ADMIN_TOKEN",
                "local mode only: under Lambda the admin routes take IAM-authorized callers (ADMIN_PRINCIPALS narrows them)",
            ));
        }
        let principals = principals.map(|list| parse_principals(&list)).transpose()?;
        AdminAccess::Iam { principals }
    } else {
        if principals.is_some() {
            return Err(invalid(
                "ADMIN_PRINCIPALS",
                "applies under Lambda only (IAM principals); locally the admin routes take ADMIN_TOKEN",
            ));
        }
        match token {
            None => AdminAccess::Off,
            Some(token)
                if token.chars().count() < MIN_ADMIN_TOKEN
                    || token.len() > 512
                    || !token.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                return Err(invalid(
                    "ADMIN_TOKEN",
                    "must be 32-512 printable ASCII characters without spaces (e.g. openssl rand -hex 32)",
                ));
            }
            Some(token) => AdminAccess::Token(SecretString::from(token)),
        }
    };
    let bans_fail = match env.get("BANS_FAIL").as_deref() {
        None | Some("closed") => FailMode::Closed,
        Some("open") => FailMode::Open,
        Some(_) => return Err(invalid("BANS_FAIL", "expected closed or open")),
    };
    Ok(AdminSettings {
        access,
        bans_table: env.get("BANS_TABLE"),
        bans_fail,
    })
}

/// `ADMIN_PRINCIPALS`: comma-separated IAM ARNs, each `arn:...`, an entry
/// ending in `*` a prefix.
fn parse_principals(list: &str) -> Result<Vec<String>, ConfigError> {
    let entries: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect();
    if entries.is_empty()
        || entries.iter().any(|entry| {
            !entry.starts_with("arn:")
                || entry.len() < 5
                || !is_plain_text(entry, 2048)
                || entry.contains(' ')
                || entry.trim_end_matches('*').contains('*')
        })
    {
        return Err(invalid(
            "ADMIN_PRINCIPALS",
            "expected comma-separated IAM ARNs as API Gateway sees callers (arn:aws:sts::123456789012:assumed-role/Ops/* for a role, arn:aws:iam::123456789012:user/ci), a trailing * for a prefix",
        ));
    }
    Ok(entries)
}
