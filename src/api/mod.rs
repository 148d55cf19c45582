//! The HTTP layer: one entry point, [`Vendor::handle`], that gives each
//! request its deadline, id and span, decides it (origin, route, method)
//! and hands it to its route family's file ([`token`], [`streams`],
//! [`rooms`], [`livekit`], [`agora`], [`twilio`], [`vonage`]; the admin
//! routes to [`admin`]), then writes the one request log line, the audit
//! line and the metrics record. Providers plug in behind [`TokenProvider`]; nothing here
//! knows how a token is made.

use std::time::{Duration, Instant, SystemTime};

use http::Method;
use http::header::ORIGIN;
use lambda_http::{Body, Request, Response};
use tracing::Instrument as _;

use crate::api::cors::{AllowedOrigins, OriginCheck};
use crate::api::request::{body_too_large, caller, deadline_of, request_id, route_path, trace_id};
use crate::api::response::{error_response, finish_headers, preflight, quota_headers};
use crate::api::rooms::RoomRoute;
use crate::api::route::{AdminRoute, Route};
use crate::bans::{Bans, Checked};
use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::identity::GUEST_PREFIX;
use crate::logging::chain;
use crate::metrics::{Metrics, RequestRecord};
use crate::names::fingerprint;
use crate::providers::UpstreamTrace;
use crate::providers::agora::AgoraSigner;
use crate::providers::aipix::AipixClient;
use crate::providers::livekit::LiveKitSigner;
use crate::providers::twilio::TwilioSigner;
use crate::providers::vonage::VonageSigner;
use crate::quota::{Admission, Quota};
use crate::rooms::Rooms;

mod admin;
mod agora;
pub(crate) mod cors;
mod livekit;
mod request;
mod response;
mod rooms;
mod route;
mod streams;
mod token;
mod twilio;
mod vonage;

pub use admin::{AdminAccess, MIN_ADMIN_TOKEN};
pub(crate) use request::{BodyTooLarge, MAX_REQUEST_BODY};
pub use route::ROUTES;
pub use token::TokenProvider;

/// What one request's answer adds to its log and headers: the quota's count
/// and, when a token was handed out, the audit line's fields.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// The request's id (Lambda's, or one made locally), for its count too.
    request_id: String,
    admission: Option<Admission>,
    /// A quota is set but its store could not be used, and the quota fails
    /// open: served without a count.
    quota_bypassed: bool,
    issued: Option<Issued>,
    /// A ban refused the token: the identity's fingerprint.
    banned: Option<String>,
    /// The bans table could not be read and `BANS_FAIL=open`: served unchecked.
    bans_bypassed: bool,
    /// An admin action was taken (its own audit line is written).
    admin: bool,
}

/// The audit line's fields of a token handed out. Never the token; a room
/// and an identity only as their fingerprints.
#[derive(Debug)]
pub(crate) struct Issued {
    provider: &'static str,
    /// CAS's session id (`rid`).
    session: Option<String>,
    /// The room (LiveKit's) or channel (Agora's) and the identity (uid)
    /// the token is for, fingerprinted.
    room: Option<String>,
    identity: Option<String>,
}

impl Issued {
    pub(crate) fn by(provider: &'static str, session: Option<String>) -> Self {
        Self {
            provider,
            session,
            room: None,
            identity: None,
        }
    }
}

/// The shared state of the function: built once at cold start, borrowed by
/// every request.
#[derive(Debug)]
pub struct Vendor {
    origins: AllowedOrigins,
    tokens: Option<TokenProvider>,
    streams: Option<AipixClient>,
    livekit: Option<LiveKitSigner>,
    agora: Option<AgoraSigner>,
    twilio: Option<TwilioSigner>,
    vonage: Option<VonageSigner>,
    rooms: Option<Rooms>,
    quota: Option<Quota>,
    bans: Option<Bans>,
    admin: AdminAccess,
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
            livekit: None,
            agora: None,
            twilio: None,
            vonage: None,
            rooms: None,
            quota: None,
            bans: None,
            admin: AdminAccess::Off,
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

    /// Refuses a token to a banned identity (`bans`) on every token route.
    pub fn with_bans(mut self, bans: Bans) -> Self {
        self.bans = Some(bans);
        self
    }

    /// Who may call the admin routes.
    pub fn with_admin(mut self, admin: AdminAccess) -> Self {
        self.admin = admin;
        self
    }

    /// Serves `/livekit/token` with `livekit`.
    pub fn with_livekit(mut self, livekit: LiveKitSigner) -> Self {
        self.livekit = Some(livekit);
        self
    }

    /// Serves `/agora/token` with `agora`.
    pub fn with_agora(mut self, agora: AgoraSigner) -> Self {
        self.agora = Some(agora);
        self
    }

    /// Serves `/twilio/token` with `twilio`.
    pub fn with_twilio(mut self, twilio: TwilioSigner) -> Self {
        self.twilio = Some(twilio);
        self
    }

    /// Serves `/vonage/token` with `vonage`.
    pub fn with_vonage(mut self, vonage: VonageSigner) -> Self {
        self.vonage = Some(vonage);
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
        let mut notes = Notes {
            request_id: request_id(&request),
            ..Notes::default()
        };
        let span = tracing::info_span!("request", request_id = %notes.request_id);
        let path = route_path(&request).to_owned();
        // The admin routes are never a browser's: no CORS grant, whatever
        // the `Origin`.
        let origin = match AdminRoute::from_path(&path) {
            Some(_) => OriginCheck::Absent,
            None => self.origins.check(request.headers()),
        };
        let mut upstream = UpstreamTrace::default();

        let result = async {
            let result = self
                .respond(&request, &path, &origin, &mut notes, &mut upstream, deadline)
                .await;
            if result.as_ref().is_err_and(ApiError::is_server_side) {
                self.give_back(&request, &mut notes, deadline).await;
            }
            result
        }
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
            error_response(&error, &notes.request_id)
        });
        finish_headers(response.headers_mut(), &origin);
        if let Some(admission) = notes.admission {
            quota_headers(response.headers_mut(), admission, &origin);
        }

        let latency = started.elapsed();
        let trace_id = trace_id(&request);
        let _entered = span.enter();
        let logged_path = route::logged(&path);
        if let Some(identity) = &notes.banned {
            tracing::info!(
                caller = %audit_caller(&request),
                route = %logged_path,
                identity = %identity,
                "refused banned"
            );
        }
        if let Some(issued) = &notes.issued {
            let caller = audit_caller(&request);
            tracing::info!(
                caller = %caller,
                provider = issued.provider,
                route = %logged_path,
                rid = issued.session.as_deref(),
                room = issued.room.as_deref(),
                identity = issued.identity.as_deref(),
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
                route: route::dimension(&path),
                requests: 1,
                tokens_issued: u64::from(notes.issued.is_some()),
                client_errors: u64::from(status.is_client_error()),
                server_errors: u64::from(status.is_server_error()),
                credentials_unavailable: u64::from(credentials_unusable),
                quota_bypassed: self.quota.is_some().then_some(u64::from(notes.quota_bypassed)),
                banned: self.bans.is_some().then_some(u64::from(notes.banned.is_some())),
                bans_bypassed: self.bans.is_some().then_some(u64::from(notes.bans_bypassed)),
                bans_unavailable: self.bans.is_some().then_some(u64::from(
                    notes.bans_bypassed || error_code == Some("bans_unavailable"),
                )),
                latency,
                upstream_latency: (upstream.calls > 0).then_some(upstream.latency),
                status_code: u64::from(status.as_u16()),
                error_code,
                request_id: std::mem::take(&mut notes.request_id),
                trace_id,
            });
        }
        response
    }

    /// Refuses a token for `identity` (in `room`: `None` for a route that
    /// names no room) while a ban covers it: `403 banned`, before the quota
    /// and the provider. `None`: no identity to check (a caller nobody
    /// vouches for, given a fresh random one).
    async fn refuse_banned(
        &self,
        identity: Option<&str>,
        room: Option<&str>,
        notes: &mut Notes,
        deadline: Deadline,
    ) -> Result<(), ApiError> {
        let (Some(bans), Some(identity)) = (&self.bans, identity) else {
            return Ok(());
        };
        match bans.check(identity, room, deadline).await {
            Ok(checked) => {
                notes.bans_bypassed = checked == Checked::Bypassed;
                Ok(())
            }
            Err(error) => {
                if matches!(error, ApiError::Banned) {
                    notes.banned = Some(fingerprint(identity));
                }
                Err(error)
            }
        }
    }

    /// Counts one token for `caller` (when a quota is set): `429
    /// quota_exceeded` once its window's tokens are given out.
    async fn admit(&self, request: &Request, notes: &mut Notes, deadline: Deadline) -> Result<(), ApiError> {
        let Some(quota) = &self.quota else {
            return Ok(());
        };
        // The request's own id marks the count.
        notes.admission = quota.admit(&caller(request), &notes.request_id, deadline).await?;
        notes.quota_bypassed = notes.admission.is_none();
        match notes.admission {
            Some(admission) if !admission.allowed => Err(ApiError::QuotaExceeded {
                retry_after: admission.reset,
            }),
            _ => Ok(()),
        }
    }

    /// Gives back the quota unit this request took, if it took one: its
    /// token was not issued (a server-side failure after the count).
    /// `RateLimit-Remaining` then says the unit is there again.
    async fn give_back(&self, request: &Request, notes: &mut Notes, deadline: Deadline) {
        let (Some(quota), Some(admission)) = (&self.quota, notes.admission.as_mut()) else {
            return;
        };
        if quota
            .give_back(&caller(request), &notes.request_id, admission, deadline)
            .await
        {
            admission.remaining = (admission.remaining + 1).min(admission.limit);
        }
    }

    /// Decides the request: origin, body size, route, method, then the
    /// route family's own file.
    async fn respond(
        &self,
        request: &Request,
        path: &str,
        origin: &OriginCheck,
        notes: &mut Notes,
        upstream: &mut UpstreamTrace,
        deadline: Deadline,
    ) -> Result<Response<Body>, ApiError> {
        if let Some(admin) = AdminRoute::from_path(path) {
            // Boxed: the admin's future (a ban, its kicks) is larger than
            // any token route's, and only admins pay for its allocation.
            return Box::pin(self.admin(request, admin, notes, deadline)).await;
        }
        if *origin == OriginCheck::Refused {
            return Err(ApiError::OriginNotAllowed);
        }
        if body_too_large(request) {
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
            Route::Token => self.token(request, notes, upstream, deadline).await,
            Route::StreamToken(stream) => {
                self.stream_token(request, stream, notes, upstream, deadline)
                    .await
            }
            Route::Rooms => {
                self.room(request, RoomRoute::Create, path, notes, upstream, deadline)
                    .await
            }
            Route::Room(name) => {
                self.room(request, RoomRoute::Named(name), path, notes, upstream, deadline)
                    .await
            }
            Route::LiveKitToken => self.livekit_token(request, notes, deadline).await,
            Route::AgoraToken => self.agora_token(request, notes, deadline).await,
            Route::TwilioToken => self.twilio_token(request, notes, deadline).await,
            Route::VonageToken => self.vonage_token(request, notes, deadline).await,
        }
    }
}

/// The identity a ban is checked for: `None` for a fresh random one
/// ([`GUEST_PREFIX`]), which no ban can name yet.
pub(crate) fn chosen(identity: &str) -> Option<&str> {
    (!identity.starts_with(GUEST_PREFIX)).then_some(identity)
}

/// The caller as an audit line names it: a signed-in caller's `sub` is an
/// identity (the one `/token` and a ban name), so only its fingerprint; a
/// peer's address as it is.
fn audit_caller(request: &Request) -> String {
    let caller = caller(request);
    match caller.as_str().strip_prefix("sub:") {
        Some(sub) => format!("sub{}", fingerprint(sub)),
        None => caller.to_string(),
    }
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}
