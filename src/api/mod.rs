//! The HTTP layer: routing, the origin policy, responses and the one log line
//! per request. Providers plug in behind [`TokenProvider`]; nothing here
//! knows how a token is made. Each request gets its [`Deadline`] here.

pub mod cors;

use std::time::{Duration, Instant, SystemTime};

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderMap,
    HeaderName, HeaderValue, LOCATION, ORIGIN, PRAGMA, RETRY_AFTER, VARY,
};
use http::{Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use tracing::Instrument as _;

use crate::api::cors::{AllowedOrigins, OriginCheck};
use crate::deadline::Deadline;
use crate::error::{ApiError, chain};
use crate::metrics::{Metrics, RequestRecord, RouteKind};
use crate::providers::aipix::{self, AipixClient, Asked, StreamRequest};
use crate::providers::cas::CasClient;
use crate::providers::demo::DemoUpstream;
use crate::providers::{Minted, TokenSource, UpstreamError, UpstreamTrace};
use crate::quota::{self, Admission, Caller, Quota};
use crate::rooms::{self, RoomToken, Rooms};

/// The source of session tokens behind `/token` (and rooms).
#[derive(Debug)]
pub enum TokenProvider {
    Cas(CasClient),
    Demo(DemoUpstream),
}

impl TokenProvider {
    /// The provider's name in the audit line.
    fn name(&self) -> &'static str {
        match self {
            Self::Cas(_) => "cas",
            Self::Demo(_) => "demo",
        }
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

/// Every route the vendor answers, as openapi.yaml names its paths, with its
/// methods as `Allow` spells them (a unit test holds these to [`Route`]).
pub const ROUTES: [(&str, &str); 4] = [
    ("/token", "GET, POST, OPTIONS"),
    ("/streams/{stream}/token", "GET, POST, OPTIONS"),
    ("/rooms", "POST, OPTIONS"),
    ("/rooms/{name}", "GET, PUT, OPTIONS"),
];

/// The routes the vendor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    /// `/token`: a session token (CAS, or the local demo).
    Token,
    /// `/streams/{stream}/token`: an AIPIX stream token; the id as in the
    /// raw path (checked by the policy, so percent-encoding is refused).
    StreamToken(&'a str),
    /// `/rooms`: create a room with a generated name.
    Rooms,
    /// `/rooms/{name}`: a room by name, as in the raw path.
    Room(&'a str),
}

impl<'a> Route<'a> {
    fn from_path(path: &'a str) -> Option<Self> {
        match path {
            "/token" => return Some(Self::Token),
            "/rooms" => return Some(Self::Rooms),
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
    fn methods(self) -> &'static str {
        match self {
            Self::Token | Self::StreamToken(_) => cors::ALLOW_METHODS,
            Self::Rooms => "POST, OPTIONS",
            Self::Room(_) => "GET, PUT, OPTIONS",
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Self::Token | Self::StreamToken(_) => method == Method::GET || method == Method::POST,
            Self::Rooms => method == Method::POST,
            Self::Room(_) => method == Method::GET || method == Method::PUT,
        }
    }

    /// The path as logged: a room name is a capability, so only its hash.
    fn logged(self, path: &str) -> String {
        match self {
            Self::Room(name) => format!("/rooms/{}", rooms::fingerprint(name)),
            _ => path.to_owned(),
        }
    }
}

/// A path no route answers, as logged: only its fingerprint. A mistyped
/// room path (`/room/<name>`, `/<name>`) carries a room name, and a room name
/// is a capability; compare the fingerprint of the path you suspect.
fn unrouted_logged(path: &str) -> String {
    if path == "/" {
        return path.to_owned();
    }
    format!("unrouted{}", rooms::fingerprint(path))
}

/// Marks a request whose body local mode did not read because it was over
/// its limit: answered `413 payload_too_large` like every other error (JSON,
/// CORS headers, request id, the request log line).
#[derive(Debug, Clone, Copy)]
pub struct BodyTooLarge;

/// What one request's answer adds to its log and headers: the quota's count
/// and, when a token was handed out, the audit line's fields.
#[derive(Debug, Default)]
struct Notes {
    admission: Option<Admission>,
    /// The provider that made the token, and CAS's session id (`rid`).
    issued: Option<(&'static str, Option<String>)>,
}

/// The `RateLimit-*` headers (IETF draft), sent on every counted answer.
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
/// What a page may read of a counted answer (CORS hides the rest).
const EXPOSED_QUOTA_HEADERS: &str = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset";

/// The shared state of the function: built once at cold start, borrowed by
/// every request.
#[derive(Debug)]
pub struct Vendor {
    origins: AllowedOrigins,
    tokens: Option<TokenProvider>,
    streams: Option<AipixClient>,
    rooms: Option<Rooms>,
    quota: Option<Quota>,
    metrics: Metrics,
    /// How long the cold start's secret read took (for its record).
    secret_read: Option<Duration>,
}

impl Vendor {
    /// `tokens` serves `/token`, `streams` serves `/streams/{stream}/token`;
    /// a route whose provider is `None` answers `501 not_enabled`.
    pub fn new(origins: AllowedOrigins, tokens: Option<TokenProvider>, streams: Option<AipixClient>) -> Self {
        Self {
            origins,
            tokens,
            streams,
            rooms: None,
            quota: None,
            metrics: Metrics::off(),
            secret_read: None,
        }
    }

    /// Writes a metrics record per request (and one for the cold start)
    /// to `metrics`; `secret_read` is the cold start's secret read.
    pub fn with_metrics(mut self, metrics: Metrics, secret_read: Option<Duration>) -> Self {
        self.metrics = metrics;
        self.secret_read = secret_read;
        self
    }

    /// Writes the cold start's record: `init` is how long the process took
    /// from its start to being ready for its first request.
    pub fn cold_started(&self, init: Duration) {
        self.metrics.cold_start(init, self.secret_read);
    }

    /// Counts every token request per caller against `quota`.
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = Some(quota);
        self
    }

    /// Serves `/rooms` with `rooms` (tokens from the `/token` provider).
    pub fn with_rooms(mut self, rooms: Rooms) -> Self {
        self.rooms = Some(rooms);
        self
    }

    /// Answers one request. Infallible: every failure is a JSON error
    /// response with the right status and CORS headers, never a Lambda
    /// invocation error (which API Gateway turns into a bare 5xx).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let deadline = deadline_of(&request);
        let request_id = request_id(&request);
        let span = tracing::info_span!("request", request_id = %request_id);
        let path = route_path(&request).to_owned();
        let origin = self.origins.check(request.headers());
        let mut upstream = UpstreamTrace::default();
        let mut notes = Notes::default();

        let result = self
            .respond(&request, &path, &origin, &mut notes, &mut upstream, deadline)
            .instrument(span.clone())
            .await;
        let (mut error_code, mut credentials_unusable) = (None, false);
        let mut response = result.unwrap_or_else(|error| {
            let _entered = span.enter();
            error_code = Some(error.code());
            credentials_unusable = error.credentials_unusable();
            if error.is_server_side() {
                tracing::error!(code = error.code(), error = %chain(&error), "request failed");
            } else {
                tracing::debug!(code = error.code(), error = %chain(&error), "request refused");
            }
            error_response(&error, &request_id)
        });
        finish_headers(response.headers_mut(), &origin);
        if let Some(admission) = notes.admission {
            quota_headers(response.headers_mut(), admission, &origin);
        }

        let latency = started.elapsed();
        let trace_id = trace_id(&request);
        let _entered = span.enter();
        let logged_path =
            Route::from_path(&path).map_or_else(|| unrouted_logged(&path), |route| route.logged(&path));
        if let Some((provider, session)) = &notes.issued {
            tracing::info!(
                caller = %caller(&request),
                provider,
                route = %logged_path,
                rid = session.as_deref(),
                "token issued"
            );
        }
        tracing::info!(
            method = %request.method(),
            path = %logged_path,
            origin = request.headers().get(ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("-"),
            status = response.status().as_u16(),
            latency_ms = millis(latency),
            upstream_status = upstream.status,
            upstream_latency_ms = (upstream.calls > 0).then(|| millis(upstream.latency)),
            upstream_calls = upstream.calls,
            trace_id = trace_id.as_deref(),
            "request"
        );
        if self.metrics.enabled() {
            let status = response.status();
            self.metrics.request(RequestRecord {
                timestamp: SystemTime::now(),
                route: RouteKind::of(&path).name(),
                requests: 1,
                tokens_issued: u64::from(notes.issued.is_some()),
                client_errors: u64::from(status.is_client_error()),
                server_errors: u64::from(status.is_server_error()),
                credentials_unavailable: u64::from(credentials_unusable),
                latency,
                upstream_latency: (upstream.calls > 0).then_some(upstream.latency),
                status_code: u64::from(status.as_u16()),
                error_code,
                request_id,
                trace_id,
            });
        }
        response
    }

    /// Counts one token for `caller` (when a quota is set): `429
    /// quota_exceeded` once its window's tokens are given out.
    async fn admit(&self, request: &Request, notes: &mut Notes, deadline: Deadline) -> Result<(), ApiError> {
        let Some(quota) = &self.quota else {
            return Ok(());
        };
        // The request's own id (Lambda's, or a fresh one locally) marks the count.
        notes.admission = quota
            .admit(&caller(request), &request_id(request), deadline)
            .await?;
        match notes.admission {
            Some(admission) if !admission.allowed => Err(ApiError::QuotaExceeded {
                retry_after: admission.reset,
            }),
            _ => Ok(()),
        }
    }

    async fn respond(
        &self,
        request: &Request,
        path: &str,
        origin: &OriginCheck,
        notes: &mut Notes,
        upstream: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        if *origin == OriginCheck::Refused {
            return Err(ApiError::OriginNotAllowed);
        }
        if request.extensions().get::<BodyTooLarge>().is_some() {
            return Err(ApiError::PayloadTooLarge);
        }
        let route = Route::from_path(path).ok_or(ApiError::NotFound)?;
        let method = request.method();
        tracing::trace!(
            %method,
            path = %route.logged(path),
            budget_ms = deadline.remaining().as_millis() as u64,
            "routing"
        );
        if method == Method::OPTIONS {
            return Ok(preflight(route.methods()));
        }
        if !route.allows(method) {
            return Err(ApiError::MethodNotAllowed(route.methods()));
        }
        match route {
            Route::Rooms | Route::Room(_) => {
                let (Some(rooms), Some(tokens)) = (&self.rooms, &self.tokens) else {
                    return Err(ApiError::RoomsNotEnabled);
                };
                match route {
                    Route::Room(name) if !rooms::is_room_name(name) => Err(ApiError::BadRequest(
                        "A room name is 1-128 characters of A-Z a-z 0-9 . _ ~ -",
                    )),
                    Route::Room(name) if method == Method::GET => {
                        let room = rooms.get(name, deadline).await?;
                        notes.issued = Some((tokens.name(), crate::jwt::session_id(room.token.token())));
                        Ok(room_response(&room, None))
                    }
                    Route::Room(name) => {
                        self.admit(request, notes, deadline).await?;
                        let room = rooms.put(name, tokens, upstream, deadline).await?;
                        notes.issued = Some((tokens.name(), crate::jwt::session_id(room.token.token())));
                        Ok(room_response(&room, None))
                    }
                    _ => {
                        check_json_body(request.body())?;
                        self.admit(request, notes, deadline).await?;
                        let name = rooms::new_room_name().map_err(|e| ApiError::Internal(Box::new(e)))?;
                        let room = rooms.put(&name, tokens, upstream, deadline).await?;
                        notes.issued = Some((tokens.name(), crate::jwt::session_id(room.token.token())));
                        // `Location` as the caller addressed the API: with the
                        // stage (`/Prod`) that a REST API puts before the route.
                        let stage = request.uri().path().strip_suffix(path).unwrap_or_default();
                        Ok(room_response(&room, Some(stage)))
                    }
                }
            }
            Route::Token => {
                let tokens = self.tokens.as_ref().ok_or(ApiError::NotEnabled)?;
                if method == Method::POST {
                    check_json_body(request.body())?;
                }
                self.admit(request, notes, deadline).await?;
                let minted = tokens.mint(upstream, deadline).await?;
                notes.issued = Some((tokens.name(), crate::jwt::session_id(minted.token())));
                Ok(token_response(&minted))
            }
            Route::StreamToken(stream) => {
                let streams = self.streams.as_ref().ok_or(ApiError::NotEnabled)?;
                let asked = if method == Method::GET {
                    Asked::from_query(request.uri().query().unwrap_or_default())?
                } else if request.uri().query().is_some_and(|q| !q.is_empty()) {
                    return Err(ApiError::BadRequest(
                        "POST takes its parameters in the JSON body, not the query.",
                    ));
                } else {
                    Asked::from_body(request.body().as_ref())?
                };
                let decided = streams.policy().decide(stream, &asked)?;
                self.admit(request, notes, deadline).await?;
                let minted = streams.mint(&decided, upstream, deadline).await?;
                notes.issued = Some(("aipix", None));
                Ok(stream_token_response(&minted, &decided))
            }
        }
    }
}

/// Who is asking, for the quota and the audit line (worked out only when
/// either needs it, not for every request).
fn caller(request: &Request) -> Caller {
    quota::caller_of(request).unwrap_or_else(Caller::unknown)
}

/// Whether a body is empty or JSON's whitespace only (space, tab, line
/// feed, carriage return; not form feed, which `is_ascii_whitespace` takes).
pub fn is_json_whitespace(body: &[u8]) -> bool {
    body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A POST body is optional; when present it must be a JSON object.
fn check_json_body(body: &Body) -> Result<(), ApiError> {
    let bytes: &[u8] = body.as_ref();
    if is_json_whitespace(bytes) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(ApiError::BadRequest(
            "The request body must be empty or a JSON object.",
        )),
    }
}

fn preflight(methods: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(cors::ALLOW_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(cors::MAX_AGE_SECONDS),
    );
    response
}

fn token_response(minted: &Minted) -> Response<Body> {
    let mut body = json!({ "token": minted.token() });
    if let Some(expires_at) = minted.expires_at() {
        body["expiresAt"] = json!(expires_at.to_string());
    }
    json_response(StatusCode::OK, &body)
}

/// A room's token: `201` (with `Location` under `created`'s path prefix
/// when the name was generated) when this call minted it, `200` when it
/// joined.
fn room_response(room: &RoomToken, created: Option<&str>) -> Response<Body> {
    let mut body = json!({ "room": room.room, "token": room.token.token() });
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
        && let Ok(location) = HeaderValue::from_str(&format!("{prefix}/rooms/{}", room.room))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    response
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

fn error_response(error: &ApiError, request_id: &str) -> Response<Body> {
    let body = json!({
        "error": {
            "code": error.code(),
            "message": error.message(),
            "requestId": request_id,
        }
    });
    let mut response = json_response(error.status(), &body);
    if let ApiError::MethodNotAllowed(methods) = error {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(methods));
    }
    if let ApiError::QuotaExceeded { retry_after } = error {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    response
}

/// The quota's figures on a counted answer, readable by an allowed page.
fn quota_headers(headers: &mut HeaderMap, admission: Admission, origin: &OriginCheck) {
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(admission.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(admission.remaining));
    headers.insert(RATELIMIT_RESET, HeaderValue::from(admission.reset));
    if let OriginCheck::Allowed(_) = origin {
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_QUOTA_HEADERS),
        );
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
}

/// Headers every response carries: JSON, never cached, `Vary: Origin`, and
/// the CORS grant for an allowed origin.
fn finish_headers(headers: &mut HeaderMap, origin: &OriginCheck) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    if let OriginCheck::Allowed(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}

/// The path to route on, without an API Gateway stage prefix: lambda_http
/// puts a REST API stage (and a named HTTP API stage) into the URI unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; either way `/token` routes.
fn route_path(request: &Request) -> &str {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.as_deref(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(stage) if stage != "$default" => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(path),
        _ => path,
    }
}

/// When the answer is due: the margin before the invocation's deadline
/// under Lambda, or before the deployed function's timeout locally.
fn deadline_of(request: &Request) -> Deadline {
    match request.lambda_context_ref() {
        Some(context) => Deadline::from_epoch_millis(context.deadline),
        None => Deadline::local(),
    }
}

/// The X-Ray trace id of the invocation (the `Root` of the trace header
/// Lambda hands over, under `PassThrough` too); none locally.
fn trace_id(request: &Request) -> Option<String> {
    let header = request.lambda_context_ref()?.xray_trace_id.as_deref()?;
    crate::metrics::xray_trace_id(header).map(str::to_owned)
}

/// The Lambda request id, or a random one in local mode.
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return "local".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_body_is_empty_json_whitespace_or_an_object() {
        for ok in [&b""[..], b" \t\r\n", b"{}", br#" {"a":1} "#] {
            assert!(check_json_body(&Body::from(ok.to_vec())).is_ok(), "{ok:?}");
        }
        for bad in [&b"\x0c"[..], b"[]", b"1", b"{", b"\x0c{}"] {
            assert!(check_json_body(&Body::from(bad.to_vec())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn routes_lists_exactly_what_the_router_answers() {
        for (template, methods) in ROUTES {
            let path = template.replace("{stream}", "cam-1").replace("{name}", "party");
            let route = Route::from_path(&path).unwrap_or_else(|| panic!("{template} is not routed"));
            assert_eq!(route.methods(), methods, "{template}");
        }
        let kinds: std::collections::BTreeSet<String> = ROUTES
            .iter()
            .map(|(t, _)| {
                format!(
                    "{:?}",
                    std::mem::discriminant(
                        &Route::from_path(&t.replace("{stream}", "s").replace("{name}", "n")).unwrap()
                    )
                )
            })
            .collect();
        assert_eq!(kinds.len(), 4, "one entry per kind of route");
        for unrouted in ["/", "/tokens", "/streams/x", "/room"] {
            assert!(Route::from_path(unrouted).is_none(), "{unrouted}");
        }
    }
}
