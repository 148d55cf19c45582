//! Whose a token is: the one rule every provider that puts an identity in
//! its token goes through (LiveKit now; Twilio and Vonage next). Agora takes
//! what signed in means ([`authorized_sub`]) and the sub-is-the-identity
//! rule from here, but not the namespaces: its uids are often numbers,
//! which cannot carry a prefix, so under `AGORA_IDENTITY=request` a chosen
//! uid is issued as given (src/providers/agora.rs; docs/security.md).
//!
//! - **Signed in** means one thing only: API Gateway's JWT authorizer
//!   verified a token whose `sub` is not empty ([`authorized_sub`]). A
//!   Function URL, a route without the authorizer or claims with `sub: ""`
//!   are not signed in, whatever the request says.
//! - A signed-in caller's identity is its `sub`; asking for another is 403.
//! - A caller nobody vouches for gets a fresh random identity
//!   ([`GUEST_PREFIX`]), or, when the operator opts in
//!   ([`IdentitySource::Request`]), the identity it asks for **behind
//!   [`REQUESTED_PREFIX`]**: `alice` is issued as `req:alice`, so a chosen
//!   identity can never equal a signed-in one, and a provider never
//!   disconnects a signed-in user for a duplicate. A `sub` that itself
//!   starts with either prefix is refused (403), so the namespaces stay
//!   apart whatever the identity provider issues.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;
use crate::names::is_plain_text;

/// What a caller-chosen identity is issued under.
pub const REQUESTED_PREFIX: &str = "req:";
/// What a random identity starts with.
pub const GUEST_PREFIX: &str = "guest-";

/// Whose the identity is when no authorizer vouches for the caller
/// (`LIVEKIT_IDENTITY`, and each signing provider's own variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// A random identity per token; an asked-for identity is 403.
    Caller,
    /// The identity the caller asks for, behind [`REQUESTED_PREFIX`].
    Request,
}

/// A provider's identity rule: where an unvouched identity comes from, the
/// longest identity the provider takes (in UTF-8 bytes, as issued, prefix
/// included) and the 400 message naming the provider's own field.
#[derive(Debug, Clone, Copy)]
pub struct IdentityRule {
    pub source: IdentitySource,
    pub max_bytes: usize,
    pub invalid: &'static str,
}

impl IdentityRule {
    /// Checks the shape of an asked-for identity (400): not empty, no
    /// control character, and within the bound once issued (behind
    /// [`REQUESTED_PREFIX`] when no `sub` vouches for the caller; as it is,
    /// the caller's own `sub`, when one does). The `sub` itself is issued
    /// as it is, so it is held to the same bound (400).
    pub fn check(&self, sub: Option<&str>, asked: Option<&str>) -> Result<(), ApiError> {
        if sub.is_some_and(|sub| !is_plain_text(sub, self.max_bytes)) {
            return Err(ApiError::BadRequest(
                "The signed-in identity (the authorizer's sub) is longer than this provider takes or holds control characters.",
            ));
        }
        let max = match sub {
            Some(_) => self.max_bytes,
            None => self.max_bytes.saturating_sub(REQUESTED_PREFIX.len()),
        };
        match asked {
            Some(asked) if asked.is_empty() || !is_plain_text(asked, max) => {
                Err(ApiError::BadRequest(self.invalid))
            }
            _ => Ok(()),
        }
    }

    /// The identity the token is for, given the authorizer's `sub` and
    /// what the caller asked for (checked by [`Self::check`]).
    pub fn resolve(&self, sub: Option<&str>, asked: Option<&str>) -> Result<String, ApiError> {
        match (sub, asked, self.source) {
            (Some(sub), _, _) if reserved(sub) => Err(ApiError::IdentityNotAllowed),
            (Some(sub), None, _) => Ok(sub.to_owned()),
            (Some(sub), Some(asked), _) if asked == sub => Ok(sub.to_owned()),
            (Some(_), Some(_), _) | (None, Some(_), IdentitySource::Caller) => {
                Err(ApiError::IdentityNotAllowed)
            }
            (None, Some(asked), IdentitySource::Request) => Ok(format!("{REQUESTED_PREFIX}{asked}")),
            (None, None, _) => random_identity(),
        }
    }
}

fn reserved(sub: &str) -> bool {
    sub.starts_with(REQUESTED_PREFIX) || sub.starts_with(GUEST_PREFIX)
}

/// A fresh identity for a caller nobody vouches for: [`GUEST_PREFIX`] and
/// 96 random bits.
fn random_identity() -> Result<String, ApiError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(format!(
        "{GUEST_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The `sub` claim API Gateway's JWT authorizer verified (HTTP API claims,
/// or a REST API's authorizer claims), when there is one and it is not
/// empty: the only thing that makes a caller signed in. Never a request
/// header.
pub(crate) fn authorized_sub(request: &Request) -> Option<&str> {
    let sub = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("sub"))
            .map(String::as_str),
        RequestContext::ApiGatewayV1(context) => context
            .authorizer
            .fields
            .get("claims")
            .and_then(|claims| claims.get("sub"))
            .and_then(serde_json::Value::as_str),
        _ => None,
    };
    sub.filter(|sub| !sub.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: IdentityRule = IdentityRule {
        source: IdentitySource::Request,
        max_bytes: 16,
        invalid: "bad identity",
    };

    #[test]
    fn a_sub_is_held_to_the_providers_bound_as_issued() {
        // RULE takes 16 bytes: a sub is issued as it is.
        assert!(RULE.check(Some(&"s".repeat(16)), None).is_ok());
        for sub in ["s".repeat(17), "a\u{7}b".to_owned()] {
            assert!(
                matches!(RULE.check(Some(&sub), None), Err(ApiError::BadRequest(_))),
                "{sub:?}"
            );
        }
    }

    #[test]
    fn a_chosen_identity_never_equals_a_signed_in_one() {
        // Not signed in: the chosen identity is issued behind the prefix...
        assert_eq!(RULE.resolve(None, Some("alice")).unwrap(), "req:alice");
        // ...and a signed-in `alice` keeps hers; another's is refused.
        assert_eq!(RULE.resolve(Some("alice"), None).unwrap(), "alice");
        assert_eq!(RULE.resolve(Some("alice"), Some("alice")).unwrap(), "alice");
        assert!(matches!(
            RULE.resolve(Some("alice"), Some("bob")),
            Err(ApiError::IdentityNotAllowed)
        ));
        // A sub in either reserved namespace is refused, asked or not.
        for sub in ["req:alice", "guest-abc"] {
            assert!(
                matches!(RULE.resolve(Some(sub), None), Err(ApiError::IdentityNotAllowed)),
                "{sub}"
            );
        }
    }

    #[test]
    fn without_the_opt_in_a_caller_gets_a_random_identity_and_cannot_choose() {
        let rule = IdentityRule {
            source: IdentitySource::Caller,
            ..RULE
        };
        assert!(matches!(
            rule.resolve(None, Some("alice")),
            Err(ApiError::IdentityNotAllowed)
        ));
        let (a, b) = (
            rule.resolve(None, None).unwrap(),
            rule.resolve(None, None).unwrap(),
        );
        assert!(a.starts_with(GUEST_PREFIX) && a.len() == 22, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn an_asked_identity_is_bounded_in_bytes_as_issued_and_plain() {
        // 16 bytes as issued: 12 after the 4-byte prefix...
        assert!(RULE.check(None, Some(&"a".repeat(12))).is_ok());
        assert!(RULE.check(None, Some(&"a".repeat(13))).is_err());
        // ...16 for a signed-in caller's own sub, issued as it is.
        let sub = "s".repeat(16);
        assert!(RULE.check(Some(&sub), Some(&sub)).is_ok());
        assert!(RULE.check(Some(&sub), Some(&"s".repeat(17))).is_err());
        // Three emoji are 12 bytes; a fourth is over.
        assert!(RULE.check(None, Some(&"🎉".repeat(3))).is_ok());
        assert!(RULE.check(None, Some(&"🎉".repeat(4))).is_err());
        for bad in ["", "a\u{1}", "a\nb"] {
            assert!(RULE.check(None, Some(bad)).is_err(), "{bad:?}");
        }
        assert!(RULE.check(None, None).is_ok());
    }
}
