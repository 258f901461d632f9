//! What the directory reads from WeCom's server API, as one narrow port: the callback
//! effects fetch a customer's or a group's detail, the re-sync pages through everything.
//! The WeCom client implements it (`scrm-adapters`); tests run it against the fake server.
use crate::wecom::api::CorpCredentials;

/// The customer-contact credentials of a tenant, when it has a contact secret.
pub fn contact_credentials(tenant: &crate::tenants::Tenant) -> Option<CorpCredentials> {
    let secret = tenant.contact_secret.expose();
    (!secret.is_empty()).then(|| {
        CorpCredentials::new(tenant.id.as_str(), secret, None)
            .with_rate_limits(&tenant.settings.wecom_rate_limits)
    })
}

pub use super::ports::DirectorySource;
