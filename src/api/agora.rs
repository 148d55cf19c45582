//! `POST /agora/token`: an Agora AccessToken2, with a body shaped as
//! agora-token-service's `POST /getToken`, so that its users switch by
//! changing the URL. The uid is the signed-in caller's.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::api::request::check_json_sent;
use crate::api::response::json_response;
use crate::api::{Issued, Notes, Vendor};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::authorized_sub;
use crate::names::fingerprint;
use crate::providers::agora::AgoraRequest;

impl Vendor {
    /// Parses the body (400), decides it by policy and identity (403),
    /// counts it against the quota, then signs the token here.
    pub(super) async fn agora_token(
        &self,
        request: &Request,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let agora = self.agora.as_ref().ok_or(ApiError::NotEnabled)?;
        check_json_sent(request)?;
        let asked = AgoraRequest::from_body(request.body().as_ref())?;
        let grant = agora.policy().decide(&asked, authorized_sub(request))?;
        self.refuse_banned(Some(&grant.uid), grant.channel(), notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = agora.mint(&grant, deadline).await?;
        notes.issued = Some(Issued {
            room: grant.channel().map(fingerprint),
            identity: Some(fingerprint(&grant.uid)),
            ..Issued::by("agora", None)
        });
        let body = json!({
            "token": minted.token(),
            "expiresAt": minted.expires_at().map(|at| at.to_string()),
            "uid": grant.uid,
            "appId": agora.app_id(),
        });
        Ok(json_response(StatusCode::OK, &body))
    }
}
