//! Who is asking: the JWT authorizer's `sub`, else the source IP API
//! Gateway saw (locally the peer's), never a header.

use std::fmt;
use std::net::IpAddr;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::identity::authorized_sub;

/// Who is asking: `sub:<sub>` or `ip:<address>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller(pub(super) String);

impl Caller {
    /// A request with no identity at all (no request context, no peer):
    /// such requests share one count.
    pub fn unknown() -> Self {
        Self("unknown".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The peer's address in local mode (set by [`crate::runtime::local`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerIp(pub IpAddr);

/// The caller of a request: the JWT authorizer's `sub` when API Gateway
/// verified one; else the source IP it saw; locally the peer's IP. Never a
/// request header (`X-Forwarded-For`, `Authorization`): those are the
/// caller's to forge. A `sub` that is not 1-128 printable ASCII characters
/// without `#` becomes `sub#<SHA-256>`: it is a DynamoDB key and a log field.
pub(crate) fn caller_of(request: &Request) -> Option<Caller> {
    if let Some(sub) = authorized_sub(request) {
        return Some(sub_caller(sub));
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref().and_then(ip_caller),
        Some(RequestContext::ApiGatewayV1(context)) => {
            context.identity.source_ip.as_deref().and_then(ip_caller)
        }
        _ => request
            .extensions()
            .get::<PeerIp>()
            .map(|peer| Caller(format!("ip:{}", peer.0.to_canonical()))),
    }
}

pub(super) fn sub_caller(sub: &str) -> Caller {
    let plain = sub.len() <= 128 && sub.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    if plain {
        return Caller(format!("sub:{sub}"));
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, sub.as_bytes());
    let digest = digest.as_ref();
    Caller(format!(
        "sub#{}",
        digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

pub(super) fn ip_caller(ip: &str) -> Option<Caller> {
    ip.parse::<IpAddr>()
        .ok()
        .map(|ip| Caller(format!("ip:{}", ip.to_canonical())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_prints_as_its_kind_and_value() {
        assert_eq!(format!("{:?}", Caller("ip:::1".into())), "ip:::1");
        assert_eq!(ip_caller("::ffff:192.0.2.7").unwrap().as_str(), "ip:192.0.2.7");
        assert!(ip_caller("not an ip").is_none());
        assert_eq!(sub_caller("auth0|abc-123").as_str(), "sub:auth0|abc-123");
        for odd in ["a\nb", "a#1", "é", &"x".repeat(129)] {
            let caller = sub_caller(odd);
            assert!(
                caller.as_str().starts_with("sub#") && caller.as_str().len() == 68,
                "{caller:?}"
            );
        }
        assert_ne!(sub_caller("a\nb"), sub_caller("a\nc"));
    }
}
