//! The thin binary: logging, configuration, cold start, then either the
//! Lambda runtime loop or (without `AWS_LAMBDA_RUNTIME_API`) a local server.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use lambda_http::service_fn;
use token_vendor::{Config, Mode, chain, cold_start, init_logging, run_lambda, serve_local};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = Instant::now();
    init_logging();
    match run(started).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %chain(&*error), "token-vendor cannot start");
            ExitCode::FAILURE
        }
    }
}

async fn run(started: Instant) -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    let mode = config.mode.clone();
    // Boxed: the cold start's future is the largest (one allocation, once).
    let vendor = Box::pin(cold_start(config)).await?;
    vendor.cold_started(started.elapsed());
    match mode {
        Mode::Lambda => {
            let vendor = &vendor;
            run_lambda(service_fn(move |request| async move {
                Ok::<_, Infallible>(vendor.handle(request).await)
            }))
            .await
        }
        Mode::Local { listen } => Ok(serve_local(listen, Arc::new(vendor)).await?),
    }
}
