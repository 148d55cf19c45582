//! Quotas: `QUOTA`, `QUOTA_TABLE` and `QUOTA_FAIL`.

use crate::config::env::{ConfigError, Env, invalid};
use crate::quota::{FailMode, QuotaSpec};

/// What `QUOTA*` say.
pub(super) struct QuotaSettings {
    pub(super) quota: Option<QuotaSpec>,
    pub(super) table: Option<String>,
    pub(super) fail: FailMode,
}

pub(super) fn settings(env: &Env<'_>, lambda: bool) -> Result<QuotaSettings, ConfigError> {
    let quota = env
        .get("QUOTA")
        .map(|text| QuotaSpec::parse(&text).map_err(|reason| invalid("QUOTA", reason)))
        .transpose()?;
    let table = env.get("QUOTA_TABLE");
    if lambda && quota.is_some() && table.is_none() {
        return Err(invalid(
            "QUOTA_TABLE",
            "required under Lambda with QUOTA (a count per instance would not be a quota)",
        ));
    }
    let fail = match env.get("QUOTA_FAIL").as_deref() {
        None | Some("open") => FailMode::Open,
        Some("closed") => FailMode::Closed,
        Some(_) => return Err(invalid("QUOTA_FAIL", "expected open or closed")),
    };
    Ok(QuotaSettings { quota, table, fail })
}
