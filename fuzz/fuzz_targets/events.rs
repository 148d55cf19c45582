//! Any bytes as a Lambda event: `ApiGatewayEvent` parses them or refuses
//! them, and what it parses becomes an `http::Request` exactly as the
//! runtime adapter makes it.
//!
//! The conversion is `lambda_http`'s own (`From<LambdaRequest>`), which
//! unwraps `Url::parse` of the Host header and the path (lambda_http 1.3
//! `request.rs`, `build_request_uri`): a crash there is a finding in
//! `lambda_http`, reached through the same code the deployed Lambda runs.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use token_vendor::ApiGatewayEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(event) = serde_json::from_str::<ApiGatewayEvent>(text) else {
        return;
    };
    let request = lambda_http::Request::from(event.0);
    let uri = request.uri();
    black_box((
        request.method(),
        uri.scheme_str(),
        uri.host(),
        uri.path(),
        uri.query(),
    ));
    for (name, value) in request.headers() {
        black_box((name.as_str(), value.to_str().ok()));
    }
    let body: &[u8] = request.body().as_ref();
    black_box(body);
});
