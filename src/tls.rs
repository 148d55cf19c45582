//! The TLS trust roots of every outgoing connection, compiled into the binary
//! (`webpki-root-certs`, Mozilla's list): all of them for the provider's HTTP
//! client; for the AWS SDK only the Amazon Trust Services roots, which issue
//! the certificates of every AWS service endpoint (VPC endpoints included).
//! That narrower trust is also the faster one: the SDK takes roots as PEM and
//! parses them at its first call, ~2.5 ms for the whole list at cold start.
//!
//! Why not the system store: loading it reads and parses a few hundred files
//! under `/etc/ssl/certs` (or `/etc/pki`), and the SDK and reqwest each did so
//! at cold start — measured at about 5 ms of a ~15 ms init (BENCHMARKS.md).
//! The compiled-in roots cost no I/O. The trade-off: a private CA in the
//! system store is not trusted; the upstreams (CAS, AWS) use public CAs.

use std::sync::Arc;

use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use webpki_root_certs::TLS_SERVER_ROOT_CERTS;

/// A rustls client configuration trusting the compiled-in roots.
pub fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(TLS_SERVER_ROOT_CERTS.iter().cloned());
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
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
pub fn amazon_roots() -> impl Iterator<Item = &'static [u8]> {
    TLS_SERVER_ROOT_CERTS.iter().map(|c| c.as_ref()).filter(|der| {
        AMAZON_ROOT_SUBJECTS
            .iter()
            .any(|name| der.windows(name.len()).any(|w| w == *name))
    })
}

/// The AWS SDK's HTTP client (rustls, aws-lc) trusting the Amazon roots.
pub fn sdk_http_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, String> {
    let mut trust = TrustStore::empty().with_native_roots(false);
    for der in amazon_roots() {
        trust = trust.with_pem_certificate(pem(der));
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

fn pem(der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out.into_bytes()
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
    fn pem_round_trips_to_the_same_der() {
        let der = TLS_SERVER_ROOT_CERTS[0].as_ref();
        let text = String::from_utf8(pem(der)).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(STANDARD.decode(body).unwrap(), der);
        assert!(sdk_http_client().is_ok());
    }
}
