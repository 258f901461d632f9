//! A customer's side of a form (customer API): read a published form with their own
//! answers, and submit. One submission per customer and form: a later submit replaces the
//! answers (the export shows the latest, with its version). A submit is idempotent on its
//! `Idempotency-Key`: a retry answers what the first did and writes nothing new; the same
//! key with other answers is refused.
//!
//! What a submit does, in order: check the answers (pure; nothing is written if any is
//! refused), write the submission (one conditional transaction, counted in the form's
//! figures on the customer's first), save the profile fields the form fills through the
//! points context (paying the tenant's profile-completion points under their existing
//! once-key, so a form and the profile page never pay twice), and publish `FormSubmitted`,
//! on which `growth-on-event` puts the chosen options' tags and the remark on the
//! customer at WeCom. A retry after a failure part-way redoes the profile and the event
//! (both idempotent), so a lost step is made good by the page's retry.
use super::model::{Form, FormStatus, RawAnswers, Submission};
use super::ports::FormStore;
use super::FormsError;
use crate::events::{DomainEvent, EventEnvelope, EventPublisher};
use crate::points::earn::{save_profile, ProfileSaved};
use crate::points::ports::{LedgerStore, ProfileStore, RulesStore};
use crate::points::{Account, When};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Attempts at writing a submission when other submits of the same customer race it.
const ATTEMPTS: usize = 3;

/// A published form as a customer sees it, with their answers if they gave some.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerForm {
    /// The form (without its internal fields: tags and request hash are not shown).
    pub form: serde_json::Value,
    /// The customer's submission, if any.
    pub submission: Option<Submission>,
}

/// The form as shown to customers: no tag ids, no remark template, no request hash.
pub fn public_view(f: &Form) -> serde_json::Value {
    let mut v = serde_json::to_value(f).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("request_hash");
        o.remove("remark_template");
        o.remove("version");
        if let Some(fields) = o.get_mut("fields").and_then(|x| x.as_array_mut()) {
            for field in fields {
                if let Some(opts) = field.get_mut("options").and_then(|x| x.as_array_mut()) {
                    for opt in opts {
                        if let Some(opt) = opt.as_object_mut() {
                            opt.remove("tag_id");
                        }
                    }
                }
            }
        }
    }
    v
}

async fn open_form<S: FormStore>(
    store: &S,
    account: &Account,
    form_id: &str,
) -> Result<Form, FormsError> {
    let f = super::admin::form(store, &account.tenant, form_id).await?;
    match f.status {
        FormStatus::Published => Ok(f),
        // A draft is nobody's business but the operators'.
        FormStatus::Draft => Err(FormsError::NoSuchForm),
        FormStatus::Closed => Err(FormsError::Closed),
    }
}

/// A published form and the customer's answers to it.
pub async fn customer_form<S: FormStore>(
    store: &S,
    account: &Account,
    form_id: &str,
) -> Result<CustomerForm, FormsError> {
    let f = open_form(store, account, form_id).await?;
    let submission = store
        .submission(&account.tenant, form_id, account.customer.as_str())
        .await?;
    Ok(CustomerForm {
        form: public_view(&f),
        submission,
    })
}

/// What a submit did.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    /// The submission as stored.
    pub submission: Submission,
    /// Whether this was a retry answered from the stored submission.
    pub replayed: bool,
    /// The profile as saved and its completion reward (when the form fills profile fields).
    pub profile: Option<ProfileSaved>,
}

/// The id of the event a submission version publishes (the consumer dedupes on it).
pub fn event_id(t: &str, form_id: &str, customer: &str, version: i64) -> String {
    format!("form:{t}:{form_id}:{customer}:{version}")
}

/// Submits answers (see the module's documentation).
#[allow(clippy::too_many_arguments)]
pub async fn submit<S, P, E>(
    store: &S,
    points: &P,
    publisher: &E,
    account: &Account,
    form_id: &str,
    idempotency_key: &str,
    raw: &RawAnswers,
    when: When,
) -> Result<Submitted, FormsError>
where
    S: FormStore,
    P: LedgerStore + RulesStore + ProfileStore,
    E: EventPublisher,
{
    let f = open_form(store, account, form_id).await?;
    let answers = f.check_answers(raw).map_err(FormsError::InvalidAnswers)?;
    let fingerprint = hex::encode(
        &Sha256::digest(
            serde_json::to_string(&answers)
                .unwrap_or_default()
                .as_bytes(),
        )[..12],
    );
    let t = &account.tenant;
    let customer = account.customer.as_str();
    let mut attempt = 0;
    let (submission, replayed) = loop {
        attempt += 1;
        let old = store.submission(t, form_id, customer).await?;
        if let Some(old) = old
            .as_ref()
            .filter(|o| o.idempotency_key == idempotency_key)
        {
            if old.fingerprint != fingerprint {
                return Err(FormsError::KeyReused);
            }
            break (old.clone(), true);
        }
        let sub = Submission {
            form_id: form_id.to_string(),
            external_userid: customer.to_string(),
            answers: answers.clone(),
            version: old.as_ref().map_or(1, |o| o.version + 1),
            idempotency_key: idempotency_key.to_string(),
            fingerprint: fingerprint.clone(),
            first_submitted_at: old.as_ref().map_or(when.now, |o| o.first_submitted_at),
            submitted_at: when.now,
        };
        if store
            .put_submission(t, &sub, old.as_ref().map(|o| o.version))
            .await?
        {
            break (sub, false);
        }
        if attempt >= ATTEMPTS {
            return Err(FormsError::ChangedMeanwhile);
        }
    };
    let profile = match f.profile_of(&submission.answers) {
        Some(update) => Some(
            save_profile(points, account, &update, when)
                .await
                .map_err(FormsError::Profile)?,
        ),
        None => None,
    };
    let envelope = EventEnvelope {
        event_id: event_id(t.as_str(), form_id, customer, submission.version),
        tenant: t.as_str().to_string(),
        occurred_at: submission.submitted_at,
        event: DomainEvent::FormSubmitted {
            form_id: form_id.to_string(),
            external_userid: customer.to_string(),
            version: submission.version,
        },
    };
    publisher
        .publish(&[envelope])
        .await
        .map_err(FormsError::Publish)?;
    Ok(Submitted {
        submission,
        replayed,
        profile,
    })
}
