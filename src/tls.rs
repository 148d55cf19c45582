//! The TLS trust roots of every outgoing connection, compiled into the binary
//! (`webpki-roots`, Mozilla's list as ready-made trust anchors): all of them
//! for the provider's HTTP client; for the AWS SDK only the Amazon Trust
//! Services roots, which issue the certificates of every AWS service endpoint
//! (VPC endpoints included).
//!
//! Why not the system store: loading it reads and parses a few hundred files
//! under `/etc/ssl/certs` (or `/etc/pki`), and the SDK and reqwest each did so
//! at cold start — measured at about 5 ms of a ~15 ms init (BENCHMARKS.md).
//! Why anchors and not certificates (`webpki-root-certs`): a certificate is
//! parsed into its anchor at cold start, ~150 of them; the anchors are parsed
//! at build time. The trade-off of compiled-in roots: a private CA in the
//! system store is not trusted; the upstreams (CAS, AWS) use public CAs.

use std::sync::Arc;

use rustls::pki_types::TrustAnchor;
use webpki_roots::TLS_SERVER_ROOTS;

/// A rustls client configuration trusting the compiled-in roots.
pub fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    client_config(TLS_SERVER_ROOTS.iter().cloned())
}

pub fn client_config(
    roots: impl Iterator<Item = TrustAnchor<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let store = rustls::RootCertStore::from_iter(roots);
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
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
pub fn amazon_roots() -> impl Iterator<Item = TrustAnchor<'static>> {
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
}
