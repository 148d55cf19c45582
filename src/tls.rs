//! The TLS trust roots of every outgoing connection, compiled into the binary
//! (`webpki-roots`, Mozilla's list as ready-made trust anchors): all of them
//! for the provider's HTTP client; for the AWS SDK only the Amazon Trust
//! Services roots, which issue the certificates of every AWS service endpoint
//! (VPC endpoints included).
//!
//! Why not the system store: loading it reads and parses a few hundred files
//! under `/etc/ssl/certs` (or `/etc/pki`), and the SDK and reqwest each did so
//! at cold start — measured at about 5 ms of a ~15 ms init (docs/benchmarks-history.md).
//! Why anchors and not certificates (`webpki-root-certs`): a certificate is
//! parsed into its anchor at cold start, ~150 of them; the anchors are parsed
//! at build time. The trade-off of compiled-in roots: a private CA in the
//! system store is not trusted. CAS and AWS use public CAs; a self-hosted
//! AIPIX server may not, so an operator can add CA certificates for the
//! provider calls ([`ExtraRoots`], `EXTRA_CA_CERTS`), read once at cold start.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use webpki_roots::TLS_SERVER_ROOTS;

/// A rustls client configuration trusting the compiled-in roots (tests).
#[cfg(test)]
pub(crate) fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    provider_config(&ExtraRoots::default())
}

/// The provider calls' configuration: the compiled-in roots and the
/// operator's extra CAs.
pub(crate) fn provider_config(extra: &ExtraRoots) -> Result<rustls::ClientConfig, rustls::Error> {
    client_config(TLS_SERVER_ROOTS.iter().cloned().chain(extra.0.iter().cloned()))
}

/// CA certificates trusted for the provider calls in addition to the
/// compiled-in roots. `Debug` prints how many, not the certificates.
#[derive(Clone, Default)]
pub struct ExtraRoots(Vec<TrustAnchor<'static>>);

impl ExtraRoots {
    /// Reads a PEM file of one or more `CERTIFICATE` blocks (other blocks,
    /// such as keys, are skipped). The reason of an error names no content.
    pub fn read(path: &Path) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_pem(&pem).map_err(|reason| format!("{}: {reason}", path.display()))
    }

    /// Parses PEM text: every certificate must be one a root store accepts
    /// (a CA's, or a self-signed server's own, which is then trusted as is).
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let mut store = rustls::RootCertStore::empty();
        for (n, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let cert = cert.map_err(|e| format!("not PEM ({e})"))?;
            store
                .add(cert)
                .map_err(|e| format!("certificate {} is not usable as a trust anchor ({e})", n + 1))?;
        }
        if store.is_empty() {
            return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
        }
        Ok(Self(store.roots))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtraRoots({} certificates)", self.0.len())
    }
}

/// Whether an error's chain holds a refused server certificate (untrusted
/// issuer, another host's name, expired, ...). rustls reports it inside an
/// `io::Error`, itself inside another (reqwest's connector), and an
/// `io::Error`'s `source()` skips what it wraps, so each one is opened too.
pub(crate) fn refused_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    if matches!(
        error.downcast_ref::<rustls::Error>(),
        Some(rustls::Error::InvalidCertificate(_))
    ) {
        return true;
    }
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        && refused_certificate(inner)
    {
        return true;
    }
    error.source().is_some_and(refused_certificate)
}

/// The crypto under every TLS connection: ring, the binary's one crypto
/// library (`deny-binary.toml`). `tests/entropy.rs` times its generator.
///
/// One change to ring's defaults: TLS 1.3's AES-128-GCM-SHA256 is offered
/// first (ring lists AES-256-GCM-SHA384 first; browsers offer AES-128
/// first). Its key schedule and transcript run on SHA-256 instead of
/// SHA-384 where the server honours the client's order: 75 k fewer
/// instructions per cold start over https (BENCHMARKS.md). 128-bit keys
/// match the key exchange's own strength (X25519, P-256). The other suites
/// stay, in ring's order.
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    let preferred = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256;
    provider
        .cipher_suites
        .retain(|suite| suite.suite() != preferred.suite());
    provider.cipher_suites.insert(0, preferred);
    provider
}

pub(crate) fn client_config(
    roots: impl Iterator<Item = TrustAnchor<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let store = rustls::RootCertStore::from_iter(roots);
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(crypto_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// The common names of the Amazon Trust Services roots (Amazon Root CA 1–4
/// and the Starfield root that cross-signs them).
const AMAZON_ROOT_NAMES: [&[u8]; 2] = [
    b"Amazon Root CA ",
    b"Starfield Services Root Certificate Authority - G2",
];

/// The compiled-in roots whose subject carries an Amazon Trust Services name.
pub(crate) fn amazon_roots() -> impl Iterator<Item = TrustAnchor<'static>> {
    TLS_SERVER_ROOTS
        .iter()
        .filter(|anchor| {
            AMAZON_ROOT_NAMES
                .iter()
                .any(|name| contains(&anchor.subject, name))
        })
        .cloned()
}

/// Whether `needle` occurs in `haystack`; the first-byte test keeps the
/// slice comparisons (a `memcmp` call each) to a few per subject.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    haystack
        .windows(needle.len())
        .any(|window| window[0] == first && window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_128_gcm_sha256_is_offered_first_and_no_suite_is_lost() {
        let suites: Vec<_> = crypto_provider()
            .cipher_suites
            .iter()
            .map(|suite| suite.suite())
            .collect();
        assert_eq!(
            suites.first(),
            Some(&rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
        let mut ours = suites.clone();
        let mut ring: Vec<_> = rustls::crypto::ring::default_provider()
            .cipher_suites
            .iter()
            .map(|suite| suite.suite())
            .collect();
        ours.sort_by_key(|suite| u16::from(*suite));
        ring.sort_by_key(|suite| u16::from(*suite));
        assert_eq!(ours, ring, "the same suites as ring's defaults");
        // The key exchange stays ring's: X25519 first (P-256 first costs a
        // cold start 0.12 M instructions more, BENCHMARKS.md).
        let groups: Vec<_> = crypto_provider().kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(groups.first(), Some(&rustls::NamedGroup::X25519));
    }

    #[test]
    fn the_upstream_client_trusts_the_whole_compiled_in_list() {
        assert!(TLS_SERVER_ROOTS.len() > 100, "{} roots", TLS_SERVER_ROOTS.len());
        assert!(rustls_config().is_ok());
    }

    #[test]
    fn the_sdk_trusts_exactly_the_five_amazon_trust_services_roots() {
        let subjects: Vec<String> = amazon_roots()
            .map(|anchor| String::from_utf8_lossy(&anchor.subject).into_owned())
            .collect();
        assert_eq!(subjects.len(), 5, "{subjects:?}");
        for n in 1..=4 {
            let name = format!("Amazon Root CA {n}");
            assert!(subjects.iter().any(|s| s.contains(&name)), "{name} missing");
        }
        assert!(subjects.iter().any(|s| s.contains("Starfield Services Root")));
    }

    fn ca_pem(name: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn extra_roots_take_every_certificate_of_the_file_and_skip_other_blocks() {
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let pem = format!("{}\n{key}\n{}", ca_pem("First CA"), ca_pem("Second CA"));
        let extra = ExtraRoots::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(extra.len(), 2);
        assert_eq!(format!("{extra:?}"), "ExtraRoots(2 certificates)");
        assert!(provider_config(&extra).is_ok());
    }

    #[test]
    fn extra_roots_refuse_a_file_without_a_usable_certificate() {
        for (pem, reason) in [
            ("", "holds no PEM certificate"),
            ("just text\n", "holds no PEM certificate"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "certificate 1 is not usable as a trust anchor",
            ),
            (
                "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
                "not PEM",
            ),
        ] {
            let error = ExtraRoots::from_pem(pem.as_bytes()).unwrap_err();
            assert!(error.contains(reason), "{pem:?}: {error}");
        }
        let error = ExtraRoots::read(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(error.starts_with("cannot read /nonexistent/ca.pem"), "{error}");
    }
}
