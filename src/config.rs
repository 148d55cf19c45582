//! The one place that reads the environment: every variable is parsed and
//! validated here, and a bad value is a start-up error that names it.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use crate::cors::AllowedOrigins;
use crate::secrets::Credentials;

/// Default whole-request timeout for the upstream call. API Gateway gives up
/// after 29-30 s; a token service that has not answered in 5 s is down.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(5_000);
/// The largest accepted `UPSTREAM_TIMEOUT_MS`: below API Gateway's limit.
pub const MAX_UPSTREAM_TIMEOUT: Duration = Duration::from_millis(25_000);
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

/// Where the provider's API key and secret come from.
#[derive(Debug)]
pub enum CredentialSource {
    /// A Secrets Manager secret (name or ARN) holding
    /// `{"API_KEY": "...", "API_SECRET": "..."}`.
    SecretsManager { secret_id: String },
    /// `API_KEY` / `API_SECRET` from the environment: local mode only.
    Environment(Credentials),
}

/// Which token service `/token` talks to.
#[derive(Debug)]
pub enum Provider {
    /// Sceenic's Cluster Authentication Service.
    Cas {
        base_url: Url,
        credentials: CredentialSource,
    },
    /// The built-in demo upstream: local mode only, never under Lambda.
    Demo,
}

/// The validated configuration of one process.
#[derive(Debug)]
pub struct Config {
    pub mode: Mode,
    pub provider: Provider,
    pub allowed_origins: AllowedOrigins,
    pub upstream_timeout: Duration,
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

        let secret_id = get("SECRET_ID");
        let api_key = get("API_KEY");
        let api_secret = get("API_SECRET");
        if lambda {
            for (name, value) in [("API_KEY", &api_key), ("API_SECRET", &api_secret)] {
                if value.is_some() {
                    return Err(invalid(
                        name,
                        "must not be set under Lambda: credentials come only from SECRET_ID",
                    ));
                }
            }
        }

        let provider = match get("CAS_URL") {
            Some(url) => {
                let base_url = parse_base_url(&url).map_err(|reason| invalid("CAS_URL", reason))?;
                let credentials = match (secret_id, api_key, api_secret) {
                    (Some(secret_id), _, _) => CredentialSource::SecretsManager { secret_id },
                    (None, _, _) if lambda => {
                        return Err(invalid("SECRET_ID", "required under Lambda"));
                    }
                    (None, Some(key), Some(secret)) => CredentialSource::Environment(
                        Credentials::new(key, secret).map_err(|e| invalid(e.variable(), e.to_string()))?,
                    ),
                    (None, None, _) => {
                        return Err(invalid("API_KEY", "set SECRET_ID, or API_KEY and API_SECRET"));
                    }
                    (None, Some(_), None) => {
                        return Err(invalid("API_SECRET", "set together with API_KEY"));
                    }
                };
                Provider::Cas {
                    base_url,
                    credentials,
                }
            }
            None if lambda => return Err(invalid("CAS_URL", "required under Lambda")),
            None => {
                if secret_id.is_some() || api_key.is_some() || api_secret.is_some() {
                    return Err(invalid(
                        "CAS_URL",
                        "credentials are set but CAS_URL is not; set it, or unset the credentials to run the demo upstream",
                    ));
                }
                Provider::Demo
            }
        };

        Ok(Self {
            mode,
            provider,
            allowed_origins,
            upstream_timeout,
        })
    }
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
        assert!(matches!(
            c.provider,
            Provider::Cas { credentials: CredentialSource::SecretsManager { ref secret_id }, .. } if secret_id == "token-vendor/cas"
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
        assert!(matches!(c.provider, Provider::Demo));
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
        assert!(matches!(
            c.provider,
            Provider::Cas {
                credentials: CredentialSource::Environment(_),
                ..
            }
        ));
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
