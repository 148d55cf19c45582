use lambda_http::request::RequestOrigin;

use super::*;

fn both_ways(name: &str) -> (LambdaRequest, LambdaRequest) {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap();
    let ours = serde_json::from_str::<ApiGatewayEvent>(&json).unwrap().0;
    let theirs = serde_json::from_str::<LambdaRequest>(&json).unwrap();
    (ours, theirs)
}

fn same_request(ours: LambdaRequest, theirs: LambdaRequest) {
    let (ours, theirs): (Request, Request) = (ours.into(), theirs.into());
    assert_eq!(ours.method(), theirs.method());
    assert_eq!(ours.uri(), theirs.uri());
    assert_eq!(ours.headers(), theirs.headers());
    assert_eq!(ours.body().as_ref(), theirs.body().as_ref());
}

#[test]
fn every_event_in_events_parses_as_lambda_http_would() {
    let dir = format!("{}/events", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let (ours, theirs) = both_ways(&name);
        assert_eq!(
            format!("{:?}", ours.request_origin()),
            format!("{:?}", theirs.request_origin()),
            "{name}"
        );
        same_request(ours, theirs);
        seen += 1;
    }
    assert!(seen >= 8, "{seen} events");
}

#[test]
fn http_api_events_are_payload_2_and_rest_api_events_payload_1() {
    let (http_api, _) = both_ways("http-api-get-token.json");
    assert!(matches!(http_api.request_origin(), RequestOrigin::ApiGatewayV2));
    let (function_url, _) = both_ways("function-url-get-token.json");
    assert!(matches!(
        function_url.request_origin(),
        RequestOrigin::ApiGatewayV2
    ));
    let (rest, _) = both_ways("rest-api-get-token.json");
    assert!(matches!(rest.request_origin(), RequestOrigin::ApiGatewayV1));
}

#[test]
fn an_http_api_event_with_payload_1_is_read_as_payload_1() {
    let path = format!("{}/events/rest-api-get-token.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["version"] = "1.0".into();
    let ours = serde_json::from_str::<ApiGatewayEvent>(&event.to_string())
        .unwrap()
        .0;
    assert!(matches!(ours.request_origin(), RequestOrigin::ApiGatewayV1));
}

#[test]
fn the_version_is_read_from_the_opening_bytes_only_when_it_leads() {
    assert!(leads_with_version_2(r#"{"version":"2.0","routeKey":"$default"}"#));
    assert!(leads_with_version_2("{\n  \"version\" : \"2.0\" }"));
    assert!(!leads_with_version_2(r#"{"version":"2.01"}"#));
    assert!(!leads_with_version_2(r#"{"versions":"2.0"}"#));
    assert!(!leads_with_version_2(r#"{"routeKey":"x","version":"2.0"}"#));
    assert!(!leads_with_version_2(r#"{"version":"1.0"}"#));
    // A version 2.0 that does not lead is still found by the skim.
    let path = format!("{}/events/http-api-get-token.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let version = event.as_object_mut().unwrap().remove("version").unwrap();
    event["version"] = version;
    let json = event.to_string();
    assert!(!leads_with_version_2(&json));
    let ours = serde_json::from_str::<ApiGatewayEvent>(&json).unwrap().0;
    assert!(matches!(ours.request_origin(), RequestOrigin::ApiGatewayV2));
}

#[test]
fn debug_output_names_the_kind_and_no_header() {
    let path = format!("{}/events/http-api-get-token.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"]["authorization"] = "Bearer caller-jwt-5f1e".into();
    let printed = format!(
        "{:?}",
        serde_json::from_str::<ApiGatewayEvent>(&event.to_string()).unwrap()
    );
    assert!(printed.contains("ApiGatewayV2"), "{printed}");
    assert!(!printed.contains("caller-jwt-5f1e"), "{printed}");
}

#[test]
fn an_event_lambda_http_could_not_convert_is_refused_not_a_crash() {
    let read = |name: &str| -> serde_json::Value {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (http_api, rest_api) = (read("http-api-get-token.json"), read("rest-api-get-token.json"));
    let with = |event: &serde_json::Value, pointer: &str, value: serde_json::Value| {
        let mut event = event.clone();
        *event.pointer_mut(pointer).unwrap() = value;
        event
    };
    let names = |from: usize, to: usize| -> serde_json::Map<String, serde_json::Value> {
        (from..to).map(|n| (format!("x-h{n}"), "v".into())).collect()
    };
    let mut bad_base64 = with(&http_api, "/isBase64Encoded", true.into());
    bad_base64["body"] = "not base64!".into();
    let mut merged_headers = with(&rest_api, "/headers", names(0, 13_000).into());
    merged_headers["multiValueHeaders"] = names(13_000, 26_000)
        .into_iter()
        .map(|(k, v)| (k, serde_json::json!([v])))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let mut cookies = with(&http_api, "/headers", names(0, MAX_HEADER_NAMES).into());
    cookies["cookies"] = serde_json::json!(["a=b"]);
    let cases = [
        with(&http_api, "/headers/host", "a b".into()),
        // Found by fuzz/'s events target: Url takes it, http's URI does not.
        with(
            &http_api,
            "/headers/host",
            "abc123.exec}te-api.us-east-1.amazonaws.com".into(),
        ),
        with(&http_api, "/headers/host", "example.com:99999".into()),
        with(&http_api, "/rawPath", ":99999".into()),
        with(&http_api, "/rawQueryString", "a b".into()),
        bad_base64,
        // A REST API's query is rebuilt longer than a URI may be.
        with(
            &rest_api,
            "/queryStringParameters",
            serde_json::json!({ "q": "a".repeat(65_536) }),
        ),
        // More header names than a HeaderMap holds, once merged or with
        // the Cookie header lambda_http adds.
        merged_headers,
        cookies,
    ];
    for case in cases {
        // Refused here...
        assert!(serde_json::from_str::<ApiGatewayEvent>(&case.to_string()).is_err());
        // ...where lambda_http's own parse and conversion would panic.
        let theirs = serde_json::from_value::<LambdaRequest>(case).unwrap();
        let converted = std::panic::catch_unwind(move || Request::from(theirs));
        assert!(converted.is_err(), "lambda_http converts it after all");
    }

    // What API Gateway sends converts, and so is accepted.
    let fine = with(&http_api, "/rawQueryString", "ttl=600&live=true".into());
    let request: Request = serde_json::from_str::<ApiGatewayEvent>(&fine.to_string())
        .unwrap()
        .0
        .into();
    assert_eq!(request.uri().query(), Some("ttl=600&live=true"));
    let fine = with(
        &rest_api,
        "/queryStringParameters",
        serde_json::json!({ "q": "a b" }),
    );
    let request: Request = serde_json::from_str::<ApiGatewayEvent>(&fine.to_string())
        .unwrap()
        .0
        .into();
    assert_eq!(request.uri().query(), Some("q=a+b"));
}

mod plainly_valid_never_accepts_what_lambda_http_refuses {
    use proptest::prelude::*;

    use super::super::UriParts;

    /// Strings near the fast path's edges: its own alphabet, upper case,
    /// `%` with and without hex, `xn--`, numeric labels, ports, `#`,
    /// spaces, non-ASCII.
    fn near(alphabet: &'static str) -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex(alphabet).unwrap(),
            "[a-z0-9.:%#?/ xXn-]{0,12}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn property(
            scheme in prop_oneof![Just(None), Just(Some("https".to_owned())), near("[a-z]{0,6}").prop_map(Some)],
            host in prop_oneof![
                Just(None),
                near("[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,3}").prop_map(Some),
                "([a-z]{1,4}\\.)?xn--[a-z0-9-]{0,6}(\\.[a-z]{1,4})?".prop_map(Some),
            ],
            stage in prop_oneof![Just(None), Just(Some("$default".to_owned())), near("[A-Za-z0-9_-]{0,8}").prop_map(Some)],
            path in near("/[A-Za-z0-9._~!$&'()*+,;=:@/%-]{0,24}"),
            query in prop_oneof![Just(None), near("[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,24}").prop_map(Some)],
        ) {
            let parts = UriParts {
                scheme: scheme.as_deref(),
                host: host.as_deref(),
                stage: stage.as_deref(),
                path: &path,
                query: query.as_deref(),
            };
            prop_assert!(
                !parts.plainly_valid() || parts.build(),
                "{:?} {:?} {:?} {:?} {:?}",
                scheme,
                host,
                stage,
                path,
                query
            );
        }
    }

    #[test]
    fn what_api_gateway_sends_takes_the_fast_path() {
        let parts = UriParts {
            scheme: Some("https"),
            host: Some("abc123.execute-api.us-east-1.amazonaws.com"),
            stage: Some("$default"),
            path: "/rooms/party-1.x~y",
            query: Some("ttl=600&live=true&name=a%20b"),
        };
        assert!(parts.plainly_valid());
    }
}

#[test]
fn what_is_no_api_gateway_event_is_an_error() {
    assert!(serde_json::from_str::<ApiGatewayEvent>(r#"{"hello": "world"}"#).is_err());
    assert!(serde_json::from_str::<ApiGatewayEvent>(r#"{"version": "2.0", "rawPath": 7}"#).is_err());
    assert!(serde_json::from_str::<ApiGatewayEvent>("[]").is_err());
}

#[test]
fn a_body_is_measured_by_its_decoded_size_and_dropped_only_past_the_limit() {
    use base64::Engine as _;
    let encode = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
    for n in [
        0,
        1,
        2,
        3,
        MAX_REQUEST_BODY - 1,
        MAX_REQUEST_BODY,
        MAX_REQUEST_BODY + 1,
    ] {
        assert_eq!(string_size(&format!("\"{}\"", encode(n)), true), Some(n), "{n}");
    }
    assert_eq!(string_size("\"ab\"", false), Some(2));
    let event = |body: &str, base64: bool| {
        let path = format!("{}/events/http-api-get-token.json", env!("CARGO_MANIFEST_DIR"));
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        event["body"] = body.into();
        event["isBase64Encoded"] = base64.into();
        serde_json::from_str::<ApiGatewayEvent>(&event.to_string()).unwrap()
    };
    // At the limit, plain or base64 (its text longer): kept.
    for (body, base64) in [
        ("a".repeat(MAX_REQUEST_BODY), false),
        (encode(MAX_REQUEST_BODY), true),
    ] {
        let ApiGatewayEvent(request, dropped) = event(&body, base64);
        assert_eq!(dropped, BodyDropped(false));
        let request: Request = request.into();
        assert_eq!(request.body().len(), MAX_REQUEST_BODY);
    }
    // One byte past it: dropped, and the request has no body.
    for (body, base64) in [
        ("a".repeat(MAX_REQUEST_BODY + 1), false),
        (encode(MAX_REQUEST_BODY + 1), true),
    ] {
        let ApiGatewayEvent(request, dropped) = event(&body, base64);
        assert_eq!(dropped, BodyDropped(true));
        let request: Request = request.into();
        assert!(request.body().is_empty());
    }
}

#[test]
fn a_json_strings_size_is_counted_as_serde_json_unescapes_it() {
    use base64::Engine as _;
    for text in [
        "",
        "plain",
        r#"{"room_name":"lobby"}"#,
        "tab\tnew\nline\\back\"quote/slash\u{8}\u{c}\r",
        "é ü 中 🎉 \u{1}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}",
    ] {
        // serde_json's own escaping, and every character as \uXXXX.
        let ours = serde_json::to_string(text).unwrap();
        let all_escaped: String = std::iter::once("\"".to_owned())
            .chain(text.encode_utf16().map(|unit| format!("\\u{unit:04x}")))
            .chain(std::iter::once("\"".to_owned()))
            .collect();
        for raw in [ours, all_escaped] {
            assert_eq!(serde_json::from_str::<String>(&raw).unwrap(), text);
            assert_eq!(string_size(&raw, false), Some(text.len()), "{raw}");
        }
    }
    // Base64: the decoded size, padding escaped or not.
    for n in [0, 1, 2, 3, 4, 5, 300] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(vec![1u8; n]);
        let escaped = encoded.replace('=', "\\u003d").replace('/', "\\/");
        for raw in [format!("\"{encoded}\""), format!("\"{escaped}\"")] {
            assert_eq!(string_size(&raw, true), Some(n), "{raw}");
        }
    }
    assert_eq!(string_size("null", false), None);
    assert_eq!(string_size("7", false), None);
}
