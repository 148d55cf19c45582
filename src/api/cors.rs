//! The origin policy: which browser origins may call the vendor, and the CORS
//! headers that say so.
//!
//! Why not `tower_http::cors::CorsLayer`: it only ever *omits* headers for a
//! foreign origin and lets the request through, answers preflights with 200,
//! and sits outside the handler so error responses built inside would need a
//! second pass. The vendor must refuse a foreign origin with a 403 before any
//! upstream call and put the same headers on every response, so the policy is
//! this small module that the handler consults once per request.

use http::header::{HeaderMap, HeaderValue, ORIGIN};

/// `Access-Control-Allow-Headers`: what a web app typically sends.
pub(crate) const ALLOW_HEADERS: &str = "content-type, authorization";
/// `Access-Control-Max-Age` in seconds (Chromium caps it at 7200).
pub(crate) const MAX_AGE_SECONDS: &str = "600";

/// The browser origins that may call the vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: any origin (the request's origin is echoed back).
    Any,
    /// Exact, serialized origins (`https://app.example.com`, `null`).
    List(Vec<String>),
}

/// What the policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header: not a browser's cross-origin call (curl, a server).
    Absent,
    /// An allowed origin, to be echoed in `Access-Control-Allow-Origin`.
    Allowed(HeaderValue),
    /// A foreign origin (or several `Origin` headers): refuse with 403.
    Refused,
}

impl AllowedOrigins {
    /// Parses `ALLOWED_ORIGINS`: `*`, or comma-separated origins exactly as a
    /// browser serializes them (scheme, host, optional port; no path).
    pub fn parse(list: &str) -> Result<Self, String> {
        let entries: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if entries.is_empty() {
            return Err("no origin given".to_owned());
        }
        if entries.contains(&"*") {
            return if entries.len() == 1 {
                Ok(Self::Any)
            } else {
                Err("`*` cannot be combined with other origins".to_owned())
            };
        }
        let mut origins = Vec::with_capacity(entries.len());
        for entry in entries {
            origins.push(parse_origin(entry)?);
        }
        Ok(Self::List(origins))
    }

    /// Whether `origin` (as a browser sends it) is allowed: exact match only.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|o| o == origin),
        }
    }

    /// Checks the request's `Origin` header(s).
    pub fn check(&self, headers: &HeaderMap) -> OriginCheck {
        let mut values = headers.get_all(ORIGIN).iter();
        let Some(origin) = values.next() else {
            return OriginCheck::Absent;
        };
        if values.next().is_some() {
            return OriginCheck::Refused;
        }
        match origin.to_str() {
            Ok(text) if self.allows(text) => OriginCheck::Allowed(origin.clone()),
            _ => OriginCheck::Refused,
        }
    }
}

fn parse_origin(entry: &str) -> Result<String, String> {
    if entry == "null" {
        return Ok(entry.to_owned());
    }
    let url = url::Url::parse(entry).map_err(|_| format!("`{entry}` is not an origin"))?;
    let serialized = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || serialized != entry {
        return Err(format!(
            "`{entry}` is not an origin as browsers send it (expected the form `{serialized}`: scheme://host[:port], no path or trailing slash)"
        ));
    }
    Ok(serialized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origins: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for o in origins {
            h.append(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    fn list() -> AllowedOrigins {
        AllowedOrigins::parse("https://app.example.com, http://localhost:5173").unwrap()
    }

    #[test]
    fn listed_origin_is_allowed_and_echoed() {
        assert_eq!(
            list().check(&headers(&["https://app.example.com"])),
            OriginCheck::Allowed(HeaderValue::from_static("https://app.example.com"))
        );
    }

    #[test]
    fn missing_origin_is_not_a_browser_call() {
        assert_eq!(list().check(&headers(&[])), OriginCheck::Absent);
    }

    #[test]
    fn prefix_suffix_and_case_tricks_are_refused() {
        for origin in [
            "https://app.example.com.evil.net",
            "https://evil-app.example.com",
            "https://app.example.co",
            "http://app.example.com",
            "https://app.example.com:443",
            "https://APP.example.com",
            "https://app.example.com/",
            "null",
            "",
        ] {
            assert_eq!(
                list().check(&headers(&[origin])),
                OriginCheck::Refused,
                "{origin}"
            );
        }
    }

    #[test]
    fn null_origin_is_allowed_only_when_listed() {
        let policy = AllowedOrigins::parse("null").unwrap();
        assert!(matches!(
            policy.check(&headers(&["null"])),
            OriginCheck::Allowed(_)
        ));
    }

    #[test]
    fn two_origin_headers_are_refused() {
        let h = headers(&["https://app.example.com", "https://app.example.com"]);
        assert_eq!(list().check(&h), OriginCheck::Refused);
    }

    #[test]
    fn wildcard_allows_any_origin() {
        let any = AllowedOrigins::parse("*").unwrap();
        assert!(matches!(
            any.check(&headers(&["https://x.example"])),
            OriginCheck::Allowed(_)
        ));
    }

    #[test]
    fn malformed_lists_are_rejected() {
        for bad in [
            "",
            " , ",
            "*,https://a.example",
            "app.example.com",
            "https://app.example.com/path",
            "https://App.Example.com",
            "https://app.example.com:443",
            "ftp://files.example.com",
        ] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad:?}");
        }
    }
}
