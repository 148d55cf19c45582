//! TLS for the stand-ins: the test run's private CA (trusted through
//! `EXTRA_CA_CERTS`, as an operator would), the providers' HTTP client that
//! trusts it, and https fronts before plain-http stand-ins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use bench::tls::{HttpsFront, Leaf, ServerCert, TestCa};
use token_vendor::ExtraRoots;
use token_vendor::http_client;

/// The test run's private CA: its certificate as a PEM file (what
/// `EXTRA_CA_CERTS` names), the roots it adds, and the server certificate it
/// signed for 127.0.0.1 that every https stand-in serves.
pub(crate) struct RunCa {
    pub ca: TestCa,
    pub pem_path: PathBuf,
    pub roots: ExtraRoots,
    pub server: ServerCert,
}

pub(crate) fn run_ca() -> &'static RunCa {
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
pub(crate) fn provider_http(timeout: Duration) -> reqwest::Client {
    http_client(timeout, &run_ca().roots).unwrap()
}

/// A plain-http stand-in behind an https front that serves the run CA's
/// certificate: `uri()` is the https URL, everything else is the stand-in's.
pub(crate) struct Https<S> {
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
    pub(crate) fn uri(&self) -> String {
        self.front.url()
    }

    /// TLS handshakes the front completed.
    pub(crate) fn handshakes(&self) -> usize {
        self.front.handshakes()
    }
}

/// A wiremock server reached over https.
pub(crate) async fn upstream() -> Https<wiremock::MockServer> {
    https(wiremock::MockServer::start().await).await
}

/// Puts an https front before a wiremock server.
pub(crate) async fn https(server: wiremock::MockServer) -> Https<wiremock::MockServer> {
    let front = HttpsFront::start(*server.address(), &run_ca().server)
        .await
        .unwrap();
    Https { server, front }
}

/// The https URL of a front before the plain-http stand-in at `plain_url`.
pub(crate) async fn over_https(plain_url: &str) -> String {
    let addr: SocketAddr = plain_url.trim_start_matches("http://").parse().unwrap();
    // The front serves on after this returns: its listener task owns it.
    HttpsFront::start(addr, &run_ca().server).await.unwrap().url()
}
