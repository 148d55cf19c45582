//! The log set-up installs no `log` → tracing bridge: `tracing_subscriber`'s
//! `init()` would (its `tracing-log` feature is on because metrique turns it
//! on), and with a `log` logger reachable every `log` call site of every
//! dependency stays in the release binary: +305 KB of code, +0.25–0.35 MiB of
//! peak RSS, measured (docs/benchmarks-history.md, "Metrics"). Its own process: the
//! subscriber is global.
#![allow(clippy::unwrap_used)]

#[test]
fn logging_init_sets_no_log_logger() {
    token_vendor::init_logging();
    tracing::info!("the subscriber is installed");
    assert_eq!(
        log::max_level(),
        log::LevelFilter::Off,
        "a log bridge was installed"
    );
    assert!(tracing::dispatcher::has_been_set(), "no tracing subscriber");
}
