use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

const APPLICATION: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const SESSION: &str = "1_MX4xMjM0NTY3OH4xMjcuMC4wLjF-V2VkIE5vdiAxMyAyMDEzfjAuMX4";

fn policy() -> VonagePolicy {
    VonagePolicy {
        roles: Roles {
            subscriber: true,
            publisher: true,
            publisher_only: false,
            moderator: false,
        },
        ttl: 600,
        data: false,
    }
}

fn asked(body: &str) -> VonageRequest {
    VonageRequest::from_body(body.as_bytes()).unwrap()
}

fn code(result: Result<VonageGrant, ApiError>) -> &'static str {
    result.map(|_| "ok").unwrap_or_else(|e| e.code())
}

/// A fresh RSA key, as PKCS#8 PEM (Vonage's dashboard's format).
fn rsa_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .unwrap()
        .serialize_pem()
}

fn key_pair(pem: &str) -> Credentials {
    Credentials::from_lookup(|name| (name == "VONAGE_PRIVATE_KEY").then(|| pem.to_owned()))
}

#[test]
fn the_body_is_a_session_a_role_and_data_and_nothing_else() {
    let request = asked(&format!(
        r#"{{"session_id":"{SESSION}","role":"publisheronly","data":"x"}}"#
    ));
    assert_eq!(request.role, Some(Role::PublisherOnly));
    for bad in [
        "[]",
        r#"{"session_id":"a","token":"1"}"#,
        r#"{"role":"host"}"#,
        r#"{"role":"Publisher"}"#,
        r#"{"data":{}}"#,
        r#"{"session_id":"a","session_id":"b"}"#,
    ] {
        assert!(VonageRequest::from_body(bad.as_bytes()).is_err(), "{bad}");
    }
    let debug = format!("{request:?}");
    assert!(!debug.contains(SESSION), "{debug}");
}

#[test]
fn the_role_defaults_to_publisher_when_allowed_and_is_held_to_the_policy() {
    let p = policy();
    let body = format!(r#"{{"session_id":"{SESSION}"}}"#);
    let grant = p.decide(&asked(&body), Some("user-1")).unwrap();
    assert_eq!(
        (grant.role, grant.identity.as_str(), grant.ttl),
        (Role::Publisher, "user-1", 600)
    );
    assert_eq!(grant.connection_data, r#"{"identity":"user-1"}"#);
    let subscribers_only = VonagePolicy {
        roles: Roles {
            publisher: false,
            ..p.roles
        },
        ..p.clone()
    };
    assert_eq!(
        subscribers_only.decide(&asked(&body), None).unwrap().role,
        Role::Subscriber
    );
    for (role, expected) in [
        ("subscriber", "ok"),
        ("publisher", "ok"),
        ("publisheronly", "role_not_allowed"),
        ("moderator", "role_not_allowed"),
    ] {
        let body = format!(r#"{{"session_id":"{SESSION}","role":"{role}"}}"#);
        assert_eq!(code(p.decide(&asked(&body), None)), expected, "{role}");
    }
}

#[test]
fn sessions_data_and_identities_are_checked() {
    let p = policy();
    let with_data = format!(r#"{{"session_id":"{SESSION}","data":"seat=4"}}"#);
    assert_eq!(code(p.decide(&asked(&with_data), None)), "data_not_allowed");
    let open = VonagePolicy {
        data: true,
        ..p.clone()
    };
    let grant = open.decide(&asked(&with_data), Some("u\"1")).unwrap();
    // The identity and the data are JSON-escaped: neither can forge the other.
    assert_eq!(grant.connection_data, r#"{"identity":"u\"1","data":"seat=4"}"#);
    let guest = p
        .decide(&asked(&format!(r#"{{"session_id":"{SESSION}"}}"#)), None)
        .unwrap();
    assert!(guest.identity.starts_with("guest-"), "{}", guest.identity);
    let long_data = "d".repeat(972);
    for (body, sub, expected) in [
        ("{}".to_owned(), None, "bad_request"),
        (r#"{"session_id":""}"#.to_owned(), None, "bad_request"),
        (r#"{"session_id":"a/b"}"#.to_owned(), None, "bad_request"),
        (
            format!(r#"{{"session_id":"{}"}}"#, "s".repeat(257)),
            None,
            "bad_request",
        ),
        (format!(r#"{{"session_id":"{}"}}"#, "s".repeat(256)), None, "ok"),
        (
            format!(r#"{{"session_id":"{SESSION}","data":"a\u0000"}}"#),
            None,
            "bad_request",
        ),
        (
            format!(r#"{{"session_id":"{SESSION}","data":"{long_data}"}}"#),
            Some("u".to_owned()),
            "ok",
        ),
        (
            format!(r#"{{"session_id":"{SESSION}","data":"{long_data}"}}"#),
            Some("user".to_owned()),
            "bad_request",
        ),
        (
            format!(r#"{{"session_id":"{SESSION}"}}"#),
            Some("x".repeat(257)),
            "bad_request",
        ),
        (
            format!(r#"{{"session_id":"{SESSION}"}}"#),
            Some("req:x".to_owned()),
            "identity_not_allowed",
        ),
        (
            format!(r#"{{"session_id":"{SESSION}"}}"#),
            Some("guest-x".to_owned()),
            "identity_not_allowed",
        ),
    ] {
        assert_eq!(
            code(open.decide(&asked(&body), sub.as_deref())),
            expected,
            "{body} {sub:?}"
        );
    }
    let debug = format!("{grant:?}");
    assert!(!debug.contains("seat") && !debug.contains(SESSION), "{debug}");
}

#[test]
fn the_token_carries_generate_client_tokens_claims_signed_rs256() {
    let pem = rsa_pem();
    let credentials = key_pair(&pem);
    let key = credentials.vonage().unwrap();
    let grant = VonageGrant {
        session_id: SESSION.into(),
        role: Role::Moderator,
        identity: "alice".into(),
        connection_data: r#"{"identity":"alice"}"#.into(),
        ttl: 600,
    };
    let jti = uuid_v4().unwrap();
    let token = sign(APPLICATION, key, &grant, 1_800_000_000, &jti).unwrap();
    let [header, payload, signature]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(header).unwrap(),
        br#"{"alg":"RS256","typ":"JWT"}"#
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({
            "scope": "session.connect",
            "session_id": SESSION,
            "role": "moderator",
            "initial_layout_class_list": "",
            "exp": 1_800_000_600,
            "sub": "video",
            "acl": {"paths": {"/session/**": {}}},
            "connection_data": r#"{"identity":"alice"}"#,
            "jti": jti,
            "iat": 1_800_000_000,
            "application_id": APPLICATION,
        })
    );
    let signed = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let verify = |public: &[u8]| {
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
            .verify(signed.as_bytes(), &signature)
    };
    assert!(verify(key.public().as_ref()).is_ok());
    let other = key_pair(&rsa_pem());
    assert!(verify(other.vonage().unwrap().public().as_ref()).is_err());
}

#[test]
fn a_jti_is_a_random_version_4_uuid() {
    let (a, b) = (uuid_v4().unwrap(), uuid_v4().unwrap());
    assert_ne!(a, b);
    for id in [&a, &b] {
        assert!(is_uuid(id), "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        assert!("89ab".contains(&id[19..20]), "{id}");
    }
}

#[test]
fn the_private_key_is_an_rsa_key_in_pem_or_it_is_refused_by_name() {
    let pem = rsa_pem();
    assert!(key_pair(&pem).vonage().is_ok());
    // One line of JSON or an environment variable: \n as two characters.
    assert!(key_pair(&pem.replace('\n', "\\n")).vonage().is_ok());
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap()
        .serialize_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for bad in [ec.as_str(), "not a key", body.as_str(), &pem[..pem.len() / 2]] {
        let credentials = key_pair(bad);
        let error = credentials.vonage().unwrap_err();
        assert_eq!(error, SecretFormatError::NotRsaKey("VONAGE_PRIVATE_KEY"));
        assert_eq!(error.variable(), "VONAGE_PRIVATE_KEY");
    }
    // The parsed key is held, and Debug names neither it nor the PEM.
    let credentials = key_pair(&pem);
    // Bytes 16..32 of the DER RSAPublicKey are inside its modulus.
    let modulus = credentials.vonage().unwrap().public().as_ref()[16..32].to_vec();
    let debug = format!("{credentials:?}");
    let middle = &body[body.len() / 2..body.len() / 2 + 40];
    assert!(!debug.contains(middle), "{debug}");
    assert!(!debug.to_lowercase().contains(&hex(&modulus)), "{debug}");
    assert!(debug.contains("VONAGE_PRIVATE_KEY: \"[REDACTED]\""), "{debug}");
}

#[test]
fn application_ids_are_uuids() {
    assert!(is_uuid(APPLICATION));
    assert!(is_uuid(&APPLICATION.to_uppercase()));
    for bad in [
        "",
        "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d",
        "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g",
        "0a1b2c3d-4e5f-4a6b-8c7d9-e0f1a2b3c4d",
    ] {
        assert!(!is_uuid(bad), "{bad}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
