//! TLS for the stand-ins: a private CA made at run time (`rcgen`), server
//! certificates it signs (valid, for another host, expired) or that a second,
//! unknown CA signs, and an https front that terminates TLS, counts the
//! completed handshakes and passes the bytes on to a plain-http stand-in.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A certificate authority of the test run.
#[derive(Debug)]
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    /// The algorithm of the CA's key and of its leaves' keys.
    alg: &'static SignatureAlgorithm,
}

/// What a server certificate is wrong about, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Valid for `127.0.0.1` and `localhost`, now.
    Valid,
    /// Valid now, but for `other.example` only.
    OtherHost,
    /// For `127.0.0.1` and `localhost`, but it expired in 2021.
    Expired,
}

/// A server's certificate chain and key. `Debug` leaves the key out.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// A CA whose key and leaves' keys are ECDSA P-256 (rcgen's default).
    pub fn new(name: &str) -> Result<Self, Error> {
        Self::with_alg(name, &PKCS_ECDSA_P256_SHA256)
    }

    /// A CA whose key and leaves' keys are RSA-2048 (PKCS#1 v1.5 SHA-256
    /// certificate signatures; TLS 1.3 signs the handshake with RSA-PSS).
    pub fn rsa(name: &str) -> Result<Self, Error> {
        Self::with_alg(name, &PKCS_RSA_SHA256)
    }

    fn with_alg(name: &str, alg: &'static SignatureAlgorithm) -> Result<Self, Error> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate_for(alg)?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
            alg,
        })
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Writes the CA certificate (PEM) to `path`, as `EXTRA_CA_CERTS` reads it.
    pub fn write_pem(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.pem)
    }

    /// A server certificate this CA signs.
    pub fn leaf(&self, leaf: Leaf) -> Result<ServerCert, Error> {
        let names = match leaf {
            Leaf::Valid | Leaf::Expired => vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            Leaf::OtherHost => vec!["other.example".to_owned()],
        };
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name.push(DnType::CommonName, "stand-in");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if leaf == Leaf::Expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate_for(self.alg)?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServerCert {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        })
    }
}

impl ServerCert {
    /// A TLS acceptor serving this certificate (HTTP/1.1 by ALPN).
    pub fn acceptor(&self) -> Result<TlsAcceptor, Error> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// Counts of a TLS listener: connections accepted, handshakes completed,
/// handshakes failed.
#[derive(Debug, Default)]
pub struct TlsCounters {
    pub connections: AtomicUsize,
    pub handshakes: AtomicUsize,
    pub failed_handshakes: AtomicUsize,
}

impl TlsCounters {
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    pub fn failed_handshakes(&self) -> usize {
        self.failed_handshakes.load(Ordering::SeqCst)
    }
}

/// An https front for a plain-http stand-in (e.g. a wiremock server): every
/// accepted connection is a TLS handshake, then its bytes go both ways to a
/// fresh connection to the backend.
#[derive(Debug)]
pub struct HttpsFront {
    pub addr: SocketAddr,
    pub counters: Arc<TlsCounters>,
}

impl HttpsFront {
    pub async fn start(backend: SocketAddr, cert: &ServerCert) -> Result<Self, Error> {
        let acceptor = cert.acceptor()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(TlsCounters::default());
        let front_counters = Arc::clone(&counters);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counters = Arc::clone(&front_counters);
                tokio::spawn(async move {
                    let Some(mut tls) = handshake(&acceptor, stream, &counters).await else {
                        return;
                    };
                    if let Ok(mut plain) = TcpStream::connect(backend).await {
                        let _ = plain.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        Ok(Self { addr, counters })
    }

    /// The front's base URL (`https://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn handshakes(&self) -> usize {
        self.counters.handshakes()
    }
}

/// Accepts one connection's TLS handshake and counts how it ended. The
/// socket gets `TCP_NODELAY`: rustls writes its session ticket and the HTTP
/// answer separately, and with Nagle's algorithm the answer waited for the
/// client's delayed ACK (~40 ms on the warm-up, a stand-in artefact).
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    counters: &TlsCounters,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    counters.connections.fetch_add(1, Ordering::SeqCst);
    let _ = stream.set_nodelay(true);
    match acceptor.accept(stream).await {
        Ok(tls) => {
            counters.handshakes.fetch_add(1, Ordering::SeqCst);
            Some(tls)
        }
        Err(_) => {
            counters.failed_handshakes.fetch_add(1, Ordering::SeqCst);
            None
        }
    }
}
