//! The baseline: a bare lambda_http hello-world, built with the same
//! profile, tokio flavour and log setup as token-vendor.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    run(service_fn(|_request: Request| async {
        let mut response = Response::new(Body::from(r#"{"hello":"world"}"#));
        response.headers_mut().insert(
            "content-type",
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        Ok::<_, Error>(response)
    }))
    .await
}
