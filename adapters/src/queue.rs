//! The SOP dispatch queue on SQS: the minute's scheduler enqueues, the dispatch workers are
//! fed by Lambda's event source mapping. Locally (tests, `scripts/dev.sh`) the same client
//! talks to an SQS-compatible server (`AWS_ENDPOINT_URL_SQS`).
//!
//! The calls the functions make are `SendMessageBatch` (the scheduler); the others
//! (receive, delete, make visible again, create) serve the local stack's mover and the
//! tests, which stand where Lambda's event source mapping stands in a deployment.
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_types::sdk_config::SdkConfig;
use scrm_core::ports::StoreError;
use scrm_core::sop::dispatch::DispatchMessage;
use scrm_core::sop::DispatchQueue;
use serde::{Deserialize, Serialize};

/// The environment variable naming the queue's URL (`sop-dispatch` only).
pub const QUEUE_URL_ENV: &str = "SOP_DISPATCH_QUEUE_URL";
/// SQS's most entries per `SendMessageBatch`.
const BATCH: usize = 10;

/// The SQS client: `AWS_ENDPOINT_URL_SQS` (the standard variable) points it at a local
/// server in tests and local runs.
pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL_SQS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        config = config.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    // The SDK already retried throttling and transient errors; what is left fails the
    // scheduler's invocation, which the next minute repeats.
    StoreError::Retryable(Box::new(e))
}

/// A message received (the local mover and the tests).
#[derive(Debug, Clone)]
pub struct Received {
    /// SQS's id of the message (Lambda's `messageId`).
    pub message_id: String,
    /// The handle that deletes it or makes it visible again.
    pub receipt_handle: String,
    /// Its body.
    pub body: String,
}

/// The dispatch queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue `SOP_DISPATCH_QUEUE_URL` names.
    pub fn from_env(sdk: &SdkConfig) -> Result<Self, scrm_core::config::ConfigError> {
        let url = std::env::var(QUEUE_URL_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                scrm_core::config::ConfigError(format!("{QUEUE_URL_ENV} must be set"))
            })?;
        Ok(Self::new(sqs_client(sdk), url))
    }

    /// Creates (or finds) a queue named `name`; its URL. Local runs and tests only: the
    /// deployment's queue is the template's.
    pub async fn create(
        client: &aws_sdk_sqs::Client,
        name: &str,
        visibility_timeout_s: u32,
    ) -> Result<String, StoreError> {
        let out = client
            .create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                visibility_timeout_s.to_string(),
            )
            .send()
            .await
            .map_err(backend)?;
        out.queue_url
            .ok_or_else(|| StoreError::Corrupt("CreateQueue answered no URL".into()))
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Up to `max` (≤ 10) visible messages, waiting up to `wait_s` seconds for one.
    pub async fn receive(&self, max: i32, wait_s: i32) -> Result<Vec<Received>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_s)
            .send()
            .await
            .map_err(backend)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(Received {
                    message_id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Deletes a handled message.
    pub async fn delete(&self, receipt_handle: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Makes a message visible again after `seconds` (0: at once), as its visibility
    /// timeout's end would.
    pub async fn release(&self, receipt_handle: &str, seconds: i32) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl DispatchQueue for SqsQueue {
    async fn enqueue(&self, messages: &[DispatchMessage]) -> Result<(), StoreError> {
        for chunk in messages.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, m) in chunk.iter().enumerate() {
                let body = serde_json::to_string(m)
                    .map_err(|e| StoreError::Corrupt(format!("dispatch message: {e}")))?;
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(backend)?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(backend)?;
            if let Some(f) = out.failed.first() {
                return Err(StoreError::Retryable(
                    format!(
                        "SendMessageBatch refused {} of {} messages: {} {}",
                        out.failed.len(),
                        chunk.len(),
                        f.code,
                        f.message.as_deref().unwrap_or("")
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }
}

/// Lambda's SQS event (the fields the worker reads).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SqsEvent {
    /// The messages of the batch.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

/// One message of Lambda's SQS event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    /// SQS's id of the message.
    pub message_id: String,
    /// Its body.
    #[serde(default)]
    pub body: String,
    /// Its receipt handle (not needed by the worker: Lambda deletes what succeeded).
    #[serde(default)]
    pub receipt_handle: String,
}

/// The worker's answer with `ReportBatchItemFailures`: the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The failed messages.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// Its `messageId`.
    pub item_identifier: String,
}
