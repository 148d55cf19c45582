//! A room's name is a capability: whoever knows it joins the room. So the
//! name travels as [`RoomName`], whose `Debug` and `Display` print only its
//! fingerprint; only the store's key and the answer's body read the name
//! itself ([`RoomName::as_str`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::names::{fingerprint, is_room_name};

/// A valid room name. Prints as its fingerprint (`#1a2b3c4d`), never itself.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    /// The name in a raw path, when it is one ([`is_room_name`]).
    pub fn parse(raw: &str) -> Option<Self> {
        is_room_name(raw).then(|| Self(raw.to_owned()))
    }

    /// A new, unguessable room name: 128 random bits, URL-safe (22 characters).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The name itself: for the store's key and the answer, never a log.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fingerprint(&self.0))
    }
}

impl fmt::Debug for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomName({})", fingerprint(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_valid_distinct_and_carry_128_bits() {
        let (a, b) = (RoomName::generate().unwrap(), RoomName::generate().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
        assert!(is_room_name(a.as_str()));
    }

    #[test]
    fn the_fingerprint_does_not_contain_the_name() {
        let f = fingerprint("secret-room-name");
        assert!(!f.contains("secret") && f.len() == 9, "{f}");
        let name = RoomName::parse("secret-room-name").unwrap();
        assert_eq!(name.to_string(), f);
        assert_eq!(format!("{name:?}"), format!("RoomName({f})"));
        assert!(RoomName::parse("a b").is_none());
    }
}
