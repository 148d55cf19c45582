//! JWTs: reading (never verifying) the claims of a provider's token (the
//! vendor only needs `exp` to tell the browser when to come back, and CAS's
//! `rid`, the session id, for the audit line), and signing the tokens the
//! vendor makes itself (HS256: LiveKit's, Twilio's and the local demo's;
//! RS256: Vonage's).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jiff::Timestamp;

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

/// The JOSE header of the HS256 tokens the vendor signs,
/// `{"alg":"HS256","typ":"JWT"}` in base64url.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
/// `{"alg":"RS256","typ":"JWT"}` in base64url: Vonage's client tokens.
const RS256_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";

/// A compact JWT of `claims`, signed HS256 with `key`. Serialized straight
/// from `claims` into the token's one buffer: a LiveKit token costs ~34 k
/// instructions here, against ~48 k through a `serde_json::Value` and ~39 k
/// with LiveKit's own crate (docs/benchmarks-history.md). HMAC takes keys of
/// every length and the claims are plain data, so the errors do not happen.
pub(crate) fn sign_hs256(claims: &impl serde::Serialize, key: &[u8]) -> Result<String, SignError> {
    sign_hs256_with(HS256_HEADER, claims, key)
}

/// [`sign_hs256`] under another JOSE header (`header`, already base64url;
/// it must say `"alg":"HS256"`): Twilio's carries a `cty`.
pub(crate) fn sign_hs256_with(
    header: &str,
    claims: &impl serde::Serialize,
    key: &[u8],
) -> Result<String, SignError> {
    compact(header, claims, |signed| {
        let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), signed);
        Ok(tag)
    })
}

/// A compact JWT of `claims`, signed RS256 (RSASSA-PKCS1-v1_5 with
/// SHA-256) with `key`, on the TLS stack's own crypto (ring).
pub(crate) fn sign_rs256(
    claims: &impl serde::Serialize,
    key: &ring::rsa::KeyPair,
) -> Result<String, SignError> {
    compact(RS256_HEADER, claims, |signed| {
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed,
            &mut signature,
        )
        .map_err(|_| SignError)?;
        Ok(signature)
    })
}

/// `header.payload.signature`, the payload serialized straight from
/// `claims` into the token's one buffer.
fn compact<S: AsRef<[u8]>>(
    header: &str,
    claims: &impl serde::Serialize,
    sign: impl FnOnce(&[u8]) -> Result<S, SignError>,
) -> Result<String, SignError> {
    let payload = serde_json::to_vec(claims).map_err(|_| SignError)?;
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 360);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
    Ok(token)
}

/// A token that could not be signed (see [`sign_hs256`]).
#[derive(Debug)]
pub(crate) struct SignError;

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    #[test]
    fn the_rs256_header_says_rs256() {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(RS256_HEADER).unwrap(),
            br#"{"alg":"RS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn the_signed_header_is_hs256_and_the_signature_is_hmac_sha256() {
        let token = sign_hs256(&serde_json::json!({"sub": "a"}), b"key").unwrap();
        let [header, payload, signature]: [&str; 3] =
            token.split('.').collect::<Vec<_>>().try_into().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(payload).unwrap(), br#"{"sub":"a"}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(signature).unwrap(),
            mac.finalize().into_bytes().to_vec()
        );
    }

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
