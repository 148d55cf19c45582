use super::*;

const APP_ID: &str = "970ca35de60c44645bbae8a215061b33";
const CERTIFICATE: &str = "5cfd2fd1755d40ecb72977518be15d3b";

fn policy() -> AgoraPolicy {
    AgoraPolicy {
        channels: AllowedRooms::List(vec![
            RoomPattern::Exact("lobby".into()),
            RoomPattern::Prefix("party ".into()),
        ]),
        roles: Roles {
            publisher: true,
            subscriber: true,
        },
        ttl: 600,
        max_ttl: 3600,
        identity: IdentitySource::Caller,
    }
}

fn asked(body: &str) -> AgoraRequest {
    AgoraRequest::from_body(body.as_bytes()).unwrap()
}

fn code(result: Result<AgoraGrant, ApiError>) -> &'static str {
    result.map(|_| "ok").unwrap_or_else(|e| e.code())
}

#[test]
fn the_body_is_agora_token_services_and_nothing_else() {
    let request = asked(r#"{"tokenType":"rtc","channel":"lobby","role":"publisher","uid":"42","expire":60}"#);
    assert_eq!(request.token_type, Some(TokenType::Rtc));
    assert_eq!(request.uid, Some(AskedUid::Text("42".into())));
    assert_eq!(asked(r#"{"uid":42}"#).uid, Some(AskedUid::Number(42)));
    assert_eq!(asked(" \n").channel, None);
    for bad in [
        "[]",
        r#"{"channel":"a","other":1}"#,
        r#"{"tokenType":"chat"}"#,
        r#"{"role":"host"}"#,
        r#"{"uid":-1}"#,
        r#"{"uid":1.5}"#,
        r#"{"uid":true}"#,
        r#"{"expire":-5}"#,
        r#"{"channel":"a","channel":"b"}"#,
        "not json",
    ] {
        assert!(AgoraRequest::from_body(bad.as_bytes()).is_err(), "{bad}");
    }
    // Debug names neither the channel nor the uid.
    let debug = format!("{request:?}");
    assert!(!debug.contains("lobby") && !debug.contains("42"), "{debug}");
}

#[test]
fn a_signed_in_caller_gets_a_token_for_its_own_sub_only() {
    let policy = policy();
    let grant = policy
        .decide(&asked(r#"{"channel":"lobby"}"#), Some("user-1"))
        .unwrap();
    assert_eq!(grant.uid, "user-1");
    assert_eq!(
        grant.service,
        Service::Rtc {
            channel: "lobby".into(),
            role: Role::Subscriber
        }
    );
    assert_eq!(grant.ttl, 600);
    let same = policy.decide(&asked(r#"{"channel":"lobby","uid":"user-1"}"#), Some("user-1"));
    assert_eq!(code(same), "ok");
    // A numeric uid equal to a numeric sub is the same account.
    assert_eq!(
        code(policy.decide(&asked(r#"{"channel":"lobby","uid":123}"#), Some("123"))),
        "ok"
    );
    for other in [
        r#"{"channel":"lobby","uid":"user-2"}"#,
        r#"{"channel":"lobby","uid":7}"#,
    ] {
        assert_eq!(
            code(policy.decide(&asked(other), Some("user-1"))),
            "identity_not_allowed"
        );
    }
    // A sub of "0" is Agora's "anyone": refused.
    assert_eq!(
        code(policy.decide(&asked(r#"{"channel":"lobby"}"#), Some("0"))),
        "identity_not_allowed"
    );
}

#[test]
fn without_an_authorizer_a_random_uid_unless_the_operator_trusts_the_request() {
    let caller = policy();
    let (a, b) = (
        caller.decide(&asked(r#"{"channel":"lobby"}"#), None).unwrap(),
        caller.decide(&asked(r#"{"channel":"lobby"}"#), None).unwrap(),
    );
    assert_ne!(a.uid, b.uid);
    assert!(a.uid.parse::<u32>().unwrap() > 0, "{}", a.uid);
    assert_eq!(
        code(caller.decide(&asked(r#"{"channel":"lobby","uid":"alice"}"#), None)),
        "identity_not_allowed"
    );

    let trusting = AgoraPolicy {
        identity: IdentitySource::Request,
        ..policy()
    };
    let grant = trusting
        .decide(&asked(r#"{"channel":"lobby","uid":"alice"}"#), None)
        .unwrap();
    assert_eq!(grant.uid, "alice");
    let grant = trusting
        .decide(&asked(r#"{"channel":"lobby","uid":4294967295}"#), None)
        .unwrap();
    assert_eq!(grant.uid, "4294967295");
    // Uid 0, as a number or as text, in every mode.
    for zero in [
        r#"{"channel":"lobby","uid":0}"#,
        r#"{"channel":"lobby","uid":"0"}"#,
    ] {
        assert_eq!(code(trusting.decide(&asked(zero), None)), "identity_not_allowed");
        assert_eq!(code(caller.decide(&asked(zero), None)), "identity_not_allowed");
        assert_eq!(
            code(caller.decide(&asked(zero), Some("user-1"))),
            "identity_not_allowed"
        );
    }
}

#[test]
fn each_refusal_has_its_code() {
    let policy = AgoraPolicy {
        roles: Roles {
            publisher: false,
            subscriber: true,
        },
        identity: IdentitySource::Request,
        ..policy()
    };
    let long_uid = format!(r#"{{"channel":"lobby","uid":"{}"}}"#, "u".repeat(256));
    let long_channel = format!(r#"{{"channel":"{}"}}"#, "c".repeat(65));
    for (body, expected) in [
        ("{}", "bad_request"),
        (r#"{"channel":""}"#, "bad_request"),
        (r#"{"channel":"a/b"}"#, "bad_request"),
        (long_channel.as_str(), "bad_request"),
        (long_uid.as_str(), "bad_request"),
        (r#"{"channel":"lobby","uid":""}"#, "bad_request"),
        (r#"{"channel":"lobby","uid":"a\nb"}"#, "bad_request"),
        (r#"{"channel":"lobby","uid":4294967296}"#, "bad_request"),
        (r#"{"channel":"lobby","expire":0}"#, "bad_request"),
        (r#"{"channel":"lobby","expire":3601}"#, "bad_request"),
        (r#"{"channel":"elsewhere"}"#, "channel_not_allowed"),
        (r#"{"channel":"lobby","role":"publisher"}"#, "role_not_allowed"),
        (r#"{"channel":"party 9","expire":3600}"#, "ok"),
        (r#"{"tokenType":"rtm"}"#, "ok"),
    ] {
        assert_eq!(code(policy.decide(&asked(body), None)), expected, "{body}");
    }
    let uid = "u".repeat(255);
    let body = format!(r#"{{"channel":"lobby","uid":"{uid}"}}"#);
    assert_eq!(policy.decide(&asked(&body), None).unwrap().uid, uid);
}

#[test]
fn an_rtm_token_names_the_user_and_no_channel() {
    let grant = policy()
        .decide(
            &asked(r#"{"tokenType":"rtm","role":"publisher"}"#),
            Some("user-1"),
        )
        .unwrap();
    assert_eq!(grant.service, Service::Rtm);
    assert_eq!(grant.channel(), None);
    assert_eq!(grant.uid, "user-1");
}

/// The inverse of the packer, for the round trip: inflates the stored
/// blocks `zlib_stored` writes, then reads the fields back.
mod unpack {
    pub(super) struct Token {
        pub(super) signature: Vec<u8>,
        pub(super) info: Vec<u8>,
        pub(super) app_id: String,
        pub(super) issued: u32,
        pub(super) expire: u32,
        pub(super) salt: u32,
        pub(super) service: u16,
        pub(super) privileges: Vec<(u16, u32)>,
        pub(super) strings: Vec<String>,
    }

    pub(super) fn inflate_stored(stream: &[u8]) -> Vec<u8> {
        assert_eq!(&stream[..2], &[0x78, 0x01]);
        let mut at = 2;
        let mut out = Vec::new();
        loop {
            let last = stream[at] & 1 == 1;
            assert_eq!(stream[at] >> 1, 0, "a stored block");
            let len = u16::from_le_bytes([stream[at + 1], stream[at + 2]]);
            let nlen = u16::from_le_bytes([stream[at + 3], stream[at + 4]]);
            assert_eq!(len, !nlen);
            at += 5;
            out.extend_from_slice(&stream[at..at + usize::from(len)]);
            at += usize::from(len);
            if last {
                break;
            }
        }
        assert_eq!(stream.len(), at + 4);
        // Adler-32, the plain way (a modulo at every byte), against the
        // trailer the packer wrote with its deferred modulo.
        let (mut a, mut b) = (1u32, 0u32);
        for byte in &out {
            a = (a + u32::from(*byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(stream[at..], ((b << 16) | a).to_be_bytes(), "Adler-32");
        out
    }

    struct Reader<'a>(&'a [u8]);

    impl Reader<'_> {
        fn take(&mut self, n: usize) -> &[u8] {
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            head
        }
        fn u16(&mut self) -> u16 {
            u16::from_le_bytes(self.take(2).try_into().unwrap())
        }
        fn u32(&mut self) -> u32 {
            u32::from_le_bytes(self.take(4).try_into().unwrap())
        }
        fn bytes(&mut self) -> Vec<u8> {
            let n = usize::from(self.u16());
            self.take(n).to_vec()
        }
    }

    pub(super) fn parse(token: &str) -> Token {
        use base64::Engine as _;
        let stream = base64::engine::general_purpose::STANDARD
            .decode(token.strip_prefix("007").unwrap())
            .unwrap();
        let content = inflate_stored(&stream);
        let mut reader = Reader(&content);
        let signature = reader.bytes();
        let info = reader.0.to_vec();
        let app_id = String::from_utf8(reader.bytes()).unwrap();
        let (issued, expire, salt) = (reader.u32(), reader.u32(), reader.u32());
        assert_eq!(reader.u16(), 1, "one service");
        let service = reader.u16();
        let privileges = (0..reader.u16()).map(|_| (reader.u16(), reader.u32())).collect();
        let mut strings = Vec::new();
        while !reader.0.is_empty() {
            strings.push(String::from_utf8(reader.bytes()).unwrap());
        }
        Token {
            signature,
            info,
            app_id,
            issued,
            expire,
            salt,
            service,
            privileges,
            strings,
        }
    }
}

fn rtc(channel: &str, uid: &str, role: Role, ttl: u32) -> AgoraGrant {
    AgoraGrant {
        service: Service::Rtc {
            channel: channel.into(),
            role,
        },
        uid: uid.into(),
        ttl,
    }
}

#[test]
fn the_packer_round_trips_and_signs_as_agora_derives_its_key() {
    use hmac::{Hmac, Mac};
    type HmacSha256 = Hmac<sha2::Sha256>;
    let mac = |key: &[u8], message: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    };

    let grant = rtc("party 1", "user-1", Role::Publisher, 900);
    let token = sign(APP_ID, CERTIFICATE.as_bytes(), &grant, 1_700_000_000, 12_345);
    let parsed = unpack::parse(&token);
    assert_eq!(parsed.app_id, APP_ID);
    assert_eq!(
        (parsed.issued, parsed.expire, parsed.salt),
        (1_700_000_000, 900, 12_345)
    );
    assert_eq!(parsed.service, 1);
    assert_eq!(parsed.privileges, [(1, 900), (2, 900), (3, 900), (4, 900)]);
    assert_eq!(parsed.strings, ["party 1", "user-1"]);
    // RustCrypto's HMAC as the reference: the key from the issue time and
    // salt over the certificate, then the signing info.
    let key = mac(
        &12_345u32.to_le_bytes(),
        &mac(&1_700_000_000u32.to_le_bytes(), CERTIFICATE.as_bytes()),
    );
    assert_eq!(parsed.signature, mac(&key, &parsed.info));
    // The certificate is in the key: another one signs differently.
    let other = unpack::parse(&sign(
        APP_ID,
        b"0123456789abcdef0123456789abcdef",
        &grant,
        1_700_000_000,
        12_345,
    ));
    assert_eq!(other.info, parsed.info);
    assert_ne!(other.signature, parsed.signature);

    let subscriber = unpack::parse(&sign(
        APP_ID,
        CERTIFICATE.as_bytes(),
        &rtc("lobby", "7", Role::Subscriber, 60),
        1,
        2,
    ));
    assert_eq!(subscriber.privileges, [(1, 60)]);
    let rtm = AgoraGrant {
        service: Service::Rtm,
        uid: "user-1".into(),
        ttl: 60,
    };
    let rtm = unpack::parse(&sign(APP_ID, CERTIFICATE.as_bytes(), &rtm, 1, 2));
    assert_eq!(
        (rtm.service, rtm.privileges, rtm.strings),
        (2, vec![(1, 60)], vec!["user-1".to_owned()])
    );
}

#[test]
fn the_zlib_stream_splits_into_stored_blocks_with_adler32() {
    for size in [0, 1, 65_535, 65_536, 200_000] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let stream = access_token::zlib_stored(&data);
        assert_eq!(unpack::inflate_stored(&stream), data, "{size}");
        assert_eq!(u16::from_be_bytes([stream[0], stream[1]]) % 31, 0);
    }
    // Adler-32 of "Wikipedia" is 0x11E60398.
    let stream = access_token::zlib_stored(b"Wikipedia");
    assert_eq!(&stream[stream.len() - 4..], &0x11E6_0398u32.to_be_bytes());
}

proptest::proptest! {
    #[test]
    fn any_grant_round_trips(
        channel in "[a-zA-Z0-9 !#$%&()+:;<=.>?@^_{}|~,-]{1,64}",
        uid in "\\PC{1,60}",
        publisher in proptest::bool::ANY,
        ttl in 1u32..=86_400,
        issued in proptest::num::u32::ANY,
        salt in 1u32..=99_999_999,
    ) {
        let role = if publisher { Role::Publisher } else { Role::Subscriber };
        let token = sign(APP_ID, CERTIFICATE.as_bytes(), &rtc(&channel, &uid, role, ttl), issued, salt);
        let parsed = unpack::parse(&token);
        proptest::prop_assert_eq!((parsed.issued, parsed.expire, parsed.salt), (issued, ttl, salt));
        proptest::prop_assert_eq!(parsed.strings, vec![channel, uid]);
        proptest::prop_assert_eq!(parsed.privileges.len(), if publisher { 4 } else { 1 });
    }
}

#[test]
fn a_text_uid_or_sub_is_in_agoras_user_account_alphabet() {
    let policy = AgoraPolicy {
        identity: IdentitySource::Request,
        ..policy()
    };
    for (uid, expected) in [
        ("auth0|5f3c", "ok"),
        ("user@example.com", "ok"),
        ("a b~c{d}[e]^f", "ok"),
        ("a/b", "bad_request"),
        ("café", "bad_request"),
        ("a\"b", "bad_request"),
        ("tab\there", "bad_request"),
    ] {
        let body = serde_json::json!({"channel": "lobby", "uid": uid}).to_string();
        assert_eq!(code(policy.decide(&asked(&body), None)), expected, "{uid}");
        let signed_in = policy.decide(&asked(r#"{"channel":"lobby"}"#), Some(uid));
        assert_eq!(code(signed_in), expected, "sub {uid}");
    }
}
