//! Twilio's own software, installed by the tests as moto is: PyPI's
//! `twilio` in `target/tmp/twilio-venv`, whose `Jwt.from_jwt` verifies a
//! token (signature, `exp`, `nbf`) and whose `AccessToken` builds the
//! reference one.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::verifiers::{python_script, python_venv};

/// The tests' Twilio account and API key (SIDs as Twilio issues them).
pub(crate) const TWILIO_ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub(crate) const TWILIO_KEY_SID: &str = "SKfedcba9876543210fedcba9876543210";
pub(crate) const TWILIO_KEY_SECRET: &str = "twilio-key-secret-4c1d";
pub(crate) const TWILIO_OTHER_SECRET: &str = "another-key-secret-77";

/// `Jwt.from_jwt` with the secret and with another; then `AccessToken`
/// and `VideoGrant`, at the token's issue time, with the same account,
/// key, identity, room and lifetime: its claims and header.
const PYTHON_CHECK: &str = r#"import json, sys, time
from twilio.jwt import Jwt
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant
token, secret, other = sys.argv[1:4]
try:
    decoded = Jwt.from_jwt(token, secret)
    payload, headers = decoded.payload, decoded.headers
    try:
        Jwt.from_jwt(token, other)
        verified_with_other = True
    except Exception:
        verified_with_other = False
    grants = payload['grants']
    # Twilio's own builder, at the token's issue time, with the same inputs.
    real_time = time.time
    time.time = lambda: payload['iat']
    try:
        reference = AccessToken(payload['sub'], payload['iss'], secret, identity=grants['identity'],
                                ttl=payload['exp'] - payload['iat'])
        reference.add_grant(VideoGrant(room=grants['video']['room']))
        built = reference.to_jwt()
    finally:
        time.time = real_time
    rebuilt = Jwt.from_jwt(built, secret)
    print(json.dumps({'ok': {'claims': payload, 'header': headers, 'verifiedWithOther': verified_with_other,
                             'reference': rebuilt.payload, 'referenceHeader': rebuilt.headers}}))
except Exception as e:
    print(json.dumps({'error': f'{type(e).__name__}: {e}'}))
"#;

/// A python3 that can import `twilio`, and its script.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        python_venv(
            "twilio-venv",
            "twilio==9.13.0",
            "twilio.jwt.access_token",
            &[("check.py", PYTHON_CHECK)],
        )
    })
}

/// What `twilio` made of `token`: its `claims` and `header` as
/// `Jwt.from_jwt(token, secret)` verified them, whether another secret
/// verifies it too (`verifiedWithOther`), and the `reference` claims and
/// `referenceHeader` of Twilio's own `AccessToken` for the same inputs.
pub(crate) fn check_twilio_with_python(token: &str, secret: &str) -> Result<serde_json::Value, String> {
    python_script(python(), "check.py", &[token, secret, TWILIO_OTHER_SECRET])
}
