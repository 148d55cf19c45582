//! What a caller of `/agora/token` sends: the body goes to
//! `AgoraRequest::from_body`. A refusal is always a 400; every grant of
//! `AgoraPolicy::decide` keeps within its policy and the caller's uid; and
//! the AccessToken2 signed for it reads back (stored zlib, then Agora's
//! packing) with the grant's channel, uid and lifetime.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use token_vendor::{AgoraPolicy, AgoraRequest, AgoraRoles, AgoraService, AllowedRooms, IdentitySource, RoomPattern};
use token_vendor::{is_channel_name, sign_agora};

const APP_ID: &str = "970ca35de60c44645bbae8a215061b33";
const CERTIFICATE: &[u8] = b"5cfd2fd1755d40ecb72977518be15d3b";

/// A listed-channels, subscribers-only policy that takes no uid, and an
/// any-channel policy that takes the uid asked for.
static POLICIES: LazyLock<[AgoraPolicy; 2]> = LazyLock::new(|| {
    [
        AgoraPolicy {
            channels: AllowedRooms::List(vec![
                RoomPattern::Exact("lobby".to_owned()),
                RoomPattern::Prefix("party ".to_owned()),
            ]),
            roles: AgoraRoles {
                publisher: false,
                subscriber: true,
            },
            ttl: 600,
            max_ttl: 3600,
            identity: IdentitySource::Caller,
        },
        AgoraPolicy {
            channels: AllowedRooms::Any,
            roles: AgoraRoles {
                publisher: true,
                subscriber: true,
            },
            ttl: 3600,
            max_ttl: 86_400,
            identity: IdentitySource::Request,
        },
    ]
});

fuzz_target!(|data: &[u8]| {
    let asked = match AgoraRequest::from_body(data) {
        Ok(asked) => asked,
        Err(error) => {
            assert_eq!(error.status().as_u16(), 400);
            return;
        }
    };
    for policy in POLICIES.iter() {
        for sub in [None, Some("user-1")] {
            match policy.decide(&asked, sub) {
                Ok(grant) => {
                    assert!(grant.uid != "0" && !grant.uid.is_empty() && grant.uid.len() <= 255);
                    if let Some(sub) = sub {
                        assert_eq!(grant.uid, sub);
                    }
                    assert!(grant.ttl >= 1 && grant.ttl <= policy.max_ttl);
                    if let AgoraService::Rtc { channel, .. } = &grant.service {
                        assert!(is_channel_name(channel) && policy.channels.allows(channel));
                    }
                    let token = sign_agora(APP_ID, CERTIFICATE, &grant, 1_700_000_000, 42);
                    let strings = read_back(&token, grant.ttl);
                    let mut expected = grant.channel().map(str::to_owned).into_iter().collect::<Vec<_>>();
                    expected.push(grant.uid.clone());
                    assert_eq!(strings, expected);
                }
                Err(error) => {
                    let status = error.status().as_u16();
                    assert!(status == 400 || status == 403, "{error:?}");
                }
            }
        }
    }
});

/// The strings of the token's service (channel and uid, or the user id),
/// after checking its zlib framing, envelope and privileges' lifetime.
fn read_back(token: &str, ttl: u32) -> Vec<String> {
    let stream = base64::engine::general_purpose::STANDARD
        .decode(token.strip_prefix("007").unwrap())
        .unwrap();
    assert_eq!(&stream[..3], &[0x78, 0x01, 0x01]);
    let len = usize::from(u16::from_le_bytes([stream[3], stream[4]]));
    assert_eq!(stream.len(), 5 + len + 4);
    let mut content = Reader(&stream[5..5 + len]);
    assert_eq!(content.u16(), 32);
    content.take(32);
    assert_eq!(content.u16(), 32);
    assert_eq!(content.take(32), APP_ID.as_bytes());
    assert_eq!(content.u32(), 1_700_000_000);
    assert_eq!(content.u32(), ttl);
    assert_eq!(content.u32(), 42);
    assert_eq!(content.u16(), 1);
    content.take(2);
    for _ in 0..content.u16() {
        content.take(2);
        assert_eq!(content.u32(), ttl);
    }
    let mut strings = Vec::new();
    while !content.0.is_empty() {
        let n = usize::from(content.u16());
        strings.push(String::from_utf8(content.take(n).to_vec()).unwrap());
    }
    strings
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        u16::from_le_bytes([b[0], b[1]])
    }

    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}
