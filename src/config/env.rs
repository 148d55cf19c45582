//! Reading variables: the lookup, the error that names the variable at
//! fault, and the rules several concerns share (numbers, lists, base URLs).
//! The floor of `config/`: its siblings name this file, never the reverse.

use std::ops::RangeInclusive;
use std::time::Duration;

use url::Url;

use crate::names::is_ascii_authority;

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

impl Env<'_> {
    /// A required allow-list: `*` alone (`None`: anything), or comma-separated
    /// entries, each accepted by `parse` (empty ones skipped); `what` names
    /// an entry and `required` says when the variable is needed.
    pub(super) fn allow_list<T>(
        &self,
        variable: &'static str,
        required: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<Vec<T>>, ConfigError> {
        let list = self
            .get(variable)
            .ok_or_else(|| invalid(variable, required.to_owned()))?;
        if list == "*" {
            return Ok(None);
        }
        let entries: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if entries.is_empty() {
            return Err(invalid(variable, format!("no {what} given")));
        }
        let parsed = entries.iter().map(|entry| {
            (*entry != "*")
                .then(|| parse(entry))
                .flatten()
                .ok_or_else(|| invalid(variable, format!("`{entry}` is not a {what}, and * stands alone")))
        });
        parsed.collect::<Result<Vec<T>, _>>().map(Some)
    }

    /// A comma-separated set of `names` (`default` when unset): which of
    /// them are set; another word is an error naming `what` it should be.
    pub(super) fn flags<const N: usize>(
        &self,
        variable: &'static str,
        default: &str,
        what: &str,
        names: [&str; N],
    ) -> Result<[bool; N], ConfigError> {
        let mut set = [false; N];
        for word in self
            .get(variable)
            .as_deref()
            .unwrap_or(default)
            .split(',')
            .map(str::trim)
        {
            match names.iter().position(|name| *name == word) {
                Some(i) => set[i] = true,
                None => {
                    return Err(invalid(
                        variable,
                        format!("unknown {what} `{word}` ({})", names.join(", ")),
                    ));
                }
            }
        }
        Ok(set)
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

/// A base URL of the scheme `secure` (or `plain` for a loopback host), with
/// no credentials, query or fragment.
pub(super) fn check_base_url(raw: &str, secure: &str, plain: &str) -> Result<Url, String> {
    if !is_ascii_authority(raw) {
        return Err("the host must be ASCII: write an internationalized name in punycode (xn--…)".to_owned());
    }
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not contain a query or fragment".to_owned());
    }
    match url.scheme() {
        scheme if scheme == secure => Ok(url),
        scheme if scheme == plain && is_loopback(&url) => Ok(url),
        scheme if scheme == plain => Err(format!(
            "must use {secure} (plain {plain} only for loopback hosts)"
        )),
        _ => Err(format!("must be an {secure} URL")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
