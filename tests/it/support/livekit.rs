//! LiveKit's own verifiers and client, installed by the tests as moto is:
//! npm's `livekit-server-sdk` (`TokenVerifier`) and `livekit-client`
//! (`TokenSource.endpoint`) under `target/tmp/livekit-node`, PyPI's
//! `livekit-api` (`TokenVerifier`) in `target/tmp/livekit-venv`. Each is
//! made once (a lock file keeps test processes from making it twice).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::verifiers::{node_script, npm_folder, python_script, python_venv};

/// The LiveKit key pair of the tests (the secret over 32 bytes, as
/// LiveKit's Python SDK wants it).
pub(crate) const LIVEKIT_KEY: &str = "APItestkey7f3a";
pub(crate) const LIVEKIT_SECRET: &str = "test-livekit-secret-5c0ffee0ddba11d0e5c0ffee";

const NODE_VERIFY: &str = "import { TokenVerifier } from 'livekit-server-sdk';
const [key, secret, token] = process.argv.slice(2);
try { console.log(JSON.stringify({ ok: await new TokenVerifier(key, secret).verify(token) })); }
catch (e) { console.log(JSON.stringify({ error: `${e.constructor.name}: ${e.message}` })); }
";

const NODE_FETCH: &str = "import { TokenSource } from 'livekit-client';
const [url, options] = process.argv.slice(2);
try { console.log(JSON.stringify({ ok: await TokenSource.endpoint(url).fetch(JSON.parse(options)) })); }
catch (e) { console.log(JSON.stringify({ error: `${e.constructor.name}: ${e.message}` })); }
";

/// LiveKit's RoomService, as far as `RemoveParticipant` goes: every call's
/// bearer token is checked with `livekit-server-sdk`'s own `TokenVerifier`
/// (and its grant must be `roomAdmin` for the body's room); the answer's
/// status is `statuses[room]` (default 200; 404 as LiveKit answers a
/// participant not in the room). `GET /calls` lists what was received.
const NODE_ROOM_SERVICE: &str = "import { createServer } from 'node:http';
import { TokenVerifier } from 'livekit-server-sdk';
const [key, secret, statuses] = process.argv.slice(2);
const status = JSON.parse(statuses);
const calls = [];
const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/calls') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(calls));
  }
  let text = '';
  for await (const chunk of req) text += chunk;
  const call = { path: req.url, contentType: req.headers['content-type'] ?? null };
  try {
    call.body = JSON.parse(text);
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const claims = await new TokenVerifier(key, secret).verify(token);
    call.verified = { iss: claims.iss, video: claims.video, ttl: claims.exp - claims.nbf };
    call.adminOfRoom = claims.video?.roomAdmin === true && claims.video?.room === call.body.room;
  } catch (e) { call.error = `${e.constructor.name}: ${e.message}`; }
  calls.push(call);
  const code = call.adminOfRoom ? (status[call.body.room] ?? 200) : 401;
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(code === 200 ? '{}' : JSON.stringify({ code: code === 404 ? 'not_found' : 'unauthenticated', msg: 'x' }));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
";

const PYTHON_VERIFY: &str = "import json, sys
from livekit import api
key, secret, token = sys.argv[1:4]
try:
    c = api.TokenVerifier(key, secret).verify(token)
    v = c.video
    print(json.dumps({'ok': {'identity': c.identity, 'name': c.name, 'metadata': c.metadata,
        'attributes': c.attributes, 'room': v.room, 'room_join': v.room_join,
        'can_publish': v.can_publish, 'can_subscribe': v.can_subscribe,
        'can_publish_data': v.can_publish_data, 'room_config': c.room_config is not None}}))
except Exception as e:
    print(json.dumps({'error': f'{type(e).__name__}: {e}'}))
";

/// The folder with `node_modules` (livekit-server-sdk, livekit-client) and
/// the two scripts.
fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        npm_folder(
            "livekit-node",
            &["livekit-server-sdk@2.19.2", "livekit-client@2.23.0"],
            "node_modules/livekit-client/package.json",
            &[
                ("verify.mjs", NODE_VERIFY),
                ("fetch.mjs", NODE_FETCH),
                ("room-service.mjs", NODE_ROOM_SERVICE),
            ],
        )
    })
}

/// A python3 that can import `livekit.api`, and its script.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        python_venv(
            "livekit-venv",
            "livekit-api==1.2.2",
            "livekit.api",
            &[("verify.py", PYTHON_VERIFY)],
        )
    })
}

/// `livekit-server-sdk`'s `TokenVerifier(key, secret).verify(token)`: the
/// claims it returns, or its error.
pub(crate) fn verify_with_node(key: &str, secret: &str, token: &str) -> Result<serde_json::Value, String> {
    node_script(node_dir(), "verify.mjs", &[key, secret, token])
}

/// `livekit-api`'s `TokenVerifier(key, secret).verify(token)`: the claims
/// it read (identity, name, metadata, attributes, the video grant), or its
/// error.
pub(crate) fn verify_with_python(key: &str, secret: &str, token: &str) -> Result<serde_json::Value, String> {
    python_script(python(), "verify.py", &[key, secret, token])
}

/// A LiveKit RoomService stand-in (`NODE_ROOM_SERVICE`) for the tests'
/// pair, answering `statuses` (`{"room": status}`): the process (killed on
/// drop) and its base URL (`http://127.0.0.1:<port>`).
pub(crate) async fn livekit_room_service(statuses: &serde_json::Value) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt as _;
    let dir = node_dir();
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("room-service.mjs"))
        .args([LIVEKIT_KEY, LIVEKIT_SECRET, &statuses.to_string()])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the stand-in starts")
        .unwrap()
        .expect("the stand-in prints its port");
    let port = serde_json::from_str::<serde_json::Value>(&line).unwrap()["port"]
        .as_u64()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

/// `livekit-client`'s `TokenSource.endpoint(url).fetch(options)` in Node:
/// what it returned (`serverUrl`, `participantToken`), or its error.
pub(crate) fn fetch_with_livekit_client(
    url: &str,
    options: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    node_script(node_dir(), "fetch.mjs", &[url, &options.to_string()])
}

/// The binary under Lambda with LiveKit on (`wss://livekit.example.com`,
/// any room) and the tests' pair in moto's secret, plus `extra`, ready for
/// its first event: moto (alive as long as it is kept), the Runtime API and
/// the process.
pub(crate) async fn livekit_under_lambda(
    extra: &[(&'static str, &str)],
) -> (super::Moto, bench::runtime_api::RuntimeApi, super::Process) {
    let moto = super::Moto::start();
    let secret = serde_json::json!({"LIVEKIT_API_KEY": LIVEKIT_KEY, "LIVEKIT_API_SECRET": LIVEKIT_SECRET});
    moto.create_secret("tv/livekit", &secret.to_string()).await;
    let runtime = bench::runtime_api::RuntimeApi::start().await.unwrap();
    let mut vars = super::aws_env(&moto);
    vars.extend(super::lambda_env(&runtime));
    vars.extend([
        ("SECRET_ID", "tv/livekit".to_owned()),
        ("LIVEKIT_URL", "wss://livekit.example.com".to_owned()),
        ("LIVEKIT_ROOMS", "*".to_owned()),
    ]);
    vars.extend(extra.iter().map(|(name, value)| (*name, (*value).to_owned())));
    let vendor = super::Process::spawn(&vars);
    runtime
        .wait_first_next(std::time::Duration::from_secs(20))
        .await
        .expect("the function polls for its first event");
    (moto, runtime, vendor)
}
