//! `GET|POST /streams/{stream}/token`: an AIPIX stream token, asked for in the
//! query (GET) or a JSON body (POST), decided by the operator's policy.

use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::api::request::check_json_sent;
use crate::api::response::json_response;
use crate::api::{Issued, Notes, Vendor};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::authorized_sub;
use crate::providers::aipix::{self, Asked, StreamRequest};
use crate::providers::{Minted, UpstreamTrace};

impl Vendor {
    /// Parses what is asked (400), decides it by policy (403), counts it
    /// against the quota, then makes the one AIPIX call.
    pub(super) async fn stream_token(
        &self,
        request: &Request,
        stream: &str,
        notes: &mut Notes,
        upstream: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let streams = self.streams.as_ref().ok_or(ApiError::NotEnabled)?;
        let asked = if request.method() == Method::GET {
            Asked::from_query(request.uri().query().unwrap_or_default())?
        } else if request.uri().query().is_some_and(|q| !q.is_empty()) {
            return Err(ApiError::BadRequest(
                "POST takes its parameters in the JSON body, not the query.",
            ));
        } else {
            check_json_sent(request)?;
            Asked::from_body(request.body().as_ref())?
        };
        let decided = streams.policy().decide(stream, &asked)?;
        self.refuse_banned(authorized_sub(request), Some(stream), notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = streams.mint(&decided, upstream, deadline).await?;
        notes.issued = Some(Issued::by("aipix", None));
        Ok(stream_token_response(&minted, &decided))
    }
}

fn stream_token_response(minted: &Minted, request: &StreamRequest) -> Response<Body> {
    let mut body = json!({
        "token": minted.token(),
        "stream": request.stream,
        "rights": {
            "live": request.rights.live,
            "dvr": request.rights.dvr,
            "copy": request.rights.copy,
        },
    });
    if let Some(expires_at) = aipix::expiry(request.ttl) {
        body["expiresAt"] = json!(expires_at.to_string());
    }
    json_response(StatusCode::OK, &body)
}
