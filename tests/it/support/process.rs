//! The vendor's binary as a process (local mode, or Lambda mode against the
//! Runtime API stand-in), with its whole output collected.

use std::net::TcpListener as StdListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt as _;
use tokio::process::{Child, Command};

use super::{ALLOWED, run_ca};

/// A free port on 127.0.0.1 (bound and released; fine for tests).
pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with a clean environment plus `vars`; stdout and stderr are
/// collected into one buffer.
pub(crate) struct Process {
    pub child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Process {
    pub(crate) fn spawn(vars: &[(&str, String)]) -> Self {
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

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub(crate) async fn wait_for_output(&self, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.output().contains(needle) {
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for local mode's "listening" line and returns its port (tests
    /// pass `LISTEN_ADDR=127.0.0.1:0`, so the OS picks a port: no races).
    pub(crate) async fn listening_port(&self) -> u16 {
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
    pub(crate) async fn exit(mut self) -> (std::process::ExitStatus, String) {
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
    pub(crate) async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.output()
    }
}

/// The variables Lambda sets, with the Runtime API at `runtime`.
pub(crate) fn lambda_env(runtime: &bench::runtime_api::RuntimeApi) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "token-vendor".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("ALLOWED_ORIGINS", ALLOWED.into()),
    ]
}
