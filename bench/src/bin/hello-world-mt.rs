//! The hello-world on tokio's multi-threaded runtime (the cargo-lambda
//! template's `#[tokio::main]`), to measure the runtime flavour.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
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
