use super::*;

fn policy() -> StreamPolicy {
    StreamPolicy {
        streams: AllowedStreams::List(vec!["cam-1".into(), "cam.2".into()]),
        rights: Rights {
            live: true,
            dvr: true,
            copy: false,
        },
        max_ttl: 3600,
        default_ttl: 600,
        allow_unlimited: false,
    }
}

fn code(result: Result<StreamRequest, ApiError>) -> &'static str {
    result.map_or_else(|e| e.code(), |_| "ok")
}

#[test]
fn query_parameters_parse_with_all_boolean_spellings() {
    let asked = Asked::from_query("ttl=60&live=1&dvr=true&copy=0&from=10&to=20").unwrap();
    assert_eq!(
        asked,
        Asked {
            ttl: Some(60),
            live: Some(true),
            dvr: Some(true),
            copy: Some(false),
            from: Some(10),
            to: Some(20)
        }
    );
    assert_eq!(Asked::from_query("").unwrap(), Asked::default());
}

#[test]
fn malformed_duplicated_or_unknown_query_parameters_are_bad_requests() {
    for query in [
        "ttl=ten",
        "ttl=-1",
        "ttl=",
        "ttl",
        "ttl=1.5",
        "live=yes",
        "live=TRUE",
        "ttl=1&ttl=2",
        "live=1&live=1",
        "stream=x",
        "foo=1",
        "ttl=99999999999999999999999",
    ] {
        assert_eq!(
            Asked::from_query(query).unwrap_err().code(),
            "bad_request",
            "{query}"
        );
    }
}

#[test]
fn bodies_parse_as_json_objects_with_json_types_only() {
    assert_eq!(Asked::from_body(b"").unwrap(), Asked::default());
    assert_eq!(
        Asked::from_body(br#"{"ttl":60,"dvr":true}"#).unwrap().dvr,
        Some(true)
    );
    for body in [
        &br#"{"ttl":"60"}"#[..],
        br#"{"live":1}"#,
        br#"{"ttl":60,"ttl":61}"#,
        br#"{"stream":"x"}"#,
        br#"[]"#,
        br#"[60,true,false,false,null,null]"#,
        b"\x0c",
        b"ttl=60",
        br#"{"ttl":-5}"#,
    ] {
        assert!(
            Asked::from_body(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn defaults_live_and_the_default_ttl_when_nothing_is_asked() {
    let request = policy().decide("cam-1", &Asked::default()).unwrap();
    assert_eq!(request.ttl, 600);
    assert_eq!(
        request.rights,
        Rights {
            live: true,
            dvr: false,
            copy: false
        }
    );
    let asked = Asked {
        live: Some(false),
        ..Asked::default()
    };
    assert!(policy().decide("cam-1", &asked).unwrap().rights.live);
}

#[test]
fn validation_refusals_are_400_and_come_before_policy() {
    let p = policy();
    let cases = [
        ("bad id", "cam 1", Asked::default()),
        ("empty id", "", Asked::default()),
        ("long id", &*"a".repeat(129), Asked::default()),
        ("percent", "cam%2D1", Asked::default()),
        (
            "ttl above max",
            "not-listed",
            Asked {
                ttl: Some(3601),
                ..Asked::default()
            },
        ),
        (
            "unlimited off",
            "cam-1",
            Asked {
                ttl: Some(0),
                ..Asked::default()
            },
        ),
        (
            "from without dvr",
            "cam-1",
            Asked {
                from: Some(1),
                ..Asked::default()
            },
        ),
        (
            "to without dvr",
            "cam-1",
            Asked {
                to: Some(1),
                live: Some(true),
                ..Asked::default()
            },
        ),
        (
            "to before from",
            "cam-1",
            Asked {
                dvr: Some(true),
                from: Some(20),
                to: Some(10),
                ..Asked::default()
            },
        ),
    ];
    for (case, stream, asked) in cases {
        assert_eq!(code(p.decide(stream, &asked)), "bad_request", "{case}");
    }
    let unbounded = Asked {
        dvr: Some(true),
        from: Some(20),
        to: Some(0),
        ..Asked::default()
    };
    assert_eq!(code(p.decide("cam-1", &unbounded)), "ok");
}

#[test]
fn policy_refusals_are_403_with_their_own_codes() {
    let p = policy();
    assert_eq!(code(p.decide("cam-3", &Asked::default())), "stream_not_allowed");
    let copy = Asked {
        copy: Some(true),
        ..Asked::default()
    };
    assert_eq!(code(p.decide("cam-1", &copy)), "right_not_allowed");
    let mut any = policy();
    any.streams = AllowedStreams::Any;
    any.allow_unlimited = true;
    let unlimited = Asked {
        ttl: Some(0),
        ..Asked::default()
    };
    assert_eq!(any.decide("whatever", &unlimited).unwrap().ttl, 0);
}

#[test]
fn unlimited_tokens_have_no_expiry() {
    assert_eq!(expiry(0), None);
    let in_an_hour = expiry(3600).unwrap().as_second() - Timestamp::now().as_second();
    assert!((3599..=3600).contains(&in_an_hour));
}
