//! Cold-start and warm-path benchmark: runs the release binaries the way
//! Lambda does (against the Runtime API stand-in on 127.0.0.1), with moto for
//! Secrets Manager and a CAS stand-in, and prints figures for token-vendor and
//! for a bare lambda_http hello-world built the same way.
//!
//!     bench/run.sh            # builds, then runs this
//!     target/release/bench [--runs N] [--warm N] [--zip PATH] [--callgrind N]
//!
//! The vendor is measured twice: with the CAS stand-in over plain http, and
//! over https (a certificate from a CA made at run time, trusted through
//! `EXTRA_CA_CERTS`), where the stand-in also counts TLS handshakes.
//!
//! With `--callgrind N` it also runs each subject under valgrind's callgrind
//! and prints instructions (not seconds: the same whatever else the machine
//! does) for a cold start with its first request, and per warm request; and
//! the same for a LiveKit-only deployment and `POST /livekit/token`, whose
//! token is signed in the process (no upstream call), and an Agora-only one
//! and `POST /agora/token`, a Twilio-only one and `POST /twilio/token`, and a
//! Vonage-only one and `POST /vonage/token` (each signed in the process
//! too); and for a deployment
//! with a quota, whose every token request counts in DynamoDB; and the cold
//! start of a deployment without DynamoDB (no rooms table), over http and https.
//!
//! DynamoDB (moto) is reached through a proxy that counts connections, as
//! the CAS stand-in counts its own: how many each cold start opens during
//! init and how many its first request opens.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::config::{Credentials, Region, SharedCredentialsProvider};
use bench::cas::CasStandIn;
use bench::dynamo::create_table;
use bench::proxy::CountingProxy;
use bench::runtime_api::{Kind, RuntimeApi};
use bench::tls::{Leaf, TestCa};
use tokio::process::{Child, Command};

type Error = Box<dyn std::error::Error + Send + Sync>;

const SECRET_NAME: &str = "bench/cas";
const LIVEKIT_SECRET_NAME: &str = "bench/livekit";
const AGORA_SECRET_NAME: &str = "bench/agora";
const TWILIO_SECRET_NAME: &str = "bench/twilio";
const VONAGE_SECRET_NAME: &str = "bench/vonage";
const ROOMS_TABLE: &str = "bench-rooms";
const QUOTA_TABLE: &str = "bench-quotas";
const BANS_TABLE: &str = "bench-bans";

struct Options {
    runs: usize,
    warm: usize,
    zip: Option<PathBuf>,
    callgrind: Option<usize>,
    root: PathBuf,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        runs: 10,
        warm: 1000,
        zip: None,
        callgrind: None,
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => options.runs = value()?.parse()?,
            "--warm" => options.warm = value()?.parse()?,
            "--zip" => options.zip = Some(PathBuf::from(value()?)),
            "--callgrind" => options.callgrind = Some(value()?.parse()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(options)
}

/// Figures of one subject (the vendor or the hello-world).
#[derive(Default)]
struct Figures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm_get: Vec<Duration>,
    warm_preflight: Vec<Duration>,
    rss_kib: Vec<u64>,
    conns_init: Vec<usize>,
    conns_first: Vec<usize>,
    conns_warm: Vec<usize>,
    handshakes_init: Vec<usize>,
    dynamo_init: Vec<usize>,
    dynamo_first: Vec<usize>,
    handshakes_first: Vec<usize>,
    token_path_during_init: usize,
    recovered: Vec<bool>,
}

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_moto() -> Result<Moto, Error> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("moto_server: {e} (pip install 'moto[server]')"))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            return Err("moto_server did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Moto { child, endpoint })
}

fn sdk(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "bench",
        )))
        .build()
}

/// The AWS round trips as the vendor pays them at cold start: a new
/// client's first `GetSecretValue` and, at the same time, a new DynamoDB
/// client's first `GetItem` (the connection warm-up), new connections
/// included. Init waits for the slower of the two.
async fn aws_round_trip(endpoint: &str) -> Result<Duration, Error> {
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk(endpoint));
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk(endpoint));
    let started = Instant::now();
    let read = secrets.get_secret_value().secret_id(SECRET_NAME).send();
    let warm = dynamo
        .get_item()
        .table_name(ROOMS_TABLE)
        .key(
            "room",
            aws_sdk_dynamodb::types::AttributeValue::S("#warm-up".to_owned()),
        )
        .send();
    let (read, warm) = tokio::join!(read, warm);
    read?;
    warm?;
    Ok(started.elapsed())
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Subject<'a> {
    name: &'a str,
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Subject<'static> {
    /// The same binary as `name`, its environment without the variables
    /// `without` and with those of `with`.
    fn variant(&self, name: &'static str, without: &[&str], with: Vec<(&'static str, String)>) -> Self {
        let mut env: Vec<_> = self
            .env
            .iter()
            .filter(|(variable, _)| !without.contains(variable))
            .cloned()
            .collect();
        env.extend(with);
        Subject {
            name,
            binary: self.binary.clone(),
            env,
        }
    }
}

/// A subject's process after its cold start and first request.
struct Live {
    runtime: RuntimeApi,
    child: Child,
    pid: u32,
}

impl Live {
    async fn stop(mut self, figures: &mut Figures) {
        if let Some(rss) = peak_rss_kib(self.pid) {
            figures.rss_kib.push(rss);
        }
        let _ = self.child.kill().await;
    }

    /// Ends the process with SIGTERM, which lets valgrind write its counts.
    async fn terminate(mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.wait().await;
    }
}

/// How a subject's process is started.
enum Wrapper {
    /// As it is.
    None,
    /// Under callgrind, which writes its counts to this file.
    Callgrind(PathBuf),
}

/// The stand-ins a subject talks to.
struct Upstreams<'a> {
    cas: &'a CasStandIn,
    dynamo: &'a CountingProxy,
}

/// One cold start of `subject` and its first request.
async fn cold_start(
    subject: &Subject<'_>,
    wrapper: &Wrapper,
    run: usize,
    upstreams: &Upstreams<'_>,
    events: &(String, String),
    figures: &mut Figures,
) -> Result<Live, Error> {
    let Upstreams { cas, dynamo } = upstreams;
    let mut runtime = RuntimeApi::start().await?;
    let (conns0, token0, tls0) = (cas.connections(), cas.token_requests(), cas.handshakes());
    let dynamo0 = dynamo.connections();
    // `BENCH_LOGS=<dir>`: each process's warnings (and errors) go to a file
    // there, to see why a figure moved (a warm-up that timed out, say).
    let logs = match std::env::var_os("BENCH_LOGS") {
        Some(dir) => {
            let kind = if matches!(wrapper, Wrapper::None) {
                "plain"
            } else {
                "callgrind"
            };
            static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{n:03}-{}-{run}-{kind}.log", subject.name.replace(' ', "-"));
            Some(std::fs::File::create(Path::new(&dir).join(name))?)
        }
        None => None,
    };
    let spawned = Instant::now();
    let mut command = match wrapper {
        Wrapper::None => Command::new(&subject.binary),
        Wrapper::Callgrind(out) => {
            let mut command = Command::new("valgrind");
            command
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&subject.binary);
            command
        }
    };
    let child = command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "token-vendor")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_LEVEL",
            if logs.is_some() { "warn" } else { "error" },
        )
        .envs(subject.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(logs.map_or_else(Stdio::null, Stdio::from))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    let ready = runtime
        .wait_first_next(Duration::from_secs(20))
        .await
        .ok_or_else(|| format!("{}: no /next within 20 s", subject.name))?;
    figures.init.push(ready - spawned);
    figures.conns_init.push(cas.connections() - conns0);
    figures.handshakes_init.push(cas.handshakes() - tls0);
    figures.token_path_during_init += cas.token_requests() - token0;
    figures.dynamo_init.push(dynamo.connections() - dynamo0);

    let (conns, tls, dynamo1) = (cas.connections(), cas.handshakes(), dynamo.connections());
    figures
        .first
        .push(invoke(&mut runtime, &format!("{run}-first"), &events.0).await?);
    figures.conns_first.push(cas.connections() - conns);
    figures.handshakes_first.push(cas.handshakes() - tls);
    figures.dynamo_first.push(dynamo.connections() - dynamo1);
    Ok(Live { runtime, child, pid })
}

/// The warm requests, each subject's in turn request by request, so that
/// whatever else the machine does falls on all of them alike; then, after
/// the stand-in closed the idle connection, one more request each.
async fn warm(
    live: &mut [(&mut Live, &mut Figures)],
    options: &Options,
    cas: &CasStandIn,
    events: &(String, String),
) -> Result<(), Error> {
    let conns = cas.connections();
    for i in 0..options.warm {
        for (subject, figures) in live.iter_mut() {
            let latency = invoke(&mut subject.runtime, &format!("get-{i}"), &events.0).await?;
            figures.warm_get.push(latency);
        }
    }
    // Only the vendor talks to the stand-in.
    let opened = cas.connections() - conns;
    for i in 0..options.warm {
        for (subject, figures) in live.iter_mut() {
            let latency = invoke(&mut subject.runtime, &format!("options-{i}"), &events.1).await?;
            figures.warm_preflight.push(latency);
        }
    }
    tokio::time::sleep(IDLE_CLOSE + Duration::from_millis(300)).await;
    for (subject, figures) in live.iter_mut() {
        figures.conns_warm.push(opened);
        let ok = invoke(&mut subject.runtime, "after-idle", &events.0)
            .await
            .is_ok();
        figures.recovered.push(ok);
    }
    Ok(())
}

const IDLE_CLOSE: Duration = Duration::from_secs(2);

async fn invoke(runtime: &mut RuntimeApi, id: &str, event: &str) -> Result<Duration, Error> {
    runtime.invoke(id, event);
    let outcome = runtime
        .outcome(Duration::from_secs(10))
        .await
        .ok_or_else(|| format!("{id}: no response within 10 s"))?;
    match outcome.kind {
        Kind::Response(ref body) if body["statusCode"].as_u64().is_some_and(|s| s < 300) => {}
        ref other => return Err(format!("{id}: unexpected outcome {other:?}").into()),
    }
    outcome.latency.ok_or_else(|| format!("{id}: no timing").into())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Stats {
    median: f64,
    p99: f64,
    min: f64,
    max: f64,
}

fn stats(values: &[f64]) -> Stats {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Stats {
        median: percentile(&sorted, 50.0),
        p99: percentile(&sorted, 99.0),
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
    }
}

fn ms(durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(|d| d.as_secs_f64() * 1e3).collect()
}

fn row(label: &str, unit: &str, vendor: &[f64], hello: &[f64]) {
    let (v, h) = (stats(vendor), stats(hello));
    println!(
        "{label:<28} {:>9.3} {:>9.3} {:>9.3}–{:<9.3} {:>9.3} {:>7.2}x  {unit}",
        v.median,
        v.p99,
        v.min,
        v.max,
        h.median,
        v.median / h.median
    );
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let options = options()?;
    if let Some(zip) = &options.zip {
        check_size(zip)?; // before minutes of measuring
    }
    let release = options.root.join("target/release");
    let events = (
        std::fs::read_to_string(options.root.join("events/http-api-get-token.json"))?,
        std::fs::read_to_string(options.root.join("events/http-api-preflight.json"))?,
    );

    let moto = start_moto().await?;
    let admin = aws_sdk_secretsmanager::Client::new(&sdk(&moto.endpoint));
    admin
        .create_secret()
        .name(SECRET_NAME)
        .secret_string(r#"{"API_KEY":"bench-key","API_SECRET":"bench-secret"}"#)
        .send()
        .await?;
    admin
        .create_secret()
        .name(LIVEKIT_SECRET_NAME)
        .secret_string(
            r#"{"LIVEKIT_API_KEY":"APIbenchkey","LIVEKIT_API_SECRET":"bench-livekit-secret-0123456789abcdef"}"#,
        )
        .send()
        .await?;
    admin
        .create_secret()
        .name(AGORA_SECRET_NAME)
        .secret_string(r#"{"AGORA_APP_CERTIFICATE":"5cfd2fd1755d40ecb72977518be15d3b"}"#)
        .send()
        .await?;
    admin
        .create_secret()
        .name(TWILIO_SECRET_NAME)
        .secret_string(
            r#"{"TWILIO_API_KEY_SID":"SKfedcba9876543210fedcba9876543210","TWILIO_API_KEY_SECRET":"bench-twilio-secret"}"#,
        )
        .send()
        .await?;
    // A 2048-bit RSA key, the size Vonage's dashboard makes.
    let vonage_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?.serialize_pem();
    admin
        .create_secret()
        .name(VONAGE_SECRET_NAME)
        .secret_string(serde_json::json!({ "VONAGE_PRIVATE_KEY": vonage_key }).to_string())
        .send()
        .await?;
    let tables = aws_sdk_dynamodb::Client::new(&sdk(&moto.endpoint));
    create_table(&tables, ROOMS_TABLE, "room").await?;
    create_table(&tables, QUOTA_TABLE, "pk").await?;
    create_table(&tables, BANS_TABLE, "id").await?;
    // Warm the harness's own SDK code path once; the round trips measured
    // below (a new client each, new connection included) pair with the
    // vendor's cold starts, run by run.
    aws_round_trip(&moto.endpoint).await?;
    let moto_addr = moto.endpoint.trim_start_matches("http://").parse()?;
    let dynamo = CountingProxy::start(moto_addr).await?;
    let mut round_trips = Vec::new();
    let cas = CasStandIn::start(IDLE_CLOSE).await?;
    let ca = TestCa::new("bench CA")?;
    let ca_pem = std::env::temp_dir().join(format!("bench-ca-{}.pem", std::process::id()));
    ca.write_pem(&ca_pem)?;
    let cas_tls = CasStandIn::start_with(IDLE_CLOSE, Some(ca.leaf(Leaf::Valid)?.acceptor()?)).await?;

    let vendor = Subject {
        name: "token-vendor",
        binary: release.join("token-vendor"),
        env: vec![
            ("CAS_URL", cas.url()),
            ("SECRET_ID", SECRET_NAME.to_owned()),
            ("ALLOWED_ORIGINS", "https://app.example.com".to_owned()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            // As template.yaml deploys it: rooms on (the DynamoDB client is
            // built, and its connection opened, at cold start; no room is
            // asked for here).
            ("ROOMS_TABLE", ROOMS_TABLE.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamo.url()),
            // As deployed: EMF records on (Lambda's default). `METRICS=off
            // bench/run.sh` measures the same binary without them.
            (
                "METRICS",
                std::env::var("METRICS").unwrap_or_else(|_| "emf".to_owned()),
            ),
        ],
    };
    let vendor_tls = behind_tls(&vendor, "token-vendor over https", &cas_tls, &ca_pem);
    // Each signing provider alone, otherwise as deployed: its first and
    // warm requests are its own `POST`.
    let alone = |name: &'static str, secret: &str, vars: &[(&'static str, &str)], event: &str| {
        let mut with = vec![("SECRET_ID", secret.to_owned())];
        with.extend(vars.iter().map(|(name, value)| (*name, (*value).to_owned())));
        let subject = vendor.variant(name, &["CAS_URL", "SECRET_ID"], with);
        std::fs::read_to_string(options.root.join("events").join(event))
            .map(|first| (subject, (first, events.1.clone())))
    };
    let (vendor_livekit, livekit_events) = alone(
        "token-vendor with LiveKit",
        LIVEKIT_SECRET_NAME,
        &[
            ("LIVEKIT_URL", "wss://livekit.example.com"),
            ("LIVEKIT_ROOMS", "*"),
        ],
        "http-api-post-livekit-token.json",
    )?;
    let (vendor_agora, agora_events) = alone(
        "token-vendor with Agora",
        AGORA_SECRET_NAME,
        &[
            ("AGORA_APP_ID", "970ca35de60c44645bbae8a215061b33"),
            ("AGORA_CHANNELS", "*"),
        ],
        "http-api-post-agora-token.json",
    )?;
    let (vendor_twilio, twilio_events) = alone(
        "token-vendor with Twilio",
        TWILIO_SECRET_NAME,
        &[
            ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
            ("TWILIO_ROOMS", "*"),
        ],
        "http-api-post-twilio-token.json",
    )?;
    let (vendor_vonage, vonage_events) = alone(
        "token-vendor with Vonage",
        VONAGE_SECRET_NAME,
        &[("VONAGE_APPLICATION_ID", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")],
        "http-api-post-vonage-token.json",
    )?;
    // LiveKit with bans (BANS_TABLE): a signed-in caller's every token
    // request reads its ban, strongly consistent, in DynamoDB.
    let (vendor_bans, mut bans_events) = alone(
        "token-vendor with LiveKit and bans",
        LIVEKIT_SECRET_NAME,
        &[
            ("LIVEKIT_URL", "wss://livekit.example.com"),
            ("LIVEKIT_ROOMS", "*"),
            ("BANS_TABLE", BANS_TABLE),
        ],
        "http-api-post-livekit-token.json",
    )?;
    let mut signed_in: serde_json::Value = serde_json::from_str(&bans_events.0)?;
    signed_in["requestContext"]["authorizer"] =
        serde_json::json!({"jwt": {"claims": {"sub": "bench-user"}, "scopes": null}});
    bans_events.0 = signed_in.to_string();
    // With a quota: every token request counts in DynamoDB.
    let mut quota_env = vendor.env.clone();
    quota_env.extend([
        ("QUOTA", "1000000/1h".to_owned()),
        ("QUOTA_TABLE", QUOTA_TABLE.to_owned()),
    ]);
    let vendor_quota = Subject {
        name: "token-vendor with a quota",
        binary: vendor.binary.clone(),
        env: quota_env,
    };
    let hello = Subject {
        name: "hello-world",
        binary: release.join("hello-world"),
        env: vec![],
    };
    let hello_mt = Subject {
        name: "hello-world-mt",
        binary: release.join("hello-world-mt"),
        env: vec![],
    };
    for subject in [&vendor, &hello, &hello_mt] {
        if !subject.binary.exists() {
            return Err(format!(
                "{} missing: run bench/run.sh (it builds the release binaries)",
                subject.binary.display()
            )
            .into());
        }
    }

    // Alternate the subjects' cold starts so machine noise hits both alike.
    let (mut v, mut h, mut m) = (Figures::default(), Figures::default(), Figures::default());
    let mut t = Figures::default();
    let mut q = Figures::default();
    let plain = Upstreams {
        cas: &cas,
        dynamo: &dynamo,
    };
    let over_https = Upstreams {
        cas: &cas_tls,
        dynamo: &dynamo,
    };
    let mut tls_round_trips = Vec::new();
    // The first run's processes stay up for the warm requests.
    for run in 0..options.runs {
        let mut hl = cold_start(&hello, &Wrapper::None, run, &plain, &events, &mut h).await?;
        round_trips.push(aws_round_trip(&moto.endpoint).await?);
        let mut vl = cold_start(&vendor, &Wrapper::None, run, &plain, &events, &mut v).await?;
        let mut ml = cold_start(&hello_mt, &Wrapper::None, run, &plain, &events, &mut m).await?;
        tls_round_trips.push(aws_round_trip(&moto.endpoint).await?);
        let mut tl = cold_start(&vendor_tls, &Wrapper::None, run, &over_https, &events, &mut t).await?;
        let ql = cold_start(&vendor_quota, &Wrapper::None, run, &plain, &events, &mut q).await?;
        if run == 0 {
            warm(
                &mut [(&mut vl, &mut v), (&mut hl, &mut h), (&mut ml, &mut m)],
                &options,
                &cas,
                &events,
            )
            .await?;
            // Its own pass: `warm` counts one stand-in's connections.
            warm(&mut [(&mut tl, &mut t)], &options, &cas_tls, &events).await?;
        }
        hl.stop(&mut h).await;
        vl.stop(&mut v).await;
        ml.stop(&mut m).await;
        tl.stop(&mut t).await;
        ql.stop(&mut q).await;
    }

    println!();
    println!(
        "token-vendor vs bare lambda_http hello-world: {} cold starts each, {} warm requests of each kind",
        options.runs, options.warm
    );
    println!(
        "{:<28} {:>9} {:>9} {:>19} {:>9} {:>8}",
        "", "median", "p99", "min–max", "hello", "ratio"
    );
    row("init (spawn → first /next)", "ms", &ms(&v.init), &ms(&h.init));
    row("first request after init", "ms", &ms(&v.first), &ms(&h.first));
    row("warm GET /token", "ms", &ms(&v.warm_get), &ms(&h.warm_get));
    row(
        "warm preflight",
        "ms",
        &ms(&v.warm_preflight),
        &ms(&h.warm_preflight),
    );
    let rss = |f: &Figures| f.rss_kib.iter().map(|k| *k as f64 / 1024.0).collect::<Vec<_>>();
    row("peak RSS", "MiB", &rss(&v), &rss(&h));
    let secret = stats(&ms(&round_trips));
    let overheads: Vec<f64> = (0..options.runs)
        .map(|i| ms(&[v.init[i]])[0] - ms(&[h.init[i]])[0] - ms(&[round_trips[i]])[0])
        .collect();
    let overhead = stats(&overheads);
    println!();
    println!(
        "AWS round trip (new clients' first GetSecretValue and GetItem at once): median {:.3} ms; \
         init overhead beyond hello + AWS round trip, run by run: median {:+.3} ms (min–max {:+.3} – {:+.3})",
        secret.median, overhead.median, overhead.min, overhead.max
    );
    println!(
        "upstream connections: per cold start (init) {:?}, by the first request {:?}, by {} warm requests {:?}",
        v.conns_init, v.conns_first, options.warm, v.conns_warm
    );
    println!(
        "token-path requests during init: {}; request after the upstream closed the idle connection succeeded: {:?}",
        v.token_path_during_init, v.recovered
    );
    println!(
        "tokio flavour (hello-world, medians): current_thread init {:.3} ms, warm {:.3} ms, RSS {:.2} MiB; \
         multi_thread init {:.3} ms, warm {:.3} ms, RSS {:.2} MiB",
        stats(&ms(&h.init)).median,
        stats(&ms(&h.warm_get)).median,
        stats(&rss(&h)).median,
        stats(&ms(&m.init)).median,
        stats(&ms(&m.warm_get)).median,
        stats(&rss(&m)).median,
    );
    let tls_overheads: Vec<f64> = (0..options.runs)
        .map(|i| ms(&[t.init[i]])[0] - ms(&[h.init[i]])[0] - ms(&[tls_round_trips[i]])[0])
        .collect();
    println!();
    println!("token-vendor with the CAS stand-in over http and over https (EXTRA_CA_CERTS), medians:");
    println!("{:<44} {:>9} {:>9}", "", "http", "https");
    let side = |label: &str, unit: &str, http: &[f64], https: &[f64]| {
        println!(
            "{label:<44} {:>9.3} {:>9.3}  {unit}",
            stats(http).median,
            stats(https).median
        );
    };
    side("init (spawn → first /next)", "ms", &ms(&v.init), &ms(&t.init));
    side(
        "init overhead beyond hello + AWS round trip",
        "ms",
        &overheads,
        &tls_overheads,
    );
    side("first request after init", "ms", &ms(&v.first), &ms(&t.first));
    side("warm GET /token", "ms", &ms(&v.warm_get), &ms(&t.warm_get));
    side("peak RSS", "MiB", &rss(&v), &rss(&t));
    println!(
        "https: TLS handshakes per cold start (init) {:?}, by the first request {:?}; connections opened by {} warm requests {:?}; \
         request after the idle close succeeded: {:?}",
        t.handshakes_init, t.handshakes_first, options.warm, t.conns_warm, t.recovered
    );
    // Without a quota no GET /token calls DynamoDB, so only the quota's
    // first GET says whether a request opens a connection.
    println!(
        "DynamoDB connections opened at init {:?} (rooms table, no quota); \
         with a quota (each GET counts in DynamoDB): at init {:?}, by the first GET {:?}, first GET median {:.3} ms \
         (without a quota {:.3} ms)",
        v.dynamo_init,
        q.dynamo_init,
        q.dynamo_first,
        stats(&ms(&q.first)).median,
        stats(&ms(&v.first)).median,
    );
    // Issue 26's cold-start targets are for a deployment without
    // DynamoDB (no rooms table, no quota): the same subjects without it.
    let without_dynamo = |subject: &Subject<'static>, name: &'static str| {
        subject.variant(name, &["ROOMS_TABLE", "AWS_ENDPOINT_URL_DYNAMODB"], Vec::new())
    };
    let vendor_no_dynamo = without_dynamo(&vendor, "token-vendor without DynamoDB");
    let vendor_tls_no_dynamo = without_dynamo(&vendor_tls, "token-vendor over https without DynamoDB");
    if let Some(requests) = options.callgrind {
        // The https cold start over an RSA-2048 chain (as AWS's endpoints
        // and ACM's default certificates are): the figure depends on the
        // upstream's chain (BENCHMARKS.md, "The https cold start").
        let rsa_ca = TestCa::rsa("bench RSA CA")?;
        let rsa_ca_pem = std::env::temp_dir().join(format!("bench-rsa-ca-{}.pem", std::process::id()));
        rsa_ca.write_pem(&rsa_ca_pem)?;
        let cas_rsa = CasStandIn::start_with(IDLE_CLOSE, Some(rsa_ca.leaf(Leaf::Valid)?.acceptor()?)).await?;
        let vendor_rsa_no_dynamo = behind_tls(
            &vendor_no_dynamo,
            "token-vendor over https (RSA chain) without DynamoDB",
            &cas_rsa,
            &rsa_ca_pem,
        );
        let over_rsa = Upstreams {
            cas: &cas_rsa,
            dynamo: &dynamo,
        };
        println!();
        println!("instructions (callgrind; {requests} warm requests of each kind):");
        let hello = instructions(&hello, requests, &plain, &events).await?;
        let vendor = instructions(&vendor, requests, &plain, &events).await?;
        let over_tls = instructions(&vendor_tls, requests, &over_https, &events).await?;
        let line = |label: &str, v: f64, h: f64| {
            println!("{label:<38} {v:>14.0} {h:>14.0} {:>7.2}x", v / h);
        };
        println!(
            "{:<38} {:>14} {:>14} {:>8}",
            "", "token-vendor", "hello-world", "ratio"
        );
        line(
            "cold start + first request",
            vendor.cold as f64,
            hello.cold as f64,
        );
        line("per warm GET /token", vendor.per_get, hello.per_get);
        line("per warm preflight", vendor.per_preflight, hello.per_preflight);
        line(
            "over https: cold start + first request",
            over_tls.cold as f64,
            hello.cold as f64,
        );
        line("over https: per warm GET /token", over_tls.per_get, hello.per_get);
        let livekit = instructions(&vendor_livekit, requests, &plain, &livekit_events).await?;
        line(
            "LiveKit: cold start + first request",
            livekit.cold as f64,
            hello.cold as f64,
        );
        line(
            "LiveKit: per warm POST /livekit/token",
            livekit.per_get,
            hello.per_get,
        );
        let bans = instructions(&vendor_bans, requests, &plain, &bans_events).await?;
        line(
            "LiveKit with bans: per warm POST /livekit/token (signed in)",
            bans.per_get,
            hello.per_get,
        );
        line(
            "bans: added per token request (the ban's read)",
            bans.per_get - livekit.per_get,
            hello.per_get,
        );
        let agora = instructions(&vendor_agora, requests, &plain, &agora_events).await?;
        line(
            "Agora: cold start + first request",
            agora.cold as f64,
            hello.cold as f64,
        );
        line("Agora: per warm POST /agora/token", agora.per_get, hello.per_get);
        let twilio = instructions(&vendor_twilio, requests, &plain, &twilio_events).await?;
        line(
            "Twilio: cold start + first request",
            twilio.cold as f64,
            hello.cold as f64,
        );
        line(
            "Twilio: per warm POST /twilio/token",
            twilio.per_get,
            hello.per_get,
        );
        let vonage = instructions(&vendor_vonage, requests, &plain, &vonage_events).await?;
        line(
            "Vonage: cold start + first request",
            vonage.cold as f64,
            hello.cold as f64,
        );
        line(
            "Vonage: per warm POST /vonage/token",
            vonage.per_get,
            hello.per_get,
        );
        for (subject, upstreams, label) in [
            (
                &vendor_no_dynamo,
                &plain,
                "no DynamoDB: cold start + first request",
            ),
            (
                &vendor_tls_no_dynamo,
                &over_https,
                "no DynamoDB, https: cold + first req.",
            ),
            (
                &vendor_rsa_no_dynamo,
                &over_rsa,
                "no DynamoDB, https, RSA-2048 chain: cold + first req.",
            ),
        ] {
            let figures = instructions(subject, requests, upstreams, &events).await?;
            line(label, figures.cold as f64, hello.cold as f64);
        }
        let _ = std::fs::remove_file(&rsa_ca_pem);
        let quota = instructions(&vendor_quota, requests, &plain, &events).await?;
        line(
            "quota: cold start + first request",
            quota.cold as f64,
            hello.cold as f64,
        );
        line("quota: per warm GET /token", quota.per_get, hello.per_get);
    }
    let _ = std::fs::remove_file(&ca_pem);
    Ok(())
}

/// `subject` with its CAS behind TLS: `CAS_URL` at `cas`, whose certificate
/// the CA in `ca_pem` issued (`EXTRA_CA_CERTS`).
fn behind_tls(
    subject: &Subject<'static>,
    name: &'static str,
    cas: &CasStandIn,
    ca_pem: &Path,
) -> Subject<'static> {
    subject.variant(
        name,
        &["CAS_URL", "EXTRA_CA_CERTS"],
        vec![
            ("CAS_URL", cas.url()),
            ("EXTRA_CA_CERTS", ca_pem.display().to_string()),
        ],
    )
}

struct Instructions {
    cold: u64,
    per_get: f64,
    per_preflight: f64,
}

/// Three runs of `subject` under callgrind: cold start and first request
/// only; then with `requests` GETs; then with `requests` preflights. The
/// differences give the instructions per warm request.
async fn instructions(
    subject: &Subject<'_>,
    requests: usize,
    upstreams: &Upstreams<'_>,
    events: &(String, String),
) -> Result<Instructions, Error> {
    let mut totals = [0u64; 3];
    for (kind, total) in totals.iter_mut().enumerate() {
        let out = std::env::temp_dir().join(format!("bench-callgrind-{}-{kind}", std::process::id()));
        let valgrind = Wrapper::Callgrind(out.clone());
        let mut figures = Figures::default();
        let mut live = cold_start(subject, &valgrind, 0, upstreams, events, &mut figures).await?;
        // A cold start whose warm-up failed (e.g. a refused certificate)
        // would be cheaper and its first request would connect: not counted.
        if figures.conns_first.iter().any(|&n| n != 0) {
            return Err(format!(
                "{}: the first request opened an upstream connection",
                subject.name
            )
            .into());
        }
        let event = if kind == 1 { &events.0 } else { &events.1 };
        for i in 0..if kind == 0 { 0 } else { requests } {
            invoke(&mut live.runtime, &format!("{kind}-{i}"), event).await?;
        }
        live.terminate().await;
        let text = std::fs::read_to_string(&out)?;
        // `BENCH_CALLGRIND_KEEP=<dir>` keeps each profile, for
        // `callgrind_annotate` (where a cold start's instructions go).
        if let Some(dir) = std::env::var_os("BENCH_CALLGRIND_KEEP") {
            let name: String = subject
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            std::fs::copy(&out, Path::new(&dir).join(format!("{name}-{kind}.callgrind")))?;
        }
        let _ = std::fs::remove_file(&out);
        *total = text
            .lines()
            .find_map(|l| l.strip_prefix("totals:"))
            .and_then(|t| t.trim().parse().ok())
            .ok_or("callgrind wrote no totals")?;
    }
    let per = |t: u64| (t.saturating_sub(totals[0])) as f64 / requests as f64;
    Ok(Instructions {
        cold: totals[0],
        per_get: per(totals[1]),
        per_preflight: per(totals[2]),
    })
}

/// The arm64 deployment zip's budget (issue 26: ≤ 3.0 MB with every
/// provider in). Above it the bench fails before measuring anything, so that
/// a new provider or dependency cannot quietly undo the lean build.
const ZIP_BUDGET_BYTES: u64 = 3_000_000;

/// Prints the zip's size; an error when it cannot be read or is over budget.
fn check_size(zip: &Path) -> Result<(), Error> {
    let len = std::fs::metadata(zip)
        .map_err(|e| format!("deployment zip {}: {e}", zip.display()))?
        .len();
    println!(
        "deployment zip {}: {:.2} MiB ({len} bytes; budget {ZIP_BUDGET_BYTES} bytes)",
        zip.display(),
        len as f64 / 1024.0 / 1024.0,
    );
    if len > ZIP_BUDGET_BYTES {
        return Err(format!(
            "deployment zip is {len} bytes, {} over the budget of {ZIP_BUDGET_BYTES}",
            len - ZIP_BUDGET_BYTES
        )
        .into());
    }
    Ok(())
}
