//! JWTs: reading (never verifying) the claims of a provider's token (the
//! vendor only needs `exp` to tell the browser when to come back, and CAS's
//! `rid`, the session id, for the audit line), and signing the tokens the
//! vendor makes itself (HS256: LiveKit's, and the local demo's).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The `exp` claim of a compact JWT, if the token is one and has it.
/// Anything unexpected (not three segments, not base64url JSON, no numeric
/// `exp`, out of range) is `None`: the claims are the provider's business.
pub(crate) fn expiry(token: &str) -> Option<Timestamp> {
    let claims = claims(token)?;
    let exp = claims.get("exp")?;
    let seconds = match exp.as_i64() {
        Some(s) => s,
        // Whole seconds of a fractional NumericDate; the cast saturates.
        None => exp.as_f64().filter(|f| f.is_finite())?.trunc() as i64,
    };
    Timestamp::from_second(seconds).ok()
}

/// The session id a CAS token names in its `rid` claim, for the audit line:
/// only when it is 1-128 characters of `A-Z a-z 0-9 . _ -` (anything else
/// is not logged).
pub(crate) fn session_id(token: &str) -> Option<String> {
    let claims = claims(token)?;
    let rid = claims.get("rid")?.as_str()?;
    let plain = (1..=128).contains(&rid.len())
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| rid.to_owned())
}

/// The claims of a compact JWT (three segments, base64url JSON payload).
fn claims(token: &str) -> Option<serde_json::Value> {
    let mut segments = token.split('.');
    let (_header, payload, _signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_LENIENT.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A compact JWT of `claims`, signed HS256 with `key` (header
/// `{"alg":"HS256","typ":"JWT"}`). HMAC takes keys of every length, so the
/// error does not happen; it is the `hmac` crate's signature.
pub(crate) fn sign_hs256(
    claims: &serde_json::Value,
    key: &[u8],
) -> Result<String, hmac::digest::InvalidLength> {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key)?;
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{signing_input}.{signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn the_session_id_is_the_rid_claim_when_it_is_plain() {
        let token = jwt(r#"{"rid":"e01dbe4589354be7977984fe66211808","exp":1800000000}"#);
        assert_eq!(
            session_id(&token).as_deref(),
            Some("e01dbe4589354be7977984fe66211808")
        );
        for claims in [
            r#"{"exp":1}"#,
            r#"{"rid":""}"#,
            r#"{"rid":7}"#,
            r#"{"rid":"a b"}"#,
            r#"{"rid":"x\ny"}"#,
        ] {
            assert_eq!(session_id(&jwt(claims)), None, "{claims}");
        }
        assert_eq!(session_id("opaque-token"), None);
    }

    #[test]
    fn exp_claim_becomes_a_timestamp() {
        let token = jwt(r#"{"rid":"e01dbe4589354be7977984fe66211808","exp":1800000000}"#);
        assert_eq!(expiry(&token).unwrap().to_string(), "2027-01-15T08:00:00Z");
    }

    #[test]
    fn fractional_exp_is_truncated_to_seconds() {
        let token = jwt(r#"{"exp":1800000000.75}"#);
        assert_eq!(expiry(&token).unwrap().as_second(), 1_800_000_000);
    }

    #[test]
    fn padded_payload_is_accepted() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp": 1800000000}"#);
        assert!(payload.ends_with('='), "the case needs padding: {payload}");
        assert!(expiry(&format!("e30.{payload}.sig")).is_some());
    }

    #[test]
    fn tokens_without_a_usable_exp_have_no_expiry() {
        for token in [
            jwt(r#"{"rid":"abc"}"#),
            jwt(r#"{"exp":"tomorrow"}"#),
            jwt(r#"{"exp":1e300}"#),
            jwt("not json"),
            "opaque-token".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "e30.!!!.sig".to_owned(),
        ] {
            assert_eq!(expiry(&token), None, "{token}");
        }
    }
}
