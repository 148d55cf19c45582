//! What a caller of `/twilio/token` or `/vonage/token` sends: the same
//! bytes go to `TwilioRequest::from_body` and `VonageRequest::from_body`. A
//! refusal is always a 400; every grant of either policy keeps within it
//! and the caller's identity, and Vonage's `connection_data` is JSON that
//! holds exactly the identity and the data let in, within 1000 bytes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use token_vendor::{AllowedRooms, IdentitySource, RoomPattern, is_room_name, is_vonage_session_id};
use token_vendor::{TwilioPolicy, TwilioRequest, VonagePolicy, VonageRequest, VonageRoles};

/// Listed rooms taking no identity, and any room taking the one asked for.
static TWILIO: LazyLock<[TwilioPolicy; 2]> = LazyLock::new(|| {
    [
        TwilioPolicy {
            rooms: AllowedRooms::List(vec![
                RoomPattern::Exact("lobby".to_owned()),
                RoomPattern::Prefix("party-".to_owned()),
            ]),
            ttl: 3600,
            identity: IdentitySource::Caller,
        },
        TwilioPolicy {
            rooms: AllowedRooms::Any,
            ttl: 3600,
            identity: IdentitySource::Request,
        },
    ]
});

/// Subscribers only without data, and every role with data.
static VONAGE: LazyLock<[VonagePolicy; 2]> = LazyLock::new(|| {
    let all = VonageRoles {
        subscriber: true,
        publisher: true,
        publisher_only: true,
        moderator: true,
    };
    [
        VonagePolicy {
            roles: VonageRoles {
                publisher: false,
                publisher_only: false,
                moderator: false,
                ..all
            },
            ttl: 3600,
            data: false,
        },
        VonagePolicy {
            roles: all,
            ttl: 3600,
            data: true,
        },
    ]
});

fuzz_target!(|data: &[u8]| {
    match TwilioRequest::from_body(data) {
        Err(error) => assert_eq!(error.status().as_u16(), 400),
        Ok(asked) => {
            for policy in TWILIO.iter() {
                for sub in [None, Some("user-1")] {
                    match policy.decide(&asked, sub) {
                        Ok(grant) => {
                            assert!(is_room_name(&grant.room) && policy.rooms.allows(&grant.room));
                            assert!(!grant.identity.is_empty() && grant.identity.len() <= 121);
                            if let Some(sub) = sub {
                                assert_eq!(grant.identity, sub);
                            }
                        }
                        Err(error) => assert!(matches!(error.status().as_u16(), 400 | 403), "{error:?}"),
                    }
                }
            }
        }
    }
    match VonageRequest::from_body(data) {
        Err(error) => assert_eq!(error.status().as_u16(), 400),
        Ok(asked) => {
            for policy in VONAGE.iter() {
                for sub in [None, Some("user-1")] {
                    match policy.decide(&asked, sub) {
                        Ok(grant) => {
                            assert!(is_vonage_session_id(&grant.session_id));
                            assert!(grant.connection_data.len() <= 1000);
                            let parsed: serde_json::Value = serde_json::from_str(&grant.connection_data).unwrap();
                            assert_eq!(parsed["identity"].as_str(), Some(grant.identity.as_str()));
                            assert_eq!(parsed.get("data").and_then(|d| d.as_str()), asked.data.as_deref());
                            assert!(asked.data.is_none() || policy.data);
                            if let Some(sub) = sub {
                                assert_eq!(grant.identity, sub);
                            }
                        }
                        Err(error) => assert!(matches!(error.status().as_u16(), 400 | 403), "{error:?}"),
                    }
                }
            }
        }
    }
});
