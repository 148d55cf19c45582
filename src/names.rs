//! Names and caller-given texts, checked once for every feature: the
//! alphabets of room, channel and stream names, sizes counted in UTF-8 bytes
//! (what a token carries, not what a user sees), control characters refused,
//! and the fingerprint that stands for a name in logs.

/// The longest room, channel or stream name, in bytes.
pub const MAX_NAME: usize = 128;

/// A room name (rooms, LiveKit rooms, and the rooms of providers to come):
/// 1-128 bytes of `A-Z a-z 0-9 . _ ~ -` (a raw path segment, so `%` and any
/// percent-encoding are refused).
pub fn is_room_name(name: &str) -> bool {
    in_alphabet(name, b"._~-")
}

/// The `room_name` a signer's body must hold (LiveKit's, Twilio's), or why
/// it is refused (the 400's message): missing, or outside the room alphabet.
pub(crate) fn room_name(asked: Option<&str>) -> Result<&str, &'static str> {
    match asked {
        None => Err("room_name is required."),
        Some(room) if is_room_name(room) => Ok(room),
        Some(_) => Err("room_name must be 1-128 bytes of A-Z a-z 0-9 . _ ~ -"),
    }
}

/// A stream id: 1-128 bytes of `A-Z a-z 0-9 . _ -`.
pub fn is_stream_id(id: &str) -> bool {
    in_alphabet(id, b"._-")
}

/// The longest Agora channel name, in bytes.
pub const MAX_CHANNEL: usize = 64;

/// An Agora channel name: 1-64 bytes of `A-Z a-z 0-9`, space and
/// `! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,` (Agora's alphabet).
pub fn is_channel_name(name: &str) -> bool {
    (1..=MAX_CHANNEL).contains(&name.len()) && name.bytes().all(is_agora_byte)
}

/// An Agora user account (a uid as text): 1-255 bytes of Agora's channel
/// alphabet, the one its SDKs take for `joinChannelWithUserAccount`.
pub(crate) fn is_agora_account(account: &str) -> bool {
    (1..=255).contains(&account.len()) && account.bytes().all(is_agora_byte)
}

fn is_agora_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" !#$%&()+-:;<=.>?@[]^_{}|~,".contains(&b)
}

/// 1 to [`MAX_NAME`] bytes, each an ASCII letter, digit or one of `extra`.
fn in_alphabet(name: &str, extra: &[u8]) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Which rooms (or channels) may be asked for: `LIVEKIT_ROOMS`,
/// `AGORA_CHANNELS` and the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedRooms {
    Any,
    /// Names, or prefixes ending in `*` (`party-*`).
    List(Vec<RoomPattern>),
}

impl AllowedRooms {
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(patterns) => patterns.iter().any(|p| p.matches(name)),
        }
    }
}

/// One entry of an allow-list of rooms: a name, or a prefix ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomPattern {
    Exact(String),
    Prefix(String),
}

impl RoomPattern {
    /// `name`, or `prefix*`; the name (or prefix) in the room alphabet.
    pub fn parse(text: &str) -> Option<Self> {
        Self::parse_with(text, is_room_name)
    }

    /// `name`, or `prefix*`; the name (or a non-empty prefix) accepted by
    /// `is_name`, the alphabet of the provider's names.
    pub fn parse_with(text: &str, is_name: fn(&str) -> bool) -> Option<Self> {
        match text.strip_suffix('*') {
            Some(prefix) => (prefix.is_empty() || is_name(prefix)).then(|| Self::Prefix(prefix.to_owned())),
            None => is_name(text).then(|| Self::Exact(text.to_owned())),
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Exact(exact) => exact == name,
            Self::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

/// Whether the authority of `url` (what follows `scheme://`, up to its
/// path, query or fragment) is plain ASCII without `%`. The build has no
/// Unicode IDNA tables (Cargo.lock pins `idna_adapter` 1.0; BENCHMARKS.md,
/// "How to run"), so the URL parser refuses any other host; the
/// configuration checks this first to say why (punycode, `xn--…`, is
/// ASCII).
pub(crate) fn is_ascii_authority(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#', '\\'])
        .next()
        .unwrap_or_default();
    authority.is_ascii() && !authority.contains('%')
}

/// A caller-given text (a display name, metadata, an attribute, an
/// identity): at most `max_bytes` UTF-8 bytes and no control character
/// (C0, DEL, C1), each of which a JSON token would carry as a 6-byte escape.
pub fn is_plain_text(text: &str, max_bytes: usize) -> bool {
    text.len() <= max_bytes && !text.chars().any(char::is_control)
}

/// A short hash of a name (or of any text that may hold one), for logs:
/// `#` and 8 hex digits of its SHA-256.
pub fn fingerprint(name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    let digest = digest.as_ref();
    format!(
        "#{}",
        digest
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_alphabets_in_bytes() {
        for ok in ["a", "watch-party_1.x~y", &"a".repeat(128)] {
            assert!(is_room_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a%20b", "a/b", "ä", &"a".repeat(129)] {
            assert!(!is_room_name(bad), "{bad}");
        }
        assert!(is_stream_id("cam-1.main_2"));
        for ok in ["a", "Party #1 (main) {x}|y~z,w", &"c".repeat(64)] {
            assert!(is_channel_name(ok), "{ok}");
        }
        for bad in ["", "a/b", "a*b", "a'b", "a\"b", "ä", "a\tb", &"c".repeat(65)] {
            assert!(!is_channel_name(bad), "{bad}");
        }
        assert!(!is_stream_id("cam~1"));
    }

    #[test]
    fn an_ascii_authority_has_no_unicode_and_no_percent() {
        for ok in [
            "https://xn--bcher-kva.example/p/ü",
            "http://EXAMPLE.com",
            "localhost",
            "wss://a:1?x=ü",
        ] {
            assert!(is_ascii_authority(ok), "{ok}");
        }
        for bad in [
            "https://bücher.example",
            "http://A%C3%BC.example/",
            "http://localhostA🛜",
            "http://u@ü/",
        ] {
            assert!(!is_ascii_authority(bad), "{bad}");
        }
    }

    #[test]
    fn plain_text_is_bounded_in_bytes_and_has_no_control_character() {
        assert!(is_plain_text("Zoë 🎉", 9));
        // Four bytes an emoji: 3 emoji are 12 bytes.
        assert!(!is_plain_text(&"🎉".repeat(3), 11));
        assert!(is_plain_text(&"🎉".repeat(3), 12));
        for control in ["a\u{1}", "a\nb", "\u{7f}", "\u{85}", "tab\t"] {
            assert!(!is_plain_text(control, 100), "{control:?}");
        }
    }

    #[test]
    fn the_fingerprint_does_not_contain_the_name() {
        let f = fingerprint("secret-room-name");
        assert!(!f.contains("secret") && f.len() == 9, "{f}");
    }
}
