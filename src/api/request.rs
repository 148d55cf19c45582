//! What the HTTP layer reads off a request besides its route: the path
//! without a stage, its deadline, its ids, its caller and an optional JSON
//! body.

use http::header::CONTENT_TYPE;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::deadline::Deadline;
use crate::error::ApiError;
use crate::json::is_json_whitespace;
use crate::quota::{self, Caller};

/// The largest request body, decoded, under Lambda and locally alike: a
/// larger one is `413 payload_too_large`, before anything reads it.
pub(crate) const MAX_REQUEST_BODY: usize = 64 * 1024;

/// Marks a request whose body a runtime adapter did not read (or dropped)
/// because it was over [`MAX_REQUEST_BODY`]: answered `413
/// payload_too_large` like every other error (JSON, CORS headers, request
/// id, the request log line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTooLarge;

/// Whether the body is over [`MAX_REQUEST_BODY`]: marked so by the runtime
/// adapter, or (a request built another way) found so here.
pub(crate) fn body_too_large(request: &Request) -> bool {
    request.extensions().get::<BodyTooLarge>().is_some() || request.body().len() > MAX_REQUEST_BODY
}

/// The path to route on, without an API Gateway stage prefix: lambda_http
/// puts a REST API stage (and a named HTTP API stage) into the URI unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; either way `/token` routes.
pub(crate) fn route_path(request: &Request) -> &str {
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
pub(crate) fn deadline_of(request: &Request) -> Deadline {
    match request.lambda_context_ref() {
        Some(context) => Deadline::from_epoch_millis(context.deadline),
        None => Deadline::local(),
    }
}

/// The X-Ray trace id of the invocation (the `Root` of the trace header
/// Lambda hands over, under `PassThrough` too); none locally.
pub(crate) fn trace_id(request: &Request) -> Option<String> {
    let header = request.lambda_context_ref()?.xray_trace_id.as_deref()?;
    xray_trace_id(header).map(str::to_owned)
}

/// The X-Ray trace id in a trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=…;Sampled=0`):
/// `1-` + 8 hex digits (the epoch seconds) + `-` + 24 hex digits, or none.
/// Anything else in the header stays out of the logs and the records.
fn xray_trace_id(header: &str) -> Option<&str> {
    let root = header
        .split(';')
        .find_map(|field| field.trim().strip_prefix("Root="))?;
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    match root.split('-').collect::<Vec<_>>()[..] {
        ["1", time, id] if hex(time, 8) && hex(id, 24) => Some(root),
        _ => None,
    }
}

/// The Lambda request id, or a random one in local mode.
pub(crate) fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return "local".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is asking, for the quota and the audit line (worked out only when
/// either needs it, not for every request).
pub(crate) fn caller(request: &Request) -> Caller {
    quota::caller_of(request).unwrap_or_else(Caller::unknown)
}

/// Whether the request says its body is JSON (`application/json`, or a
/// `+json` type).
fn sent_as_json(request: &Request) -> bool {
    let Some(Ok(value)) = request.headers().get(CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json") || essence.to_ascii_lowercase().ends_with("+json")
}

/// A body sent as JSON must be JSON: one of only whitespace is not (`400`).
/// An empty body is no body, and without a JSON `Content-Type` whitespace
/// counts as none.
pub(crate) fn check_json_sent(request: &Request) -> Result<(), ApiError> {
    let body: &[u8] = request.body().as_ref();
    if !body.is_empty() && is_json_whitespace(body) && sent_as_json(request) {
        return Err(ApiError::BadRequest(
            "A body sent as JSON must be JSON; this one is only whitespace.",
        ));
    }
    Ok(())
}

/// A POST body is optional; when present it must be a JSON object. Checked
/// without building it: its first byte, then serde's syntax check alone.
pub(crate) fn check_json_body(request: &Request) -> Result<(), ApiError> {
    check_json_sent(request)?;
    let bytes: &[u8] = request.body().as_ref();
    if is_json_whitespace(bytes) {
        return Ok(());
    }
    let first = bytes
        .iter()
        .find(|b| !is_json_whitespace(std::slice::from_ref(*b)));
    if first == Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Ok(());
    }
    Err(ApiError::BadRequest(
        "The request body must be empty or a JSON object.",
    ))
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;

    use super::*;

    fn with_body(body: &[u8], content_type: Option<&str>) -> Request {
        let mut request = http::Request::builder().method("POST").uri("/token");
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        request.body(Body::from(body.to_vec())).unwrap()
    }

    #[test]
    fn an_optional_body_is_empty_json_whitespace_or_an_object() {
        for ok in [&b""[..], b" \t\r\n", b"{}", br#" {"a":1} "#] {
            assert!(check_json_body(&with_body(ok, None)).is_ok(), "{ok:?}");
        }
        for bad in [&b"\x0c"[..], b"[]", b"1", b"{", b"\x0c{}"] {
            assert!(check_json_body(&with_body(bad, None)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn whitespace_sent_as_json_is_not_json_but_no_body_is_no_body() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(check_json_sent(&with_body(b"\n", Some(json))).is_err(), "{json}");
            assert!(check_json_sent(&with_body(b"", Some(json))).is_ok(), "{json}");
            assert!(check_json_sent(&with_body(b"{}", Some(json))).is_ok(), "{json}");
        }
        for other in [None, Some("text/plain")] {
            assert!(check_json_sent(&with_body(b" \n", other)).is_ok(), "{other:?}");
        }
    }

    #[test]
    fn the_trace_id_is_the_headers_root_and_nothing_else() {
        let root = "1-5759e988-bd862e3fe1be46a994272793";
        for header in [
            format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:0"),
            format!("Parent=53995c3f42cd8ad8; Root={root}"),
            format!("Root={root}"),
        ] {
            assert_eq!(xray_trace_id(&header), Some(root), "{header}");
        }
        for header in [
            "",
            "Sampled=1",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a994272793-x",
            "Root=1-5759e98g-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279\u{e9}",
            "Root=eyJhbGciOiJIUzI1NiJ9.e30.x",
        ] {
            assert_eq!(xray_trace_id(header), None, "{header}");
        }
    }
}
