//! Property tests: what the public parsers and policies do with *any* input,
//! not only the few the other tests choose. Each property is an invariant —
//! API Gateway events parse or are refused as `lambda_http` would; a valid
//! AIPIX request is granted and an invalid one is a 400; room names follow
//! their documented alphabet; a LiveKit grant keeps within its policy and
//! the caller's identity, an Agora grant its policy and the caller's
//! uid, and so do Twilio's and Vonage's grants; an origin list allows exactly its members; a
//! configuration is accepted or refused naming a variable — and proptest
//! looks for an input that breaks it, then shrinks it to a small one.
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, ORIGIN};
use lambda_http::request::{LambdaRequest, RequestOrigin};
use proptest::prelude::*;
use serde_json::Value;
use token_vendor::ApiGatewayEvent;
use token_vendor::Asked;
use token_vendor::{
    AgoraPolicy, AgoraRequest, AgoraRole, AgoraRoles, AgoraService, AgoraTokenType, AskedUid,
};
use token_vendor::{AllowedOrigins, OriginCheck};
use token_vendor::{AllowedRooms, Grants, IdentitySource, LiveKitPolicy, RoomPattern, TokenRequest};
use token_vendor::{AllowedStreams, Config, Mode, Rights, StreamPolicy};
use token_vendor::{RoomName, fingerprint, is_channel_name, is_room_name};
use token_vendor::{TwilioPolicy, TwilioRequest};
use token_vendor::{VonagePolicy, VonageRequest, VonageRole, VonageRoles, is_vonage_session_id};

// ---------------------------------------------------------------- events

/// `events/http-api-get-token.json`: what `sam local invoke -e` sends.
static HTTP_API_EVENT: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/http-api-get-token.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
});

/// `events/rest-api-get-token.json`: a REST API (payload 1.0) event.
static REST_API_EVENT: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/rest-api-get-token.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
});

/// Keys of API Gateway events (both payload versions), so that generated
/// objects look like events often enough to get past the first error.
const EVENT_KEYS: &[&str] = &[
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "path",
    "resource",
    "httpMethod",
    "method",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "http",
    "stage",
    "domainName",
    "cookies",
    "body",
    "isBase64Encoded",
    "host",
    "origin",
];

/// String leaves that events carry.
const EVENT_STRINGS: &[&str] = &[
    "2.0",
    "1.0",
    "GET",
    "POST",
    "/token",
    "$default",
    "abc123.execute-api.us-east-1.amazonaws.com",
    "https://app.example.com",
    "",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        prop::sample::select(EVENT_STRINGS).prop_map(Value::from),
    ]
}

/// Any JSON value, its object keys mostly those of events.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 8, |inner| {
        let key = prop_oneof![
            3 => prop::sample::select(EVENT_KEYS).prop_map(str::to_owned),
            1 => any::<String>(),
        ];
        let array = prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array);
        let object = prop::collection::btree_map(key, inner, 0..8)
            .prop_map(|fields| Value::Object(fields.into_iter().collect()));
        prop_oneof![array, object]
    })
}

/// The value's JSON text; an object starts `{"version":"2.0"` (the opening
/// that `ApiGatewayEvent` reads without a parse) and keeps its other keys.
fn with_version_2_leading(value: &Value) -> String {
    let Value::Object(fields) = value else {
        return value.to_string();
    };
    let mut json = String::from(r#"{"version":"2.0""#);
    for (key, value) in fields.iter().filter(|(key, _)| *key != "version") {
        json.push(',');
        json.push_str(&serde_json::to_string(key).unwrap());
        json.push(':');
        json.push_str(&value.to_string());
    }
    json.push('}');
    json
}

/// A raw path of the documented alphabet. URL parsing removes `.` and `..`
/// segments (as a browser would have), so those are left out.
fn http_api_path() -> impl Strategy<Value = String> {
    "/[a-zA-Z0-9/._~-]{0,64}".prop_filter("a dot segment", |path: &String| {
        path.split('/').all(|segment| segment != "." && segment != "..")
    })
}

/// Headers to add to an event: token names, visible-ASCII values. `host`
/// and `x-forwarded-proto` are left out: they make the request's URL.
fn extra_headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        "[a-z][a-z0-9-]{0,23}".prop_filter("a header that makes the URL", |name: &String| {
            name != "host" && name != "x-forwarded-proto"
        }),
        "[!-~][ !-~]{0,31}",
        0..6,
    )
}

// ----------------------------------------------------------------- AIPIX

const PARAMETERS: [&str; 6] = ["ttl", "live", "dvr", "copy", "from", "to"];
const RIGHTS: [&str; 3] = ["live", "dvr", "copy"];
/// A right as a caller may give it: absent, or one of the accepted spellings.
const FLAGS: [Option<&str>; 5] = [None, Some("true"), Some("false"), Some("1"), Some("0")];

fn flag() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(FLAGS.to_vec())
}

fn is_true(spelling: &str) -> bool {
    matches!(spelling, "true" | "1")
}

fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A policy that grants every right: what it refuses is then refused for
/// the request itself, never for a right.
fn policy() -> impl Strategy<Value = StreamPolicy> {
    let streams = prop_oneof![
        Just(AllowedStreams::Any),
        prop::collection::vec("[a-z0-9]{1,8}", 1..4).prop_map(AllowedStreams::List),
    ];
    (streams, 1..100_000u64, any::<bool>()).prop_flat_map(|(streams, max_ttl, allow_unlimited)| {
        (1..=max_ttl).prop_map(move |default_ttl| StreamPolicy {
            streams: streams.clone(),
            rights: Rights {
                live: true,
                dvr: true,
                copy: true,
            },
            max_ttl,
            default_ttl,
            allow_unlimited,
        })
    })
}

/// A stream the policy allows.
fn allowed_stream(policy: &StreamPolicy) -> BoxedStrategy<String> {
    match &policy.streams {
        AllowedStreams::Any => "[A-Za-z0-9._-]{1,128}".boxed(),
        AllowedStreams::List(ids) => prop::sample::select(ids.clone()).boxed(),
    }
}

/// A request the policy must grant, and what it asks for.
#[derive(Debug, Clone)]
struct ValidRequest {
    policy: StreamPolicy,
    stream: String,
    pairs: Vec<(String, String)>,
    asked: Asked,
}

fn valid_request() -> impl Strategy<Value = ValidRequest> {
    policy()
        .prop_flat_map(|policy| {
            let lowest_ttl = u64::from(!policy.allow_unlimited);
            (
                allowed_stream(&policy),
                prop::option::of(lowest_ttl..=policy.max_ttl),
                (flag(), flag(), flag()),
                prop::option::of(0..1_000_000_000u64),
                // None: no `to`; Some(None): to=0 (unbounded); Some(Some(d)): from + d.
                prop::option::of(prop::option::of(0..1_000_000_000u64)),
                Just(policy),
            )
        })
        .prop_flat_map(|(stream, ttl, (live, dvr, copy), from, to, policy)| {
            let ranged = [dvr, copy].into_iter().flatten().any(is_true);
            let (from, to) = if ranged {
                let to = to.map(|after| after.map_or(0, |d| from.unwrap_or(0) + d));
                (from, to)
            } else {
                (None, None)
            };
            let mut pairs = Vec::new();
            if let Some(ttl) = ttl {
                pairs.push(("ttl".to_owned(), ttl.to_string()));
            }
            for (name, spelling) in RIGHTS.into_iter().zip([live, dvr, copy]) {
                if let Some(spelling) = spelling {
                    pairs.push((name.to_owned(), spelling.to_owned()));
                }
            }
            if let Some(from) = from {
                pairs.push(("from".to_owned(), from.to_string()));
            }
            if let Some(to) = to {
                pairs.push(("to".to_owned(), to.to_string()));
            }
            let asked = Asked {
                ttl,
                live: live.map(is_true),
                dvr: dvr.map(is_true),
                copy: copy.map(is_true),
                from,
                to,
            };
            (
                Just(policy),
                Just(stream),
                Just(pairs).prop_shuffle(),
                Just(asked),
            )
                .prop_map(|(policy, stream, pairs, asked)| ValidRequest {
                    policy,
                    stream,
                    pairs,
                    asked,
                })
        })
}

/// What makes a request invalid (400).
#[derive(Debug, Clone)]
enum Invalidity {
    /// `ttl` this far above `max_ttl + 1`.
    TtlAboveMax(u64),
    UnknownParameter(String),
    GivenTwice(&'static str),
    BadBoolean(&'static str, String),
    NonDigitTtl(String),
    /// `ttl=0` under a policy without unlimited tokens.
    UnlimitedNotAllowed,
    /// `from` with `live` (given or not) and neither `dvr` nor `copy`.
    RangeWithOnlyLive(Option<&'static str>, u64),
}

fn invalidity() -> impl Strategy<Value = Invalidity> {
    prop_oneof![
        any::<u64>().prop_map(Invalidity::TtlAboveMax),
        "[a-zA-Z_]{1,10}"
            .prop_filter("a known parameter", |name: &String| {
                !PARAMETERS.contains(&name.as_str())
            })
            .prop_map(Invalidity::UnknownParameter),
        prop::sample::select(PARAMETERS.to_vec()).prop_map(Invalidity::GivenTwice),
        (
            prop::sample::select(RIGHTS.to_vec()),
            "[a-zA-Z0-9]{0,6}".prop_filter("an accepted spelling", |value: &String| {
                !["true", "false", "1", "0"].contains(&value.as_str())
            }),
        )
            .prop_map(|(name, value)| Invalidity::BadBoolean(name, value)),
        prop_oneof![Just(String::new()), "[0-9]{0,3}[a-zA-Z.,_-][0-9a-zA-Z]{0,3}"]
            .prop_map(Invalidity::NonDigitTtl),
        Just(Invalidity::UnlimitedNotAllowed),
        (
            prop::sample::select(vec![None, Some("true"), Some("1")]),
            any::<u64>()
        )
            .prop_map(|(live, from)| Invalidity::RangeWithOnlyLive(live, from)),
    ]
}

/// An invalid request: the invalidity, plus valid rights around it (none
/// that would make it valid), in any order, for a stream the policy allows.
fn invalid_request() -> impl Strategy<Value = (StreamPolicy, String, Vec<(String, String)>)> {
    (policy(), invalidity(), (flag(), flag(), flag()))
        .prop_flat_map(|(mut policy, invalidity, (live, dvr, copy))| {
            let mut pairs: Vec<(String, String)> = Vec::new();
            let mut push = |name: &str, value: String| pairs.push((name.to_owned(), value));
            match &invalidity {
                Invalidity::TtlAboveMax(by) => {
                    push(
                        "ttl",
                        policy.max_ttl.saturating_add(1).saturating_add(*by).to_string(),
                    );
                }
                Invalidity::UnknownParameter(name) => push(name.as_str(), "1".to_owned()),
                Invalidity::GivenTwice(name) => {
                    let value = if RIGHTS.contains(name) { "true" } else { "1" };
                    push(name, value.to_owned());
                    push(name, value.to_owned());
                }
                Invalidity::BadBoolean(name, value) => push(name, value.clone()),
                Invalidity::NonDigitTtl(value) => push("ttl", value.clone()),
                Invalidity::UnlimitedNotAllowed => {
                    policy.allow_unlimited = false;
                    push("ttl", "0".to_owned());
                }
                Invalidity::RangeWithOnlyLive(live, from) => {
                    if let Some(live) = live {
                        push("live", (*live).to_owned());
                    }
                    push("from", from.to_string());
                }
            }
            let only_live = matches!(invalidity, Invalidity::RangeWithOnlyLive(..));
            for (name, spelling) in RIGHTS.into_iter().zip([live, dvr, copy]) {
                let Some(spelling) = spelling else { continue };
                let given = pairs.iter().any(|(given, _)| given == name);
                let makes_it_valid = only_live && name != "live" && is_true(spelling);
                if !given && !makes_it_valid {
                    pairs.push((name.to_owned(), spelling.to_owned()));
                }
            }
            (allowed_stream(&policy), Just(policy), Just(pairs).prop_shuffle())
        })
        .prop_map(|(stream, policy, pairs)| (policy, stream, pairs))
}

/// Query strings: any text, and text made of the parameters' names.
fn query_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "((ttl|live|dvr|copy|from|to|x)(=(true|false|[0-9]{1,4}|[a-z%+]{0,3}))?&?){0,6}",
    ]
}

/// Bodies: any bytes, and JSON objects with the parameters' names.
fn body_like() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        prop::sample::select(PARAMETERS.to_vec()).prop_map(str::to_owned),
        "[a-z]{1,4}",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::btree_map(name, json_leaf(), 0..7)
            .prop_map(|fields| { serde_json::to_vec(&Value::Object(fields.into_iter().collect())).unwrap() }),
    ]
}

/// `asked` written back as a query string, in a fixed order and spelling.
fn canonical_query(asked: &Asked) -> String {
    let mut pairs = Vec::new();
    for (name, value) in [("ttl", asked.ttl), ("from", asked.from), ("to", asked.to)] {
        if let Some(value) = value {
            pairs.push((name.to_owned(), value.to_string()));
        }
    }
    for (name, value) in [("live", asked.live), ("dvr", asked.dvr), ("copy", asked.copy)] {
        if let Some(value) = value {
            pairs.push((name.to_owned(), value.to_string()));
        }
    }
    query_string(&pairs)
}

/// `asked` written back as a JSON body.
fn canonical_body(asked: &Asked) -> Vec<u8> {
    let mut fields = serde_json::Map::new();
    for (name, value) in [("ttl", asked.ttl), ("from", asked.from), ("to", asked.to)] {
        if let Some(value) = value {
            fields.insert(name.to_owned(), value.into());
        }
    }
    for (name, value) in [("live", asked.live), ("dvr", asked.dvr), ("copy", asked.copy)] {
        if let Some(value) = value {
            fields.insert(name.to_owned(), value.into());
        }
    }
    serde_json::to_vec(&Value::Object(fields)).unwrap()
}

// ----------------------------------------------------------------- rooms

/// Room-name-like text: any text, and text of the alphabet around the
/// length limits.
fn room_name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9._~-]{0,130}",
        "[A-Za-z0-9._~-]{127,129}",
        "[A-Za-z0-9._~ %/+-]{1,12}",
    ]
}

/// The documented room name, written independently of `is_room_name`.
fn documented_room_name(name: &str) -> bool {
    let in_alphabet = |c: char| matches!(c, 'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '~' | '-');
    !name.is_empty() && name.len() <= 128 && name.chars().all(in_alphabet)
}

// --------------------------------------------------------------- origins

/// An origin as a browser serializes it: `scheme://host[:port]`, lower-case
/// host, no default port. A label starting `xn--` is punycode, which URL
/// parsing decodes and checks, so those are left out.
fn origin() -> impl Strategy<Value = String> {
    let host = r"[a-z][a-z0-9-]{0,15}(\.[a-z][a-z0-9-]{0,10}){0,3}"
        .prop_filter("a punycode label", |host: &String| {
            !host.split('.').any(|label| label.starts_with("xn--"))
        });
    (
        prop::sample::select(vec!["http", "https"]),
        host,
        prop::option::of(1..=65535u16),
    )
        .prop_filter_map(
            "the scheme's default port, which browsers never send",
            |(scheme, host, port)| match (scheme, port) {
                ("http", Some(80)) | ("https", Some(443)) => None,
                (_, Some(port)) => Some(format!("{scheme}://{host}:{port}")),
                (_, None) => Some(format!("{scheme}://{host}")),
            },
        )
}

/// An origin a little different from `origin`.
fn near_miss(origin: &str, how: usize) -> String {
    match how {
        0 => format!("{origin}/"),
        1 => origin.to_uppercase(),
        2 => format!("{origin}.evil.example"),
        3 => match origin.strip_prefix("https://") {
            Some(rest) => format!("http://{rest}"),
            None => origin.replacen("http://", "https://", 1),
        },
        _ => format!("{origin}:8443"),
    }
}

/// One to five origins, and another: anything, or a near miss of one of them.
fn origins_and_stranger() -> impl Strategy<Value = (Vec<String>, String)> {
    prop::collection::vec(origin(), 1..=5).prop_flat_map(|origins| {
        let count = origins.len();
        let members = origins.clone();
        let stranger = prop_oneof![
            origin(),
            (0..count, 0..5usize).prop_map(move |(at, how)| near_miss(&members[at], how)),
        ];
        (Just(origins), stranger)
    })
}

fn origin_header(origin: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
    headers
}

// --------------------------------------------------------- configuration

/// Every variable `Config::from_lookup` reads.
const VARIABLES: [&str; 33] = [
    "ALLOWED_ORIGINS",
    "UPSTREAM_TIMEOUT_MS",
    "CAS_URL",
    "AIPIX_URL",
    "AIPIX_STREAMS",
    "AIPIX_RIGHTS",
    "AIPIX_MAX_TTL",
    "AIPIX_DEFAULT_TTL",
    "AIPIX_ALLOW_UNLIMITED",
    "ROOM_TTL_S",
    "ROOM_REFRESH_MARGIN_S",
    "LISTEN_ADDR",
    "API_KEY",
    "API_SECRET",
    "AIPIX_API_TOKEN",
    "SECRET_ID",
    "ROOMS_TABLE",
    "AWS_LAMBDA_RUNTIME_API",
    "LIVEKIT_URL",
    "LIVEKIT_ROOMS",
    "LIVEKIT_GRANTS",
    "LIVEKIT_TTL_S",
    "LIVEKIT_ROOM_CONFIG",
    "LIVEKIT_IDENTITY",
    "LIVEKIT_MAX_NAME",
    "LIVEKIT_MAX_METADATA",
    "LIVEKIT_MAX_ATTRIBUTES",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "ADMIN_TOKEN",
    "ADMIN_PRINCIPALS",
    "BANS_TABLE",
    "BANS_FAIL",
];

const CREDENTIALS: [&str; 6] = [
    "ADMIN_TOKEN",
    "API_KEY",
    "API_SECRET",
    "AIPIX_API_TOKEN",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
];

/// Values close to what an operator sets, valid or nearly.
fn plausible(variable: &str) -> &'static [&'static str] {
    match variable {
        "ALLOWED_ORIGINS" => &[
            "*",
            "https://app.example.com",
            "https://app.example.com, http://localhost:5173",
            "null",
            "https://app.example.com/",
            "*, https://app.example.com",
        ],
        "UPSTREAM_TIMEOUT_MS" => &["1", "5000", "25000", "25001", "0", "-1"],
        "CAS_URL" | "AIPIX_URL" => &[
            "https://upstream.example.com",
            "https://upstream.example.com/base/",
            "http://127.0.0.1:9000/",
            "http://[::1]:9000",
            "http://localhost:9000",
            "http://upstream.example.com",
            "https://user:pw@upstream.example.com",
            "https://upstream.example.com/?q=1",
            "ftp://upstream.example.com",
        ],
        "AIPIX_STREAMS" => &["*", "cam-1", "cam-1, cam.2", "cam 1", "*,cam-1", ","],
        "AIPIX_RIGHTS" => &["live", "live,dvr", "live, dvr, copy", "dvr", "rewind", ","],
        "AIPIX_MAX_TTL" | "AIPIX_DEFAULT_TTL" => &["0", "1", "600", "3600", "86400", "18446744073709551616"],
        "AIPIX_ALLOW_UNLIMITED" => &["true", "false", "1", "0", "yes"],
        "ROOM_TTL_S" => &["59", "60", "86400", "2592000", "2592001"],
        "ROOM_REFRESH_MARGIN_S" => &["0", "60", "86400", "86401"],
        "LISTEN_ADDR" => &["127.0.0.1:3000", "0.0.0.0:0", "[::1]:8080", "localhost:3000"],
        "LIVEKIT_URL" => &[
            "wss://project.livekit.cloud",
            "ws://127.0.0.1:7880",
            "ws://project.livekit.cloud",
            "https://project.livekit.cloud",
            "wss://u:p@project.livekit.cloud",
        ],
        "LIVEKIT_ROOMS" => &["*", "lobby", "lobby, party-*", "a b", "*,lobby", "p*x", ","],
        "LIVEKIT_GRANTS" => &[
            "publish,subscribe,data",
            "subscribe",
            "publish, data",
            "record",
            ",",
        ],
        "LIVEKIT_TTL_S" => &["59", "60", "600", "86400", "86401"],
        "LIVEKIT_ROOM_CONFIG" => &["true", "false", "1", "0", "yes"],
        "LIVEKIT_IDENTITY" => &["caller", "request", "anyone"],
        "LIVEKIT_MAX_NAME" | "LIVEKIT_MAX_METADATA" | "LIVEKIT_MAX_ATTRIBUTES" => {
            &["0", "128", "65536", "65537"]
        }
        "API_KEY" | "API_SECRET" | "AIPIX_API_TOKEN" | "LIVEKIT_API_KEY" | "LIVEKIT_API_SECRET" => {
            &["k3y-0f-the-vendor", "s3cret-v4lue-xyz", "line\nbreak-in-value"]
        }
        "SECRET_ID" => &[
            "token-vendor/credentials",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:tv",
        ],
        "ROOMS_TABLE" | "BANS_TABLE" => &["rooms", "bans"],
        "ADMIN_TOKEN" => &[
            "7d2f0c9a41b86e35d0a9c4f1e7b23a6c",
            "7d2f0c9a41b86e35d0a9c4f1e7b23a6",
            "7d2f0c9a41b86e35 0a9c4f1e7b23a6cc",
        ],
        "ADMIN_PRINCIPALS" => &[
            "arn:aws:iam::123456789012:role/Ops",
            "arn:aws:sts::123456789012:assumed-role/Ops/*, arn:aws:iam::123456789012:user/ci",
            "Ops",
            "arn:*:x",
            ",",
        ],
        "BANS_FAIL" => &["closed", "open", "shut"],
        "AWS_LAMBDA_RUNTIME_API" => &["127.0.0.1:9001"],
        _ => &["x"],
    }
}

/// A value (or none) for every variable: plausible, digits, or any text.
fn lookup_values() -> impl Strategy<Value = HashMap<&'static str, String>> {
    let per_variable: Vec<_> = VARIABLES
        .iter()
        .map(|&variable| {
            prop_oneof![
                3 => Just(None::<String>),
                3 => prop::sample::select(plausible(variable)).prop_map(|v| Some(v.to_owned())),
                1 => "[0-9]{1,8}".prop_map(Some),
                1 => any::<String>().prop_map(Some),
            ]
            .prop_map(move |value| value.map(|value| (variable, value)))
        })
        .collect();
    per_variable.prop_map(|values| values.into_iter().flatten().collect::<HashMap<_, _>>())
}

static ROOM_TTL_EDGES: [u64; 7] = [0, 59, 60, 61, 86_400, 2_592_000, 2_592_001];
static ROOM_MARGIN_EDGES: [u64; 6] = [0, 59, 60, 86_399, 86_400, 86_401];

fn seconds_around(edges: &'static [u64]) -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0..3_000_000u64, prop::sample::select(edges),]
}

// ------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_parsed_or_refused_and_what_is_not_json_is_refused(
        text in prop_oneof![
            any::<String>(),
            r#"\{ ?"version" ?: ?"2\.0" ?[,}].{0,64}"#,
        ],
    ) {
        // Well-formed JSON, whatever its numbers (`Value` refuses 1e400; events may carry it).
        let is_json = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();

        let parsed = serde_json::from_str::<ApiGatewayEvent>(&text);

        if !is_json {
            prop_assert!(parsed.is_err(), "{:?} parsed as {:?}", text, parsed);
        }
    }

    #[test]
    fn any_json_value_is_parsed_exactly_when_lambda_http_parses_it(
        value in json_value(),
        version_leads in any::<bool>(),
    ) {
        let json = if version_leads { with_version_2_leading(&value) } else { value.to_string() };

        let ours = serde_json::from_str::<ApiGatewayEvent>(&json);
        let theirs = serde_json::from_str::<LambdaRequest>(&json);

        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}", json);
    }

    #[test]
    fn an_http_api_event_with_any_path_and_headers_becomes_a_request_with_them(
        path in http_api_path(),
        headers in extra_headers(),
    ) {
        let mut event = Value::clone(&HTTP_API_EVENT);
        event["rawPath"] = Value::from(path.as_str());
        event["requestContext"]["http"]["path"] = Value::from(path.as_str());
        for (name, value) in &headers {
            event["headers"][name.as_str()] = Value::from(value.as_str());
        }
        let json = event.to_string();

        let parsed = serde_json::from_str::<ApiGatewayEvent>(&json).unwrap();
        let origin = parsed.0.request_origin();
        let request = lambda_http::Request::from(parsed.0);

        prop_assert!(matches!(origin, RequestOrigin::ApiGatewayV2), "{:?}", origin);
        prop_assert_eq!(request.uri().path(), path.as_str());
        for (name, value) in &headers {
            let received: Vec<&[u8]> = request
                .headers()
                .get_all(name.as_str())
                .iter()
                .map(HeaderValue::as_bytes)
                .collect();
            prop_assert_eq!(received, vec![value.as_bytes()], "header {}", name);
        }
    }

    #[test]
    fn an_accepted_event_always_converts_to_a_request_without_a_panic(
        rest in any::<bool>(),
        host in prop_oneof![Just(None), any::<String>().prop_map(Some), "[a-z0-9.:-]{0,12}".prop_map(Some)],
        domain in prop_oneof![Just(None), "[a-z0-9.:{} -]{0,12}".prop_map(Some)],
        proto in prop_oneof![Just(None), Just(Some("https".to_owned())), any::<String>().prop_map(Some)],
        path in prop_oneof![any::<String>(), "/[ -~]{0,16}"],
        query in prop_oneof![any::<String>(), "[ -~]{0,16}"],
        stage in prop_oneof![Just("$default".to_owned()), any::<String>()],
        base64 in any::<bool>(),
        body in "[ -~]{0,12}",
    ) {
        // lambda_http's conversion unwraps URL and URI parses and a base64
        // decode; the event parser refuses what it would panic on. Both
        // payload versions: a REST API event rebuilds its query from a map.
        let mut event = if rest { Value::clone(&REST_API_EVENT) } else { Value::clone(&HTTP_API_EVENT) };
        match &host {
            Some(host) => event["headers"]["host"] = Value::from(host.as_str()),
            None => drop(event["headers"].as_object_mut().unwrap().remove("host")),
        }
        match &domain {
            Some(domain) => event["requestContext"]["domainName"] = Value::from(domain.as_str()),
            None => drop(event["requestContext"].as_object_mut().unwrap().remove("domainName")),
        }
        if let Some(proto) = &proto {
            event["headers"]["x-forwarded-proto"] = Value::from(proto.as_str());
        }
        if rest {
            event["path"] = Value::from(path.as_str());
            event["queryStringParameters"] = serde_json::json!({ "q": query });
        } else {
            event["rawPath"] = Value::from(path.as_str());
            event["rawQueryString"] = Value::from(query.as_str());
        }
        event["requestContext"]["stage"] = Value::from(stage.as_str());
        event["isBase64Encoded"] = Value::from(base64);
        event["body"] = Value::from(body.as_str());

        if let Ok(parsed) = serde_json::from_str::<ApiGatewayEvent>(&event.to_string()) {
            let request = lambda_http::Request::from(parsed.0);
            prop_assert!(request.uri().path().starts_with('/'), "{:?}", request.uri());
        }
    }

    #[test]
    fn any_query_is_parsed_or_a_bad_request_and_what_parses_reads_back_the_same(
        query in query_like(),
    ) {
        let parsed = Asked::from_query(&query);

        match parsed {
            Ok(asked) => {
                let again = Asked::from_query(&canonical_query(&asked)).ok();
                prop_assert_eq!(again, Some(asked), "{:?}", query);
            }
            Err(error) => prop_assert_eq!(error.status().as_u16(), 400, "{:?}", query),
        }
    }

    #[test]
    fn any_body_is_parsed_or_a_bad_request_and_what_parses_reads_back_the_same(
        body in body_like(),
    ) {
        let parsed = Asked::from_body(&body);

        match parsed {
            Ok(asked) => {
                let again = Asked::from_body(&canonical_body(&asked)).ok();
                prop_assert_eq!(again, Some(asked), "{}", String::from_utf8_lossy(&body));
            }
            Err(error) => prop_assert_eq!(
                error.status().as_u16(),
                400,
                "{}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    #[test]
    fn a_valid_request_is_granted_with_the_ttl_asked_or_the_default(valid in valid_request()) {
        let query = query_string(&valid.pairs);
        let asked_any_right = [valid.asked.live, valid.asked.dvr, valid.asked.copy].contains(&Some(true));

        let parsed = Asked::from_query(&query);
        let granted = valid.policy.decide(&valid.stream, &valid.asked);

        prop_assert_eq!(parsed.as_ref().ok(), Some(&valid.asked), "{:?}", query);
        prop_assert!(granted.is_ok(), "{:?} for {:?}: {:?}", query, valid.stream, granted);
        let granted = granted.unwrap();
        prop_assert_eq!(&granted.stream, &valid.stream);
        prop_assert_eq!(granted.ttl, valid.asked.ttl.unwrap_or(valid.policy.default_ttl));
        prop_assert_eq!(
            granted.rights,
            Rights {
                live: valid.asked.live == Some(true) || !asked_any_right,
                dvr: valid.asked.dvr == Some(true),
                copy: valid.asked.copy == Some(true),
            }
        );
        prop_assert_eq!((granted.from, granted.to), (valid.asked.from, valid.asked.to));
    }

    #[test]
    fn an_invalid_request_is_a_bad_request((policy, stream, pairs) in invalid_request()) {
        let query = query_string(&pairs);

        let refusal = Asked::from_query(&query)
            .and_then(|asked| policy.decide(&stream, &asked))
            .err();

        prop_assert_eq!(refusal.map(|e| e.status().as_u16()), Some(400), "{:?}", query);
    }

    #[test]
    fn a_room_name_is_valid_exactly_when_it_is_1_to_128_characters_of_the_alphabet(
        name in room_name_like(),
    ) {
        let documented = documented_room_name(&name);

        let valid = is_room_name(&name);

        prop_assert_eq!(valid, documented, "{:?}", name);
    }

    #[test]
    fn a_fingerprint_is_a_short_hex_hash(name in room_name_like()) {
        let print = fingerprint(&name);

        prop_assert_eq!(print.len(), 9, "{:?}", print);
        prop_assert!(print.starts_with('#'), "{:?}", print);
        prop_assert!(
            print[1..].bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{:?}",
            print
        );
    }

    #[test]
    fn an_origin_list_allows_each_member_and_refuses_any_other(
        (origins, stranger) in origins_and_stranger(),
        separator in prop::sample::select(vec![",", ", ", " ,"]),
    ) {
        prop_assume!(!origins.contains(&stranger));
        let list = origins.join(separator);
        let expected = AllowedOrigins::List(origins.clone());

        let policy = AllowedOrigins::parse(&list);

        prop_assert_eq!(
            policy.as_ref().ok(),
            Some(&expected),
            "{:?}: {:?}",
            list,
            policy
        );
        let policy = policy.unwrap();
        for origin in &origins {
            prop_assert!(policy.allows(origin), "{:?}", origin);
            prop_assert_eq!(
                policy.check(&origin_header(origin)),
                OriginCheck::Allowed(HeaderValue::from_str(origin).unwrap())
            );
        }
        prop_assert!(!policy.allows(&stranger), "{:?}", stranger);
        prop_assert_eq!(policy.check(&origin_header(&stranger)), OriginCheck::Refused);
    }

    #[test]
    fn any_origin_list_is_parsed_or_refused_and_what_parses_is_verbatim(
        list in prop_oneof![
            any::<String>(),
            r"((null|\*|https?://[a-zA-Z0-9.:/\[\]-]{0,20})[ ,]{0,2}){0,4}",
        ],
    ) {
        let entries: Vec<&str> = list.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();

        let parsed = AllowedOrigins::parse(&list);

        match parsed {
            Ok(AllowedOrigins::Any) => prop_assert_eq!(entries, vec!["*"]),
            Ok(AllowedOrigins::List(origins)) => {
                prop_assert_eq!(&origins, &entries, "{:?}", list);
                let again = AllowedOrigins::parse(&origins.join(",")).ok();
                prop_assert_eq!(again, Some(AllowedOrigins::List(origins.clone())));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn any_configuration_is_accepted_or_refused_naming_a_variable_it_read(
        values in lookup_values(),
    ) {
        let read = RefCell::new(Vec::<String>::new());

        let result = Config::from_lookup(|name: &str| {
            read.borrow_mut().push(name.to_owned());
            values.get(name).cloned()
        });

        match result {
            Ok(config) => {
                prop_assert!(config.room_refresh_margin < config.room_ttl, "{:?}", config);
                prop_assert!(
                    config.upstream_timeout > Duration::ZERO
                        && config.upstream_timeout <= Duration::from_secs(25),
                    "{:?}",
                    config
                );
                if let Some(aipix) = &config.aipix {
                    prop_assert!(
                        (1..=aipix.policy.max_ttl).contains(&aipix.policy.default_ttl),
                        "{:?}",
                        aipix
                    );
                }
            }
            Err(error) => {
                prop_assert!(VARIABLES.contains(&error.variable), "{}", error);
                prop_assert!(
                    read.borrow().iter().any(|name| name == error.variable),
                    "{} names a variable never read",
                    error
                );
                let message = error.to_string();
                for credential in CREDENTIALS {
                    let value = values.get(credential).map(|v| v.trim()).filter(|v| v.len() >= 8);
                    if let Some(value) = value {
                        prop_assert!(
                            !message.contains(value),
                            "the error on {} echoes {}",
                            error.variable,
                            credential
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn room_lifetimes_are_accepted_exactly_within_their_documented_ranges(
        ttl in seconds_around(&ROOM_TTL_EDGES),
        margin in seconds_around(&ROOM_MARGIN_EDGES),
    ) {
        let values = HashMap::from([
            ("ROOM_TTL_S", ttl.to_string()),
            ("ROOM_REFRESH_MARGIN_S", margin.to_string()),
        ]);
        let ttl_ok = (60..=2_592_000).contains(&ttl);
        let margin_ok = margin <= 86_400 && margin < ttl;

        let result = Config::from_lookup(|name: &str| values.get(name).cloned());

        match result {
            Ok(config) => {
                prop_assert!(ttl_ok && margin_ok, "accepted ttl {} margin {}", ttl, margin);
                prop_assert!(matches!(config.mode, Mode::Local { .. }), "{:?}", config.mode);
                prop_assert!(config.demo());
                prop_assert_eq!(config.room_ttl, Duration::from_secs(ttl));
                prop_assert_eq!(config.room_refresh_margin, Duration::from_secs(margin));
            }
            Err(error) => {
                prop_assert!(!(ttl_ok && margin_ok), "refused ttl {} margin {}: {}", ttl, margin, error);
                // ROOM_TTL_S is checked first; the margin is checked against it.
                let expected = if ttl_ok { "ROOM_REFRESH_MARGIN_S" } else { "ROOM_TTL_S" };
                prop_assert_eq!(error.variable, expected, "{}", error);
            }
        }
    }
}

/// Not a proptest: `RoomName::generate` takes no input to generate. Many draws
/// of it instead.
#[test]
fn new_room_names_are_valid_22_character_names_that_never_repeat() {
    let names: Vec<String> = (0..256)
        .map(|_| RoomName::generate().unwrap().as_str().to_owned())
        .collect();

    let distinct: HashSet<&String> = names.iter().collect();

    for name in &names {
        assert_eq!(name.len(), 22, "{name}");
        assert!(documented_room_name(name), "{name}");
        assert!(is_room_name(name), "{name}");
    }
    assert_eq!(distinct.len(), names.len());
}

// ---------------------------------------------------------------- LiveKit

fn livekit_policy() -> impl Strategy<Value = LiveKitPolicy> {
    (
        prop_oneof![
            Just(AllowedRooms::Any),
            prop::collection::vec(
                prop_oneof![
                    "[a-z0-9]{1,6}".prop_map(RoomPattern::Exact),
                    "[a-z0-9]{0,3}".prop_map(RoomPattern::Prefix)
                ],
                1..4
            )
            .prop_map(AllowedRooms::List),
        ],
        any::<(bool, bool, bool, bool)>(),
        60u64..=86_400,
        0usize..64,
    )
        .prop_map(
            |(rooms, (publish, subscribe, data, trusting), ttl, max)| LiveKitPolicy {
                rooms,
                grants: Grants {
                    publish,
                    subscribe,
                    data,
                },
                ttl,
                room_config: publish,
                identity: if trusting {
                    IdentitySource::Request
                } else {
                    IdentitySource::Caller
                },
                max_name: max,
                max_metadata: max,
                max_attributes: max,
            },
        )
}

/// A body of LiveKit's fields, each present or not, with text of any kind.
fn livekit_body() -> impl Strategy<Value = Value> {
    let text = || prop::option::of(prop_oneof!["[a-z0-9]{0,8}", "\\PC{0,8}", ".{0,70}"]);
    (
        text(),
        text(),
        text(),
        text(),
        prop::option::of(prop::collection::btree_map("[a-z]{1,4}", "[a-z]{0,8}", 0..4)),
        prop::option::of(Just(serde_json::json!({"agents": []}))),
    )
        .prop_map(|(room, identity, name, metadata, attributes, config)| {
            let mut body = serde_json::Map::new();
            let mut put = |key: &str, value: Option<Value>| {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            };
            put("room_name", room.map(Value::from));
            put("participant_identity", identity.map(Value::from));
            put("participant_name", name.map(Value::from));
            put("participant_metadata", metadata.map(Value::from));
            put("participant_attributes", attributes.map(|a| serde_json::json!(a)));
            put("room_config", config);
            Value::Object(body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_livekit_request_within_its_policy_is_granted(
        policy in livekit_policy(),
        suffix in "[a-z0-9]{0,6}",
        name in prop::option::of("[A-Za-z ]{0,8}"),
        sub in prop::option::of("u[a-z0-9|-]{0,11}"),
    ) {
        // A room the policy lists (or any), a name within its bound, no
        // identity asked for, no room_config: granted, with the sub or a guest.
        let room = match &policy.rooms {
            AllowedRooms::Any => format!("r{suffix}"),
            AllowedRooms::List(patterns) => match &patterns[0] {
                RoomPattern::Exact(name) => name.clone(),
                RoomPattern::Prefix(prefix) => format!("{prefix}x{suffix}"),
            },
        };
        let name = name.filter(|n| n.len() <= policy.max_name);
        let asked = TokenRequest { room_name: Some(room.clone()), participant_name: name, ..TokenRequest::default() };
        let grant = policy.decide(&asked, sub.as_deref()).map_err(|e| TestCaseError::fail(e.code()))?;
        prop_assert_eq!(grant.room, room);
        prop_assert_eq!(grant.identity.starts_with("guest-"), sub.is_none());
    }

    #[test]
    fn any_livekit_body_is_parsed_or_a_bad_request(body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(error) = TokenRequest::from_body(&body) {
            prop_assert_eq!(error.code(), "bad_request");
        }
    }

    #[test]
    fn a_livekit_grant_keeps_within_its_policy_and_the_callers_identity(
        policy in livekit_policy(),
        body in livekit_body(),
        sub in prop::option::of("u[a-z0-9|-]{0,11}"),
    ) {
        let asked = TokenRequest::from_body(body.to_string().as_bytes()).unwrap();
        match policy.decide(&asked, sub.as_deref()) {
            Ok(grant) => {
                let room = asked.room_name.as_deref().unwrap();
                prop_assert_eq!(&grant.room, room);
                prop_assert!(is_room_name(&grant.room));
                let listed = match &policy.rooms {
                    AllowedRooms::Any => true,
                    AllowedRooms::List(patterns) => patterns.iter().any(|p| match p {
                        RoomPattern::Exact(name) => name == room,
                        RoomPattern::Prefix(prefix) => room.starts_with(prefix.as_str()),
                    }),
                };
                prop_assert!(listed, "{} is outside the policy", room);
                match (&sub, &asked.participant_identity) {
                    (Some(sub), _) => prop_assert_eq!(&grant.identity, sub),
                    (None, Some(asked)) => {
                        // A chosen identity is issued behind `req:`: never
                        // a signed-in caller's.
                        prop_assert_eq!(policy.identity, IdentitySource::Request);
                        prop_assert_eq!(&grant.identity, &format!("req:{asked}"));
                    }
                    (None, None) => prop_assert!(grant.identity.starts_with("guest-")),
                }
                prop_assert!(asked.room_config.is_none() || policy.room_config);
                prop_assert_eq!(grant.grants, policy.grants);
                prop_assert_eq!(grant.ttl, policy.ttl);
                let bytes = |t: &Option<String>| t.as_deref().map_or(0, str::len);
                let (name, metadata) = (bytes(&grant.name), bytes(&grant.metadata));
                prop_assert!(name <= policy.max_name && metadata <= policy.max_metadata);
            }
            Err(error) => {
                let code = error.code();
                prop_assert!(
                    ["bad_request", "room_not_allowed", "identity_not_allowed", "room_config_not_allowed"].contains(&code),
                    "{}", code
                );
                if asked.room_name.is_none() {
                    prop_assert_eq!(code, "bad_request");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Agora

fn agora_policy() -> impl Strategy<Value = AgoraPolicy> {
    (
        prop_oneof![
            Just(AllowedRooms::Any),
            prop::collection::vec(
                prop_oneof![
                    "[a-z0-9 ]{1,6}".prop_map(RoomPattern::Exact),
                    "[a-z0-9]{0,3}".prop_map(RoomPattern::Prefix)
                ],
                1..4
            )
            .prop_map(AllowedRooms::List),
        ],
        any::<(bool, bool, bool)>(),
        60u32..=86_400,
    )
        .prop_map(
            |(channels, (publisher, subscriber, trusting), max_ttl)| AgoraPolicy {
                channels,
                roles: AgoraRoles {
                    publisher,
                    subscriber,
                },
                ttl: max_ttl.min(3600),
                max_ttl,
                identity: if trusting {
                    IdentitySource::Request
                } else {
                    IdentitySource::Caller
                },
            },
        )
}

/// A body of agora-token-service's fields, each present or not, with
/// values of any kind (right or wrong types, any text, any number).
fn agora_body() -> impl Strategy<Value = Value> {
    let text = || prop_oneof!["[a-z0-9 ]{0,8}", "\\PC{0,8}", ".{0,70}", Just("0".to_owned())];
    let value = move || {
        prop::option::of(prop_oneof![
            text().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..3).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
        ])
    };
    (
        prop::option::of(prop_oneof![Just("rtc"), Just("rtm"), Just("chat")]),
        value(),
        prop::option::of(prop_oneof![Just("publisher"), Just("subscriber"), Just("host")]),
        value(),
        value(),
    )
        .prop_map(|(token_type, channel, role, uid, expire)| {
            let mut body = serde_json::Map::new();
            let mut put = |key: &str, value: Option<Value>| {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            };
            put("tokenType", token_type.map(Value::from));
            put("channel", channel);
            put("role", role.map(Value::from));
            put("uid", uid);
            put("expire", expire);
            Value::Object(body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_agora_body_is_parsed_or_a_bad_request(body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(error) = AgoraRequest::from_body(&body) {
            prop_assert_eq!(error.code(), "bad_request");
        }
    }

    #[test]
    fn an_agora_grant_keeps_within_its_policy_and_the_callers_uid(
        policy in agora_policy(),
        body in agora_body(),
        sub in prop::option::of(prop_oneof!["u[a-z0-9|-]{0,11}", "[0-9]{1,3}"]),
    ) {
        let Ok(asked) = AgoraRequest::from_body(body.to_string().as_bytes()) else {
            return Ok(());
        };
        match policy.decide(&asked, sub.as_deref()) {
            Ok(grant) => {
                // Never Agora's "anyone", and the caller's own when signed in.
                prop_assert!(grant.uid != "0" && !grant.uid.is_empty() && grant.uid.len() <= 255);
                let asked_uid = asked.uid.as_ref().map(|uid| match uid {
                    AskedUid::Number(n) => n.to_string(),
                    AskedUid::Text(text) => text.clone(),
                });
                match (&sub, &asked_uid) {
                    (Some(sub), _) => prop_assert_eq!(&grant.uid, sub),
                    (None, Some(asked)) => {
                        prop_assert_eq!(policy.identity, IdentitySource::Request);
                        prop_assert_eq!(&grant.uid, asked);
                    }
                    (None, None) => prop_assert!(grant.uid.parse::<u32>().is_ok_and(|n| n > 0)),
                }
                prop_assert!(grant.ttl >= 1 && grant.ttl <= policy.max_ttl);
                prop_assert_eq!(u64::from(grant.ttl), asked.expire.unwrap_or(u64::from(policy.ttl)));
                match &grant.service {
                    AgoraService::Rtc { channel, role } => {
                        prop_assert_eq!(Some(channel.as_str()), asked.channel.as_deref());
                        prop_assert!(is_channel_name(channel));
                        prop_assert!(policy.channels.allows(channel), "{} is outside the policy", channel);
                        let allowed = match role {
                            AgoraRole::Publisher => policy.roles.publisher,
                            AgoraRole::Subscriber => policy.roles.subscriber,
                        };
                        prop_assert!(allowed);
                        prop_assert_eq!(Some(*role), asked.role.or(Some(AgoraRole::Subscriber)));
                    }
                    AgoraService::Rtm => prop_assert_eq!(asked.token_type, Some(AgoraTokenType::Rtm)),
                }
            }
            Err(error) => {
                let code = error.code();
                prop_assert!(
                    ["bad_request", "channel_not_allowed", "role_not_allowed", "identity_not_allowed"].contains(&code),
                    "{}", code
                );
            }
        }
    }
}

// ---------------------------------------------------------------- Twilio

fn twilio_policy() -> impl Strategy<Value = TwilioPolicy> {
    (
        prop_oneof![
            Just(AllowedRooms::Any),
            prop::collection::vec(
                prop_oneof![
                    "[a-z0-9-]{1,6}".prop_map(RoomPattern::Exact),
                    "[a-z0-9]{0,3}".prop_map(RoomPattern::Prefix)
                ],
                1..4
            )
            .prop_map(AllowedRooms::List),
        ],
        any::<bool>(),
    )
        .prop_map(|(rooms, trusting)| TwilioPolicy {
            rooms,
            ttl: 3600,
            identity: if trusting {
                IdentitySource::Request
            } else {
                IdentitySource::Caller
            },
        })
}

/// A text of any kind, or another JSON value, or nothing: one field of a
/// generated body.
fn any_field() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        prop_oneof!["[a-z0-9-]{0,8}", "\\PC{0,8}", ".{0,130}", "[a-z]{118,122}"].prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
    ])
}

/// A `sub` in a namespace the vendor keeps for its own identities.
fn reserved(sub: &str) -> bool {
    sub.starts_with("req:") || sub.starts_with("guest-")
}

fn body_of(fields: &[(&str, Option<Value>)]) -> Value {
    Value::Object(
        fields
            .iter()
            .filter_map(|(key, value)| value.clone().map(|value| ((*key).to_owned(), value)))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_twilio_body_is_parsed_or_a_bad_request(body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(error) = TwilioRequest::from_body(&body) {
            prop_assert_eq!(error.code(), "bad_request");
        }
    }

    #[test]
    fn a_twilio_grant_keeps_within_its_policy_and_the_callers_identity(
        policy in twilio_policy(),
        room in any_field(),
        identity in any_field(),
        sub in prop::option::of(prop_oneof!["u[a-z0-9|-]{0,11}", "(req:|guest-)[a-z]{1,4}", "[a-z]{120,123}"]),
    ) {
        let body = body_of(&[("room_name", room), ("user_identity", identity)]);
        let Ok(asked) = TwilioRequest::from_body(body.to_string().as_bytes()) else {
            return Ok(());
        };
        match policy.decide(&asked, sub.as_deref()) {
            Ok(grant) => {
                prop_assert_eq!(Some(grant.room.as_str()), asked.room_name.as_deref());
                prop_assert!(is_room_name(&grant.room) && policy.rooms.allows(&grant.room));
                // Within Twilio's bound, and the caller's own when signed in.
                prop_assert!(!grant.identity.is_empty() && grant.identity.len() <= 121);
                // A signed-in caller in neither reserved namespace, asking
                // for no identity or its own.
                if let Some(sub) = &sub {
                    prop_assert!(!reserved(sub), "{}", sub);
                    prop_assert!(asked.user_identity.as_ref().is_none_or(|asked| asked == sub));
                }
                match (&sub, &asked.user_identity) {
                    (Some(sub), _) => prop_assert_eq!(&grant.identity, sub),
                    (None, Some(asked)) => {
                        prop_assert_eq!(policy.identity, IdentitySource::Request);
                        prop_assert_eq!(&grant.identity, &format!("req:{asked}"));
                    }
                    (None, None) => prop_assert!(grant.identity.starts_with("guest-")),
                }
            }
            Err(error) => match error.code() {
                "bad_request" => {}
                // Each refusal for its own reason.
                "room_not_allowed" => prop_assert!(asked
                    .room_name
                    .as_deref()
                    .is_some_and(|room| is_room_name(room) && !policy.rooms.allows(room))),
                "identity_not_allowed" => {
                    let not_theirs = asked.user_identity.as_ref().is_some_and(|asked| match &sub {
                        Some(sub) => asked != sub,
                        None => policy.identity == IdentitySource::Caller,
                    });
                    prop_assert!(sub.as_deref().is_some_and(reserved) || not_theirs);
                }
                code => prop_assert!(false, "{}", code),
            },
        }
    }
}

// ---------------------------------------------------------------- Vonage

fn vonage_policy() -> impl Strategy<Value = VonagePolicy> {
    any::<(bool, bool, bool, bool, bool)>().prop_map(
        |(subscriber, publisher, publisher_only, moderator, data)| VonagePolicy {
            roles: VonageRoles {
                subscriber,
                publisher,
                publisher_only,
                moderator,
            },
            ttl: 3600,
            data,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_vonage_body_is_parsed_or_a_bad_request(body in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(error) = VonageRequest::from_body(&body) {
            prop_assert_eq!(error.code(), "bad_request");
        }
    }

    #[test]
    fn a_vonage_grant_keeps_within_its_policy_and_the_callers_identity(
        policy in vonage_policy(),
        session in any_field(),
        role in prop::option::of(prop_oneof![
            Just("subscriber"), Just("publisher"), Just("publisheronly"), Just("moderator"), Just("host")
        ]),
        data in prop_oneof![any_field(), "[a-z\"\\\\]{900,1000}".prop_map(|d| Some(Value::from(d)))],
        sub in prop::option::of(prop_oneof!["u[a-z0-9\"|-]{0,11}", "(req:|guest-)[a-z]{1,4}"]),
    ) {
        let body = body_of(&[("session_id", session), ("role", role.map(Value::from)), ("data", data)]);
        let Ok(asked) = VonageRequest::from_body(body.to_string().as_bytes()) else {
            return Ok(());
        };
        match policy.decide(&asked, sub.as_deref()) {
            Ok(grant) => {
                prop_assert_eq!(Some(grant.session_id.as_str()), asked.session_id.as_deref());
                prop_assert!(is_vonage_session_id(&grant.session_id));
                let allowed = match grant.role {
                    VonageRole::Subscriber => policy.roles.subscriber,
                    VonageRole::Publisher => policy.roles.publisher,
                    VonageRole::PublisherOnly => policy.roles.publisher_only,
                    VonageRole::Moderator => policy.roles.moderator,
                };
                prop_assert!(allowed);
                // connection_data is JSON holding the identity, and the
                // data only when the policy lets it in; within Vonage's bound.
                prop_assert!(grant.connection_data.len() <= 1000);
                let data: Value = serde_json::from_str(&grant.connection_data).unwrap();
                prop_assert_eq!(data["identity"].as_str(), Some(grant.identity.as_str()));
                prop_assert_eq!(data.get("data").and_then(Value::as_str), asked.data.as_deref());
                prop_assert!(asked.data.is_none() || policy.data);
                match &sub {
                    Some(sub) => {
                        prop_assert!(!reserved(sub), "{}", sub);
                        prop_assert_eq!(&grant.identity, sub);
                    }
                    None => prop_assert!(grant.identity.starts_with("guest-")),
                }
            }
            Err(error) => match error.code() {
                "bad_request" => {}
                // Each refusal for its own reason.
                "role_not_allowed" => {
                    let refused = match asked.role {
                        Some(VonageRole::Subscriber) => !policy.roles.subscriber,
                        Some(VonageRole::Publisher) => !policy.roles.publisher,
                        Some(VonageRole::PublisherOnly) => !policy.roles.publisher_only,
                        Some(VonageRole::Moderator) => !policy.roles.moderator,
                        None => !policy.roles.publisher && !policy.roles.subscriber,
                    };
                    prop_assert!(refused);
                }
                "data_not_allowed" => prop_assert!(asked.data.is_some() && !policy.data),
                "identity_not_allowed" => prop_assert!(sub.as_deref().is_some_and(reserved)),
                code => prop_assert!(false, "{}", code),
            },
        }
    }
}

// ------------------------------------------------------------ admin routes

/// A vendor whose admin is `ADMIN_TOKEN` and whose bans live in memory.
fn admin_vendor() -> token_vendor::Vendor {
    token_vendor::Vendor::new(AllowedOrigins::Any, None, None)
        .with_admin(token_vendor::AdminAccess::Token(
            PROPERTY_ADMIN_TOKEN.to_owned().into(),
        ))
        .with_bans(token_vendor::Bans::new(
            token_vendor::BanStore::memory(),
            token_vendor::FailMode::Closed,
        ))
}

const PROPERTY_ADMIN_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// `method path` with `body`, as the admin sends it; the answer's status
/// and body.
fn admin_call(vendor: &token_vendor::Vendor, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut event: Value = serde_json::from_str(&crate::support::http_api_event(
        method,
        path,
        "",
        &[("authorization", &format!("Bearer {PROPERTY_ADMIN_TOKEN}"))],
        body,
    ))
    .unwrap();
    event["rawPath"] = Value::String(path.to_owned());
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response = runtime.block_on(vendor.handle(request));
    let body = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        _ => Value::Null,
    };
    (response.status().as_u16(), body)
}

/// A ban's body: often shaped as the admin's, sometimes anything.
fn ban_body() -> impl Strategy<Value = String> {
    let room = prop_oneof!["[a-z0-9._~:-]{1,12}\\*?", Just("*".to_owned()), any::<String>(),];
    let shaped = (
        prop::option::of(prop::collection::vec(room, 0..4)),
        prop::option::of(prop_oneof![0..3u64, 1..40_000_000u64]),
        prop::option::of(any::<String>()),
    )
        .prop_map(|(rooms, ttl, reason)| {
            let mut body = serde_json::Map::new();
            if let Some(rooms) = rooms {
                body.insert("rooms".to_owned(), rooms.into());
            }
            if let Some(ttl) = ttl {
                body.insert("ttl_s".to_owned(), ttl.into());
            }
            if let Some(reason) = reason {
                body.insert("reason".to_owned(), reason.into());
            }
            Value::Object(body).to_string()
        });
    prop_oneof![4 => shaped, 1 => any::<String>(), 1 => json_value().prop_map(|v| v.to_string())]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_ban_body_is_taken_or_a_bad_request_and_what_is_taken_reads_back(body in ban_body()) {
        let vendor = admin_vendor();
        let (status, answer) = admin_call(&vendor, "PUT", "/admin/bans/alice", &body);
        match status {
            200 => {
                // Every room kept is a pattern a ban can hold; a `*` alone
                // is every room (null).
                if let Some(rooms) = answer["rooms"].as_array() {
                    prop_assert!(!rooms.is_empty() && rooms.len() <= 50);
                    for room in rooms {
                        let room = room.as_str().unwrap();
                        prop_assert!(token_vendor::parse_ban_room(room).is_some() && room != "*", "{}", room);
                    }
                }
                let (read_status, read) = admin_call(&vendor, "GET", "/admin/bans/alice", "");
                prop_assert_eq!(read_status, 200);
                prop_assert_eq!(&read["rooms"], &answer["rooms"]);
                prop_assert_eq!(&read["expiresAt"], &answer["expiresAt"]);
                prop_assert_eq!(&read["reason"], &answer["reason"]);
            }
            400 => prop_assert_eq!(answer["error"]["code"].as_str(), Some("bad_request")),
            other => prop_assert!(false, "{} for {:?}: {}", other, body, answer),
        }
    }

    #[test]
    fn any_identity_in_the_path_is_decoded_once_and_bounded_or_refused(identity in any::<String>(), raw in "[ -~]{0,24}") {
        let vendor = admin_vendor();
        let encoded: String = identity
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        for path in [format!("/admin/bans/{encoded}"), format!("/admin/bans/{raw}")] {
            if http::Uri::try_from(path.as_str()).is_err() {
                continue;
            }
            let (status, answer) = admin_call(&vendor, "PUT", &path, "");
            match status {
                200 => {
                    let named = answer["identity"].as_str().unwrap();
                    prop_assert!(token_vendor::is_ban_identity(named), "{:?}", named);
                    let (read, again) = admin_call(&vendor, "GET", &path, "");
                    prop_assert_eq!(read, 200);
                    prop_assert_eq!(again["identity"].as_str(), Some(named));
                }
                400 => prop_assert_eq!(answer["error"]["code"].as_str(), Some("bad_request")),
                // A path no admin route answers (a `/` in the segment, none).
                404 => prop_assert_eq!(answer["error"]["code"].as_str(), Some("not_found")),
                other => prop_assert!(false, "{} for {:?}: {}", other, path, answer),
            }
        }
        // `.` and `..` are dot segments to URL parsing even as %2E (a
        // limit docs/revocation.md names): no ban route answers them.
        if identity == "." || identity == ".." {
            let (status, _) = admin_call(&vendor, "PUT", &format!("/admin/bans/{encoded}"), "");
            prop_assert_eq!(status, 404);
        } else if !identity.is_empty() && identity.len() <= 256 && !identity.chars().any(char::is_control) {
            let (status, answer) = admin_call(&vendor, "PUT", &format!("/admin/bans/{encoded}"), "");
            prop_assert_eq!(status, 200);
            prop_assert_eq!(answer["identity"].as_str(), Some(identity.as_str()));
        }
    }
}
