//! The one place that reads the environment: every variable is parsed and
//! validated here, and a bad value is a start-up error that names it.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::api::cors::AllowedOrigins;
use crate::metrics::MetricsSetting;
use crate::quota::{FailMode, QuotaSpec};
use crate::secrets::{AIPIX_API_TOKEN, API_KEY, API_SECRET, Credentials};
use crate::tls::ExtraRoots;

/// Default whole-request timeout for the upstream call. API Gateway gives up
/// after 29-30 s; a token service that has not answered in 5 s is down.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(5_000);
/// The largest accepted `UPSTREAM_TIMEOUT_MS`: below API Gateway's limit.
pub const MAX_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(25_000);
/// `ROOM_TTL_S`: a minute to 30 days.
pub const ROOM_TTL_RANGE: RangeInclusive<u64> = 60..=2_592_000;
/// `ROOM_REFRESH_MARGIN_S`: none to a day (and below `ROOM_TTL_S`).
pub const ROOM_REFRESH_MARGIN_RANGE: RangeInclusive<u64> = 0..=86_400;
/// Where `cargo run` listens unless `LISTEN_ADDR` says otherwise.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
/// Origins allowed in local mode when `ALLOWED_ORIGINS` is unset.
pub const LOCAL_DEFAULT_ORIGINS: &str = "http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173";

/// How the process is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Under the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API` is set).
    Lambda,
    /// A plain HTTP server for development.
    Local { listen: SocketAddr },
}

/// Where the providers' credentials come from.
#[derive(Debug)]
pub enum CredentialSource {
    /// A Secrets Manager secret (name or ARN) holding a JSON object with the
    /// enabled providers' fields (`API_KEY`, `API_SECRET`, `AIPIX_API_TOKEN`).
    SecretsManager { secret_id: String },
    /// The same fields from the environment: local mode only.
    Environment(Credentials),
}

/// The AIPIX provider: its URL and the policy of what a caller may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AipixConfig {
    pub base_url: Url,
    pub policy: StreamPolicy,
}

/// Which streams may be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedStreams {
    Any,
    List(Vec<String>),
}

/// The viewing rights of an AIPIX token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rights {
    pub live: bool,
    pub dvr: bool,
    pub copy: bool,
}

/// What the operator allows a caller of `/streams/{stream}/token` to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPolicy {
    pub streams: AllowedStreams,
    pub rights: Rights,
    pub max_ttl: u64,
    pub default_ttl: u64,
    pub allow_unlimited: bool,
}

/// The validated configuration of one process.
#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    /// `CAS_URL`: Sceenic CAS behind `/token`.
    pub cas: Option<Url>,
    /// `AIPIX_URL` and its policy: AIPIX behind `/streams/{stream}/token`.
    pub aipix: Option<AipixConfig>,
    /// `None` only in local mode with no provider: the demo upstream.
    pub credentials: Option<CredentialSource>,
    pub allowed_origins: AllowedOrigins,
    pub upstream_timeout: Duration,
    /// `ROOMS_TABLE`: the DynamoDB table of rooms. Unset: rooms live in
    /// memory in local mode, and are off (501) under Lambda.
    pub rooms_table: Option<String>,
    /// `ROOM_REFRESH_MARGIN_S`: renew a room token that expires this soon.
    pub room_refresh_margin: Duration,
    /// `ROOM_TTL_S`: lifetime of a room whose token has no `exp`.
    pub room_ttl: Duration,
    /// `EXTRA_CA_CERTS`: CA certificates the provider calls trust besides
    /// the compiled-in roots (read from the PEM file at start-up).
    pub extra_roots: ExtraRoots,
    /// `QUOTA`: tokens per caller and window; `None` = no quota.
    pub quota: Option<QuotaSpec>,
    /// `QUOTA_TABLE`: the DynamoDB table of counts (required under Lambda
    /// with `QUOTA`; locally, unset = in memory).
    pub quota_table: Option<String>,
    /// `QUOTA_FAIL`: serve (`open`, the default) or answer 503 (`closed`)
    /// when the quota table cannot be used.
    pub quota_fail: FailMode,
    /// `METRICS` and `METRICS_NAMESPACE`: the EMF records, on or off.
    pub metrics: MetricsSetting,
}

impl Config {
    /// Whether `/token` is served by the built-in demo upstream (local mode
    /// with no provider configured; never under Lambda).
    pub fn demo(&self) -> bool {
        self.cas.is_none() && self.aipix.is_none()
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

fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let mode = if get("AWS_LAMBDA_RUNTIME_API").is_some() {
            Mode::Lambda
        } else {
            let listen = get("LISTEN_ADDR").unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned());
            let listen = listen
                .parse()
                .map_err(|_| invalid("LISTEN_ADDR", "expected an address like 127.0.0.1:3000"))?;
            Mode::Local { listen }
        };
        let lambda = mode == Mode::Lambda;

        let allowed_origins = match get("ALLOWED_ORIGINS") {
            Some(list) => AllowedOrigins::parse(&list),
            None if lambda => Err("required under Lambda (comma-separated origins, or *)".to_owned()),
            None => AllowedOrigins::parse(LOCAL_DEFAULT_ORIGINS),
        }
        .map_err(|reason| invalid("ALLOWED_ORIGINS", reason))?;

        let upstream_timeout = match get("UPSTREAM_TIMEOUT_MS") {
            None => DEFAULT_UPSTREAM_TIMEOUT,
            Some(ms) => {
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
                timeout
            }
        };

        let cas = get("CAS_URL")
            .map(|url| parse_base_url(&url).map_err(|reason| invalid("CAS_URL", reason)))
            .transpose()?;
        let aipix = get("AIPIX_URL")
            .map(|url| -> Result<AipixConfig, ConfigError> {
                Ok(AipixConfig {
                    base_url: parse_base_url(&url).map_err(|reason| invalid("AIPIX_URL", reason))?,
                    policy: stream_policy(&get)?,
                })
            })
            .transpose()?;

        let secret_id = get("SECRET_ID");
        let env_credentials = [API_KEY, API_SECRET, AIPIX_API_TOKEN].map(|name| (name, get(name)));
        if lambda {
            if let Some((name, _)) = env_credentials.iter().find(|(_, v)| v.is_some()) {
                return Err(invalid(
                    name,
                    "must not be set under Lambda: credentials come only from SECRET_ID",
                ));
            }
            if cas.is_none() && aipix.is_none() {
                return Err(invalid(
                    "CAS_URL",
                    "required under Lambda (or AIPIX_URL, or both)",
                ));
            }
        }
        let any_env_credential = env_credentials.iter().any(|(_, v)| v.is_some());
        let credentials = if cas.is_none() && aipix.is_none() {
            if secret_id.is_some() || any_env_credential {
                return Err(invalid(
                    "CAS_URL",
                    "credentials are set but no provider URL is; set CAS_URL (or AIPIX_URL), or unset the credentials to run the demo upstream",
                ));
            }
            None
        } else if let Some(secret_id) = secret_id {
            Some(CredentialSource::SecretsManager { secret_id })
        } else if lambda {
            return Err(invalid("SECRET_ID", "required under Lambda"));
        } else {
            let [(_, api_key), (_, api_secret), (_, aipix_token)] = env_credentials;
            let credentials = Credentials::from_values(api_key, api_secret, aipix_token);
            if cas.is_some() {
                credentials.cas().map_err(|e| {
                    invalid(
                        e.variable(),
                        format!("{e} (set SECRET_ID, or API_KEY and API_SECRET)"),
                    )
                })?;
            }
            if aipix.is_some() {
                credentials
                    .aipix()
                    .map_err(|e| invalid(e.variable(), format!("{e} (set SECRET_ID, or AIPIX_API_TOKEN)")))?;
            }
            Some(CredentialSource::Environment(credentials))
        };

        let seconds = |name: &'static str, default: u64, range: RangeInclusive<u64>| {
            let value = get(name).map_or(Ok(default), |v| {
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
        };
        let room_ttl = seconds("ROOM_TTL_S", 86_400, ROOM_TTL_RANGE)?;
        let room_refresh_margin = seconds("ROOM_REFRESH_MARGIN_S", 60, ROOM_REFRESH_MARGIN_RANGE)?;
        if room_refresh_margin >= room_ttl {
            return Err(invalid(
                "ROOM_REFRESH_MARGIN_S",
                format!("must be below ROOM_TTL_S ({} s)", room_ttl.as_secs()),
            ));
        }

        let quota = get("QUOTA")
            .map(|text| QuotaSpec::parse(&text).map_err(|reason| invalid("QUOTA", reason)))
            .transpose()?;
        let quota_table = get("QUOTA_TABLE");
        if lambda && quota.is_some() && quota_table.is_none() {
            return Err(invalid(
                "QUOTA_TABLE",
                "required under Lambda with QUOTA (a count per instance would not be a quota)",
            ));
        }
        let quota_fail = match get("QUOTA_FAIL").as_deref() {
            None | Some("open") => FailMode::Open,
            Some("closed") => FailMode::Closed,
            Some(_) => return Err(invalid("QUOTA_FAIL", "expected open or closed")),
        };

        let metrics = MetricsSetting::parse(
            get("METRICS").as_deref(),
            get("METRICS_NAMESPACE").as_deref(),
            lambda,
        )
        .map_err(|(variable, reason)| invalid(variable, reason))?;

        let extra_roots = match get("EXTRA_CA_CERTS") {
            None => ExtraRoots::default(),
            Some(path) => {
                ExtraRoots::read(Path::new(&path)).map_err(|reason| invalid("EXTRA_CA_CERTS", reason))?
            }
        };

        Ok(Self {
            mode,
            cas,
            aipix,
            credentials,
            allowed_origins,
            upstream_timeout,
            rooms_table: get("ROOMS_TABLE"),
            room_refresh_margin,
            room_ttl,
            extra_roots,
            quota,
            quota_table,
            quota_fail,
            metrics,
        })
    }
}

/// The AIPIX policy variables (read only when `AIPIX_URL` is set).
fn stream_policy(get: &impl Fn(&str) -> Option<String>) -> Result<StreamPolicy, ConfigError> {
    let streams = match get("AIPIX_STREAMS").as_deref() {
        None => {
            return Err(invalid(
                "AIPIX_STREAMS",
                "required when AIPIX_URL is set (stream ids, or *)",
            ));
        }
        Some("*") => AllowedStreams::Any,
        Some(list) => {
            let ids: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if ids.is_empty() {
                return Err(invalid("AIPIX_STREAMS", "no stream id given"));
            }
            if let Some(bad) = ids.iter().find(|id| !is_stream_id(id)) {
                return Err(invalid(
                    "AIPIX_STREAMS",
                    format!("`{bad}` is not a stream id (1-128 of A-Z a-z 0-9 . _ -), and * stands alone"),
                ));
            }
            AllowedStreams::List(ids)
        }
    };
    let mut rights = Rights::default();
    for right in get("AIPIX_RIGHTS")
        .as_deref()
        .unwrap_or("live")
        .split(',')
        .map(str::trim)
    {
        match right {
            "live" => rights.live = true,
            "dvr" => rights.dvr = true,
            "copy" => rights.copy = true,
            other => {
                return Err(invalid(
                    "AIPIX_RIGHTS",
                    format!("unknown right `{other}` (live, dvr, copy)"),
                ));
            }
        }
    }
    let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
        get(name).map_or(Ok(default), |v| {
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
    let allow_unlimited = match get("AIPIX_ALLOW_UNLIMITED").as_deref() {
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

/// A stream id: 1-128 characters of `A-Z a-z 0-9 . _ -`.
pub fn is_stream_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A provider base URL: http(s), no credentials, query or fragment; plain
/// http only for loopback hosts (tests and local stand-ins).
fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not contain a query or fragment".to_owned());
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err("must use https (plain http only for loopback hosts)".to_owned()),
        _ => return Err("must be an https URL".to_owned()),
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Joins `path` (relative, e.g. `stream/token/v2/`) onto a base URL, with
/// exactly one slash between them whether or not the base ends with one.
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    const LAMBDA: (&str, &str) = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");

    #[test]
    fn lambda_config_with_everything_set_is_accepted() {
        let c = config(&[
            LAMBDA,
            ("CAS_URL", "https://cas.example.com"),
            ("SECRET_ID", "token-vendor/cas"),
            ("ALLOWED_ORIGINS", "https://app.example.com"),
            ("UPSTREAM_TIMEOUT_MS", "3000"),
        ])
        .unwrap();
        assert_eq!(c.mode, Mode::Lambda);
        assert_eq!(c.upstream_timeout, Duration::from_millis(3000));
        assert!(c.cas.is_some() && c.aipix.is_none());
        assert!(matches!(
            c.credentials,
            Some(CredentialSource::SecretsManager { ref secret_id }) if secret_id == "token-vendor/cas"
        ));
    }

    #[test]
    fn lambda_without_allowed_origins_names_the_variable() {
        let e = config(&[LAMBDA, ("CAS_URL", "https://cas.example.com"), ("SECRET_ID", "s")]).unwrap_err();
        assert_eq!(e.variable, "ALLOWED_ORIGINS");
    }

    #[test]
    fn lambda_without_cas_url_is_an_error_and_never_the_demo() {
        let e = config(&[LAMBDA, ("SECRET_ID", "s"), ("ALLOWED_ORIGINS", "*")]).unwrap_err();
        assert_eq!(e.variable, "CAS_URL");
        let e = config(&[LAMBDA, ("ALLOWED_ORIGINS", "*")]).unwrap_err();
        assert_eq!(e.variable, "CAS_URL");
    }

    #[test]
    fn lambda_refuses_credentials_from_plain_environment() {
        let e = config(&[
            LAMBDA,
            ("CAS_URL", "https://cas.example.com"),
            ("SECRET_ID", "s"),
            ("ALLOWED_ORIGINS", "*"),
            ("API_KEY", "k"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "API_KEY");
        assert!(!e.to_string().contains("=k"), "{e}");
    }

    #[test]
    fn lambda_requires_secret_id() {
        let e = config(&[
            LAMBDA,
            ("CAS_URL", "https://cas.example.com"),
            ("ALLOWED_ORIGINS", "*"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "SECRET_ID");
    }

    #[test]
    fn local_mode_with_nothing_set_runs_the_demo_on_the_dev_origins() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.mode,
            Mode::Local {
                listen: "127.0.0.1:3000".parse().unwrap()
            }
        );
        assert!(c.demo() && c.credentials.is_none());
        assert_eq!(c.upstream_timeout, DEFAULT_UPSTREAM_TIMEOUT);
        assert!(c.allowed_origins.allows("http://localhost:5173"));
        assert!(!c.allowed_origins.allows("https://evil.example"));
    }

    #[test]
    fn local_mode_takes_credentials_from_the_environment() {
        let c = config(&[
            ("CAS_URL", "http://127.0.0.1:8080"),
            ("API_KEY", "key"),
            ("API_SECRET", "secret"),
            ("LISTEN_ADDR", "127.0.0.1:0"),
        ])
        .unwrap();
        assert!(matches!(c.credentials, Some(CredentialSource::Environment(_))));
    }

    const AIPIX: (&str, &str) = ("AIPIX_URL", "https://media.example.com");

    #[test]
    fn aipix_alone_is_a_valid_lambda_deployment_with_the_documented_defaults() {
        let c = config(&[
            LAMBDA,
            AIPIX,
            ("AIPIX_STREAMS", "cam-1, cam.2"),
            ("SECRET_ID", "s"),
            ("ALLOWED_ORIGINS", "*"),
        ])
        .unwrap();
        assert!(c.cas.is_none() && !c.demo());
        let policy = c.aipix.unwrap().policy;
        assert_eq!(
            policy.streams,
            AllowedStreams::List(vec!["cam-1".into(), "cam.2".into()])
        );
        assert_eq!(
            policy.rights,
            Rights {
                live: true,
                dvr: false,
                copy: false
            }
        );
        assert_eq!(
            (policy.max_ttl, policy.default_ttl, policy.allow_unlimited),
            (3600, 3600, false)
        );
    }

    #[test]
    fn aipix_default_ttl_follows_a_smaller_max() {
        let c = config(&[
            AIPIX,
            ("AIPIX_STREAMS", "*"),
            ("AIPIX_MAX_TTL", "600"),
            ("AIPIX_API_TOKEN", "t"),
        ])
        .unwrap();
        let policy = c.aipix.unwrap().policy;
        assert_eq!(
            (policy.streams, policy.max_ttl, policy.default_ttl),
            (AllowedStreams::Any, 600, 600)
        );
    }

    #[test]
    fn bad_aipix_policy_values_name_their_variable() {
        for (var, value) in [
            ("AIPIX_STREAMS", ""),
            ("AIPIX_STREAMS", "cam 1"),
            ("AIPIX_STREAMS", "*,cam"),
            ("AIPIX_RIGHTS", "live,record"),
            ("AIPIX_MAX_TTL", "0"),
            ("AIPIX_MAX_TTL", "-5"),
            ("AIPIX_DEFAULT_TTL", "7200"),
            ("AIPIX_DEFAULT_TTL", "0"),
            ("AIPIX_ALLOW_UNLIMITED", "yes"),
            ("AIPIX_URL", "http://media.example.com"),
        ] {
            let mut vars = vec![AIPIX, ("AIPIX_STREAMS", "cam"), ("AIPIX_API_TOKEN", "t")];
            vars.retain(|(k, _)| *k != var);
            vars.push((var, value));
            let e = config(&vars).unwrap_err();
            assert_eq!(
                e.variable,
                if value.is_empty() { "AIPIX_STREAMS" } else { var },
                "{var}={value}"
            );
        }
    }

    #[test]
    fn local_aipix_needs_its_token_and_lambda_refuses_it_in_the_environment() {
        let e = config(&[AIPIX, ("AIPIX_STREAMS", "*")]).unwrap_err();
        assert_eq!(e.variable, "AIPIX_API_TOKEN");
        let e = config(&[
            LAMBDA,
            AIPIX,
            ("AIPIX_STREAMS", "*"),
            ("SECRET_ID", "s"),
            ("ALLOWED_ORIGINS", "*"),
            ("AIPIX_API_TOKEN", "t"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "AIPIX_API_TOKEN");
    }

    #[test]
    fn local_credentials_without_cas_url_are_an_error() {
        let e = config(&[("API_KEY", "key"), ("API_SECRET", "secret")]).unwrap_err();
        assert_eq!(e.variable, "CAS_URL");
    }

    #[test]
    fn half_a_credential_pair_names_the_missing_half() {
        let e = config(&[("CAS_URL", "http://localhost:1"), ("API_KEY", "key")]).unwrap_err();
        assert_eq!(e.variable, "API_SECRET");
        let e = config(&[("CAS_URL", "http://localhost:1")]).unwrap_err();
        assert_eq!(e.variable, "API_KEY");
    }

    #[test]
    fn bad_values_are_rejected_with_the_variable_named() {
        for (var, value) in [
            ("UPSTREAM_TIMEOUT_MS", "soon"),
            ("UPSTREAM_TIMEOUT_MS", "0"),
            ("UPSTREAM_TIMEOUT_MS", "60000"),
            ("LISTEN_ADDR", "localhost"),
            ("ALLOWED_ORIGINS", "https://app.example.com/"),
            ("CAS_URL", "ftp://cas.example.com"),
            ("CAS_URL", "http://cas.example.com"),
            ("CAS_URL", "https://user:pw@cas.example.com"),
            ("CAS_URL", "not a url"),
            ("EXTRA_CA_CERTS", "/nonexistent/ca.pem"),
            ("QUOTA", "5/h"),
            ("QUOTA", "0/1h"),
            ("QUOTA", "20/8d"),
            ("QUOTA_FAIL", "maybe"),
            ("EXTRA_CA_CERTS", "/dev/null"),
        ] {
            let mut vars = vec![("API_KEY", "k"), ("API_SECRET", "s"), (var, value)];
            if var != "CAS_URL" {
                vars.push(("CAS_URL", "https://cas.example.com"));
            }
            let e = config(&vars).unwrap_err();
            assert_eq!(e.variable, var, "{var}={value}");
        }
    }

    #[test]
    fn a_quota_under_lambda_needs_its_table_and_locally_counts_in_memory() {
        let lambda = [
            LAMBDA,
            ("CAS_URL", "https://cas.example.com"),
            ("SECRET_ID", "tv"),
            ("ALLOWED_ORIGINS", "https://app.example.com"),
        ];
        let e = config(&[&lambda[..], &[("QUOTA", "20/1h")]].concat()).unwrap_err();
        assert_eq!(e.variable, "QUOTA_TABLE");
        let c = config(
            &[
                &lambda[..],
                &[("QUOTA", "20/1h"), ("QUOTA_TABLE", "q"), ("QUOTA_FAIL", "closed")],
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(c.quota.map(|q| (q.limit, q.window.as_secs())), Some((20, 3600)));
        assert_eq!(
            (c.quota_table.as_deref(), c.quota_fail),
            (Some("q"), FailMode::Closed)
        );
        let local = config(&[("QUOTA", "3/1m")]).unwrap();
        assert_eq!((local.quota.map(|q| q.limit), local.quota_table), (Some(3), None));
        assert_eq!(local.quota_fail, FailMode::Open);
        assert!(config(&[]).unwrap().quota.is_none());
    }

    #[test]
    fn extra_ca_certs_default_to_none_and_are_read_from_their_file() {
        assert!(config(&[]).unwrap().extra_roots.is_empty());
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let path = std::env::temp_dir().join(format!("token-vendor-ca-{}.pem", std::process::id()));
        std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
        let c = config(&[("EXTRA_CA_CERTS", path.to_str().unwrap())]);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(c.unwrap().extra_roots.len(), 1);
    }

    #[test]
    fn room_settings_default_and_validate() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (
                c.rooms_table,
                c.room_refresh_margin.as_secs(),
                c.room_ttl.as_secs()
            ),
            (None, 60, 86_400)
        );
        let c = config(&[
            ("ROOMS_TABLE", "rooms"),
            ("ROOM_REFRESH_MARGIN_S", "30"),
            ("ROOM_TTL_S", "600"),
        ])
        .unwrap();
        assert_eq!(
            (
                c.rooms_table.as_deref(),
                c.room_refresh_margin.as_secs(),
                c.room_ttl.as_secs()
            ),
            (Some("rooms"), 30, 600)
        );
        for (var, value) in [
            ("ROOM_TTL_S", "0"),
            ("ROOM_TTL_S", "59"),
            ("ROOM_TTL_S", "2592001"),
            ("ROOM_TTL_S", "18446744073709551615"),
            ("ROOM_TTL_S", "soon"),
            ("ROOM_REFRESH_MARGIN_S", "-1"),
            ("ROOM_REFRESH_MARGIN_S", "86401"),
            ("ROOM_REFRESH_MARGIN_S", "18446744073709551615"),
        ] {
            assert_eq!(
                config(&[(var, value)]).unwrap_err().variable,
                var,
                "{var}={value}"
            );
        }
    }

    #[test]
    fn room_bounds_are_inclusive_and_the_margin_stays_below_the_ttl() {
        for (ttl, margin) in [("60", "0"), ("60", "59"), ("2592000", "86400")] {
            let c = config(&[("ROOM_TTL_S", ttl), ("ROOM_REFRESH_MARGIN_S", margin)]).unwrap();
            assert_eq!(c.room_ttl.as_secs().to_string(), ttl);
            assert_eq!(c.room_refresh_margin.as_secs().to_string(), margin);
        }
        for (ttl, margin) in [("60", "60"), ("3600", "86400")] {
            let e = config(&[("ROOM_TTL_S", ttl), ("ROOM_REFRESH_MARGIN_S", margin)]).unwrap_err();
            assert_eq!(e.variable, "ROOM_REFRESH_MARGIN_S", "{ttl} {margin}");
        }
        // Checked whether or not rooms are enabled: under Lambda without a
        // table too.
        let e = config(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("ALLOWED_ORIGINS", "https://app.example.com"),
            ("CAS_URL", "https://cas.example.com"),
            ("SECRET_ID", "s"),
            ("ROOM_TTL_S", "10"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "ROOM_TTL_S");
    }

    #[test]
    fn endpoint_never_doubles_the_slash() {
        let path = "stream/token/v2/";
        for base in ["https://cas.example.com", "https://cas.example.com/"] {
            let url = endpoint(&Url::parse(base).unwrap(), path);
            assert_eq!(url.as_str(), "https://cas.example.com/stream/token/v2/");
        }
        let url = endpoint(&Url::parse("https://h.example/prefix/").unwrap(), path);
        assert_eq!(url.as_str(), "https://h.example/prefix/stream/token/v2/");
    }
}
