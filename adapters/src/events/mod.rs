//! Publishing domain events: to EventBridge when deployed, to the local functions in local
//! runs, to a recorder in tests.
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use scrm_core::config::EventSink;
use scrm_core::events::{
    routing, EventEnvelope, EventPublisher, PublishError, RecordingPublisher, SOURCE,
};
use std::sync::Arc;
use std::time::Duration;

/// EventBridge accepts at most 10 entries per `PutEvents` call.
const PUT_EVENTS_BATCH: usize = 10;
/// The project's EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgePublisher {
    /// Builds the publisher.
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        for chunk in events.chunks(PUT_EVENTS_BATCH) {
            let entries: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(SOURCE)
                        .detail_type(e.detail_type())
                        .detail(serde_json::to_string(e).unwrap_or_default())
                        .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
                            e.occurred_at.timestamp(),
                        ))
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError::Transport(Box::new(e)))?;
            let failed = out.failed_entry_count() as usize;
            if failed > 0 {
                return Err(PublishError::Partial {
                    failed,
                    total: chunk.len(),
                });
            }
        }
        Ok(())
    }
}

/// Local runs: invokes the routed functions through the Lambda invoke API that
/// `cargo lambda watch` serves, with the same EventBridge-shaped payload a rule delivers.
#[derive(Debug, Clone)]
pub struct LocalLambdaPublisher {
    http: reqwest::Client,
    base_url: String,
}

impl LocalLambdaPublisher {
    /// Builds the publisher for a `cargo lambda watch` base URL.
    pub fn new(base_url: impl Into<String>) -> Self {
        crate::aws_http::install_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
        }
    }
}

impl EventPublisher for LocalLambdaPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        let mut failed = 0;
        let mut total = 0;
        for event in events {
            for target in routing::targets(event.detail_type()) {
                total += 1;
                let url = format!(
                    "{}/2015-03-31/functions/{target}/invocations",
                    self.base_url
                );
                let result = self
                    .http
                    .post(&url)
                    .json(&event.to_eventbridge_json())
                    .send()
                    .await;
                match result {
                    Ok(resp) if resp.status().is_success() => {}
                    Ok(resp) => {
                        tracing::warn!(target, status = %resp.status(), "local delivery failed");
                        failed += 1;
                    }
                    Err(err) => {
                        tracing::warn!(target, error = %err, "local delivery failed");
                        failed += 1;
                    }
                }
            }
        }
        if failed > 0 {
            Err(PublishError::Partial { failed, total })
        } else {
            Ok(())
        }
    }
}

/// The publisher chosen by configuration.
#[derive(Debug, Clone)]
pub enum AnyPublisher {
    /// Deployed.
    EventBridge(EventBridgePublisher),
    /// Local runs.
    Local(LocalLambdaPublisher),
    /// Tests and tools.
    Recording(Arc<RecordingPublisher>),
    /// Nowhere.
    Discard,
}

impl AnyPublisher {
    /// Builds the publisher the configuration asks for.
    pub fn from_config(sink: &EventSink, sdk: &aws_types::sdk_config::SdkConfig) -> Self {
        match sink {
            EventSink::EventBridge { bus_name } => AnyPublisher::EventBridge(
                EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus_name),
            ),
            EventSink::LocalLambda { base_url } => {
                AnyPublisher::Local(LocalLambdaPublisher::new(base_url))
            }
            EventSink::Discard => AnyPublisher::Discard,
        }
    }
}

impl EventPublisher for AnyPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        match self {
            AnyPublisher::EventBridge(p) => p.publish(events).await,
            AnyPublisher::Local(p) => p.publish(events).await,
            AnyPublisher::Recording(p) => p.publish(events).await,
            AnyPublisher::Discard => Ok(()),
        }
    }
}
