//! Smart forms (智能表单): operators define forms (typed fields with their validation);
//! customers fill a published form on an H5 page with their customer token; the answers
//! become corp tags (per option), a remark (a template over the answers) and fields of the
//! customer-entered profile (paying the tenant's profile-completion points once, through
//! the points context's own rule); operators read and export the submissions.
//!
//! - [`model`]: forms, fields, answers and both validations (pure);
//! - [`admin`]: the admin API's use cases and the CSV export;
//! - [`submit`]: the customer's read and submit;
//! - [`effects`]: `FormSubmitted` consumed: tags and remarks at WeCom;
//! - [`ports`]: the store.
pub mod admin;
pub mod effects;
pub mod model;
pub mod ports;
pub mod submit;

pub use model::{
    AnswerValue, Field, FieldKind, FieldOption, Form, FormInput, FormStatus, Problem, Submission,
};
pub use ports::{FormStore, SubmissionPage};

use crate::events::PublishError;
use crate::http::ApiError;
use crate::points::PointsError;
use crate::ports::StoreError;

/// Why a forms use case failed.
#[derive(Debug, thiserror::Error)]
pub enum FormsError {
    /// The definition is not acceptable: every problem, per field.
    #[error("invalid form: {}", Problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// The answers are not acceptable: every problem, per answered field.
    #[error("invalid answers: {}", Problem::summary(.0))]
    InvalidAnswers(Vec<Problem>),
    /// No such form in this tenant (or, for a customer, not published).
    #[error("no such form")]
    NoSuchForm,
    /// The form is closed: it takes no answers.
    #[error("this form is closed")]
    Closed,
    /// The idempotency key was used for another request body.
    #[error("this Idempotency-Key was used for another request")]
    KeyReused,
    /// The edit starts from another version than the stored one.
    #[error("the form is at version {current}, not {given}: reload it and edit again")]
    StaleVersion {
        /// The stored version.
        current: i64,
        /// The edit's.
        given: i64,
    },
    /// The form (or the submission) changed between its read and its write.
    #[error("it changed meanwhile: reload and try again")]
    ChangedMeanwhile,
    /// A status change the life of a form does not allow.
    #[error("a {from:?} form cannot become {to:?}")]
    BadTransition {
        /// The status now.
        from: FormStatus,
        /// The status asked for.
        to: FormStatus,
    },
    /// Only drafts are deleted (a published form may hold answers: close it).
    #[error("only a draft can be deleted; close the form instead")]
    NotDraft,
    /// Saving the profile fields failed.
    #[error(transparent)]
    Profile(PointsError),
    /// The submission is saved but its tags and remark could not be queued: retry the
    /// submit with the same key.
    #[error("the answers are saved; retry to finish: {0}")]
    Publish(PublishError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FormsError> for ApiError {
    fn from(e: FormsError) -> Self {
        match e {
            FormsError::Invalid(ref p) => {
                ApiError::validation(e.to_string()).with_details(admin::problems_json(p))
            }
            FormsError::InvalidAnswers(ref p) => {
                ApiError::bad_request("invalid_answers", e.to_string())
                    .with_details(admin::problems_json(p))
            }
            FormsError::NoSuchForm => ApiError::not_found(e.to_string()),
            FormsError::Closed => ApiError::conflict("form_closed", e.to_string()),
            FormsError::KeyReused => ApiError::conflict("idempotency_key_reused", e.to_string()),
            FormsError::StaleVersion { .. } | FormsError::ChangedMeanwhile => {
                ApiError::conflict("version_conflict", e.to_string())
            }
            FormsError::BadTransition { .. } => {
                ApiError::conflict("bad_status_change", e.to_string())
            }
            FormsError::NotDraft => ApiError::conflict("form_not_draft", e.to_string()),
            FormsError::Profile(p) => p.into(),
            FormsError::Publish(_) => {
                tracing::warn!(error = %e, "form submission's event not published");
                ApiError::unavailable()
            }
            FormsError::Store(s) => s.into(),
        }
    }
}
