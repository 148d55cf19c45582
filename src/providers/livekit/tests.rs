use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

fn policy() -> LiveKitPolicy {
    LiveKitPolicy {
        rooms: AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party-".into()),
        ]),
        grants: Grants {
            publish: true,
            subscribe: true,
            data: false,
        },
        ttl: 600,
        room_config: false,
        identity: IdentitySource::Caller,
        max_name: 8,
        max_metadata: 16,
        max_attributes: 8,
    }
}

fn asked(room: &str) -> TokenRequest {
    TokenRequest {
        room_name: Some(room.to_owned()),
        ..TokenRequest::default()
    }
}

fn code(result: Result<Grant, ApiError>) -> &'static str {
    result.map_or_else(|e| e.code(), |_| "ok")
}

#[test]
fn bodies_are_livekits_fields_in_a_json_object_or_nothing() {
    assert_eq!(TokenRequest::from_body(b"").unwrap(), TokenRequest::default());
    assert_eq!(TokenRequest::from_body(b" {} ").unwrap(), TokenRequest::default());
    let full = TokenRequest::from_body(
        br#"{"room_name":"r","participant_identity":"i","participant_name":"n","participant_metadata":"m","participant_attributes":{"a":"1"},"room_config":{"agents":[]}}"#,
    )
    .unwrap();
    assert_eq!(full.participant_attributes.unwrap()["a"], "1");
    for bad in [
        &br#"{"room":"r"}"#[..],
        br#"{"room_name":"r","room_name":"s"}"#,
        br#"{"room_name":7}"#,
        br#"{"participant_attributes":{"a":1}}"#,
        br#"{"room_config":[]}"#,
        br#"["r"]"#,
        b"\x0c",
        b"room_name=r",
    ] {
        assert_eq!(
            TokenRequest::from_body(bad).unwrap_err().code(),
            "bad_request",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn validation_refusals_are_400_and_come_before_policy() {
    let p = policy();
    assert_eq!(code(p.decide(&TokenRequest::default(), None)), "bad_request");
    for room in ["", "a b", "caf\u{e9}", &"r".repeat(129)] {
        assert_eq!(code(p.decide(&asked(room), None)), "bad_request", "{room}");
    }
    let long = |f: fn(&mut TokenRequest)| {
        let mut a = asked("not-listed");
        f(&mut a);
        code(p.decide(&a, None))
    };
    assert_eq!(long(|a| a.participant_name = Some("n".repeat(9))), "bad_request");
    assert_eq!(long(|a| a.participant_name = Some("a\nb".into())), "bad_request");
    assert_eq!(
        long(|a| a.participant_metadata = Some("m".repeat(17))),
        "bad_request"
    );
    assert_eq!(
        long(|a| a.participant_attributes = Some([("key".into(), "value1".into())].into())),
        "bad_request"
    );
    assert_eq!(
        long(|a| a.participant_identity = Some(String::new())),
        "bad_request"
    );
    assert_eq!(
        long(|a| a.participant_identity = Some("i".repeat(253))),
        "bad_request"
    );
}

#[test]
fn policy_refusals_are_403_with_their_own_codes() {
    let p = policy();
    assert_eq!(code(p.decide(&asked("lobby"), None)), "ok");
    assert_eq!(code(p.decide(&asked("party-42"), None)), "ok");
    assert_eq!(code(p.decide(&asked("lobby-2"), None)), "room_not_allowed");
    let mut config = asked("lobby");
    config.room_config = Some(room_config("{}"));
    assert_eq!(code(p.decide(&config, None)), "room_config_not_allowed");
    let mut allowed = policy();
    allowed.room_config = true;
    allowed.rooms = AllowedRooms::Any;
    assert_eq!(code(allowed.decide(&config, None)), "ok");
    // The policy is decided before the size: an oversized room_config is
    // 403 where it is refused, 400 where it is allowed.
    let big = format!(r#"{{"metadata":"{}"}}"#, "m".repeat(MAX_ROOM_CONFIG));
    config.room_config = Some(room_config(&big));
    assert_eq!(code(p.decide(&config, None)), "room_config_not_allowed");
    assert_eq!(code(allowed.decide(&config, None)), "bad_request");
}

fn room_config(json: &str) -> RoomConfig {
    serde_json::from_str(json).unwrap()
}

#[test]
fn sizes_are_utf8_bytes_and_control_characters_are_refused() {
    let p = policy();
    let with = |f: fn(&mut TokenRequest)| {
        let mut a = asked("lobby");
        f(&mut a);
        code(p.decide(&a, None))
    };
    // max_name 8 bytes: two 4-byte emoji fit, three characters of them do not.
    assert_eq!(with(|a| a.participant_name = Some("🎉🎉".into())), "ok");
    assert_eq!(
        with(|a| a.participant_name = Some("🎉🎉🎉".into())),
        "bad_request"
    );
    // max_metadata 16 bytes: five é (10 bytes) fit, nine (18) do not.
    assert_eq!(with(|a| a.participant_metadata = Some("é".repeat(5))), "ok");
    assert_eq!(
        with(|a| a.participant_metadata = Some("é".repeat(9))),
        "bad_request"
    );
    // Control characters, each a 6-byte escape in the token: refused in
    // the name, the metadata, and attribute keys and values.
    assert_eq!(
        with(|a| a.participant_name = Some("a\u{1}".into())),
        "bad_request"
    );
    assert_eq!(
        with(|a| a.participant_metadata = Some("\u{1}".into())),
        "bad_request"
    );
    assert_eq!(
        with(|a| a.participant_attributes = Some([("k".into(), "\u{7f}".into())].into())),
        "bad_request"
    );
    assert_eq!(
        with(|a| a.participant_attributes = Some([("\n".into(), "v".into())].into())),
        "bad_request"
    );
    assert_eq!(
        with(|a| a.participant_attributes = Some([("k".into(), "é".into())].into())),
        "ok"
    );
}

#[test]
fn the_identity_is_the_callers_or_a_fresh_one() {
    let p = policy();
    let mut named = asked("lobby");
    named.participant_identity = Some("alice".into());
    // Signed in: the sub, and a differing identity is refused.
    assert_eq!(
        p.decide(&asked("lobby"), Some("alice")).unwrap().identity,
        "alice"
    );
    assert_eq!(p.decide(&named, Some("alice")).unwrap().identity, "alice");
    assert_eq!(code(p.decide(&named, Some("bob"))), "identity_not_allowed");
    // Nobody vouches: a fresh identity each time, and none may be chosen...
    let (a, b) = (
        p.decide(&asked("lobby"), None).unwrap().identity,
        p.decide(&asked("lobby"), None).unwrap().identity,
    );
    assert!(a.starts_with("guest-") && a.len() == 22 && a != b, "{a} {b}");
    assert_eq!(code(p.decide(&named, None)), "identity_not_allowed");
    // ...unless the operator trusts the caller's word.
    let mut trusting = policy();
    trusting.identity = IdentitySource::Request;
    assert_eq!(trusting.decide(&named, None).unwrap().identity, "req:alice");
    assert_eq!(code(trusting.decide(&named, Some("bob"))), "identity_not_allowed");
}

#[test]
fn room_patterns_are_names_or_prefixes() {
    assert_eq!(
        RoomPattern::parse("lobby"),
        Some(RoomPattern::Exact("lobby".into()))
    );
    assert_eq!(
        RoomPattern::parse("party-*"),
        Some(RoomPattern::Prefix("party-".into()))
    );
    for bad in ["a b", "p*x", "**", ""] {
        assert_eq!(RoomPattern::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_claims_are_livekits_with_every_right_spelled_out() {
    let mut grant = policy().decide(&asked("lobby"), Some("alice")).unwrap();
    grant.name = Some("Alice".into());
    grant.attributes = Some([("a".into(), "1".into())].into());
    let claims = claims(&grant, "APIkey", 1_000, 1_600);
    assert_eq!(
        serde_json::to_value(&claims).unwrap(),
        serde_json::json!({
            "iss": "APIkey", "sub": "alice", "nbf": 1_000, "exp": 1_600, "name": "Alice",
            "attributes": {"a": "1"},
            "video": {"room": "lobby", "roomJoin": true, "canPublish": true, "canSubscribe": true, "canPublishData": false},
        })
    );
    let token = jwt::sign_hs256(&claims, b"secret").unwrap();
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn debug_names_no_room_identity_or_metadata() {
    let mut a = asked("secret-room");
    a.participant_metadata = Some("secret-meta".into());
    let grant = policy().decide(&asked("lobby"), Some("secret-sub")).unwrap();
    for text in [format!("{a:?}"), format!("{grant:?}")] {
        assert!(!text.contains("secret") && !text.contains("lobby"), "{text}");
    }
}
