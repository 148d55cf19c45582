//! Agora's own software, installed by the tests as moto is: npm's
//! `agora-token` (`AccessToken2.from_string`, `verifySignature`) under
//! `target/tmp/agora-node`, and PyPI's `agoraiotools` (`from_string`, and
//! its builder for a rebuild) in `target/tmp/agora-venv`. Each is made once
//! (a lock file keeps test processes from making it twice).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::verifiers::{node_script, npm_folder, python_script, python_venv};

/// The tests' Agora app (32 hex digits each, as Agora issues them).
pub(crate) const AGORA_APP_ID: &str = "970ca35de60c44645bbae8a215061b33";
pub(crate) const AGORA_CERTIFICATE: &str = "5cfd2fd1755d40ecb72977518be15d3b";
pub(crate) const OTHER_CERTIFICATE: &str = "0123456789abcdef0123456789abcdef";

/// `from_string` then `verifySignature` with the certificate given and
/// with another; what it parsed.
const NODE_VERIFY: &str = "import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { AccessToken2 } = require('agora-token/src/AccessToken2');
const [token, certificate, other] = process.argv.slice(2);
const t = new AccessToken2();
if (!t.from_string(token)) { console.log(JSON.stringify({ error: 'from_string refused the token' })); process.exit(0); }
const text = (b) => (b === undefined ? null : Buffer.from(b).toString('utf8'));
console.log(JSON.stringify({ ok: {
  verified: t.verifySignature(certificate), verifiedWithOther: t.verifySignature(other),
  appId: text(t.appId), issueTs: t.issueTs, expire: t.expire, salt: t.salt,
  services: t.services.map((s) => ({ type: s.service_type(), privileges: s.__privileges,
    channel: text(s.__channel_name), uid: text(s.__uid), userId: text(s.__user_id) })),
} }));
";

/// `from_string`, then a rebuild by Agora's builder with the parsed issue
/// time, expiry, salt, service and privileges: whether its signed content
/// (signature and signing info, after zlib) equals the token's.
const PYTHON_REBUILD: &str = "import base64, json, sys, zlib
from agoraiotools.AccessToken2 import AccessToken, ServiceRtc, ServiceRtm
token, app_id, certificate = sys.argv[1:4]
try:
    parsed = AccessToken()
    parsed.from_string(token)
    services = parsed._AccessToken__service
    rebuilt = AccessToken(app_id, certificate, issue_ts=parsed._AccessToken__issue_ts,
                          expire=parsed._AccessToken__expire)
    rebuilt._AccessToken__salt = parsed._AccessToken__salt
    out = []
    for kind, service in services.items():
        privileges = dict(service._Service__privileges)
        if kind == ServiceRtc.kServiceType:
            channel = service._ServiceRtc__channel_name.decode()
            uid = service._ServiceRtc__uid.decode()
            again = ServiceRtc(channel, uid)
            out.append({'type': kind, 'channel': channel, 'uid': uid})
        else:
            user = service._ServiceRtm__user_id.decode()
            again = ServiceRtm(user)
            out.append({'type': kind, 'userId': user})
        for key, expire in privileges.items():
            again.add_privilege(key, expire)
        out[-1]['privileges'] = {str(k): v for k, v in privileges.items()}
        rebuilt.add_service(again)
    content = lambda t: zlib.decompress(base64.b64decode(t[3:]))
    print(json.dumps({'ok': {'same': content(rebuilt.build()) == content(token),
        'appId': parsed._AccessToken__app_id.decode(), 'issueTs': parsed._AccessToken__issue_ts,
        'expire': parsed._AccessToken__expire, 'salt': parsed._AccessToken__salt, 'services': out}}))
except Exception as e:
    print(json.dumps({'error': f'{type(e).__name__}: {e}'}))
";

/// The folder with `node_modules/agora-token` and the script.
fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        npm_folder(
            "agora-node",
            &["agora-token@2.0.6"],
            "node_modules/agora-token/package.json",
            &[("verify.mjs", NODE_VERIFY)],
        )
    })
}

/// A python3 that can import `agoraiotools`, and its script.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        python_venv(
            "agora-venv",
            "agoraiotools==0.3.4",
            "agoraiotools.AccessToken2",
            &[("rebuild.py", PYTHON_REBUILD)],
        )
    })
}

/// `agora-token`'s `AccessToken2.from_string(token)`: what it parsed, and
/// `verifySignature` with `certificate` (`verified`) and with
/// [`OTHER_CERTIFICATE`] (`verifiedWithOther`).
pub(crate) fn verify_agora_with_node(token: &str, certificate: &str) -> Result<serde_json::Value, String> {
    node_script(node_dir(), "verify.mjs", &[token, certificate, OTHER_CERTIFICATE])
}

/// `agoraiotools`' `from_string(token)`, and whether its builder, given
/// the parsed fields and `certificate`, signs the same content (`same`).
pub(crate) fn rebuild_agora_with_python(token: &str, certificate: &str) -> Result<serde_json::Value, String> {
    python_script(python(), "rebuild.py", &[token, AGORA_APP_ID, certificate])
}
