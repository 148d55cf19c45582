//! `GET|POST /token`: a session token from the configured provider (CAS, or
//! the local demo), which rooms hand out too.

use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::api::request::check_json_body;
use crate::api::response::json_response;
use crate::api::{Issued, Notes, Vendor};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::authorized_sub;
use crate::jwt;
use crate::providers::cas::CasClient;
use crate::providers::demo::DemoUpstream;
use crate::providers::{Minted, TokenSource, UpstreamError, UpstreamTrace};

/// The source of session tokens behind `/token` (and rooms).
#[derive(Debug)]
pub enum TokenProvider {
    Cas(CasClient),
    Demo(DemoUpstream),
}

impl TokenProvider {
    /// The provider's name in the audit line.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Cas(_) => "cas",
            Self::Demo(_) => "demo",
        }
    }

    /// What the audit line records of a token this provider made: its name
    /// and CAS's session id (`rid`).
    pub(crate) fn issued(&self, token: &str) -> Issued {
        Issued::by(self.name(), jwt::session_id(token))
    }
}

impl TokenSource for TokenProvider {
    async fn mint(&self, trace: &mut UpstreamTrace, deadline: Deadline) -> Result<Minted, UpstreamError> {
        match self {
            Self::Cas(cas) => cas.mint(trace, deadline).await,
            Self::Demo(demo) => demo.mint(),
        }
    }
}

impl Vendor {
    /// `/token`: an optional JSON object body on POST, the quota, one mint.
    pub(super) async fn token(
        &self,
        request: &Request,
        notes: &mut Notes,
        upstream: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let tokens = self.tokens.as_ref().ok_or(ApiError::NotEnabled)?;
        if request.method() == Method::POST {
            check_json_body(request)?;
        }
        self.refuse_banned(authorized_sub(request), None, notes, deadline)
            .await?;
        self.admit(request, notes, deadline).await?;
        let minted = tokens.mint(upstream, deadline).await?;
        notes.issued = Some(tokens.issued(minted.token()));
        Ok(token_response(&minted))
    }
}

fn token_response(minted: &Minted) -> Response<Body> {
    let mut body = json!({ "token": minted.token() });
    if let Some(expires_at) = minted.expires_at() {
        body["expiresAt"] = json!(expires_at.to_string());
    }
    json_response(StatusCode::OK, &body)
}
