//! `POST /twilio/token`: a Twilio Video access token, with a body shaped as
//! twilio-labs plugin-rtc's token function, so that its users switch by
//! changing the URL. The identity is the signed-in caller's.

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
use crate::providers::twilio::TwilioRequest;

impl Vendor {
    /// Parses the body (400), decides it by policy and identity (403),
    /// counts it against the quota, then signs the token here.
    pub(super) async fn twilio_token(
        &self,
        request: &Request,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let twilio = self.twilio.as_ref().ok_or(ApiError::NotEnabled)?;
        check_json_sent(request)?;
        let asked = TwilioRequest::from_body(request.body().as_ref())?;
        let grant = twilio.policy().decide(&asked, authorized_sub(request))?;
        self.refuse_banned(chosen(&grant.identity), Some(&grant.room), notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = twilio.mint(&grant, deadline).await?;
        notes.issued = Some(Issued {
            room: Some(fingerprint(&grant.room)),
            identity: Some(fingerprint(&grant.identity)),
            ..Issued::by("twilio", None)
        });
        let body = json!({
            "token": minted.token(),
            "identity": grant.identity,
            "room": grant.room,
            "expiresAt": minted.expires_at().map(|at| at.to_string()),
        });
        Ok(json_response(StatusCode::OK, &body))
    }
}
