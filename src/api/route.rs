//! The routes: which path is which route, the methods each answers, how a
//! path is logged and which `Route` dimension its metrics carry. The only
//! place that classifies a path.

use http::Method;

use crate::names::fingerprint;

/// `Access-Control-Allow-Methods` and `Allow` for the token routes.
const TOKEN_METHODS: &str = "GET, POST, OPTIONS";

/// Every route the vendor answers, as openapi.yaml names its paths, with its
/// methods as `Allow` spells them (a unit test holds these to [`Route`]).
pub const ROUTES: [(&str, &str); 10] = [
    ("/token", TOKEN_METHODS),
    ("/streams/{stream}/token", TOKEN_METHODS),
    ("/rooms", "POST, OPTIONS"),
    ("/rooms/{name}", "GET, PUT, OPTIONS"),
    ("/livekit/token", "POST, OPTIONS"),
    ("/agora/token", "POST, OPTIONS"),
    ("/twilio/token", "POST, OPTIONS"),
    ("/vonage/token", "POST, OPTIONS"),
    ("/admin/bans/{identity}", BAN_METHODS),
    ("/admin/rooms/{name}", "DELETE"),
];

/// `Allow` of a ban: no `OPTIONS`, since admin routes refuse preflights.
const BAN_METHODS: &str = "GET, PUT, DELETE";

/// The admin routes (src/api/admin.rs): no CORS, no preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminRoute<'a> {
    /// `/admin/bans/{identity}`, the identity as in the raw path.
    Ban(&'a str),
    /// `/admin/rooms/{name}`, the name as in the raw path.
    Room(&'a str),
}

impl<'a> AdminRoute<'a> {
    pub(crate) fn from_path(path: &'a str) -> Option<Self> {
        let one_segment = |rest: &'a str| (!rest.is_empty() && !rest.contains('/')).then_some(rest);
        if let Some(rest) = path.strip_prefix("/admin/bans/") {
            return one_segment(rest).map(Self::Ban);
        }
        path.strip_prefix("/admin/rooms/")
            .and_then(one_segment)
            .map(Self::Room)
    }

    pub(crate) fn methods(self) -> &'static str {
        match self {
            Self::Ban(_) => BAN_METHODS,
            Self::Room(_) => "DELETE",
        }
    }

    pub(crate) fn allows(self, method: &Method) -> bool {
        match self {
            Self::Ban(_) => [Method::GET, Method::PUT, Method::DELETE].contains(method),
            Self::Room(_) => method == Method::DELETE,
        }
    }

    /// The path as logged: an identity and a room name only as hashes.
    pub(crate) fn logged(self) -> String {
        match self {
            Self::Ban(identity) => format!("/admin/bans/{}", fingerprint(identity)),
            Self::Room(name) => format!("/admin/rooms/{}", fingerprint(name)),
        }
    }
}

/// The routes the vendor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/token`: a session token (CAS, or the local demo).
    Token,
    /// `/streams/{stream}/token`: an AIPIX stream token; the id as in the
    /// raw path (checked by the policy, so percent-encoding is refused).
    StreamToken(&'a str),
    /// `/rooms`: create a room with a generated name.
    Rooms,
    /// `/rooms/{name}`: a room by name, as in the raw path.
    Room(&'a str),
    /// `/livekit/token`: a LiveKit access token (LiveKit's standard token
    /// endpoint).
    LiveKitToken,
    /// `/agora/token`: an Agora AccessToken2 (agora-token-service's body).
    AgoraToken,
    /// `/twilio/token`: a Twilio Video access token (plugin-rtc's body).
    TwilioToken,
    /// `/vonage/token`: a Vonage Video client token.
    VonageToken,
}

impl<'a> Route<'a> {
    pub(crate) fn from_path(path: &'a str) -> Option<Self> {
        match path {
            "/token" => return Some(Self::Token),
            "/rooms" => return Some(Self::Rooms),
            "/livekit/token" => return Some(Self::LiveKitToken),
            "/agora/token" => return Some(Self::AgoraToken),
            "/twilio/token" => return Some(Self::TwilioToken),
            "/vonage/token" => return Some(Self::VonageToken),
            _ => {}
        }
        if let Some(name) = path.strip_prefix("/rooms/") {
            return Some(Self::Room(name));
        }
        path.strip_prefix("/streams/")
            .and_then(|rest| rest.strip_suffix("/token"))
            .map(Self::StreamToken)
    }

    /// The methods the route answers (besides `OPTIONS`), as `Allow` and
    /// `Access-Control-Allow-Methods` spell them.
    pub(crate) fn methods(self) -> &'static str {
        match self {
            Self::Token | Self::StreamToken(_) => TOKEN_METHODS,
            Self::Rooms | Self::LiveKitToken | Self::AgoraToken | Self::TwilioToken | Self::VonageToken => {
                "POST, OPTIONS"
            }
            Self::Room(_) => "GET, PUT, OPTIONS",
        }
    }

    pub(crate) fn allows(self, method: &Method) -> bool {
        match self {
            Self::Token | Self::StreamToken(_) => method == Method::GET || method == Method::POST,
            Self::Rooms | Self::LiveKitToken | Self::AgoraToken | Self::TwilioToken | Self::VonageToken => {
                method == Method::POST
            }
            Self::Room(_) => method == Method::GET || method == Method::PUT,
        }
    }

    /// The path as logged: a room name is a capability, so only its hash.
    pub(crate) fn logged(self, path: &str) -> String {
        match self {
            Self::Room(name) => format!("/rooms/{}", fingerprint(name)),
            _ => path.to_owned(),
        }
    }
}

/// Any path as logged: a route's as [`Route::logged`] says; a path no route
/// answers only as its fingerprint. A mistyped room path (`/room/<name>`,
/// `/<name>`) carries a room name, and a room name is a capability; compare
/// the fingerprint of the path you suspect.
pub(crate) fn logged(path: &str) -> String {
    if let Some(admin) = AdminRoute::from_path(path) {
        return admin.logged();
    }
    match Route::from_path(path) {
        Some(route) => route.logged(path),
        None if path == "/" => path.to_owned(),
        None => format!("unrouted{}", fingerprint(path)),
    }
}

/// The `Route` dimension of a request's metrics, decided by its path alone
/// (so a refused origin or a preflight counts where its path points):
/// `/token`, any `/streams/...` (not only the routed `/streams/{id}/token`),
/// `/rooms` and `/rooms/...`, any `/livekit/...`, `/agora/...`,
/// `/twilio/...` or `/vonage/...`, any `/admin/...`, else `other`. Never the path: a room name is a
/// capability.
pub(crate) fn dimension(path: &str) -> &'static str {
    if path == "/token" {
        "token"
    } else if path.starts_with("/streams/") {
        "stream"
    } else if path == "/rooms" || path.starts_with("/rooms/") {
        "room"
    } else if path.starts_with("/livekit/") {
        "livekit"
    } else if path.starts_with("/agora/") {
        "agora"
    } else if path.starts_with("/twilio/") {
        "twilio"
    } else if path.starts_with("/vonage/") {
        "vonage"
    } else if path.starts_with("/admin/") {
        "admin"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_lists_exactly_what_the_router_answers() {
        for (template, methods) in ROUTES {
            let path = template
                .replace("{stream}", "cam-1")
                .replace("{name}", "party")
                .replace("{identity}", "alice");
            let answered = match AdminRoute::from_path(&path) {
                Some(admin) => admin.methods(),
                None => Route::from_path(&path)
                    .unwrap_or_else(|| panic!("{template} is not routed"))
                    .methods(),
            };
            assert_eq!(answered, methods, "{template}");
        }
        for unrouted in [
            "/admin/bans/",
            "/admin/bans/a/b",
            "/admin/rooms/",
            "/admin/rooms/a/b",
            "/admin/x",
        ] {
            assert!(AdminRoute::from_path(unrouted).is_none(), "{unrouted}");
        }
        let kinds: std::collections::BTreeSet<String> = ROUTES
            .iter()
            .filter(|(t, _)| !t.starts_with("/admin/"))
            .map(|(t, _)| {
                format!(
                    "{:?}",
                    std::mem::discriminant(
                        &Route::from_path(&t.replace("{stream}", "s").replace("{name}", "n")).unwrap()
                    )
                )
            })
            .collect();
        assert_eq!(kinds.len(), 8, "one entry per kind of route");
        for unrouted in [
            "/",
            "/tokens",
            "/streams/x",
            "/room",
            "/livekit",
            "/livekit/token/",
            "/agora",
            "/agora/token/",
            "/twilio",
            "/twilio/token/",
            "/vonage",
            "/vonage/token/",
        ] {
            assert!(Route::from_path(unrouted).is_none(), "{unrouted}");
        }
    }

    #[test]
    fn routes_are_kinds_of_path_never_the_path() {
        for (path, kind) in [
            ("/token", "token"),
            ("/streams/cam-1/token", "stream"),
            ("/streams/", "stream"),
            ("/rooms", "room"),
            ("/rooms/party-42", "room"),
            ("/livekit/token", "livekit"),
            ("/agora/token", "agora"),
            ("/agora/x", "agora"),
            ("/twilio/token", "twilio"),
            ("/vonage/token", "vonage"),
            ("/admin/bans/alice", "admin"),
            ("/roomsx", "other"),
            ("/token/", "other"),
            ("/", "other"),
            ("", "other"),
        ] {
            assert_eq!(dimension(path), kind, "{path}");
        }
    }
}
