//! The CloudWatch metrics: the real binary under a local Lambda Runtime API
//! (and in local mode), its stdout parsed line by line. Every record found
//! is checked against the Embedded Metric Format specification; then the
//! names, units and values of each request's and the cold start's record.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;
use bench::runtime_api::{Kind, RuntimeApi};
use serde_json::Value;

/// The X-Ray trace id in the header the Runtime API stand-in hands over with
/// every invocation (`Root=<this>;Parent=…;Sampled=0;Lineage=…`).
const TRACE_ID: &str = "1-5759e988-bd862e3fe1be46a994272793";
const KEY: &str = "metrics-key-5b1e0c";
const SECRET: &str = "metrics-secret-d83f27";
const ROOM: &str = "party-metrics-41c9e2";

/// CloudWatch's units (the EMF specification refers to them).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Every EMF record in `output`, each checked against the specification:
/// one JSON object per line with `_aws.Timestamp` (ms, now-ish) and
/// `_aws.CloudWatchMetrics` directives whose dimensions name top-level
/// strings and whose metrics name top-level numbers, with a known unit.
fn emf_records(output: &str) -> Vec<Value> {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mut records = Vec::new();
    for line in output.lines().filter(|l| l.contains("\"_aws\"")) {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not one JSON line: {line}"));
        let aws = &record["_aws"];
        let timestamp = aws["Timestamp"]
            .as_i64()
            .unwrap_or_else(|| panic!("no ms Timestamp: {line}"));
        assert!(
            (now_ms - 120_000..=now_ms + 1_000).contains(&timestamp),
            "Timestamp is not epoch ms of this run: {line}"
        );
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert!(!directives.is_empty(), "{line}");
        for directive in directives {
            let namespace = directive["Namespace"].as_str().unwrap();
            assert!(!namespace.is_empty() && namespace.len() <= 255, "{line}");
            for set in directive["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(set.len() <= 30, "{line}");
                for key in set {
                    let key = key.as_str().unwrap();
                    assert!(
                        record[key].is_string(),
                        "dimension {key} is not a top-level string: {line}"
                    );
                }
            }
            let metrics = directive["Metrics"].as_array().unwrap();
            assert!(metrics.len() <= 100, "{line}");
            for metric in metrics {
                let name = metric["Name"].as_str().unwrap();
                assert!(
                    record[name].is_number(),
                    "metric {name} has no top-level number: {line}"
                );
                let unit = metric["Unit"].as_str().unwrap_or("None");
                assert!(UNITS.contains(&unit), "unit {unit} of {name}: {line}");
            }
        }
        records.push(record);
    }
    records
}

/// The one directive of a record, as (namespace, dimension sets, name → unit).
fn directive(record: &Value) -> (String, Vec<Vec<String>>, BTreeMap<String, String>) {
    let directives = record["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives.len(), 1, "{record}");
    let d = &directives[0];
    let sets = serde_json::from_value(d["Dimensions"].clone()).unwrap();
    let units = d["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().unwrap().to_owned(),
                m["Unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (d["Namespace"].as_str().unwrap().to_owned(), sets, units)
}

/// The request records, in order.
fn request_records(output: &str) -> Vec<Value> {
    emf_records(output)
        .into_iter()
        .filter(|r| r.get("Requests").is_some())
        .collect()
}

/// Checks one request's record: the shape every request record shares,
/// then its values.
#[track_caller]
fn assert_request(
    record: &Value,
    namespace: &str,
    route: &str,
    status: u16,
    tokens: u64,
    code: Option<&str>,
) {
    let (ns, sets, units) = directive(record);
    assert_eq!(ns, namespace, "{record}");
    assert_eq!(sets, vec![vec!["Route".to_owned()], vec![]], "{record}");
    let mut expected: BTreeMap<String, String> = [
        ("Requests", "Count"),
        ("TokensIssued", "Count"),
        ("ClientErrors", "Count"),
        ("ServerErrors", "Count"),
        ("CredentialsUnavailable", "Count"),
        ("Latency", "Milliseconds"),
    ]
    .iter()
    .map(|(n, u)| ((*n).to_owned(), (*u).to_owned()))
    .collect();
    if record.get("UpstreamLatency").is_some() {
        expected.insert("UpstreamLatency".to_owned(), "Milliseconds".to_owned());
    }
    // With bans on (always locally, with BANS_TABLE under Lambda): their
    // three counts, all 0 here.
    if record.get("Banned").is_some() {
        for name in ["Banned", "BansBypassed", "BansUnavailable"] {
            expected.insert(name.to_owned(), "Count".to_owned());
            assert_eq!(record[name], 0, "{record}");
        }
    }
    assert_eq!(units, expected, "{record}");
    assert_eq!(record["Route"], route, "{record}");
    assert_eq!(record["Requests"], 1, "{record}");
    assert_eq!(record["TokensIssued"], tokens, "{record}");
    assert_eq!(
        record["ClientErrors"],
        u64::from((400..500).contains(&status)),
        "{record}"
    );
    assert_eq!(record["ServerErrors"], u64::from(status >= 500), "{record}");
    assert_eq!(record["StatusCode"], status, "{record}");
    let latency = record["Latency"].as_f64().unwrap();
    assert!(latency > 0.0 && latency < 10_000.0, "{record}");
    assert_eq!(record["ErrorCode"].as_str(), code, "{record}");
    assert!(record["RequestId"].is_string(), "{record}");
    // Nothing else: no path, no header, nothing from the body.
    let keys: Vec<&str> = record.as_object().unwrap().keys().map(String::as_str).collect();
    for key in keys {
        assert!(
            [
                "_aws",
                "Route",
                "Requests",
                "TokensIssued",
                "ClientErrors",
                "ServerErrors",
                "CredentialsUnavailable",
                "Latency",
                "UpstreamLatency",
                "Banned",
                "BansBypassed",
                "BansUnavailable",
                "StatusCode",
                "ErrorCode",
                "RequestId",
                "TraceId",
            ]
            .contains(&key),
            "unexpected {key} in {record}"
        );
    }
}

/// The vendor under Lambda (CAS, the secret and the rooms table on moto),
/// with its Runtime API.
struct LambdaRun {
    _moto: Moto,
    _cas: Https<wiremock::MockServer>,
    vendor: Process,
    runtime: RuntimeApi,
    invocations: usize,
}

impl LambdaRun {
    async fn start(cas: Https<wiremock::MockServer>, secret: &str, extra: &[(&'static str, &str)]) -> Self {
        let moto = Moto::start();
        moto.create_secret("tv/metrics", secret).await;
        create_table(&dynamodb(&moto.endpoint)).await;
        let runtime = RuntimeApi::start().await.unwrap();
        let mut vars = aws_env(&moto);
        vars.extend(lambda_env(&runtime));
        vars.extend([
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
            ("SECRET_ID", "tv/metrics".to_owned()),
            ("CAS_URL", cas.uri()),
            ("ROOMS_TABLE", TABLE.to_owned()),
        ]);
        vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let vendor = Process::spawn(&vars);
        runtime.wait_first_next(Duration::from_secs(20)).await.unwrap();
        Self {
            _moto: moto,
            _cas: cas,
            vendor,
            runtime,
            invocations: 0,
        }
    }

    /// One invocation: an HTTP API event; its status.
    async fn call(&mut self, method: &str, path: &str, origin: &str) -> (u16, Value) {
        self.invocations += 1;
        let event = http_api_event(method, path, "", &[("origin", origin)], "");
        self.runtime
            .invoke(&format!("metrics-{}", self.invocations), event);
        match self
            .runtime
            .outcome(Duration::from_secs(20))
            .await
            .map(|o| o.kind)
        {
            Some(Kind::Response(response)) => (
                response["statusCode"].as_u64().unwrap() as u16,
                serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null),
            ),
            other => panic!("{other:?}\n{}", self.vendor.output()),
        }
    }
}

#[tokio::test]
async fn under_lambda_each_request_and_the_cold_start_write_one_emf_record() {
    // Arrange
    let minting = Minting::default();
    let cas = cas_accepting_with(KEY, SECRET, minting.clone()).await;
    let mut run = LambdaRun::start(cas, &secret_json(KEY, SECRET), &[]).await;

    // Act: a token, a preflight, a refused origin, a room made and read, an
    // unknown path.
    let token = run.call("GET", "/token", ALLOWED).await;
    let preflight = run.call("OPTIONS", "/token", ALLOWED).await;
    let refused = run.call("GET", "/token", "https://evil.example").await;
    let made = run.call("PUT", &format!("/rooms/{ROOM}"), ALLOWED).await;
    let read = run.call("GET", &format!("/rooms/{ROOM}"), ALLOWED).await;
    let unknown = run.call("GET", "/admin", ALLOWED).await;
    let output = run.vendor.stop().await;

    // Assert: the answers...
    let statuses = [&token, &preflight, &refused, &made, &read, &unknown].map(|(s, _)| *s);
    assert_eq!(statuses, [200, 204, 403, 201, 200, 404], "{output}");
    // ...one cold-start record, before any request's...
    let records = emf_records(&output);
    let cold = &records[0];
    let (ns, sets, units) = directive(cold);
    assert_eq!(ns, "TokenVendor");
    assert_eq!(sets, vec![Vec::<String>::new()], "{cold}");
    let names: Vec<(&str, &str)> = units.iter().map(|(n, u)| (n.as_str(), u.as_str())).collect();
    assert_eq!(
        names,
        [
            ("ColdStart", "Count"),
            ("InitDuration", "Milliseconds"),
            ("SecretReadLatency", "Milliseconds")
        ]
    );
    assert_eq!(cold["ColdStart"], 1);
    let init = cold["InitDuration"].as_f64().unwrap();
    let secret_read = cold["SecretReadLatency"].as_f64().unwrap();
    assert!(
        secret_read > 0.0 && secret_read < init && init < 20_000.0,
        "{cold}"
    );
    assert_eq!(records.iter().filter(|r| r.get("ColdStart").is_some()).count(), 1);
    // ...and one per request, in order, with the trace id.
    let requests = request_records(&output);
    assert_eq!(requests.len(), 6, "{output}");
    assert_eq!(records.len(), 7, "nothing else is a record:\n{output}");
    let ns = "TokenVendor";
    assert_request(&requests[0], ns, "token", 200, 1, None);
    assert_request(&requests[1], ns, "token", 204, 0, None);
    assert_request(&requests[2], ns, "token", 403, 0, Some("origin_not_allowed"));
    assert_request(&requests[3], ns, "room", 201, 1, None);
    assert_request(&requests[4], ns, "room", 200, 1, None);
    assert_request(&requests[5], ns, "other", 404, 0, Some("not_found"));
    for (i, record) in requests.iter().enumerate() {
        assert_eq!(record["RequestId"], format!("metrics-{}", i + 1));
        assert_eq!(record["TraceId"], TRACE_ID, "{record}");
        assert_eq!(record["CredentialsUnavailable"], 0, "{record}");
    }
    // Upstream latency only where CAS was called (the token and the room).
    let upstream: Vec<bool> = requests
        .iter()
        .map(|r| r.get("UpstreamLatency").is_some())
        .collect();
    assert_eq!(upstream, [true, false, false, true, false, false], "{output}");
    assert!(requests[0]["UpstreamLatency"].as_f64().unwrap() <= requests[0]["Latency"].as_f64().unwrap());
    // The request log line carries the trace id too.
    let request_lines = output
        .lines()
        .filter(|l| l.contains(" request ") || l.contains("request method="));
    assert_eq!(
        request_lines
            .filter(|l| l.contains(&format!("trace_id=\"{TRACE_ID}\"")))
            .count(),
        6,
        "{output}"
    );
    // No key, secret, token or room name in any record.
    let emf: String = output.lines().filter(|l| l.contains("\"_aws\"")).collect();
    let mut needles = vec![KEY.to_owned(), SECRET.to_owned(), ROOM.to_owned()];
    for token in minting.issued() {
        needles.extend(token.split('.').map(str::to_owned));
    }
    assert!(!emf.contains("Parent="), "only the trace header's Root:\n{emf}");
    for needle in needles.iter().filter(|n| n.len() > 8) {
        assert!(!emf.contains(needle.as_str()), "{needle} in a record:\n{emf}");
    }
}

#[tokio::test]
async fn upstream_failures_count_as_server_errors_and_refused_keys_as_credentials_unavailable() {
    // Arrange: CAS down (500 to everything); CAS refusing the key pair (401
    // to anything but another pair); a secret without API_SECRET.
    use wiremock::matchers::method;
    use wiremock::{Mock, ResponseTemplate};
    let broken = upstream().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("CAS is down"))
        .mount(&broken.server)
        .await;
    let cas = cas_accepting("other-key", "other-secret", "unused").await;
    let mut down = LambdaRun::start(broken, &secret_json(KEY, SECRET), &[]).await;
    let mut refused = LambdaRun::start(cas, &secret_json(KEY, SECRET), &[]).await;
    let mut unreadable = LambdaRun::start(
        cas_accepting(KEY, SECRET, "unused").await,
        r#"{"API_KEY":"only-a-key"}"#,
        &[],
    )
    .await;

    // Act
    let down_status = down.call("GET", "/token", ALLOWED).await.0;
    let refused_status = refused.call("GET", "/token", ALLOWED).await.0;
    let unreadable_status = unreadable.call("POST", "/token", ALLOWED).await.0;
    let (down, refused, unreadable) = (
        down.vendor.stop().await,
        refused.vendor.stop().await,
        unreadable.vendor.stop().await,
    );

    // Assert
    assert_eq!([down_status, refused_status, unreadable_status], [502, 502, 503]);
    let down = &request_records(&down)[0];
    assert_request(down, "TokenVendor", "token", 502, 0, Some("upstream_error"));
    assert!(down["UpstreamLatency"].as_f64().unwrap() > 0.0, "{down}");
    assert_eq!(down["CredentialsUnavailable"], 0);
    let refused = &request_records(&refused)[0];
    assert_request(
        refused,
        "TokenVendor",
        "token",
        502,
        0,
        Some("upstream_auth_failed"),
    );
    assert_eq!(refused["CredentialsUnavailable"], 1, "{refused}");
    let unreadable = &request_records(&unreadable)[0];
    assert_request(
        unreadable,
        "TokenVendor",
        "token",
        503,
        0,
        Some("credentials_unavailable"),
    );
    assert_eq!(unreadable["CredentialsUnavailable"], 1, "{unreadable}");
    assert!(
        unreadable.get("UpstreamLatency").is_none(),
        "CAS was not called: {unreadable}"
    );
}

#[tokio::test]
async fn the_namespace_is_configurable_and_metrics_off_writes_no_record() {
    // Arrange
    let mut named = LambdaRun::start(
        cas_accepting(KEY, SECRET, &jwt(r#"{"exp":1900000000}"#)).await,
        &secret_json(KEY, SECRET),
        &[("METRICS_NAMESPACE", "Media/Tokens-prod")],
    )
    .await;
    let mut off = LambdaRun::start(
        cas_accepting(KEY, SECRET, &jwt(r#"{"exp":1900000000}"#)).await,
        &secret_json(KEY, SECRET),
        &[("METRICS", "off")],
    )
    .await;

    // Act
    let statuses = [
        named.call("GET", "/token", ALLOWED).await.0,
        off.call("GET", "/token", ALLOWED).await.0,
    ];
    let (named, off) = (named.vendor.stop().await, off.vendor.stop().await);

    // Assert
    assert_eq!(statuses, [200, 200]);
    let records = emf_records(&named);
    assert_eq!(records.len(), 2, "{named}");
    assert!(records.iter().all(|r| directive(r).0 == "Media/Tokens-prod"));
    assert_request(&records[1], "Media/Tokens-prod", "token", 200, 1, None);
    assert!(!off.contains("_aws"), "{off}");
    assert!(off.contains("request method=GET"), "the log line stays: {off}");
}

#[tokio::test]
async fn local_mode_writes_records_only_when_asked() {
    for (metrics, expected) in [(None, 0), (Some("emf"), 4)] {
        // Arrange: the demo upstream, in-memory rooms.
        let mut vars = vec![("LISTEN_ADDR", "127.0.0.1:0".to_owned())];
        vars.extend(metrics.map(|m| ("METRICS", m.to_owned())));
        let vendor = Process::spawn(&vars);
        let base = format!("http://127.0.0.1:{}", vendor.listening_port().await);
        let http = reqwest::Client::new();

        // Act
        let token = http
            .get(format!("{base}/token"))
            .header("origin", "http://localhost:5173")
            .send()
            .await
            .unwrap()
            .status();
        let stream = http
            .get(format!("{base}/streams/cam-1/token"))
            .send()
            .await
            .unwrap()
            .status();
        let room = http
            .put(format!("{base}/rooms/{ROOM}"))
            .send()
            .await
            .unwrap()
            .status();
        let output = vendor.stop().await;

        // Assert
        assert_eq!([token.as_u16(), stream.as_u16(), room.as_u16()], [200, 501, 201]);
        let records = emf_records(&output);
        assert_eq!(records.len(), expected, "METRICS={metrics:?}:\n{output}");
        if expected > 0 {
            let cold = &records[0];
            assert_eq!(cold["ColdStart"], 1);
            assert!(
                cold.get("SecretReadLatency").is_none(),
                "no secret is read: {cold}"
            );
            let requests = request_records(&output);
            assert_request(&requests[0], "TokenVendor", "token", 200, 1, None);
            assert_request(&requests[1], "TokenVendor", "stream", 501, 0, Some("not_enabled"));
            assert_request(&requests[2], "TokenVendor", "room", 201, 1, None);
            assert!(
                requests.iter().all(|r| r.get("TraceId").is_none()),
                "no trace locally"
            );
            assert!(!output.contains(ROOM), "{output}");
        }
    }
}

#[tokio::test]
async fn a_bad_metrics_setting_stops_the_start_naming_the_variable() {
    for (name, value) in [("METRICS", "cloudwatch"), ("METRICS_NAMESPACE", "AWS/Lambda")] {
        let vendor = Process::spawn(&[
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            (name, value.to_owned()),
        ]);
        let (status, output) = vendor.exit().await;
        assert!(!status.success(), "{output}");
        assert!(output.contains(&format!("{name}: ")), "{output}");
    }
}

#[tokio::test]
async fn the_records_go_to_stdout() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    // Arrange: stdout and stderr apart (Process merges them).
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_token-vendor"))
        .env_clear()
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS", "emf")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();

    // Act: the cold start's record is written before the server listens.
    let cold = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line.contains("\"ColdStart\"") {
                return line;
            }
        }
        panic!("stdout ended without the cold start's record");
    })
    .await
    .expect("a cold-start record on stdout");
    child.kill().await.unwrap();
    let mut errors = String::new();
    stderr.read_to_string(&mut errors).await.unwrap();

    // Assert
    assert_eq!(emf_records(&cold).len(), 1, "{cold}");
    assert!(!errors.contains("_aws"), "a record on stderr: {errors}");
}

#[tokio::test]
async fn a_request_served_without_its_quota_count_is_counted_as_quota_bypassed() {
    // Arrange: the demo upstream with a quota whose table is missing, failing
    // open (the default), then closed; and one with the table there.
    let moto = Moto::start();
    let dynamo = dynamodb(&moto.endpoint);
    create_keyed_table(&dynamo, "quotas", "pk").await;
    let mut runs = Vec::new();
    for (table, fail) in [
        ("no-such-table", "open"),
        ("no-such-table", "closed"),
        ("quotas", "open"),
    ] {
        let mut vars = aws_env(&moto);
        vars.extend([
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
            ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
            ("METRICS", "emf".to_owned()),
            ("QUOTA", "5/7d".to_owned()),
            ("QUOTA_TABLE", table.to_owned()),
            ("QUOTA_FAIL", fail.to_owned()),
        ]);
        let vendor = Process::spawn(&vars);
        let base = format!("http://127.0.0.1:{}", vendor.listening_port().await);

        // Act
        let status = reqwest::get(format!("{base}/token"))
            .await
            .unwrap()
            .status()
            .as_u16();
        let preflight = reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{base}/token"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        runs.push((status, preflight, vendor.stop().await));
    }

    // Assert: served uncounted is QuotaBypassed 1; refused (closed), counted,
    // or not counted at all (a preflight) is 0.
    let bypassed = |output: &str| -> Vec<Option<i64>> {
        request_records(output)
            .iter()
            .map(|r| r.get("QuotaBypassed").and_then(Value::as_i64))
            .collect()
    };
    let statuses: Vec<(u16, u16)> = runs.iter().map(|(s, p, _)| (*s, *p)).collect();
    assert_eq!(statuses, [(200, 204), (503, 204), (200, 204)]);
    assert_eq!(bypassed(&runs[0].2), [Some(1), Some(0)], "{}", runs[0].2);
    assert_eq!(bypassed(&runs[1].2), [Some(0), Some(0)], "{}", runs[1].2);
    assert_eq!(bypassed(&runs[2].2), [Some(0), Some(0)], "{}", runs[2].2);
    // The count is marked with the request's own id: the one its log line
    // carries (locally there was a second, different one).
    let logged: Vec<&str> = runs[2]
        .2
        .lines()
        .filter(|l| l.contains("path=/token") && l.contains("method=GET"))
        .filter_map(|l| l.split("request_id=").nth(1)?.split('}').next())
        .collect();
    let items = dynamo.scan().table_name("quotas").send().await.unwrap();
    let last_ids: Vec<&str> = items
        .items()
        .iter()
        .filter_map(|item| item.get("lastId")?.as_s().ok().map(String::as_str))
        .collect();
    assert_eq!(logged.len(), 1, "{}", runs[2].2);
    assert_eq!(last_ids, logged);
}
