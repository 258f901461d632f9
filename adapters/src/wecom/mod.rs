//! WeCom's server API over HTTP: the client (token cache in DynamoDB with a refresh lease,
//! each corp's calls paced per API below its frequency limits, bounded retries with backoff,
//! typed errcodes) and its implementations of the contexts'
//! WeCom ports. The fake WeCom server (feature `fake-wecom`) speaks the same JSON and
//! errcodes on loopback for tests, benchmarks and the local stack.
mod client;
mod console;
#[cfg(feature = "fake-wecom")]
pub mod fake;
mod growth;
mod jsapi;
mod links;
mod media;
mod methods;
mod official;
mod pacer;
mod session;
mod sop;
mod source;
mod tags;
mod token;

pub use client::{RetryPolicy, TokenPolicy, WeComClient, WeComConfig, DEFAULT_API_BASE};
pub use official::WeChatClient;
pub use pacer::PacingPolicy;
pub use token::{AccessToken, CachedToken, DynamoTokenCache, MemoryTokenCache, TokenCache};
