//! Tenants (one per WeCom corp), their secrets and settings, API keys and authentication of
//! admin requests.
pub mod admin;
pub mod apikeys;
pub mod console;
pub mod model;
pub mod ports;
pub mod redact;

pub use apikeys::{ApiKey, ApiKeyRecord, AuthError, Principal, Role, Scope};
pub use model::{
    GroupMessageQuota, SecretsChange, SecretsStatus, Tenant, TenantId, TenantSettings, TenantView,
};
pub use ports::{
    authenticate, issue_key, ApiKeyStore, AuthenticateError, TenantLookup, TenantSecrets,
    TenantWrite,
};
