//! AWS: the SDK's configuration (loaded once per cold start), the explicit
//! timeouts of every AWS call, the client builders, and the SDK's HTTP
//! client ([`http`]).

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::Client as SecretsManagerClient;

pub(crate) mod http;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long an AWS endpoint may take to accept a connection (TCP and TLS).
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Explicit timeouts for every AWS call (the SDK sets none by default): an
/// endpoint that accepts connections and never answers costs at most
/// `OPERATION` seconds, at cold start or in a request.
pub fn aws_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(AWS_CONNECT_TIMEOUT)
        .read_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

/// The Secrets Manager client, with [`aws_timeouts`] applied whatever `sdk`
/// says.
pub fn secrets_manager_client(sdk: &SdkConfig) -> SecretsManagerClient {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(aws_timeouts())
        .build();
    SecretsManagerClient::from_conf(config)
}

/// The AWS SDK configuration: compiled-in Amazon roots, explicit timeouts,
/// and under Lambda the environment's credentials only.
pub(crate) async fn load_sdk(lambda: bool) -> Result<SdkConfig, BoxError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http::sdk_http_client(AWS_CONNECT_TIMEOUT)?)
        .timeout_config(aws_timeouts());
    if lambda {
        // Lambda always hands the role's credentials over in environment
        // variables; building the default provider chain (profiles, SSO, web
        // identity, ECS, IMDS) cost ~1.3 ms of every cold start (docs/benchmarks-history.md).
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    Ok(loader.load().await)
}

/// The DynamoDB client for rooms and quotas, with the same explicit timeouts as every
/// AWS call.
pub(crate) fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(aws_timeouts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
