//! moto on 127.0.0.1 for Secrets Manager and DynamoDB: one server per test
//! (served on one thread, so DynamoDB's conditional writes are atomic), a
//! python3 that can import it (the machine's, or a virtualenv made once),
//! and the SDK configuration that reaches it with the vendor's own HTTP
//! client.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::config::{Credentials as AwsCredentials, Region, SharedCredentialsProvider};
use token_vendor::AWS_CONNECT_TIMEOUT;
use token_vendor::sdk_http_client;

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
pub(crate) fn python_with_moto() -> &'static Path {
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
pub(crate) struct Moto {
    child: StdChild,
    pub endpoint: String,
}

impl Moto {
    pub(crate) fn start() -> Self {
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
    pub(crate) fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.endpoint)
    }

    pub(crate) fn client(&self) -> aws_sdk_secretsmanager::Client {
        token_vendor::secrets_manager_client(&self.sdk_config())
    }

    pub(crate) async fn create_secret(&self, name: &str, value: &str) {
        self.client()
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    pub(crate) async fn put_secret(&self, name: &str, value: &str) {
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
pub(crate) fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .http_client(sdk_http_client(AWS_CONNECT_TIMEOUT).unwrap())
        .credentials_provider(SharedCredentialsProvider::new(AwsCredentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build()
}

pub(crate) fn secret_json(key: &str, secret: &str) -> String {
    serde_json::json!({ "API_KEY": key, "API_SECRET": secret }).to_string()
}

pub(crate) fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}
