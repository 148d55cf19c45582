//! What a caller of `/streams/{stream}/token` sends, as `query \0 body`:
//! the query string goes to `Asked::from_query`, the rest to
//! `Asked::from_body`. A refusal is always a 400; what parses reads back the
//! same; and every grant of `StreamPolicy::decide` keeps within its policy.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use token_vendor::{Asked, StreamRequest};
use token_vendor::{AllowedStreams, Rights, StreamPolicy, is_stream_id};

/// A listed-streams policy without copy or unlimited tokens, and an
/// any-stream policy with everything.
static POLICIES: LazyLock<[StreamPolicy; 2]> = LazyLock::new(|| {
    [
        StreamPolicy {
            streams: AllowedStreams::List(vec!["cam-1".to_owned(), "cam.2".to_owned()]),
            rights: Rights {
                live: true,
                dvr: true,
                copy: false,
            },
            max_ttl: 3600,
            default_ttl: 600,
            allow_unlimited: false,
        },
        StreamPolicy {
            streams: AllowedStreams::Any,
            rights: Rights {
                live: true,
                dvr: true,
                copy: true,
            },
            max_ttl: u64::MAX,
            default_ttl: 86_400,
            allow_unlimited: true,
        },
    ]
});

const FIXED_STREAM: &str = "cam-1";

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let query = String::from_utf8_lossy(query);

    match Asked::from_query(&query) {
        Ok(asked) => {
            assert_eq!(
                Asked::from_query(&canonical_query(&asked)).ok().as_ref(),
                Some(&asked)
            );
            decide_everywhere(&asked, &query);
        }
        Err(error) => assert_eq!(error.status().as_u16(), 400, "{query:?}"),
    }
    match Asked::from_body(body) {
        Ok(asked) => decide_everywhere(&asked, &query),
        Err(error) => assert_eq!(error.status().as_u16(), 400),
    }
});

/// `decide` under each policy, for a fixed stream and for the input's text.
fn decide_everywhere(asked: &Asked, stream_from_input: &str) {
    for policy in POLICIES.iter() {
        for stream in [FIXED_STREAM, stream_from_input] {
            match policy.decide(stream, asked) {
                Ok(granted) => check_grant(policy, stream, asked, &granted),
                Err(error) => {
                    let status = error.status().as_u16();
                    assert!(status == 400 || status == 403, "{error:?}");
                }
            }
        }
    }
}

/// What every grant must keep to, whatever was asked.
fn check_grant(policy: &StreamPolicy, stream: &str, asked: &Asked, granted: &StreamRequest) {
    assert_eq!(granted.stream, stream);
    assert!(is_stream_id(&granted.stream), "{stream:?}");
    if let AllowedStreams::List(ids) = &policy.streams {
        assert!(ids.iter().any(|id| id == stream), "{stream:?}");
    }
    assert!(granted.ttl <= policy.max_ttl);
    assert!(granted.ttl > 0 || policy.allow_unlimited);
    assert_eq!(granted.ttl, asked.ttl.unwrap_or(policy.default_ttl));

    let rights = granted.rights;
    assert!(rights.live || rights.dvr || rights.copy);
    assert!(!rights.live || policy.rights.live);
    assert!(!rights.dvr || policy.rights.dvr);
    assert!(!rights.copy || policy.rights.copy);

    assert_eq!((granted.from, granted.to), (asked.from, asked.to));
    if granted.from.is_some() || granted.to.is_some() {
        assert!(rights.dvr || rights.copy);
    }
    if let (Some(from), Some(to)) = (granted.from, granted.to) {
        assert!(to == 0 || to >= from);
    }
}

/// `asked` written back as a query string.
fn canonical_query(asked: &Asked) -> String {
    let numbers = [("ttl", asked.ttl), ("from", asked.from), ("to", asked.to)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")));
    let flags = [("live", asked.live), ("dvr", asked.dvr), ("copy", asked.copy)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")));
    numbers.chain(flags).collect::<Vec<_>>().join("&")
}
