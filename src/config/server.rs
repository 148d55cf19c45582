//! How the process runs and talks: the mode and listen address, the allowed
//! origins, the upstream timeout, extra trust roots and the metrics switch.

use std::path::Path;
use std::time::Duration;

use crate::api::cors::AllowedOrigins;
use crate::config::Mode;
use crate::config::env::{ConfigError, Env, invalid};
use crate::metrics::MetricsSetting;
use crate::tls::ExtraRoots;

/// Default whole-request timeout for the upstream call. API Gateway gives up
/// after 29-30 s; a token service that has not answered in 5 s is down.
pub(super) const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(5_000);
/// The largest accepted `UPSTREAM_TIMEOUT_MS`: below API Gateway's limit.
pub(super) const MAX_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(25_000);
/// Where `cargo run` listens unless `LISTEN_ADDR` says otherwise.
pub(super) const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
/// Origins allowed in local mode when `ALLOWED_ORIGINS` is unset.
pub(super) const LOCAL_DEFAULT_ORIGINS: &str =
    "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173";

/// `AWS_LAMBDA_RUNTIME_API` (Lambda) or else `LISTEN_ADDR` (local mode).
pub(super) fn mode(env: &Env<'_>) -> Result<Mode, ConfigError> {
    if env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
        return Ok(Mode::Lambda);
    }
    let listen = env
        .get("LISTEN_ADDR")
        .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned());
    let listen = listen
        .parse()
        .map_err(|_| invalid("LISTEN_ADDR", "expected an address like 127.0.0.1:3000"))?;
    Ok(Mode::Local { listen })
}

/// `ALLOWED_ORIGINS`: required under Lambda, the dev origins locally.
pub(super) fn allowed_origins(env: &Env<'_>, lambda: bool) -> Result<AllowedOrigins, ConfigError> {
    match env.get("ALLOWED_ORIGINS") {
        Some(list) => AllowedOrigins::parse(&list),
        None if lambda => Err("required under Lambda (comma-separated origins, or *)".to_owned()),
        None => AllowedOrigins::parse(LOCAL_DEFAULT_ORIGINS),
    }
    .map_err(|reason| invalid("ALLOWED_ORIGINS", reason))
}

/// `UPSTREAM_TIMEOUT_MS`: 1 to [`MAX_UPSTREAM_TIMEOUT`].
pub(super) fn upstream_timeout(env: &Env<'_>) -> Result<Duration, ConfigError> {
    let Some(ms) = env.get("UPSTREAM_TIMEOUT_MS") else {
        return Ok(DEFAULT_UPSTREAM_TIMEOUT);
    };
    let ms: u64 = ms
        .parse()
        .map_err(|_| invalid("UPSTREAM_TIMEOUT_MS", "expected milliseconds, e.g. 5000"))?;
    let timeout = Duration::from_millis(ms);
    if ms == 0 || timeout > MAX_UPSTREAM_TIMEOUT {
        return Err(invalid(
            "UPSTREAM_TIMEOUT_MS",
            format!("must be between 1 and {}", MAX_UPSTREAM_TIMEOUT.as_millis()),
        ));
    }
    Ok(timeout)
}

/// `METRICS` and `METRICS_NAMESPACE`.
pub(super) fn metrics(env: &Env<'_>, lambda: bool) -> Result<MetricsSetting, ConfigError> {
    MetricsSetting::parse(
        env.get("METRICS").as_deref(),
        env.get("METRICS_NAMESPACE").as_deref(),
        lambda,
    )
    .map_err(|(variable, reason)| invalid(variable, reason))
}

/// `EXTRA_CA_CERTS`: a PEM file, read now.
pub(super) fn extra_roots(env: &Env<'_>) -> Result<ExtraRoots, ConfigError> {
    match env.get("EXTRA_CA_CERTS") {
        None => Ok(ExtraRoots::default()),
        Some(path) => ExtraRoots::read(Path::new(&path)).map_err(|reason| invalid("EXTRA_CA_CERTS", reason)),
    }
}
