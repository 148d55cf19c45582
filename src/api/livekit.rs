//! `POST /livekit/token`: LiveKit's standard token endpoint, so that
//! LiveKit's client SDKs (`TokenSource.endpoint(url)`) work against the
//! vendor as is. The identity is the signed-in caller's.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::api::request::check_json_sent;
use crate::api::response::json_response;
use crate::api::{Issued, Notes, Vendor, chosen};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::authorized_sub;
use crate::names::fingerprint;
use crate::providers::livekit::TokenRequest;

impl Vendor {
    /// Parses the body (400), decides it by policy and identity (403),
    /// counts it against the quota, then signs the token here.
    pub(super) async fn livekit_token(
        &self,
        request: &Request,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let livekit = self.livekit.as_ref().ok_or(ApiError::NotEnabled)?;
        check_json_sent(request)?;
        let asked = TokenRequest::from_body(request.body().as_ref())?;
        let grant = livekit.policy().decide(&asked, authorized_sub(request))?;
        self.refuse_banned(chosen(&grant.identity), Some(&grant.room), notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = livekit.mint(&grant, deadline).await?;
        notes.issued = Some(Issued {
            room: Some(fingerprint(&grant.room)),
            identity: Some(fingerprint(&grant.identity)),
            ..Issued::by("livekit", None)
        });
        let mut body = json!({
            "server_url": livekit.url(),
            "participant_token": minted.token(),
        });
        if let Some(expires_at) = minted.expires_at() {
            body["expiresAt"] = json!(expires_at.to_string());
        }
        Ok(json_response(StatusCode::CREATED, &body))
    }
}
