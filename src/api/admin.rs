//! The admin routes: `PUT|GET|DELETE /admin/bans/{identity}` and `DELETE
//! /admin/rooms/{name}`. For an operator's backend, never a browser: no
//! CORS, every preflight refused. Who is an admin ([`AdminAccess`]): under
//! Lambda a caller API Gateway (or a Function URL) authorized with IAM,
//! optionally only the listed principals; locally the bearer of
//! `ADMIN_TOKEN`. Every action writes an audit line: the admin's
//! fingerprint, the action, the identity or room as its fingerprint.

use std::time::Duration;

use http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::api::request::body_too_large;
use crate::api::response::json_response;
use crate::api::route::AdminRoute;
use crate::api::{Notes, Vendor};
use crate::bans::{self, Ban, MAX_REASON, MAX_ROOMS, MAX_TTL_S};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::names::{fingerprint, is_plain_text};
use crate::rooms::RoomName;

/// The shortest `ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN: usize = 32;

/// Who may call the admin routes. `Debug` names neither the token nor a
/// principal.
#[derive(Clone, Default)]
pub enum AdminAccess {
    /// Local mode without `ADMIN_TOKEN`: the admin routes are 404.
    #[default]
    Off,
    /// Local mode: `Authorization: Bearer <ADMIN_TOKEN>` (compared in
    /// constant time).
    Token(SecretString),
    /// Under Lambda: a request API Gateway or a Function URL authorized
    /// with IAM, and with `ADMIN_PRINCIPALS` only those ARNs (an entry
    /// ending in `*` is a prefix: `arn:aws:sts::123:assumed-role/Ops/*`).
    Iam { principals: Option<Vec<String>> },
}

impl std::fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("Off"),
            Self::Token(_) => f.write_str("Token([REDACTED])"),
            Self::Iam { principals } => f
                .debug_struct("Iam")
                .field("principals", &principals.as_ref().map(Vec::len))
                .finish(),
        }
    }
}

impl AdminAccess {
    /// The admin's principal (an ARN, or `admin-token`), or `403
    /// admin_required`.
    fn admit(&self, request: &Request) -> Result<String, ApiError> {
        match self {
            Self::Off => Err(ApiError::NotFound),
            Self::Token(token) => {
                let presented = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
                    .unwrap_or_default();
                let expected = token.expose_secret().as_bytes();
                // Constant time over the token's bytes; the lengths differ
                // only for a wrong token.
                if bool::from(presented.ct_eq(expected)) {
                    Ok("admin-token".to_owned())
                } else {
                    Err(ApiError::AdminRequired)
                }
            }
            Self::Iam { principals } => {
                let arn = iam_principal(request).ok_or(ApiError::AdminRequired)?;
                let listed = principals.as_ref().is_none_or(|list| {
                    list.iter().any(|entry| match entry.strip_suffix('*') {
                        Some(prefix) => arn.starts_with(prefix),
                        None => entry == arn,
                    })
                });
                if listed {
                    Ok(arn.to_owned())
                } else {
                    Err(ApiError::AdminRequired)
                }
            }
        }
    }
}

/// The IAM principal API Gateway authorized: `requestContext.authorizer.iam
/// .userArn` (HTTP API, Function URL), or `requestContext.identity.userArn`
/// of a REST API (set only under IAM authorization). Never a header.
fn iam_principal(request: &Request) -> Option<&str> {
    let arn = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.iam.as_ref())
            .and_then(|iam| iam.user_arn.as_deref()),
        RequestContext::ApiGatewayV1(context) => context.identity.user_arn.as_deref(),
        _ => None,
    };
    arn.filter(|arn| arn.starts_with("arn:") && is_plain_text(arn, 2048))
}

/// The body of `PUT /admin/bans/{identity}`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BanRequest {
    rooms: Option<Vec<String>>,
    ttl_s: Option<u64>,
    reason: Option<String>,
}

impl BanRequest {
    /// Parses and checks the body (400): an empty body is `{}`.
    fn parse(body: &[u8]) -> Result<Ban, ApiError> {
        let asked: Self = if crate::json::is_json_whitespace(body) {
            Self::default()
        } else {
            serde_json::from_slice(body).map_err(|_| {
                ApiError::BadRequest(
                    "The body must be a JSON object with only rooms (an array of names or prefix*), ttl_s and reason.",
                )
            })?
        };
        let rooms = match asked.rooms {
            None => None,
            Some(rooms) if rooms.is_empty() || rooms.len() > MAX_ROOMS => {
                return Err(ApiError::BadRequest(
                    "rooms must hold 1-50 room names or prefix* patterns.",
                ));
            }
            Some(rooms) if rooms.iter().any(|room| bans::parse_pattern(room).is_none()) => {
                return Err(ApiError::BadRequest(
                    "Each room is a name, or a prefix ending in *, of 1-256 bytes without spaces or control characters.",
                ));
            }
            // `*` alone covers every room: the same as no list.
            Some(rooms) if rooms.iter().any(|room| room == "*") => None,
            Some(mut rooms) => {
                rooms.sort();
                rooms.dedup();
                Some(rooms)
            }
        };
        if asked.ttl_s.is_some_and(|ttl| !(1..=MAX_TTL_S).contains(&ttl)) {
            return Err(ApiError::BadRequest("ttl_s must be 1-31622400 seconds (a year)."));
        }
        if asked
            .reason
            .as_ref()
            .is_some_and(|reason| !is_plain_text(reason, MAX_REASON))
        {
            return Err(ApiError::BadRequest(
                "reason must be at most 512 bytes without control characters.",
            ));
        }
        Ok(Ban {
            rooms,
            expires_at: bans::expiry(asked.ttl_s.map(Duration::from_secs)),
            reason: asked.reason,
        })
    }
}

/// `{identity}` of an admin path, decoded once: as API Gateway's route
/// parameter (an HTTP API's `{identity}`, which it has decoded already), else
/// the raw segment percent-decoded here (the local server, a REST API, a
/// Function URL); then 1-256 bytes of plain text (400).
fn identity_of(request: &Request, raw: &str) -> Result<String, ApiError> {
    let decoded = match request.path_parameters_ref().and_then(|p| p.first("identity")) {
        Some(identity) => Some(identity.to_owned()),
        None => percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()
            .map(|identity| identity.into_owned()),
    };
    decoded
        .filter(|identity| bans::is_identity(identity))
        .ok_or(ApiError::BadRequest(
            "The identity must be 1-256 bytes (UTF-8, percent-encoded in the path) without control characters.",
        ))
}

impl Vendor {
    /// An admin route: 404 when admin is off; preflights and callers that
    /// are not admins 403 `admin_required`; then the body, the method and
    /// the action.
    pub(super) async fn admin(
        &self,
        request: &Request,
        route: AdminRoute<'_>,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        if matches!(self.admin, AdminAccess::Off) {
            return Err(ApiError::NotFound);
        }
        if request.method() == Method::OPTIONS {
            return Err(ApiError::AdminRequired);
        }
        let principal = self.admin.admit(request)?;
        if body_too_large(request) {
            return Err(ApiError::PayloadTooLarge);
        }
        if !route.allows(request.method()) {
            return Err(ApiError::MethodNotAllowed(route.methods()));
        }
        let admin = fingerprint(&principal);
        match route {
            AdminRoute::Ban(raw) => {
                let bans = self.bans.as_ref().ok_or(ApiError::BansNotEnabled)?;
                let identity = identity_of(request, raw)?;
                let who = fingerprint(&identity);
                match *request.method() {
                    Method::PUT => {
                        let ban = BanRequest::parse(request.body().as_ref())?;
                        bans.put(&identity, &ban, deadline).await?;
                        tracing::info!(admin = %admin, action = "ban", identity = %who, rooms = ban.rooms.as_ref().map(Vec::len), "admin");
                        let (kicked, failures) = self.kick(&identity, &ban, deadline).await;
                        notes.admin = true;
                        let mut body = ban_body(&identity, &ban);
                        body["kicked"] = json!(kicked);
                        body["kickFailures"] = json!(failures);
                        Ok(json_response(StatusCode::OK, &body))
                    }
                    Method::GET => {
                        let ban = bans.get(&identity, deadline).await?.ok_or(ApiError::NotFound)?;
                        Ok(json_response(StatusCode::OK, &ban_body(&identity, &ban)))
                    }
                    _ => {
                        bans.delete(&identity, deadline).await?;
                        tracing::info!(admin = %admin, action = "unban", identity = %who, "admin");
                        notes.admin = true;
                        Ok(no_content())
                    }
                }
            }
            AdminRoute::Room(raw) => {
                let rooms = self.rooms.as_ref().ok_or(ApiError::RoomsNotEnabled)?;
                let name = RoomName::parse(raw).ok_or(ApiError::BadRequest(
                    "A room name is 1-128 characters of A-Z a-z 0-9 . _ ~ -",
                ))?;
                rooms.end(&name, deadline).await?;
                tracing::info!(admin = %admin, action = "end_room", room = %fingerprint(name.as_str()), "admin");
                notes.admin = true;
                Ok(no_content())
            }
        }
    }

    /// Removes the banned identity from each concrete room of the ban on
    /// LiveKit (when LiveKit is configured): how many were removed (a 404,
    /// not in the room, is neither a removal nor a failure), and the rooms
    /// that failed with why.
    async fn kick(&self, identity: &str, ban: &Ban, deadline: Deadline) -> (usize, Vec<serde_json::Value>) {
        let Some(livekit) = &self.livekit else {
            return (0, Vec::new());
        };
        let (mut kicked, mut failures) = (0, Vec::new());
        for room in ban.concrete_rooms() {
            match livekit.kick(identity, room, deadline).await {
                Ok(removed) => kicked += usize::from(removed),
                Err(failure) => {
                    tracing::warn!(
                        room = %fingerprint(room),
                        reason = %failure.reason(),
                        "LiveKit RemoveParticipant failed"
                    );
                    failures.push(json!({ "room": room, "reason": failure.reason() }));
                }
            }
        }
        (kicked, failures)
    }
}

/// A ban as answered: `rooms` and `expiresAt` `null` for every room and
/// until deleted.
fn ban_body(identity: &str, ban: &Ban) -> serde_json::Value {
    json!({
        "identity": identity,
        "rooms": ban.rooms,
        "expiresAt": ban
            .expires_at
            .and_then(|at| jiff::Timestamp::from_second(at).ok())
            .map(|at| at.to_string()),
        "reason": ban.reason,
    })
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
