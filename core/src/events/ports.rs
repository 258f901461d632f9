//! The events context's port: publishing domain events (EventBridge when deployed, the local
//! functions in local runs: adapters in `scrm-adapters`; a recorder in tests).
use super::EventEnvelope;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Publishing failed; the caller should retry (the events carry deterministic ids, so
/// consumers dedupe a second delivery).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Some entries were rejected.
    #[error("{failed} of {total} events were not accepted")]
    Partial {
        /// How many failed.
        failed: usize,
        /// How many were sent.
        total: usize,
    },
    /// The bus or the local function could not be reached.
    #[error("event delivery failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Publishes domain events.
pub trait EventPublisher: Send + Sync {
    /// Publishes every event, or fails (then none or some were delivered; retrying is safe).
    fn publish(
        &self,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Keeps what was published (tests, tools); tests then deliver the events to handlers.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    events: Mutex<Vec<EventEnvelope>>,
}

impl RecordingPublisher {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything published so far, emptying the recorder.
    pub fn take(&self) -> Vec<EventEnvelope> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A copy of everything published so far.
    pub fn snapshot(&self) -> Vec<EventEnvelope> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventPublisher for RecordingPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(events);
        Ok(())
    }
}

impl<P: EventPublisher> EventPublisher for Arc<P> {
    fn publish(
        &self,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(events)
    }
}
