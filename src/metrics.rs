//! CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout
//! per request and one per cold start, which CloudWatch Logs turns into
//! metrics with no API call and no agent. Formatted by awslabs' `metrique`
//! (its `#[metrics]` records and its EMF format), written here: each record
//! goes to stdout at once, under the caller's own thread, because a Lambda
//! instance is frozen between invocations and nothing may wait in a queue
//! for a background thread. metrique's own synchronous sink
//! (`FlushImmediately`) does the same but links its metrics-rs and tracing
//! observers: +42 KB of binary for a mutex and a write (docs/benchmarks-history.md,
//! "Metrics", has the figures behind both choices).
//!
//! What a record may carry is fixed here: the route's kind (never the path:
//! a room name is a capability), counts, durations, the error code, the
//! request id and the X-Ray trace id. No key, secret, token or room name.

use std::io::{self, Write as _};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use metrique::emf::Emf;
use metrique::emf::flags::NoMetric;
use metrique::unit::{Count, Millisecond};
use metrique::unit_of_work::metrics;
use metrique::writer::Entry;
use metrique::writer::format::Format as _;
use metrique::{CloseValue as _, RootMetric};

/// `METRICS_NAMESPACE` when unset.
pub(crate) const DEFAULT_NAMESPACE: &str = "TokenVendor";

/// `METRICS` and `METRICS_NAMESPACE`: whether records are written, and
/// under which CloudWatch namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsSetting {
    Off,
    Emf { namespace: String },
}

impl MetricsSetting {
    /// `METRICS` is `emf` or `off` (default: `emf` under Lambda, `off`
    /// locally); `METRICS_NAMESPACE` must be a CloudWatch namespace.
    pub fn parse(
        switch: Option<&str>,
        namespace: Option<&str>,
        lambda: bool,
    ) -> Result<Self, (&'static str, String)> {
        let on = match switch {
            None => lambda,
            Some(s) if s.eq_ignore_ascii_case("emf") => true,
            Some(s) if s.eq_ignore_ascii_case("off") => false,
            Some(_) => return Err(("METRICS", "expected emf or off".to_owned())),
        };
        let namespace = namespace.unwrap_or(DEFAULT_NAMESPACE);
        check_namespace(namespace).map_err(|reason| ("METRICS_NAMESPACE", reason.to_owned()))?;
        Ok(if on {
            Self::Emf {
                namespace: namespace.to_owned(),
            }
        } else {
            Self::Off
        })
    }
}

/// CloudWatch's rules for a namespace: 1–255 of A–Z a–z 0–9 `. - _ / # :`
/// and space, not only spaces, and not `AWS/` (reserved for AWS services).
fn check_namespace(namespace: &str) -> Result<(), &'static str> {
    if namespace.is_empty() || namespace.len() > 255 {
        return Err("must be 1-255 characters");
    }
    if !namespace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
    {
        return Err("may hold only A-Z a-z 0-9 . - _ / # : and spaces");
    }
    if namespace.bytes().all(|b| b == b' ') {
        return Err("must not be only spaces");
    }
    if namespace.starts_with("AWS/") {
        return Err("AWS/ is reserved for AWS services");
    }
    Ok(())
}

/// One request's record: per route and, with no dimension, over all routes
/// (what the alarms read).
#[metrics(emf::dimension_sets = [["Route"], []], rename_all = "PascalCase")]
#[derive(Debug)]
pub struct RequestRecord {
    #[metrics(timestamp)]
    pub timestamp: SystemTime,
    pub route: &'static str,
    #[metrics(unit = Count)]
    pub requests: u64,
    #[metrics(unit = Count)]
    pub tokens_issued: u64,
    #[metrics(unit = Count)]
    pub client_errors: u64,
    #[metrics(unit = Count)]
    pub server_errors: u64,
    #[metrics(unit = Count)]
    pub credentials_unavailable: u64,
    /// Only with a quota: 1 when the request was served without its count
    /// (the quota table failed or throttled, and `QUOTA_FAIL=open`).
    #[metrics(unit = Count)]
    pub quota_bypassed: Option<u64>,
    /// Only with bans: 1 when a ban refused the token.
    #[metrics(unit = Count)]
    pub banned: Option<u64>,
    /// Only with bans: 1 when the bans table could not be read and the
    /// request was served unchecked (`BANS_FAIL=open`).
    #[metrics(unit = Count)]
    pub bans_bypassed: Option<u64>,
    /// Only with bans: 1 when the bans table could not be read or written
    /// (answered `503 bans_unavailable`, or served unchecked): what the
    /// `BansUnavailable` alarm reads.
    #[metrics(unit = Count)]
    pub bans_unavailable: Option<u64>,
    #[metrics(unit = Millisecond)]
    pub latency: Duration,
    /// Only when a provider was called.
    #[metrics(unit = Millisecond)]
    pub upstream_latency: Option<Duration>,
    /// Properties, not metrics: for Logs Insights, not for graphs.
    #[metrics(flags(NoMetric))]
    pub status_code: u64,
    pub error_code: Option<&'static str>,
    pub request_id: String,
    pub trace_id: Option<String>,
}

/// The cold start's record, with no dimension.
#[metrics(rename_all = "PascalCase")]
#[derive(Debug)]
pub struct ColdStartRecord {
    #[metrics(timestamp)]
    pub timestamp: SystemTime,
    #[metrics(unit = Count)]
    pub cold_start: u64,
    #[metrics(unit = Millisecond)]
    pub init_duration: Duration,
    /// Only when the credentials came from Secrets Manager.
    #[metrics(unit = Millisecond)]
    pub secret_read_latency: Option<Duration>,
}

/// Where records go: stdout in EMF, or nowhere.
pub struct Metrics {
    /// The format and a line buffer kept between records.
    emf: Option<Mutex<(Emf, Vec<u8>)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("emf", &self.emf.is_some())
            .finish()
    }
}

impl Metrics {
    pub fn new(setting: &MetricsSetting) -> Self {
        let emf = match setting {
            MetricsSetting::Off => None,
            // Validations run in debug builds (the tests), not in release.
            MetricsSetting::Emf { namespace } => Some(Mutex::new((
                Emf::builder(namespace.clone(), vec![vec![]]).build(),
                Vec::with_capacity(1024),
            ))),
        };
        Self { emf }
    }

    pub fn off() -> Self {
        Self { emf: None }
    }

    pub fn enabled(&self) -> bool {
        self.emf.is_some()
    }

    pub fn request(&self, record: RequestRecord) {
        self.write(&RootMetric::<RequestRecord>::new(record.close()));
    }

    pub fn cold_start(&self, init_duration: Duration, secret_read_latency: Option<Duration>) {
        let record = ColdStartRecord {
            timestamp: SystemTime::now(),
            cold_start: 1,
            init_duration,
            secret_read_latency,
        };
        self.write(&RootMetric::<ColdStartRecord>::new(record.close()));
    }

    /// One record, one line, one write to stdout. A record that cannot be
    /// formatted or written is dropped with a warning; the request goes on.
    fn write(&self, entry: &impl Entry) {
        let Some(emf) = &self.emf else {
            return;
        };
        let Ok(mut guard) = emf.lock() else {
            return;
        };
        let (format, line) = &mut *guard;
        line.clear();
        let written = format
            .format(entry, line)
            .map_err(|e| e.to_string())
            .and_then(|()| io::stdout().lock().write_all(line).map_err(|e| e.to_string()));
        if let Err(error) = written {
            tracing::warn!(%error, "metrics record not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_defaults_by_mode_and_refuses_nonsense() {
        let ns = || DEFAULT_NAMESPACE.to_owned();
        assert_eq!(
            MetricsSetting::parse(None, None, true),
            Ok(MetricsSetting::Emf { namespace: ns() })
        );
        assert_eq!(MetricsSetting::parse(None, None, false), Ok(MetricsSetting::Off));
        assert_eq!(
            MetricsSetting::parse(Some("emf"), None, false),
            Ok(MetricsSetting::Emf { namespace: ns() })
        );
        assert_eq!(
            MetricsSetting::parse(Some("OFF"), None, true),
            Ok(MetricsSetting::Off)
        );
        assert_eq!(
            MetricsSetting::parse(Some("on"), None, true).map_err(|e| e.0),
            Err("METRICS")
        );
        assert_eq!(
            MetricsSetting::parse(None, Some("Media/Tokens prod"), true),
            Ok(MetricsSetting::Emf {
                namespace: "Media/Tokens prod".to_owned()
            })
        );
    }

    #[test]
    fn a_namespace_follows_cloudwatchs_rules_even_when_off() {
        for bad in [
            "AWS/Lambda",
            "   ",
            "tokens\"x",
            "t\u{e9}",
            "a\nb",
            &"n".repeat(256),
        ] {
            assert_eq!(
                MetricsSetting::parse(Some("off"), Some(bad), true).map_err(|e| e.0),
                Err("METRICS_NAMESPACE"),
                "{bad:?}"
            );
        }
        assert!(MetricsSetting::parse(None, Some(&"n".repeat(255)), true).is_ok());
    }
}
