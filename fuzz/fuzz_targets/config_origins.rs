//! Any text as `ALLOWED_ORIGINS` and as an `Origin` header, and, split on
//! newlines, as the values of the configuration variables in a fixed order.
//! An origin is allowed exactly when the policy lists it; a configuration is
//! accepted only when consistent, or refused naming one of its variables.
#![no_main]

use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, ORIGIN};
use libfuzzer_sys::fuzz_target;
use token_vendor::Config;
use token_vendor::{AllowedOrigins, OriginCheck};

/// The variables the input's lines give values to, in this order; every
/// variable `Config::from_lookup` reads is here.
const VARIABLES: [&str; 18] = [
    "ALLOWED_ORIGINS",
    "CAS_URL",
    "AIPIX_URL",
    "AIPIX_STREAMS",
    "AIPIX_RIGHTS",
    "AIPIX_MAX_TTL",
    "AIPIX_DEFAULT_TTL",
    "AIPIX_ALLOW_UNLIMITED",
    "UPSTREAM_TIMEOUT_MS",
    "ROOM_TTL_S",
    "ROOM_REFRESH_MARGIN_S",
    "LISTEN_ADDR",
    "API_KEY",
    "API_SECRET",
    "AIPIX_API_TOKEN",
    "SECRET_ID",
    "ROOMS_TABLE",
    "AWS_LAMBDA_RUNTIME_API",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    origins(text);
    configuration(text);
});

fn origins(text: &str) {
    let mut policies = vec![
        AllowedOrigins::Any,
        AllowedOrigins::List(vec!["https://app.example.com".to_owned(), "null".to_owned()]),
    ];
    match AllowedOrigins::parse(text) {
        Ok(AllowedOrigins::Any) => {
            let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
            assert_eq!(entries, ["*"]);
        }
        Ok(AllowedOrigins::List(listed)) => {
            // Each origin is an entry of the input, verbatim, and reads back the same.
            for origin in &listed {
                assert!(text.split(',').any(|entry| entry.trim() == origin), "{origin:?}");
            }
            let again = AllowedOrigins::parse(&listed.join(","));
            assert_eq!(again.ok(), Some(AllowedOrigins::List(listed.clone())));
            policies.push(AllowedOrigins::List(listed));
        }
        Err(_) => {}
    }

    let Ok(value) = HeaderValue::from_str(text) else {
        return;
    };
    let mut one = HeaderMap::new();
    one.insert(ORIGIN, value.clone());
    let mut two = one.clone();
    two.append(ORIGIN, value.clone());
    for policy in &policies {
        let expected = if value.to_str().is_ok() && policy.allows(text) {
            OriginCheck::Allowed(value.clone())
        } else {
            OriginCheck::Refused
        };
        assert_eq!(policy.check(&one), expected, "{policy:?}");
        assert_eq!(policy.check(&two), OriginCheck::Refused, "{policy:?}");
    }
}

fn configuration(text: &str) {
    let values: Vec<&str> = text.split('\n').collect();
    let lookup = |name: &str| {
        let at = VARIABLES.iter().position(|variable| *variable == name)?;
        values.get(at).map(|value| (*value).to_owned())
    };
    match Config::from_lookup(lookup) {
        Ok(config) => {
            assert!(config.room_refresh_margin < config.room_ttl);
            assert!(config.upstream_timeout > Duration::ZERO);
            assert!(config.upstream_timeout <= Duration::from_secs(25));
            if let Some(aipix) = &config.aipix {
                let policy = &aipix.policy;
                assert!((1..=policy.max_ttl).contains(&policy.default_ttl));
            }
            if config.demo() {
                assert!(config.credentials.is_none());
            }
        }
        Err(error) => assert!(VARIABLES.contains(&error.variable), "{error}"),
    }
}
