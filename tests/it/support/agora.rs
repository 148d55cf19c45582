//! Agora's own software, installed by the tests as moto is: npm's
//! `agora-token` (`AccessToken2.from_string`, `verifySignature`) under
//! `target/tmp/agora-node`, and PyPI's `agoraiotools` (`from_string`, and
//! its builder for a rebuild) in `target/tmp/agora-venv`. Each is made once
//! (a lock file keeps test processes from making it twice).

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

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

fn tmp() -> &'static Path {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(tmp).unwrap();
    tmp
}

/// The folder with `node_modules/agora-token` and the script.
fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tmp().join("agora-node");
        let lock = std::fs::File::create(tmp().join("agora-node.lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join("node_modules/agora-token/package.json").exists() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("package.json"), r#"{"private": true, "type": "module"}"#).unwrap();
            let status = StdCommand::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                    "agora-token@2.0.6",
                ])
                .current_dir(&dir)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "npm install agora-token failed"
            );
        }
        std::fs::write(dir.join("verify.mjs"), NODE_VERIFY).unwrap();
        dir
    })
}

/// A python3 that can import `agoraiotools`, and its script.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = tmp().join("agora-venv");
        let python = venv.join("bin").join("python3");
        let lock = std::fs::File::create(tmp().join("agora-venv.lock")).unwrap();
        lock.lock().unwrap();
        let imports = |python: &Path| {
            StdCommand::new(python)
                .args(["-c", "import agoraiotools.AccessToken2"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !imports(&python) {
            let made = StdCommand::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status();
            assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
            let installed = StdCommand::new(&python)
                .args(["-m", "pip", "install", "--quiet", "agoraiotools==0.3.4"])
                .status();
            assert!(
                installed.is_ok_and(|s| s.success()),
                "pip install agoraiotools failed"
            );
        }
        std::fs::write(venv.join("rebuild.py"), PYTHON_REBUILD).unwrap();
        python
    })
}

/// What a script printed: `{"ok": ...}` or `{"error": "..."}`.
fn answer(output: &std::process::Output) -> Result<serde_json::Value, String> {
    let text = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "script printed {text:?}; stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    match value.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => Err(value["error"].as_str().unwrap_or_default().to_owned()),
    }
}

/// `agora-token`'s `AccessToken2.from_string(token)`: what it parsed, and
/// `verifySignature` with `certificate` (`verified`) and with
/// [`OTHER_CERTIFICATE`] (`verifiedWithOther`).
pub(crate) fn verify_agora_with_node(token: &str, certificate: &str) -> Result<serde_json::Value, String> {
    let dir = node_dir();
    answer(
        &StdCommand::new("node")
            .arg(dir.join("verify.mjs"))
            .args([token, certificate, OTHER_CERTIFICATE])
            .current_dir(dir)
            .output()
            .unwrap(),
    )
}

/// `agoraiotools`' `from_string(token)`, and whether its builder, given
/// the parsed fields and `certificate`, signs the same content (`same`).
pub(crate) fn rebuild_agora_with_python(token: &str, certificate: &str) -> Result<serde_json::Value, String> {
    let python = python();
    let script = python.parent().unwrap().parent().unwrap().join("rebuild.py");
    answer(
        &StdCommand::new(python)
            .arg(script)
            .args([token, AGORA_APP_ID, certificate])
            .output()
            .unwrap(),
    )
}
