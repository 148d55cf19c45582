use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";

fn policy(identity: IdentitySource) -> TwilioPolicy {
    TwilioPolicy {
        rooms: AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party-".into()),
        ]),
        ttl: 600,
        identity,
    }
}

fn asked(body: &str) -> TwilioRequest {
    TwilioRequest::from_body(body.as_bytes()).unwrap()
}

fn code(result: Result<TwilioGrant, ApiError>) -> &'static str {
    result.map(|_| "ok").unwrap_or_else(|e| e.code())
}

#[test]
fn the_body_is_plugin_rtcs_and_nothing_else() {
    let request = asked(r#"{"room_name":"lobby","user_identity":"alice"}"#);
    assert_eq!(request.room_name.as_deref(), Some("lobby"));
    assert_eq!(request.user_identity.as_deref(), Some("alice"));
    assert_eq!(asked(" ").room_name, None);
    // twilio-video-app-react's flags are taken (and ignored).
    let app = asked(r#"{"room_name":"lobby","create_room":true,"create_conversation":false}"#);
    assert_eq!(app.create_room, Some(true));
    for bad in [
        "[]",
        r#"{"room_name":"a","passcode":"1"}"#,
        r#"{"room_name":1}"#,
        r#"{"room_name":"a","create_room":"yes"}"#,
        r#"{"room_name":"a","room_name":"b"}"#,
        "not json",
    ] {
        assert!(TwilioRequest::from_body(bad.as_bytes()).is_err(), "{bad}");
    }
    let debug = format!("{request:?}");
    assert!(!debug.contains("lobby") && !debug.contains("alice"), "{debug}");
}

#[test]
fn the_identity_is_the_callers_own() {
    let caller = policy(IdentitySource::Caller);
    let grant = caller
        .decide(&asked(r#"{"room_name":"lobby"}"#), Some("user-1"))
        .unwrap();
    assert_eq!(
        (grant.room.as_str(), grant.identity.as_str(), grant.ttl),
        ("lobby", "user-1", 600)
    );
    let same = r#"{"room_name":"lobby","user_identity":"user-1"}"#;
    assert_eq!(code(caller.decide(&asked(same), Some("user-1"))), "ok");
    let other = r#"{"room_name":"lobby","user_identity":"user-2"}"#;
    assert_eq!(
        code(caller.decide(&asked(other), Some("user-1"))),
        "identity_not_allowed"
    );
    // Nobody vouches: a random identity, and asking for one is refused...
    let guest = caller.decide(&asked(r#"{"room_name":"lobby"}"#), None).unwrap();
    assert!(guest.identity.starts_with("guest-"), "{}", guest.identity);
    assert_eq!(code(caller.decide(&asked(other), None)), "identity_not_allowed");
    // ...unless the operator lets callers choose, under req:.
    let request = policy(IdentitySource::Request);
    assert_eq!(
        request.decide(&asked(other), None).unwrap().identity,
        "req:user-2"
    );
}

#[test]
fn rooms_and_sizes_are_checked_before_anything_is_signed() {
    let p = policy(IdentitySource::Request);
    let long = "a".repeat(118);
    let fits = "a".repeat(117);
    for (body, sub, expected) in [
        (r#"{}"#.to_owned(), None, "bad_request"),
        (r#"{"room_name":""}"#.to_owned(), None, "bad_request"),
        (r#"{"room_name":"a b"}"#.to_owned(), None, "bad_request"),
        (r#"{"room_name":"other"}"#.to_owned(), None, "room_not_allowed"),
        (r#"{"room_name":"party-7"}"#.to_owned(), None, "ok"),
        (
            format!(r#"{{"room_name":"lobby","user_identity":"{long}"}}"#),
            None,
            "bad_request",
        ),
        (
            format!(r#"{{"room_name":"lobby","user_identity":"{fits}"}}"#),
            None,
            "ok",
        ),
        (
            r#"{"room_name":"lobby","user_identity":"a\u0007"}"#.to_owned(),
            None,
            "bad_request",
        ),
        (
            r#"{"room_name":"lobby","user_identity":""}"#.to_owned(),
            None,
            "bad_request",
        ),
        (
            r#"{"room_name":"lobby"}"#.to_owned(),
            Some("x".repeat(122)),
            "bad_request",
        ),
        (r#"{"room_name":"lobby"}"#.to_owned(), Some("x".repeat(121)), "ok"),
        (
            r#"{"room_name":"lobby"}"#.to_owned(),
            Some("x\u{7}y".to_owned()),
            "bad_request",
        ),
        (
            r#"{"room_name":"lobby"}"#.to_owned(),
            Some("req:x".to_owned()),
            "identity_not_allowed",
        ),
    ] {
        assert_eq!(
            code(p.decide(&asked(&body), sub.as_deref())),
            expected,
            "{body} {sub:?}"
        );
    }
    assert_eq!(code(p.decide(&asked(r#"{"room_name":"lobby"}"#), None)), "ok");
}

#[test]
fn the_token_is_twilios_access_token_signed_with_the_key_secret() {
    let grant = TwilioGrant {
        room: "lobby".into(),
        identity: "alice".into(),
        ttl: 600,
    };
    let token = sign(ACCOUNT, KEY_SID, b"the-secret", &grant, 1_800_000_000).unwrap();
    let [header, payload, signature]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(header).unwrap(),
        br#"{"typ":"JWT","alg":"HS256","cty":"twilio-fpa;v=1"}"#
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({
            "jti": format!("{KEY_SID}-1800000000"),
            "grants": {"identity": "alice", "video": {"room": "lobby"}},
            "iss": KEY_SID,
            "sub": ACCOUNT,
            "iat": 1_800_000_000,
            "nbf": 1_800_000_000,
            "exp": 1_800_000_600,
        })
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"the-secret").unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    assert_eq!(
        URL_SAFE_NO_PAD.decode(signature).unwrap(),
        mac.finalize().into_bytes().to_vec()
    );
    // Debug names neither.
    let debug = format!("{grant:?}");
    assert!(!debug.contains("lobby") && !debug.contains("alice"), "{debug}");
}
