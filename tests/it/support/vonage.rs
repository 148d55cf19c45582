//! Vonage's own software, installed by the tests as moto is: npm's
//! `@vonage/jwt` (`verifySignature`) and `@vonage/video`
//! (`generateClientToken`, the reference claims) under
//! `target/tmp/vonage-node`, and Node's crypto for the tests' RSA keys.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::verifiers::{node_script, npm_folder};

/// The tests' Vonage application.
pub(crate) const VONAGE_APPLICATION_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// `keygen <pkcs8|pkcs1>`: a fresh RSA key pair in PEM; or `check`: what
/// `verifySignature` says with the key and with another, the token's
/// header and claims, and the claims of `generateClientToken` for the same
/// session, role, data and expiry.
const NODE_SCRIPT: &str = r#"import { createRequire } from 'node:module';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
const require = createRequire(import.meta.url);
const [command, ...args] = process.argv.slice(2);
const out = (ok) => console.log(JSON.stringify({ ok }));
const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
const header = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
try {
  if (command === 'keygen') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048,
      privateKeyEncoding: { type: args[0], format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    out({ privateKey, publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) });
  } else {
    const { verifySignature } = require('@vonage/jwt');
    const { Video } = require('@vonage/video');
    const [token, publicKey, otherPublicKey, privateKey, applicationId] = args;
    const ours = claims(token);
    const video = new Video({ applicationId, privateKey });
    const options = { role: ours.role, expireTime: ours.exp };
    if (ours.connection_data !== undefined) options.data = ours.connection_data;
    const reference = video.generateClientToken(ours.session_id, options);
    out({ verified: verifySignature(token, publicKey), verifiedWithOther: verifySignature(token, otherPublicKey),
      header: header(token), claims: ours, reference: claims(reference),
      referenceVerified: verifySignature(reference, publicKey) });
  }
} catch (e) { console.log(JSON.stringify({ error: `${e.name}: ${e.message}` })); }
"#;

/// The folder with `node_modules/@vonage/{jwt,video}` and the script.
fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        npm_folder(
            "vonage-node",
            &["@vonage/jwt@1.17.1", "@vonage/video@1.31.1"],
            "node_modules/@vonage/video/package.json",
            &[("vonage.mjs", NODE_SCRIPT)],
        )
    })
}

fn node(args: &[&str]) -> Result<serde_json::Value, String> {
    node_script(node_dir(), "vonage.mjs", args)
}

/// A fresh RSA key pair: (private key PEM in `encoding`, `pkcs8` or
/// `pkcs1`; public key PEM).
pub(crate) fn vonage_key_pair(encoding: &str) -> (String, String) {
    let keys = node(&["keygen", encoding]).unwrap();
    (
        keys["privateKey"].as_str().unwrap().to_owned(),
        keys["publicKey"].as_str().unwrap().to_owned(),
    )
}

/// `verifySignature(token, public_key)` (`verified`) and with
/// `other_public_key` (`verifiedWithOther`), the token's `header` and
/// `claims`, and the `reference` claims of `generateClientToken` made with
/// `private_key` for the same inputs (`referenceVerified` with the key).
pub(crate) fn check_vonage_with_node(
    token: &str,
    public_key: &str,
    other_public_key: &str,
    private_key: &str,
) -> Result<serde_json::Value, String> {
    node(&[
        "check",
        token,
        public_key,
        other_public_key,
        private_key,
        VONAGE_APPLICATION_ID,
    ])
}
