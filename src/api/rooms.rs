//! `POST /rooms` and `GET|PUT /rooms/{name}`: every client of one watch party
//! gets the same token, minted once by the `/token` provider.

use http::header::{HeaderValue, LOCATION};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::api::request::check_json_body;
use crate::api::response::json_response;
use crate::api::{Notes, Vendor};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::authorized_sub;
use crate::providers::UpstreamTrace;
use crate::rooms::{RoomName, RoomToken};

/// Which room route was asked for.
#[derive(Debug, Clone, Copy)]
pub(super) enum RoomRoute<'a> {
    /// `POST /rooms`: a room with a generated name.
    Create,
    /// `/rooms/{name}`, the name as in the raw path.
    Named(&'a str),
}

impl Vendor {
    /// A room's token: read (`GET`, never minting), joined or minted (`PUT`,
    /// and `POST /rooms` with a new name). `path` is the routed path, which
    /// `Location` keeps the caller's stage in front of.
    pub(super) async fn room(
        &self,
        request: &Request,
        route: RoomRoute<'_>,
        path: &str,
        notes: &mut Notes,
        upstream: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let (Some(rooms), Some(tokens)) = (&self.rooms, &self.tokens) else {
            return Err(ApiError::RoomsNotEnabled);
        };
        match route {
            RoomRoute::Named(raw) => {
                let name = RoomName::parse(raw).ok_or(ApiError::BadRequest(
                    "A room name is 1-128 characters of A-Z a-z 0-9 . _ ~ -",
                ))?;
                self.refuse_banned(authorized_sub(request), Some(name.as_str()), notes, deadline)
                    .await?;
                if request.method() != Method::GET {
                    self.admit(request, notes, deadline).await?;
                }
                let room = if request.method() == Method::GET {
                    rooms.get(&name, deadline).await?
                } else {
                    rooms.put(&name, tokens, upstream, deadline).await?
                };
                notes.issued = Some(tokens.issued(room.token.token()));
                Ok(room_response(&room, None))
            }
            RoomRoute::Create => {
                check_json_body(request)?;
                let name = RoomName::generate().map_err(|e| ApiError::Internal(Box::new(e)))?;
                self.refuse_banned(authorized_sub(request), Some(name.as_str()), notes, deadline)
                    .await?;
                self.admit(request, notes, deadline).await?;
                let room = rooms.put(&name, tokens, upstream, deadline).await?;
                notes.issued = Some(tokens.issued(room.token.token()));
                // `Location` as the caller addressed the API: with the
                // stage (`/Prod`) that a REST API puts before the route.
                let stage = request.uri().path().strip_suffix(path).unwrap_or_default();
                Ok(room_response(&room, Some(stage)))
            }
        }
    }
}

/// A room's token: `201` (with `Location` under `created`'s path prefix
/// when the name was generated) when this call minted it, `200` when it
/// joined.
fn room_response(room: &RoomToken, created: Option<&str>) -> Response<Body> {
    let mut body = json!({ "room": room.room.as_str(), "token": room.token.token() });
    if let Some(expires_at) = room.token.expires_at() {
        body["expiresAt"] = json!(expires_at.to_string());
    }
    let status = if room.minted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, &body);
    if let Some(prefix) = created
        && let Ok(location) = HeaderValue::from_str(&format!("{prefix}/rooms/{}", room.room.as_str()))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}
