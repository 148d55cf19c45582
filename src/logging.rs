//! The log set-up: what `lambda_http::tracing::init_default_subscriber` does
//! (Lambda's advanced logging controls: `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, else INFO; `AWS_LAMBDA_LOG_FORMAT=JSON` for JSON lines; no
//! timestamps, CloudWatch adds them), with tracing-subscriber's `Targets`
//! filter in place of its `EnvFilter`. `RUST_LOG` keeps its `target=level`
//! directives; what is lost is matching on span fields by regex, and with it
//! ~0.3 MB of regex engine in the deployment zip (docs/benchmarks-history.md).
//!
//! Whatever the level asked for, a second filter caps the targets of other
//! crates that print what passes through them: the AWS SDK (`aws_*`) logs
//! requests, responses, decoded outputs and modelled errors with their
//! contents at DEBUG and TRACE (a DynamoDB item holds a room's name and
//! token, a Secrets Manager answer the keys), so it is capped at INFO; the
//! Lambda runtime (`lambda_*`) logs the raw event at TRACE (a room name in its
//! path, the caller's bearer token in its headers), so it is capped at DEBUG.
//! `tests/it/log_levels.rs` runs the binary at TRACE through every route and
//! scans its whole output.

use std::env;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt as _;

/// Installs the global subscriber, writing to stdout.
pub fn init() {
    let filter = filter(
        env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        env::var("RUST_LOG").ok().as_deref(),
    );
    let json = env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    // No colour codes: metrique turns on tracing-subscriber's `ansi`
    // feature, which would otherwise put escapes into CloudWatch's lines.
    let lines = fmt::layer().with_target(false).without_time().with_ansi(false);
    let registry = tracing_subscriber::registry().with(caps()).with(filter);
    // `set_global_default`, not `init()`: with the `tracing-log` feature
    // (which metrique turns on) `init()` also installs a `log` bridge, and
    // with it every `log` call site of every dependency stays in the binary
    // (+305 KB of code; docs/benchmarks-history.md, "Metrics").
    let installed = if json {
        tracing::subscriber::set_global_default(registry.with(lines.json()))
    } else {
        tracing::subscriber::set_global_default(registry.with(lines))
    };
    // Only a second call fails; the first subscriber stays.
    drop(installed);
}

/// The filter: `RUST_LOG`'s per-target directives (ignored whole if they do
/// not parse), under a default level taken from `AWS_LAMBDA_LOG_LEVEL` when
/// Lambda sets it, else from `RUST_LOG`, else INFO.
pub(crate) fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let targets: Targets = rust_log
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_default();
    let default = lambda_level
        .map(lambda_log_level)
        .or(targets.default_level())
        .unwrap_or(LevelFilter::INFO);
    targets.with_default(default)
}

/// The ceilings no `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` lifts: see the
/// module's documentation. Targets match by prefix.
pub(crate) fn caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("aws_", LevelFilter::INFO)
        .with_target("lambda_", LevelFilter::DEBUG)
}

/// Lambda's level names: TRACE, DEBUG, INFO, WARN, ERROR and FATAL (which
/// tracing has not: ERROR). Anything else is INFO.
fn lambda_log_level(name: &str) -> LevelFilter {
    if name.eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    name.parse().unwrap_or(LevelFilter::INFO)
}

/// The error and its whole `source()` chain on one line, for the log.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn nothing_set_is_info() {
        let filter = filter(None, None);
        assert!(filter.would_enable("token_vendor", &Level::INFO));
        assert!(!filter.would_enable("token_vendor", &Level::DEBUG));
    }

    #[test]
    fn lambdas_level_wins_over_rust_logs_default_and_keeps_its_targets() {
        let filter = filter(Some("WARN"), Some("info,token_vendor=debug"));
        assert!(!filter.would_enable("aws_config", &Level::INFO));
        assert!(filter.would_enable("aws_config", &Level::WARN));
        assert!(filter.would_enable("token_vendor::cold_start", &Level::DEBUG));
    }

    #[test]
    fn rust_log_directives_apply_without_lambda() {
        let filter = filter(None, Some("error,token_vendor=debug"));
        assert!(!filter.would_enable("hyper", &Level::WARN));
        assert!(filter.would_enable("token_vendor", &Level::DEBUG));
    }

    #[test]
    fn the_sdk_and_the_runtime_are_capped_whatever_is_asked() {
        let caps = caps();
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_sdk_dynamodb",
            "aws_config",
        ] {
            assert!(caps.would_enable(target, &Level::INFO), "{target}");
            assert!(!caps.would_enable(target, &Level::DEBUG), "{target}");
        }
        assert!(caps.would_enable("lambda_runtime::layers::api_response", &Level::DEBUG));
        assert!(!caps.would_enable("lambda_runtime::layers::api_response", &Level::TRACE));
        assert!(caps.would_enable("token_vendor::rooms", &Level::TRACE));
    }

    #[test]
    fn fatal_is_error_and_nonsense_is_info() {
        assert_eq!(lambda_log_level("FATAL"), LevelFilter::ERROR);
        assert_eq!(lambda_log_level("Debug"), LevelFilter::DEBUG);
        assert_eq!(lambda_log_level("loud"), LevelFilter::INFO);
        let filter = filter(None, Some("=~not a directive"));
        assert!(filter.would_enable("x", &Level::INFO));
        assert!(!filter.would_enable("x", &Level::DEBUG));
    }
}
