//! Built once per container and shared by every `main.rs`: configuration from the
//! environment, the AWS SDK configuration, and the adapters every function is wired from.

/// Loads the AWS SDK configuration once per container. DynamoDB Local is selected by the
/// standard `AWS_ENDPOINT_URL_DYNAMODB` variable, which aws-config reads itself.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
    use std::time::Duration;
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .load()
        .await
}
