//! The answers: JSON bodies, the error body, the preflight, and the headers
//! every answer (and every counted answer) carries.

use http::StatusCode;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderMap,
    HeaderName, HeaderValue, PRAGMA, RETRY_AFTER, VARY,
};
use lambda_http::{Body, Response};
use serde_json::json;

use crate::api::cors::{self, OriginCheck};
use crate::error::ApiError;
use crate::quota::Admission;

/// The `RateLimit-*` headers (IETF draft), sent on every counted answer.
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
/// What a page may read of a counted answer (CORS hides the rest).
const EXPOSED_QUOTA_HEADERS: &str = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset";

pub(crate) fn preflight(methods: &'static str) -> Response<Body> {
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

pub(crate) fn error_response(error: &ApiError, request_id: &str) -> Response<Body> {
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
pub(crate) fn quota_headers(headers: &mut HeaderMap, admission: Admission, origin: &OriginCheck) {
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

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
}

/// Headers every response carries: JSON, never cached, `Vary: Origin`, and
/// the CORS grant for an allowed origin.
pub(crate) fn finish_headers(headers: &mut HeaderMap, origin: &OriginCheck) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    if let OriginCheck::Allowed(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}
