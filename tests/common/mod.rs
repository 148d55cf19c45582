//! Helpers shared by the integration tests: a `moto_server` per test (the
//! real AWS SDK talks to it on 127.0.0.1), vendors wired to local upstreams,
//! and requests as API Gateway would hand them over.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;
use tokio::process::{Child, Command};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::config::{Credentials as AwsCredentials, Region, SharedCredentialsProvider};
use bench::tls::{HttpsFront, Leaf, ServerCert, TestCa};
use lambda_http::{Body, Request, Response};
use token_vendor::Vendor;
use token_vendor::cas::CasClient;
use token_vendor::cors::AllowedOrigins;
use token_vendor::handler::TokenProvider;
use token_vendor::provider::http_client;
use token_vendor::secrets::{CredentialStore, Credentials};
use token_vendor::tls::ExtraRoots;

pub const ALLOWED: &str = "https://app.example.com";
pub const KEY: &str = "test-api-key-7f3a";
pub const SECRET: &str = "test-api-secret-c91e";

/// A free port on 127.0.0.1 (bound and released; fine for tests).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves moto's app on 127.0.0.1, on a port the OS picks (no race with
/// other tests for a "free" port), and prints that port first.
const MOTO_SINGLE_THREADED: &str = "import sys\n\
from werkzeug.serving import make_server\n\
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n\
server = make_server('127.0.0.1', 0, DomainDispatcherApplication(create_backend_app), threaded=False)\n\
print(server.server_address[1], flush=True)\n\
server.serve_forever()\n";

/// A python3 that can import moto's server app: the machine's own, or else
/// one in a virtualenv under `target/tmp/moto-venv` that the first test to
/// need it makes (`pip install 'moto[server]'`, once; a lock file keeps
/// test processes from making it twice). So `cargo test` needs only python3.
pub fn python_with_moto() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let system = PathBuf::from("python3");
        if imports_moto(&system) {
            return system;
        }
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(tmp).unwrap();
        let venv = tmp.join("moto-venv");
        let python = venv.join("bin").join("python3");
        let lock = std::fs::File::create(tmp.join("moto-venv.lock")).unwrap();
        lock.lock().unwrap();
        if !imports_moto(&python) {
            eprintln!(
                "python3 cannot import moto: installing moto[server] into {}",
                venv.display()
            );
            let made = StdCommand::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status();
            assert!(
                made.is_ok_and(|s| s.success()),
                "python3 -m venv failed (Debian: apt-get install python3-venv)"
            );
            let installed = StdCommand::new(&python)
                .args(["-m", "pip", "install", "--quiet", "moto[server]"])
                .status();
            assert!(
                installed.is_ok_and(|s| s.success()),
                "pip install 'moto[server]' failed"
            );
            assert!(imports_moto(&python), "moto still cannot be imported");
        }
        python
    })
}

fn imports_moto(python: &Path) -> bool {
    StdCommand::new(python)
        .args(["-c", "import moto.moto_server.werkzeug_app"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// moto (Secrets Manager, DynamoDB) on a port of its own, killed when dropped.
pub struct Moto {
    child: StdChild,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        // moto's own server is threaded, and moto evaluates a DynamoDB
        // condition and applies the write without a lock, so two concurrent
        // conditional writes can both succeed; real DynamoDB makes each one
        // atomic per item. Serving moto's app on one thread restores that
        // (the vendors under test stay as concurrent as ever).
        let mut child = StdCommand::new(python_with_moto())
            .args(["-c", MOTO_SINGLE_THREADED])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("moto's port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("moto did not start (printed {line:?})"));
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// SDK configuration pointing at this server, with fake credentials.
    pub fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.endpoint)
    }

    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        token_vendor::secrets::secrets_manager_client(&self.sdk_config())
    }

    pub async fn create_secret(&self, name: &str, value: &str) {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    pub async fn put_secret(&self, name: &str, value: &str) {
        self.client()
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK configuration for moto at `endpoint`, with the vendor's own AWS
/// HTTP client (the one that ships).
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(
            token_vendor::aws_http::sdk_http_client(token_vendor::secrets::AWS_CONNECT_TIMEOUT).unwrap(),
        )
        .credentials_provider(SharedCredentialsProvider::new(AwsCredentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build()
}

pub fn secret_json(key: &str, secret: &str) -> String {
    serde_json::json!({ "API_KEY": key, "API_SECRET": secret }).to_string()
}

pub fn fixed_store() -> Arc<CredentialStore> {
    Arc::new(CredentialStore::fixed(Credentials::cas_pair(KEY, SECRET)))
}

/// The test run's private CA: its certificate as a PEM file (what
/// `EXTRA_CA_CERTS` names), the roots it adds, and the server certificate it
/// signed for 127.0.0.1 that every https stand-in serves.
pub struct RunCa {
    pub ca: TestCa,
    pub pem_path: PathBuf,
    pub roots: ExtraRoots,
    pub server: ServerCert,
}

pub fn run_ca() -> &'static RunCa {
    static CA: OnceLock<RunCa> = OnceLock::new();
    CA.get_or_init(|| {
        let ca = TestCa::new("token-vendor test CA").unwrap();
        let pem_path =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("test-ca-{}.pem", std::process::id()));
        ca.write_pem(&pem_path).unwrap();
        let roots = ExtraRoots::read(&pem_path).unwrap();
        let server = ca.leaf(Leaf::Valid).unwrap();
        RunCa {
            ca,
            pem_path,
            roots,
            server,
        }
    })
}

/// The providers' HTTP client as the vendor builds it with `EXTRA_CA_CERTS`
/// naming the run's CA.
pub fn provider_http(timeout: Duration) -> reqwest::Client {
    http_client(timeout, &run_ca().roots).unwrap()
}

/// A plain-http stand-in behind an https front that serves the run CA's
/// certificate: `uri()` is the https URL, everything else is the stand-in's.
pub struct Https<S> {
    pub server: S,
    pub front: HttpsFront,
}

impl<S> std::ops::Deref for Https<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.server
    }
}

impl<S> Https<S> {
    /// The https base URL the vendor is given.
    pub fn uri(&self) -> String {
        self.front.url()
    }

    /// TLS handshakes the front completed.
    pub fn handshakes(&self) -> usize {
        self.front.handshakes()
    }
}

/// A wiremock server reached over https.
pub async fn upstream() -> Https<wiremock::MockServer> {
    https(wiremock::MockServer::start().await).await
}

/// Puts an https front before a wiremock server.
pub async fn https(server: wiremock::MockServer) -> Https<wiremock::MockServer> {
    let front = HttpsFront::start(*server.address(), &run_ca().server)
        .await
        .unwrap();
    Https { server, front }
}

/// The https URL of a front before the plain-http stand-in at `plain_url`.
pub async fn over_https(plain_url: &str) -> String {
    let addr: SocketAddr = plain_url.trim_start_matches("http://").parse().unwrap();
    // The front serves on after this returns: its listener task owns it.
    HttpsFront::start(addr, &run_ca().server).await.unwrap().url()
}

/// A vendor talking to CAS at `cas_url` with `store`, allowing [`ALLOWED`].
pub fn cas_vendor(cas_url: &str, store: Arc<CredentialStore>, timeout: Duration) -> Vendor {
    let http = provider_http(timeout);
    let cas = CasClient::new(http, &cas_url.parse().unwrap(), store);
    Vendor::new(
        AllowedOrigins::parse(ALLOWED).unwrap(),
        Some(TokenProvider::Cas(cas)),
        None,
    )
}

pub fn request(method: &str, path: &str, origin: Option<&str>) -> Request {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Body::Empty).unwrap()
}

/// `request` as an invocation due in `budget`: its Lambda context carries
/// that deadline, as the runtime would set it.
pub fn due_in(request: Request, budget: Duration) -> Request {
    use lambda_http::RequestExt as _;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut context = lambda_http::Context::default();
    context.request_id = "test-invocation".to_owned();
    context.deadline = u64::try_from(now_ms + budget.as_millis()).unwrap();
    request.with_lambda_context(context)
}

pub fn post(path: &str, origin: Option<&str>, body: &str) -> Request {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Body::Text(body.to_owned())).unwrap()
}

pub fn json(response: &Response<Body>) -> serde_json::Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null)
}

pub fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

pub fn error_code(response: &Response<Body>) -> String {
    json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A JWT with the given claims (the signature is not checked by anyone here).
pub fn jwt(claims: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

/// CAS that answers `token` to exactly the pair (`key`, `secret`) and 401 to
/// any other.
pub async fn cas_accepting(key: &str, secret: &str, token: &str) -> Https<wiremock::MockServer> {
    let answer = wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": token }));
    cas_accepting_with(key, secret, answer).await
}

/// CAS that answers the pair (`key`, `secret`) with `answer` and any other
/// with 401.
pub async fn cas_accepting_with(
    key: &str,
    secret: &str,
    answer: impl wiremock::Respond + 'static,
) -> Https<wiremock::MockServer> {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let cas = upstream().await;
    Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .and(header("auth-api-key", key))
        .and(header("auth-api-secret", secret))
        .respond_with(answer)
        .with_priority(1)
        .mount(&cas)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("bad key"))
        .with_priority(2)
        .mount(&cas)
        .await;
    cas
}

/// The binary with a clean environment plus `vars`; stdout and stderr are
/// collected into one buffer.
pub struct Process {
    pub child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Process {
    pub fn spawn(vars: &[(&str, String)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_token-vendor"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("EXTRA_CA_CERTS", &run_ca().pem_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            readers.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }));
        }
        Self {
            child,
            output,
            readers,
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub async fn wait_for_output(&self, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.output().contains(needle) {
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for local mode's "listening" line and returns its port (tests
    /// pass `LISTEN_ADDR=127.0.0.1:0`, so the OS picks a port: no races).
    pub async fn listening_port(&self) -> u16 {
        self.wait_for_output("listening", Duration::from_secs(20)).await;
        let output = self.output();
        let from = output.find("listening").unwrap_or_default();
        let after = &output[from..];
        let at = after
            .find("127.0.0.1:")
            .expect("the listening line names its address")
            + "127.0.0.1:".len();
        let digits: String = after[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().expect("a port")
    }

    /// Waits (at most 10 s) for the process to exit by itself, then for its
    /// output to end: its status and everything it printed.
    pub async fn exit(mut self) -> (std::process::ExitStatus, String) {
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the process must exit")
            .unwrap();
        for reader in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        (status, self.output())
    }

    /// Stops the process and returns everything it printed.
    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.output()
    }
}

pub fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// The rooms table's name in the tests.
pub const TABLE: &str = "rooms";

/// CAS that mints a new JWT (one hour, unique `rid`) per call, counts them
/// and keeps them (so that tests can look for them in logs).
#[derive(Clone, Default)]
pub struct Minting {
    calls: Arc<AtomicUsize>,
    issued: Arc<Mutex<Vec<String>>>,
    /// Seconds from now to `exp`; 0 = an hour.
    lifetime: i64,
}

impl wiremock::Respond for Minting {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let lifetime = if self.lifetime == 0 { 3600 } else { self.lifetime };
        let exp = jiff::Timestamp::now().as_second() + lifetime;
        let token = jwt(&format!(r#"{{"rid":"room-session-{n}","exp":{exp}}}"#));
        self.issued.lock().unwrap().push(token.clone());
        wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({ "token": token }))
    }
}

impl Minting {
    /// Tokens that live `seconds`.
    pub fn living(seconds: i64) -> Self {
        Self {
            lifetime: seconds,
            ..Self::default()
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }
}

/// A CAS stand-in answering every token request with [`Minting`].
pub async fn minting_cas(minting: &Minting) -> Https<wiremock::MockServer> {
    use wiremock::matchers::{method, path};
    let cas = upstream().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/stream/token/v2/"))
        .respond_with(minting.clone())
        .mount(&cas)
        .await;
    cas
}

/// A DynamoDB client for `endpoint`, with the vendor's timeouts.
pub fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint))
        .timeout_config(token_vendor::secrets::aws_timeouts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates the rooms table ([`TABLE`], partition key `room`).
pub async fn create_table(client: &aws_sdk_dynamodb::Client) {
    create_keyed_table(client, TABLE, "room").await;
}

/// A DynamoDB table on demand whose partition key `key` is a String.
pub async fn create_keyed_table(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The variables Lambda sets, with the Runtime API at `runtime`.
pub fn lambda_env(runtime: &bench::runtime_api::RuntimeApi) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "token-vendor".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("ALLOWED_ORIGINS", ALLOWED.into()),
    ]
}

/// An HTTP API (payload 2.0) event as API Gateway hands it over.
pub fn http_api_event(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &str) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "tests"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795370400000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

/// A server on 127.0.0.1 that accepts connections, reads what comes, and
/// never answers: a hung upstream or AWS endpoint. Returns its base URL.
pub async fn stalled_server() -> String {
    scripted_server(Vec::new()).await
}

/// A server on 127.0.0.1 that answers its first requests with `replies` (whole
/// HTTP/1.1 responses, one per request, in order) and then never answers
/// again: e.g. a Secrets Manager that served the cold start and then hung.
pub async fn scripted_server(replies: Vec<String>) -> String {
    use tokio::io::AsyncWriteExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let replies = Arc::new(Mutex::new(std::collections::VecDeque::from(replies)));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let replies = Arc::clone(&replies);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                    // One request per header block (bodies here are small
                    // and arrive with their headers).
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if seen.len() < end + 4 + length {
                            break;
                        }
                        seen.drain(..end + 4 + length);
                        let reply = replies.lock().unwrap().pop_front();
                        match reply {
                            Some(reply) => {
                                if socket.write_all(reply.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            None => {
                                // Hold the connection open, answering nothing.
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A whole HTTP/1.1 response with a JSON body.
pub fn json_reply(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A server on 127.0.0.1 that reads each request and closes the connection
/// without a word: a dropped connection.
pub async fn closing_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    format!("http://{addr}")
}
