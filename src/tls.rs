//! The TLS trust roots of every outgoing connection, compiled into the binary
//! (`webpki-root-certs`, Mozilla's list): all of them for the provider's HTTP
//! client; for the AWS SDK only the Amazon Trust Services roots, which issue
//! the certificates of every AWS service endpoint (VPC endpoints included).
//! That narrower trust is also the faster one: each root is parsed at cold
//! start, five instead of ~150.
//!
//! Why not the system store: loading it reads and parses a few hundred files
//! under `/etc/ssl/certs` (or `/etc/pki`), and the SDK and reqwest each did so
//! at cold start — measured at about 5 ms of a ~15 ms init (BENCHMARKS.md).
//! The compiled-in roots cost no I/O. The trade-off: a private CA in the
//! system store is not trusted; the upstreams (CAS, AWS) use public CAs.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use webpki_root_certs::TLS_SERVER_ROOT_CERTS;

use crate::aws_http::AwsHttpClient;

/// A rustls client configuration trusting the compiled-in roots.
pub fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    client_config(TLS_SERVER_ROOT_CERTS.iter().cloned())
}

fn client_config(
    roots: impl Iterator<Item = CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(roots);
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// The subjects of the Amazon Trust Services roots (Amazon Root CA 1–4 and
/// the Starfield root that cross-signs them).
const AMAZON_ROOT_SUBJECTS: [&[u8]; 2] = [
    b"Amazon Root CA ",
    b"Starfield Services Root Certificate Authority - G2",
];

/// The compiled-in roots whose certificate names an Amazon Trust Services subject.
pub fn amazon_roots() -> impl Iterator<Item = CertificateDer<'static>> {
    TLS_SERVER_ROOT_CERTS
        .iter()
        .filter(|der| {
            AMAZON_ROOT_SUBJECTS
                .iter()
                .any(|name| der.windows(name.len()).any(|w| w == *name))
        })
        .cloned()
}

/// The AWS SDK's HTTP client (reqwest, rustls with aws-lc) trusting the
/// Amazon roots only.
pub fn sdk_http_client(
    connect_timeout: Duration,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, Box<dyn std::error::Error + Send + Sync>>
{
    let tls = client_config(amazon_roots())?;
    Ok(AwsHttpClient::new(tls, connect_timeout)?.shared())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_is_usable() {
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(TLS_SERVER_ROOT_CERTS.iter().cloned());
        assert!(added > 100, "{added} roots");
        assert_eq!(ignored, 0);
        assert!(rustls_config().is_ok());
    }

    #[test]
    fn the_sdk_trusts_exactly_the_five_amazon_trust_services_roots() {
        assert_eq!(amazon_roots().count(), 5);
    }

    #[test]
    fn the_sdk_client_builds_with_amazon_roots() {
        assert!(sdk_http_client(Duration::from_secs(1)).is_ok());
    }
}
