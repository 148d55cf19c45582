//! API Gateway events for the Lambda runtime, read by their payload version.
//!
//! `lambda_http` tries each event type it is built with in turn, the REST API
//! (payload 1.0) first, so every HTTP API or Function URL event (payload 2.0:
//! what `template.yaml` deploys) was parsed twice, the first attempt failing
//! only at the end. Measured with callgrind (docs/benchmarks-history.md): ~30,000
//! instructions per invocation, a quarter of a bare hello-world's whole
//! invocation. Here the payload version is read first — from the event's
//! opening bytes when it starts `{"version": "2.0"` as API Gateway and
//! Function URLs write it, else by a skim of the top-level keys (~13,000
//! instructions) — and one parse follows; what fails that parse goes to
//! `lambda_http`'s own order.
//!
//! A body over [`MAX_REQUEST_BODY`] (its decoded size, base64 included) is
//! cut out of the event before the event is parsed: never copied, decoded,
//! parsed or handed on; the request is marked [`BodyTooLarge`] and the
//! handler answers `413 payload_too_large` as local mode does.
//!
//! `LambdaRequest`, `Adapter` and `TransformResponse` are `lambda_http`'s
//! (public, but hidden from its docs); [`ByVersion`] does what
//! `lambda_http::run`'s `Adapter` does (event → `http::Request` with the
//! Lambda context and the trace header, response → the event source's
//! format), plus the mark. The tests below parse every event in `events/`
//! both ways and compare.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use base64::Engine as _;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use lambda_http::lambda_runtime::{self, Diagnostic};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, IntoResponse, LambdaEvent, Request, RequestExt as _, Service, TransformResponse};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::api::{BodyTooLarge, MAX_REQUEST_BODY};

/// An API Gateway (REST or HTTP API) or Function URL event, and whether its
/// body was dropped for being over [`MAX_REQUEST_BODY`]. `Debug` names only
/// its kind: the event's headers can carry a caller's bearer token.
pub struct ApiGatewayEvent(pub LambdaRequest, pub BodyDropped);

/// Whether the event's body was over [`MAX_REQUEST_BODY`] and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDropped(pub bool);

impl fmt::Debug for ApiGatewayEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiGatewayEvent")
            .field(&self.0.request_origin())
            .finish()
    }
}

#[derive(Deserialize)]
struct Version<'a> {
    #[serde(borrow, default)]
    version: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for ApiGatewayEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowed from the runtime's bytes, not copied: the event is read
        // where it lies (a `from_value` caller gets an error: events are text).
        let raw = <&RawValue>::deserialize(deserializer)?;
        let (json, dropped) = without_oversized_body(raw.get());
        let json = json.as_ref();
        let version = if leads_with_version_2(json) {
            Some(Cow::Borrowed("2.0"))
        } else {
            serde_json::from_str::<Version<'_>>(json)
                .ok()
                .and_then(|v| v.version)
        };
        let parsed = match version.as_deref() {
            Some("2.0") => {
                serde_json::from_str::<ApiGatewayV2httpRequest>(json).map(LambdaRequest::ApiGatewayV2)
            }
            _ => serde_json::from_str::<ApiGatewayProxyRequest>(json).map(LambdaRequest::ApiGatewayV1),
        };
        let request = match parsed {
            Ok(request) => request,
            Err(_) => serde_json::from_str::<LambdaRequest>(json).map_err(D::Error::custom)?,
        };
        if !convertible(&request) {
            return Err(D::Error::custom(
                "the event's host, path, query or base64 body cannot make an HTTP request",
            ));
        }
        Ok(Self(request, BodyDropped(dropped)))
    }
}

/// The event's `body` and `isBase64Encoded`, borrowed (the rest skipped).
#[derive(Deserialize)]
struct BodySkim<'a> {
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(rename = "isBase64Encoded", default)]
    base64: bool,
}

/// The event with its body replaced by `null` when the body's decoded size
/// is over [`MAX_REQUEST_BODY`] (`true`: it was), else the event as it is.
/// Only an event longer than the limit can hold such a body, so only such
/// an event is skimmed for it: one more pass over its text, no copy of the
/// body (its text is borrowed, and unescaped only when it has escapes);
/// the event is copied once without it.
fn without_oversized_body(json: &str) -> (Cow<'_, str>, bool) {
    if json.len() <= MAX_REQUEST_BODY {
        return (Cow::Borrowed(json), false);
    }
    let Ok(BodySkim {
        body: Some(body),
        base64,
    }) = serde_json::from_str::<BodySkim<'_>>(json)
    else {
        return (Cow::Borrowed(json), false);
    };
    // `null`, or not a string: the event's own parse decides.
    let Some(size) = string_size(body.get(), base64) else {
        return (Cow::Borrowed(json), false);
    };
    if size <= MAX_REQUEST_BODY {
        return (Cow::Borrowed(json), false);
    }
    // The body's text is a slice of the event's (borrowed from it).
    let start = (body.get().as_ptr() as usize).checked_sub(json.as_ptr() as usize);
    let end = start.map(|start| start + body.get().len());
    let (Some(before), Some(after)) = (
        start.and_then(|start| json.get(..start)),
        end.and_then(|end| json.get(end..)),
    ) else {
        return (Cow::Borrowed(json), false);
    };
    (Cow::Owned(format!("{before}null{after}")), true)
}

/// The decoded size of a JSON string (`raw`, quotes included) without
/// unescaping it into memory: its bytes once unescaped, or with `base64`
/// what those decode to. `None` when `raw` is not a JSON string. Escapes
/// are counted as serde_json unescapes them (`\uXXXX` as its UTF-8 bytes, a
/// surrogate pair as 4); one it would refuse leaves the event's own parse to
/// refuse it, whatever is counted here.
fn string_size(raw: &str, base64: bool) -> Option<usize> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let (mut size, mut i) = (0usize, 0usize);
    // The last two bytes once unescaped, for base64's padding.
    let mut tail = [0u8; 2];
    let mut push = |size: &mut usize, byte: u8, len: usize| {
        *size += len;
        tail = [tail[1], if len == 1 { byte } else { 0 }];
    };
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            push(&mut size, b, 1);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'u') => {
                let unit = |at: usize| {
                    inner
                        .get(at..at + 4)
                        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                };
                let code = unit(i + 2).unwrap_or(0);
                let pair = (0xD800..0xDC00).contains(&code)
                    && bytes.get(i + 6..i + 8) == Some(b"\\u")
                    && unit(i + 8).is_some_and(|low| (0xDC00..0xE000).contains(&low));
                let (len, step) = match code {
                    _ if pair => (4, 12),
                    0..0x80 => (1, 6),
                    0x80..0x800 => (2, 6),
                    _ => (3, 6),
                };
                push(&mut size, u8::try_from(code).unwrap_or(0), len);
                i += step;
            }
            Some(&escaped) => {
                let byte = match escaped {
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    other => other,
                };
                push(&mut size, byte, 1);
                i += 2;
            }
            None => return None,
        }
    }
    if !base64 {
        return Some(size);
    }
    let padding = tail.iter().rev().take_while(|b| **b == b'=').count();
    Some((size / 4 * 3).saturating_sub(padding))
}

/// Whether `lambda_http` can turn the event into an `http::Request`. Its
/// conversion (`From<LambdaRequest>`, lambda_http 1.3 `build_request_uri`)
/// unwraps `Url::parse` of `{X-Forwarded-Proto or https}://{Host}{stage and
/// path}`, then builds the URI with the raw query appended, and decodes a
/// base64 body, each with `expect`; with `panic = "abort"` a failure takes
/// the runtime down (e.g. a Host header `a b`, or `a}b`, which the `events`
/// fuzz target found from the events in `events/` within seconds when this
/// check was off). API Gateway never sends such an event; one that claims
/// to be one is refused here, an invocation error like any malformed event.
fn convertible(request: &LambdaRequest) -> bool {
    // A REST API's query is rebuilt from its maps, form-encoded (only its
    // length can matter); an HTTP API's raw query is appended as it is.
    let rebuilt_query;
    let (headers, domain, stage, path, query, body) = match request {
        LambdaRequest::ApiGatewayV2(event) => {
            // lambda_http inserts a Cookie header for the cookies: one more
            // name than the map holds.
            if event.cookies.is_some() && event.headers.keys_len() >= MAX_HEADER_NAMES {
                return false;
            }
            (
                &event.headers,
                event.request_context.domain_name.as_deref(),
                event.request_context.stage.as_deref(),
                event.raw_path.as_deref(),
                event.raw_query_string.as_deref(),
                event.is_base64_encoded.then_some(event.body.as_deref()).flatten(),
            )
        }
        LambdaRequest::ApiGatewayV1(event) => {
            // lambda_http merges the two header maps into one.
            if event.headers.keys_len() + event.multi_value_headers.keys_len() > MAX_HEADER_NAMES {
                return false;
            }
            let (many, single) = (
                &event.multi_value_query_string_parameters,
                &event.query_string_parameters,
            );
            rebuilt_query = if !many.is_empty() {
                Some(many.to_query_string())
            } else if !single.is_empty() {
                Some(single.to_query_string())
            } else {
                None
            };
            (
                &event.headers,
                event.request_context.domain_name.as_deref(),
                event.request_context.stage.as_deref(),
                event.path.as_deref(),
                rebuilt_query.as_deref(),
                event.is_base64_encoded.then_some(event.body.as_deref()).flatten(),
            )
        }
        // No other kind is built with this crate's features; one that a
        // future feature adds is refused until it is checked here.
        _ => return false,
    };
    if let Some(body) = body
        && base64::engine::general_purpose::STANDARD.decode(body).is_err()
    {
        return false;
    }
    let parts = UriParts {
        scheme: headers.get("x-forwarded-proto").and_then(|s| s.to_str().ok()),
        host: headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(domain),
        stage,
        path: path.unwrap_or_default(),
        query,
    };
    parts.plainly_valid() || parts.build()
}

/// The most header names an `http::HeaderMap` holds (its inserts panic
/// past it).
const MAX_HEADER_NAMES: usize = 24_576;

/// What `lambda_http` builds an event's URI from. No `Debug`: the path can
/// hold a room name.
struct UriParts<'a> {
    /// `X-Forwarded-Proto`, when it is text.
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    stage: Option<&'a str>,
    path: &'a str,
    /// The query appended to the URI: an HTTP API's raw query, a REST API's
    /// form-encoded parameters.
    query: Option<&'a str>,
}

impl UriParts<'_> {
    /// `lambda_http`'s own steps: whether they succeed, by construction.
    /// A URL parse and a URI parse: ~8,700 instructions per event
    /// (docs/benchmarks-history.md), so [`Self::plainly_valid`] goes first.
    fn build(&self) -> bool {
        let path = match self.stage {
            Some(stage)
                if stage != "$default"
                    && std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() =>
            {
                if self.path.starts_with(&format!("/{stage}/")) {
                    Cow::Borrowed(self.path)
                } else {
                    Cow::Owned(format!("/{stage}{}", self.path))
                }
            }
            _ => Cow::Borrowed(self.path),
        };
        let uri = match self.host {
            None => url::Url::parse(&format!("http://localhost{path}")).map(|url| url.path().to_owned()),
            Some(host) => {
                let scheme = self.scheme.unwrap_or("https");
                url::Url::parse(&format!("{scheme}://{host}{path}")).map(String::from)
            }
        };
        let Ok(mut uri) = uri else {
            return false;
        };
        if let Some(query) = self.query.filter(|q| !q.is_empty()) {
            uri.push('?');
            uri.push_str(query);
        }
        http::Uri::try_from(uri).is_ok()
    }

    /// A few byte scans that accept only what plainly builds (what API
    /// Gateway sends): `http`/`https`; a lower-case DNS name whose last label
    /// starts with a letter (never read as an IPv4 address), without `xn--`
    /// (no IDNA) or a port; a stage of letters, digits, `-` and `_`; a path
    /// and a query of RFC 3986 `pchar`s (`%` only before two hex digits); far
    /// below `http::Uri`'s length limit. Anything else goes to
    /// [`Self::build`]; a test checks that this never accepts what it refuses.
    fn plainly_valid(&self) -> bool {
        const PCHAR: &[u8] = b"-._~!$&'()*+,;=:@";
        let Some(host) = self.host else {
            return false;
        };
        let length =
            host.len() + self.path.len() + self.query.map_or(0, str::len) + self.stage.map_or(0, str::len);
        matches!(self.scheme, None | Some("https" | "http"))
            && length < 16 * 1024
            && plain_host(host)
            && self.stage.is_none_or(|stage| {
                stage == "$default"
                    || (!stage.is_empty()
                        && stage
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            })
            && self.path.starts_with('/')
            && plain(self.path.as_bytes(), PCHAR, b"/")
            && self
                .query
                .is_none_or(|query| plain(query.as_bytes(), PCHAR, b"/?"))
    }
}

/// A lower-case DNS name: labels of `a-z 0-9 -`, none empty, the last one
/// starting with a letter, no `xn--`.
fn plain_host(host: &str) -> bool {
    host.len() <= 253
        && !host.contains("xn--")
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && host
            .rsplit('.')
            .next()
            .and_then(|last| last.bytes().next())
            .is_some_and(|b| b.is_ascii_lowercase())
}

/// Bytes that are letters, digits, in `extra` or `more`, or `%` followed by
/// two hex digits.
fn plain(bytes: &[u8], extra: &[u8], more: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            match bytes.get(i + 1..i + 3) {
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
            continue;
        }
        if !(b.is_ascii_alphanumeric() || extra.contains(&b) || more.contains(&b)) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether the event's first key is `"version"` with the value `"2.0"`,
/// whitespace aside: then its payload version is known without a parse.
fn leads_with_version_2(json: &str) -> bool {
    let mut rest = json.trim_start();
    for token in ["{", "\"version\"", ":", "\"2.0\""] {
        match rest.strip_prefix(token) {
            Some(after) => rest = after.trim_start(),
            None => return false,
        }
    }
    rest.starts_with(',') || rest.starts_with('}')
}

/// `lambda_http`'s adapter for [`ApiGatewayEvent`]: the event becomes an
/// `http::Request` (with the Lambda context, the X-Ray trace header, and
/// [`BodyTooLarge`] when its body was dropped), the handler's answer the
/// event source's response format.
struct ByVersion<'a, R, S> {
    service: S,
    _response: PhantomData<&'a R>,
}

impl<'a, R, S, E> Service<LambdaEvent<ApiGatewayEvent>> for ByVersion<'a, R, S>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
{
    // lambda_http's `LambdaResponse`, named through its own adapter.
    type Response = <Adapter<'a, R, S> as Service<LambdaEvent<LambdaRequest>>>::Response;
    type Error = E;
    type Future = TransformResponse<'a, R, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<ApiGatewayEvent>) -> Self::Future {
        let LambdaEvent {
            payload: ApiGatewayEvent(payload, BodyDropped(dropped)),
            context,
        } = event;
        let origin = payload.request_origin();
        let mut request: Request = payload.into();
        if dropped {
            request.extensions_mut().insert(BodyTooLarge);
        }
        if let Some(trace) = context.xray_trace_id.as_deref()
            && let Ok(value) = http::HeaderValue::from_str(trace)
        {
            request
                .headers_mut()
                .insert(http::HeaderName::from_static("x-amzn-trace-id"), value);
        }
        let future = self.service.call(request.with_lambda_context(context));
        TransformResponse::Request(origin, Box::pin(future))
    }
}

/// `lambda_http::run`, with events read by [`ApiGatewayEvent`].
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: fmt::Debug + Into<Diagnostic>,
{
    lambda_runtime::run(ByVersion {
        service: handler,
        _response: PhantomData,
    })
    .await
}

#[cfg(test)]
mod tests;
