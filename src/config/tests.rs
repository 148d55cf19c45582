//! The configuration's rules, variable by variable.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::providers::aipix::{AllowedStreams, Rights};
use crate::providers::livekit::{AllowedRooms, Grants, IdentitySource, RoomPattern};
use crate::quota::FailMode;
use server::DEFAULT_UPSTREAM_TIMEOUT;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

const LAMBDA: (&str, &str) = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001");

/// `base` with `var` set to `value` instead: refused, naming `var`.
fn refused(base: &[(&str, &str)], var: &str, value: &str) -> ConfigError {
    let mut vars = base.to_vec();
    vars.retain(|(k, _)| *k != var);
    vars.push((var, value));
    let e = config(&vars).unwrap_err();
    assert_eq!(e.variable, var, "{var}={value}");
    e
}

/// Under Lambda, `provider`'s variables and a secret make a deployment
/// (`enabled` says the provider is on); its `credential` set in the
/// environment instead is refused, naming it, never printing `hidden`.
fn lambda_takes_only_the_secret(
    provider: &[(&str, &str)],
    enabled: fn(&Config) -> bool,
    credential: (&str, &str),
    hidden: &str,
) {
    let lambda = [
        &[
            LAMBDA,
            ("SECRET_ID", "tv"),
            ("ALLOWED_ORIGINS", "https://app.example.com"),
        ],
        provider,
    ]
    .concat();
    assert!(
        enabled(&config(&lambda).unwrap()),
        "the provider alone is a deployment"
    );
    let e = config(&[&lambda[..], &[credential]].concat()).unwrap_err();
    assert_eq!(e.variable, credential.0);
    assert!(!e.to_string().contains(hidden), "{e}");
}

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
fn a_provider_host_is_ascii_punycode_for_an_internationalized_name() {
    // The build has no Unicode IDNA tables (Cargo.lock pins idna_adapter
    // 1.0, BENCHMARKS.md "How to run"): a host in Unicode is refused
    // at start, naming the variable; its punycode (what `idn` or a browser
    // gives) is taken. The template's URL patterns are ASCII-only too.
    for host in [
        "https://bücher.example",
        "https://Bücher.example",
        "https://B%C3%BCcher.example",
    ] {
        let e = config(&[("API_KEY", "k"), ("API_SECRET", "s"), ("CAS_URL", host)]).unwrap_err();
        assert_eq!(e.variable, "CAS_URL", "{host}");
    }
    let c = config(&[
        ("API_KEY", "k"),
        ("API_SECRET", "s"),
        ("CAS_URL", "https://xn--bcher-kva.example"),
    ])
    .unwrap();
    assert_eq!(c.cas.unwrap().host_str(), Some("xn--bcher-kva.example"));
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

const LIVEKIT: [(&str, &str); 4] = [
    ("LIVEKIT_URL", "wss://project.livekit.cloud"),
    ("LIVEKIT_ROOMS", "lobby, party-*"),
    ("LIVEKIT_API_KEY", "APIkey"),
    ("LIVEKIT_API_SECRET", "secret"),
];

#[test]
fn livekit_alone_runs_locally_with_the_documented_defaults() {
    let c = config(&LIVEKIT).unwrap();
    assert!(c.cas.is_none() && c.aipix.is_none() && !c.demo());
    let livekit = c.livekit.unwrap();
    assert_eq!(livekit.url, "wss://project.livekit.cloud");
    let p = livekit.policy;
    assert_eq!(
        p.rooms,
        AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party-".into())
        ])
    );
    assert_eq!(
        p.grants,
        Grants {
            publish: true,
            subscribe: true,
            data: true
        }
    );
    assert_eq!(
        (p.ttl, p.room_config, p.identity),
        (600, false, IdentitySource::Caller)
    );
    assert_eq!((p.max_name, p.max_metadata, p.max_attributes), (128, 4096, 4096));
    let c = config(
        &[
            &LIVEKIT[..],
            &[("LIVEKIT_GRANTS", "subscribe"), ("LIVEKIT_IDENTITY", "request")],
        ]
        .concat(),
    )
    .unwrap();
    let p = c.livekit.unwrap().policy;
    assert_eq!(
        (p.grants.publish, p.grants.subscribe, p.identity),
        (false, true, IdentitySource::Request)
    );
}

#[test]
fn bad_livekit_values_name_their_variable() {
    for (var, value) in [
        ("LIVEKIT_URL", "ws://project.livekit.cloud"),
        ("LIVEKIT_URL", "https://project.livekit.cloud"),
        ("LIVEKIT_URL", "wss://u:p@project.livekit.cloud"),
        ("LIVEKIT_URL", "wss://project.livekit.cloud/?a=1"),
        ("LIVEKIT_ROOMS", ""),
        ("LIVEKIT_ROOMS", "a b"),
        ("LIVEKIT_ROOMS", "*,lobby"),
        ("LIVEKIT_ROOMS", "p*x"),
        ("LIVEKIT_GRANTS", "publish,record"),
        ("LIVEKIT_TTL_S", "59"),
        ("LIVEKIT_TTL_S", "86401"),
        ("LIVEKIT_ROOM_CONFIG", "yes"),
        ("LIVEKIT_IDENTITY", "anyone"),
        ("LIVEKIT_MAX_NAME", "65537"),
        ("LIVEKIT_MAX_METADATA", "-1"),
        ("LIVEKIT_API_SECRET", ""),
    ] {
        refused(&LIVEKIT, var, value);
    }
    assert!(
        config(&[
            ("LIVEKIT_URL", "ws://127.0.0.1:7880"),
            LIVEKIT[1],
            LIVEKIT[2],
            LIVEKIT[3]
        ])
        .is_ok()
    );
}

#[test]
fn under_lambda_the_livekit_pair_comes_only_from_the_secret() {
    let lambda = [
        LAMBDA,
        LIVEKIT[0],
        LIVEKIT[1],
        ("SECRET_ID", "tv"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
    ];
    assert!(
        config(&lambda).unwrap().livekit.is_some(),
        "LiveKit alone is a deployment"
    );
    for credential in [LIVEKIT[2], LIVEKIT[3]] {
        let e = config(&[&lambda[..], &[credential]].concat()).unwrap_err();
        assert_eq!(e.variable, credential.0);
        assert!(!e.to_string().contains(credential.1), "{e}");
    }
}

const AGORA: [(&str, &str); 3] = [
    ("AGORA_APP_ID", "970ca35de60c44645bbae8a215061b33"),
    ("AGORA_CHANNELS", "lobby, party *"),
    ("AGORA_APP_CERTIFICATE", "5cfd2fd1755d40ecb72977518be15d3b"),
];

#[test]
fn agora_alone_runs_locally_with_the_documented_defaults() {
    let c = config(&AGORA).unwrap();
    assert!(c.cas.is_none() && c.livekit.is_none() && !c.demo());
    let agora = c.agora.unwrap();
    assert_eq!(agora.app_id, AGORA[0].1);
    let p = agora.policy;
    assert_eq!(
        p.channels,
        AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party ".into())
        ])
    );
    assert_eq!(
        (
            p.roles.publisher,
            p.roles.subscriber,
            p.ttl,
            p.max_ttl,
            p.identity
        ),
        (true, true, 3600, 3600, IdentitySource::Caller)
    );
    // The default lifetime follows a smaller maximum.
    let c = config(
        &[
            &AGORA[..],
            &[("AGORA_MAX_TTL_S", "600"), ("AGORA_ROLES", "subscriber")],
        ]
        .concat(),
    )
    .unwrap();
    let p = c.agora.unwrap().policy;
    assert_eq!((p.ttl, p.max_ttl, p.roles.publisher), (600, 600, false));
}

#[test]
fn bad_agora_values_name_their_variable_never_a_key() {
    for (var, value) in [
        ("AGORA_APP_ID", "970ca35de60c44645bbae8a215061b3"),
        ("AGORA_APP_ID", "970ca35de60c44645bbae8a215061bzz"),
        ("AGORA_CHANNELS", ""),
        ("AGORA_CHANNELS", "*,lobby"),
        ("AGORA_CHANNELS", "a/b"),
        ("AGORA_CHANNELS", "p*x"),
        ("AGORA_ROLES", "publisher,host"),
        ("AGORA_TTL_S", "59"),
        ("AGORA_TTL_S", "3601"),
        ("AGORA_MAX_TTL_S", "86401"),
        ("AGORA_IDENTITY", "anyone"),
        ("AGORA_APP_CERTIFICATE", ""),
        ("AGORA_APP_CERTIFICATE", "5cfd2fd1755d40ecb72977518be15d3"),
        ("AGORA_APP_CERTIFICATE", "5cfd2fd1755d40ecb72977518be15d3g"),
    ] {
        let e = refused(&AGORA, var, value);
        if var == "AGORA_APP_CERTIFICATE" && !value.is_empty() {
            assert!(!e.to_string().contains(value), "{e}");
        }
    }
    lambda_takes_only_the_secret(&AGORA[..2], |c| c.agora.is_some(), AGORA[2], AGORA[2].1);
}

const TWILIO: [(&str, &str); 4] = [
    ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
    ("TWILIO_ROOMS", "lobby, party-*"),
    ("TWILIO_API_KEY_SID", "SKfedcba9876543210fedcba9876543210"),
    ("TWILIO_API_KEY_SECRET", "the-key-secret"),
];

#[test]
fn twilio_alone_runs_locally_with_the_documented_defaults() {
    let c = config(&TWILIO).unwrap();
    assert!(c.cas.is_none() && c.agora.is_none() && !c.demo());
    let twilio = c.twilio.unwrap();
    assert_eq!(twilio.account_sid, TWILIO[0].1);
    let p = twilio.policy;
    assert_eq!(
        p.rooms,
        AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party-".into())
        ])
    );
    assert_eq!((p.ttl, p.identity), (3600, IdentitySource::Caller));
    let c = config(
        &[
            &TWILIO[..],
            &[("TWILIO_TTL_S", "86400"), ("TWILIO_IDENTITY", "request")],
        ]
        .concat(),
    )
    .unwrap();
    let p = c.twilio.unwrap().policy;
    assert_eq!((p.ttl, p.identity), (86_400, IdentitySource::Request));
}

#[test]
fn bad_twilio_values_name_their_variable_never_a_key() {
    for (var, value) in [
        ("TWILIO_ACCOUNT_SID", "SK0123456789abcdef0123456789abcdef"),
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcde"),
        ("TWILIO_ROOMS", ""),
        ("TWILIO_ROOMS", "a b"),
        ("TWILIO_TTL_S", "59"),
        ("TWILIO_TTL_S", "86401"),
        ("TWILIO_IDENTITY", "anyone"),
        ("TWILIO_API_KEY_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_API_KEY_SID", "SKfedcba9876543210fedcba987654321x"),
        ("TWILIO_API_KEY_SECRET", ""),
        ("TWILIO_API_KEY_SECRET", "has space"),
    ] {
        let e = refused(&TWILIO, var, value);
        if var.starts_with("TWILIO_API_KEY") && !value.is_empty() {
            assert!(!e.to_string().contains(value), "{e}");
        }
    }
    lambda_takes_only_the_secret(&TWILIO[..2], |c| c.twilio.is_some(), TWILIO[3], TWILIO[3].1);
}

const VONAGE_APP: (&str, &str) = ("VONAGE_APPLICATION_ID", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");

fn vonage_key() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .unwrap()
        .serialize_pem()
}

#[test]
fn vonage_alone_runs_locally_with_the_documented_defaults() {
    let pem = vonage_key();
    let vars = [VONAGE_APP, ("VONAGE_PRIVATE_KEY", pem.as_str())];
    let c = config(&vars).unwrap();
    assert!(c.cas.is_none() && c.twilio.is_none() && !c.demo());
    let vonage = c.vonage.unwrap();
    assert_eq!(vonage.application_id, VONAGE_APP.1);
    let p = vonage.policy;
    let r = p.roles;
    assert_eq!(
        (
            r.subscriber,
            r.publisher,
            r.publisher_only,
            r.moderator,
            p.ttl,
            p.data
        ),
        (true, true, false, false, 3600, false)
    );
    let more = [
        ("VONAGE_ROLES", "moderator,publisheronly"),
        ("VONAGE_TTL_S", "60"),
        ("VONAGE_DATA", "true"),
    ];
    let p = config(&[&vars[..], &more[..]].concat())
        .unwrap()
        .vonage
        .unwrap()
        .policy;
    let r = p.roles;
    assert_eq!(
        (
            r.subscriber,
            r.publisher,
            r.publisher_only,
            r.moderator,
            p.ttl,
            p.data
        ),
        (false, false, true, true, 60, true)
    );
}

#[test]
fn bad_vonage_values_name_their_variable_never_a_key() {
    let pem = vonage_key();
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem();
    let key_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for (var, value) in [
        ("VONAGE_APPLICATION_ID", "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"),
        ("VONAGE_ROLES", "publisher,host"),
        ("VONAGE_TTL_S", "59"),
        ("VONAGE_TTL_S", "86401"),
        ("VONAGE_DATA", "yes"),
        ("VONAGE_PRIVATE_KEY", ""),
        ("VONAGE_PRIVATE_KEY", ec.as_str()),
        ("VONAGE_PRIVATE_KEY", key_body.as_str()),
    ] {
        let e = refused(&[VONAGE_APP, ("VONAGE_PRIVATE_KEY", pem.as_str())], var, value);
        assert!(
            !e.to_string()
                .contains(&key_body[key_body.len() / 2..key_body.len() / 2 + 40]),
            "{e}"
        );
    }
    lambda_takes_only_the_secret(
        &[VONAGE_APP],
        |c| c.vonage.is_some(),
        ("VONAGE_PRIVATE_KEY", &pem),
        &key_body[key_body.len() / 2..key_body.len() / 2 + 40],
    );
}

#[test]
fn the_quota_window_is_bounded_at_seven_days() {
    // tests/template/check_parameters.py gives these values (and more) to
    // the template's QuotaPerCaller too.
    for ok in [
        "20/1h",
        "100/7d",
        "5/168h",
        "20/604800s",
        "20/10080m",
        "1/1s",
        "3/90m",
    ] {
        assert!(config(&[("QUOTA", ok)]).is_ok(), "{ok}");
    }
    for refused in [
        "5/h",
        "0/1h",
        "20/1w",
        "20 /1h",
        "1/8d",
        "20/999999s",
        "20/169h",
        "20/10081m",
        "20/604801s",
        "20/0s",
    ] {
        assert_eq!(
            config(&[("QUOTA", refused)]).unwrap_err().variable,
            "QUOTA",
            "{refused}"
        );
    }
}

#[test]
fn allowed_origins_are_refused_as_the_template_refuses_them() {
    // tests/template/check_parameters.py gives these values (and more) to
    // the template's AllowedOrigins too.
    for ok in [
        "*",
        "https://app.example.com",
        "http://localhost:5173",
        "https://a.example,http://127.0.0.1:3000",
        "null",
        "https://a.example:8443",
        "http://x:65535",
    ] {
        assert!(config(&[("ALLOWED_ORIGINS", ok)]).is_ok(), "{ok}");
    }
    for refused in [
        "*,https://a.example",
        "https://a.example/",
        "https://App.example.com",
        "app.example.com",
        "https://a.example/path",
        "ftp://a.example",
        "https://a.example:443",
        "http://a.example:80",
        "http://a.example:65536",
        "https://a.example,http://b.example:80",
    ] {
        assert_eq!(
            config(&[("ALLOWED_ORIGINS", refused)]).unwrap_err().variable,
            "ALLOWED_ORIGINS",
            "{refused}"
        );
    }
}

#[test]
fn local_mode_without_livekit_url_signs_for_livekits_dev_server_and_lambda_never_does() {
    // Locally, with nothing set: the demo still runs, and LiveKit's dev server.
    let c = config(&[]).unwrap();
    assert!(c.demo() && c.livekit.is_none());
    let dev = c.livekit_dev.unwrap();
    assert_eq!(dev.url, "ws://localhost:7880");
    assert_eq!(dev.policy.rooms, AllowedRooms::Any);
    // With LIVEKIT_URL, the operator's LiveKit and no dev server.
    let c = config(&LIVEKIT).unwrap();
    assert!(c.livekit.is_some() && c.livekit_dev.is_none());
    // Under Lambda, never.
    let c = config(&[
        LAMBDA,
        ("CAS_URL", "https://cas.example.com"),
        ("SECRET_ID", "tv/cas"),
        ("ALLOWED_ORIGINS", "https://app.example.com"),
    ])
    .unwrap();
    assert!(c.livekit.is_none() && c.livekit_dev.is_none());
}

#[test]
fn secret_max_age_and_rooms_memory_max_default_and_are_bounded() {
    let c = config(&[]).unwrap();
    assert_eq!(
        (c.secret_max_age, c.rooms_memory_max),
        (Duration::from_secs(300), 100_000)
    );
    let c = config(&[("SECRET_MAX_AGE_S", "86400"), ("ROOMS_MEMORY_MAX", "1")]).unwrap();
    assert_eq!(
        (c.secret_max_age, c.rooms_memory_max),
        (Duration::from_secs(86_400), 1)
    );
    for (var, value) in [
        ("SECRET_MAX_AGE_S", "0"),
        ("SECRET_MAX_AGE_S", "86401"),
        ("SECRET_MAX_AGE_S", "5m"),
        ("ROOMS_MEMORY_MAX", "0"),
        ("ROOMS_MEMORY_MAX", "10000001"),
        ("ROOMS_MEMORY_MAX", "-1"),
    ] {
        let error = config(&[(var, value)]).unwrap_err();
        assert_eq!(error.variable, var, "{value}");
    }
}
