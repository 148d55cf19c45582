//! `POST /vonage/token`: a Vonage Video client token for a session, with
//! the signed-in caller's identity in its connection data.

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
use crate::providers::vonage::VonageRequest;

impl Vendor {
    /// Parses the body (400), decides it by policy and identity (403),
    /// counts it against the quota, then signs the token here.
    pub(super) async fn vonage_token(
        &self,
        request: &Request,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let vonage = self.vonage.as_ref().ok_or(ApiError::NotEnabled)?;
        check_json_sent(request)?;
        let asked = VonageRequest::from_body(request.body().as_ref())?;
        let grant = vonage.policy().decide(&asked, authorized_sub(request))?;
        self.refuse_banned(chosen(&grant.identity), Some(&grant.session_id), notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = vonage.mint(&grant, deadline).await?;
        notes.issued = Some(Issued {
            room: Some(fingerprint(&grant.session_id)),
            identity: Some(fingerprint(&grant.identity)),
            ..Issued::by("vonage", None)
        });
        let body = json!({
            "token": minted.token(),
            "applicationId": vonage.application_id(),
            "sessionId": grant.session_id,
            "role": grant.role,
            "expiresAt": minted.expires_at().map(|at| at.to_string()),
        });
        Ok(json_response(StatusCode::OK, &body))
    }
}
