//! The built-in demo upstream for local mode: mints CAS-shaped JWTs (HS256,
//! with `rid` and `exp`) signed with a key made at start and never shown.
//! Its tokens are not valid for Sceenic. Configuration never selects it
//! under Lambda.

use std::fmt;
use std::time::Duration;

use crate::jwt;
use crate::providers::{Minted, UpstreamError};

/// Lifetime of a demo token.
pub(crate) const DEMO_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

pub struct DemoUpstream {
    key: [u8; 32],
}

impl fmt::Debug for DemoUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DemoUpstream { key: [REDACTED] }")
    }
}

impl DemoUpstream {
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut key = [0; 32];
        getrandom::fill(&mut key)?;
        Ok(Self { key })
    }

    /// One demo token: a fresh random room id, one hour of validity.
    pub fn mint(&self) -> Result<Minted, UpstreamError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|_| UpstreamError::Unsigned("no random bytes"))?;
        let (rid, unct) = random.split_at(16);
        let now = jiff::Timestamp::now().as_second();
        let claims = serde_json::json!({
            "rid": hex(rid),
            "unct": hex(unct),
            "iat": now,
            "exp": now + DEMO_TOKEN_LIFETIME.as_secs() as i64,
            "demo": true,
        });
        let token = jwt::sign_hs256(&claims, &self.key)
            .map_err(|_| UpstreamError::Unsigned("the claims could not be serialized"))?;
        Ok(Minted::new(token))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn demo_tokens_are_cas_shaped_jwts_with_an_hour_to_live() {
        let demo = DemoUpstream::new().unwrap();
        let minted = demo.mint().unwrap();
        let segments: Vec<&str> = minted.token().split('.').collect();
        assert_eq!(segments.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments[1]).unwrap()).unwrap();
        assert_eq!(claims["rid"].as_str().unwrap().len(), 32);
        let ttl = minted.expires_at().unwrap().as_second() - jiff::Timestamp::now().as_second();
        assert!((3590..=3600).contains(&ttl), "{ttl}");
    }

    #[test]
    fn each_demo_token_is_a_new_session() {
        let demo = DemoUpstream::new().unwrap();
        assert_ne!(demo.mint().unwrap().token(), demo.mint().unwrap().token());
    }
}
