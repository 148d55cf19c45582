//! Reading variables: the lookup, the error that names the variable at
//! fault, and the number rules several concerns share.

use std::ops::RangeInclusive;
use std::time::Duration;

/// How a variable is looked up: trimmed, and empty counts as unset.
pub(super) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub(super) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Whole seconds within `range`, `default` when unset.
    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        let value = self.get(name).map_or(Ok(default), |v| {
            v.parse::<u64>()
                .map_err(|_| invalid(name, "expected a whole number of seconds"))
        })?;
        if !range.contains(&value) {
            return Err(invalid(
                name,
                format!("must be between {} and {} seconds", range.start(), range.end()),
            ));
        }
        Ok(Duration::from_secs(value))
    }
}

/// A configuration error: always names the variable at fault, never echoes a
/// credential's value.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

pub(super) fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}
