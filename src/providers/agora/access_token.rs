//! Agora's AccessToken2 (`007`), packed as Agora's own builders pack it
//! (AgoraIO/Tools, `AccessToken2.py` and `AccessToken2.js`): little-endian
//! integers, strings and privilege maps behind a `u16` length, privileges
//! sorted by key; the signing key derived by HMAC-SHA256 from the issue time
//! and salt over the app certificate; `"007"` + base64(zlib(signature +
//! signing info)).
//!
//! The zlib stream is written with stored (uncompressed) deflate blocks,
//! which every zlib reader takes: a token's content is at most ~700 bytes, a
//! third of them random (the signature), and deflate saves a few bytes of
//! it, while a deflate encoder would cost the zip more than its whole
//! remaining budget (BENCHMARKS.md). Agora's own verifiers read it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

/// The version prefix of an AccessToken2.
pub(crate) const VERSION: &str = "007";

/// One service of a token, with its privileges (key, expiry in seconds from
/// the issue time), sorted by key.
#[derive(Clone, Copy)]
pub(crate) enum Service<'a> {
    /// RTC (service 1): a channel and a uid or user account.
    Rtc {
        channel: &'a str,
        uid: &'a str,
        privileges: &'a [(u16, u32)],
    },
    /// RTM (service 2): a user id.
    Rtm {
        user_id: &'a str,
        privileges: &'a [(u16, u32)],
    },
}

/// The fields every token carries besides its service.
#[derive(Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub(crate) app_id: &'a str,
    pub(crate) certificate: &'a [u8],
    /// Seconds since the epoch.
    pub(crate) issued: u32,
    /// Seconds from `issued` to the token's expiry.
    pub(crate) expire: u32,
    pub(crate) salt: u32,
}

/// The token `"007…"`. Every string is at most 64 KiB - 1 bytes (the
/// callers bound them far below: channel 64, uid 255).
pub(crate) fn build(envelope: &Envelope<'_>, service: &Service<'_>) -> String {
    let mut info = Vec::with_capacity(384);
    put_string(&mut info, envelope.app_id.as_bytes());
    put_u32(&mut info, envelope.issued);
    put_u32(&mut info, envelope.expire);
    put_u32(&mut info, envelope.salt);
    put_u16(&mut info, 1);
    pack_service(&mut info, service);

    let signing = signing_key(envelope.certificate, envelope.issued, envelope.salt);
    let signature = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &signing), &info);
    let mut content = Vec::with_capacity(2 + 32 + info.len());
    put_string(&mut content, signature.as_ref());
    content.extend_from_slice(&info);

    let stream = zlib_stored(&content);
    let mut token = String::with_capacity(VERSION.len() + stream.len().div_ceil(3) * 4);
    token.push_str(VERSION);
    STANDARD.encode_string(&stream, &mut token);
    token
}

/// HMAC(u32le(salt), HMAC(u32le(issued), certificate)), as Agora derives it.
fn signing_key(certificate: &[u8], issued: u32, salt: u32) -> [u8; 32] {
    let first = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &issued.to_le_bytes()),
        certificate,
    );
    let second = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &salt.to_le_bytes()),
        first.as_ref(),
    );
    let mut key = [0; 32];
    key.copy_from_slice(second.as_ref());
    key
}

fn pack_service(out: &mut Vec<u8>, service: &Service<'_>) {
    let (kind, privileges) = match service {
        Service::Rtc { privileges, .. } => (1, privileges),
        Service::Rtm { privileges, .. } => (2, privileges),
    };
    put_u16(out, kind);
    // The callers' lists are a few entries, sorted by key.
    put_u16(out, privileges.len() as u16);
    for (key, expire) in privileges.iter() {
        put_u16(out, *key);
        put_u32(out, *expire);
    }
    match service {
        Service::Rtc { channel, uid, .. } => {
            put_string(out, channel.as_bytes());
            put_string(out, uid.as_bytes());
        }
        Service::Rtm { user_id, .. } => put_string(out, user_id.as_bytes()),
    }
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A `u16` length, then the bytes (callers bound the length).
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u16(out, bytes.len() as u16);
    out.extend_from_slice(bytes);
}

/// The largest stored deflate block.
const MAX_STORED: usize = 65_535;

/// A zlib stream (RFC 1950) of `data` in stored deflate blocks (RFC 1951,
/// 3.2.4): the header `78 01`, blocks of at most 65,535 bytes, Adler-32.
pub(crate) fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let blocks = data.len().div_ceil(MAX_STORED).max(1);
    let mut out = Vec::with_capacity(2 + blocks * 5 + data.len() + 4);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = data.chunks(MAX_STORED).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that cannot overflow `b` before the modulo.
    for chunk in data.chunks(5552) {
        for byte in chunk {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}
