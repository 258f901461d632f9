//! `FormSubmitted` consumed (`growth-on-event`): the chosen options' corp tags put on the
//! customer and the other options' tags taken off, and the form's remark set, on every
//! active follow relation the directory knows (WeCom's tags and remarks belong to a
//! relation: a staff member and the customer). Both calls set a state, so a redelivery
//! sets the same again; an event about a version the customer has since replaced is left
//! to the newer version's event. A relation WeCom refuses (the member left, the customer
//! removed them) is skipped and logged; a busy WeCom fails the event, which is retried.
use super::model::FormStatus;
use super::ports::FormStore;
use crate::contacts::source::contact_credentials;
use crate::contacts::{DirectoryRead, RelationStatus};
use crate::events::{DomainEvent, EventEnvelope};
use crate::growth::on_event::GrowthEventError;
use crate::growth::GrowthWeCom;
use crate::tenants::{TenantId, TenantLookup};
use crate::wecom::api::{CustomerRemark, MarkTag, WeComError};

/// What the event did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormEffects {
    /// Relations tagged (or untagged).
    pub tagged: usize,
    /// Relations remarked.
    pub remarked: usize,
    /// Relations WeCom refused.
    pub refused: usize,
    /// Why nothing was done, when nothing was (`superseded`, `no_form`, ...).
    pub skipped: Option<&'static str>,
}

/// Applies one `FormSubmitted`; other events are not this function's (`Ok(None)`).
pub async fn on_form_submitted<S, W, D, T>(
    store: &S,
    wecom: &W,
    directory: &D,
    tenants: &T,
    env: &EventEnvelope,
) -> Result<Option<FormEffects>, GrowthEventError>
where
    S: FormStore,
    W: GrowthWeCom,
    D: DirectoryRead,
    T: TenantLookup,
{
    let DomainEvent::FormSubmitted {
        form_id,
        external_userid,
        version,
    } = &env.event
    else {
        return Ok(None);
    };
    let skipped = |why| {
        Ok(Some(FormEffects {
            skipped: Some(why),
            ..FormEffects::default()
        }))
    };
    let t = TenantId::parse(&env.tenant).map_err(|e| GrowthEventError::Malformed(e.to_string()))?;
    let Some(tenant) = tenants.tenant(&t).await? else {
        return skipped("unknown_tenant");
    };
    let Some(form) = store.form(&t, form_id).await? else {
        return skipped("no_form");
    };
    if form.status == FormStatus::Draft {
        return skipped("no_form");
    }
    let Some(sub) = store.submission(&t, form_id, external_userid).await? else {
        return skipped("no_submission");
    };
    if sub.version != *version {
        return skipped("superseded");
    }
    let (add, remove) = form.tags_of(&sub.answers);
    let remark = form.remark_of(&sub.answers);
    if add.is_empty() && remove.is_empty() && remark.is_none() {
        return skipped("nothing_to_apply");
    }
    let Some(creds) = contact_credentials(&tenant) else {
        return skipped("no_contact_secret");
    };
    let Some(customer) = directory.customer(&t, external_userid).await? else {
        return skipped("unknown_customer");
    };
    let mut out = FormEffects::default();
    let refused = |e: WeComError, out: &mut FormEffects| -> Result<(), GrowthEventError> {
        if e.is_retryable() {
            return Err(e.into());
        }
        tracing::warn!(error = %e, "WeCom refused a form's tags or remark on a relation");
        out.refused += 1;
        Ok(())
    };
    for rel in customer
        .follow_users
        .iter()
        .filter(|r| r.status == RelationStatus::Active)
    {
        if !add.is_empty() || !remove.is_empty() {
            let request = MarkTag {
                userid: rel.userid.clone(),
                external_userid: external_userid.clone(),
                add_tag: add.clone(),
                remove_tag: remove.clone(),
            };
            match wecom.mark_tag(&creds, &request).await {
                Ok(()) => out.tagged += 1,
                Err(e) => {
                    refused(e, &mut out)?;
                    continue;
                }
            }
        }
        if let Some(text) = &remark {
            let request = CustomerRemark {
                userid: rel.userid.clone(),
                external_userid: external_userid.clone(),
                remark: text.clone(),
            };
            match wecom.remark(&creds, &request).await {
                Ok(()) => out.remarked += 1,
                Err(e) => refused(e, &mut out)?,
            }
        }
    }
    Ok(Some(out))
}
