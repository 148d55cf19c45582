//! AWS: the SDK's configuration (loaded once per cold start), the explicit
//! timeouts of every AWS call, the client builders, DynamoDB's connection
//! opened at init, and the SDK's HTTP client ([`http`]).

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_secretsmanager::Client as SecretsManagerClient;

use crate::logging::chain;

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

/// How DynamoDB's connection warm-up ended, for the cold start's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Preconnect {
    /// The endpoint answered (a refusal too): its connection is in the pool.
    Answered(u16),
    /// No answer (no connection, or no credentials to sign with), and why.
    Failed(String),
    /// No answer within the budget.
    TimedOut,
}

/// The key [`preconnect_dynamodb`] reads: no room name and no quota key
/// starts with `#`, so it names no item of either table.
pub(crate) const WARM_UP_KEY: &str = "#warm-up";

/// Opens the DynamoDB client's keep-alive connection (TCP, and TLS over
/// https) during init, so that the first room or quota call after a cold
/// start opens none.
///
/// It reads [`WARM_UP_KEY`] of `table` (partition key `key`): a `GetItem`
/// of an item that does not exist, eventually consistent, half a read unit.
/// The function may already read the rooms table, so that read needs no new
/// IAM grant. A refusal (no `GetItem` on a quota-only table) still leaves
/// the connection open. The SDK makes the call, so the endpoint, credentials,
/// signing and pooled connection are the ones a table call then reuses. The
/// SDK's own retries apply, all within `budget`.
pub(crate) async fn preconnect_dynamodb(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    budget: Duration,
) -> Preconnect {
    let call = client
        .get_item()
        .table_name(table)
        .key(key, AttributeValue::S(WARM_UP_KEY.to_owned()))
        .projection_expression("#k")
        .expression_attribute_names("#k", key)
        .send();
    match tokio::time::timeout(budget, call).await {
        Ok(Ok(_)) => Preconnect::Answered(200),
        Ok(Err(error)) => match error.raw_response() {
            Some(response) => Preconnect::Answered(response.status().as_u16()),
            None => Preconnect::Failed(chain(&error)),
        },
        Err(_) => Preconnect::TimedOut,
    }
}
