//! The forms context's port: forms, submissions and their counts (the DynamoDB adapter is
//! `scrm_adapters::dynamo::DynamoGrowth`, in the tasks table beside the other growth items).
use super::model::{Form, Submission};
use crate::ports::StoreError;
use crate::tenants::TenantId;
use std::future::Future;

/// A page of submissions, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmissionPage {
    /// The submissions.
    pub items: Vec<Submission>,
    /// Where the next page starts (opaque), if there is one.
    pub next_cursor: Option<String>,
}

/// Whether `raw` is a submissions cursor (`{ms:013}#{customer}`, as a page's
/// `next_cursor` gives it): checked before any read.
pub fn is_cursor(raw: &str) -> bool {
    let Some((ms, ext)) = raw.split_once('#') else {
        return false;
    };
    ms.len() == 13
        && ms.bytes().all(|b| b.is_ascii_digit())
        && crate::points::CustomerId::parse(ext).is_ok()
}

/// Forms and submissions.
pub trait FormStore: Send + Sync {
    /// Writes a new form unless one with its id exists: `None` when written, else the
    /// stored one (a retried create).
    fn create_form(
        &self,
        t: &TenantId,
        form: &Form,
    ) -> impl Future<Output = Result<Option<Form>, StoreError>> + Send;
    /// A form (consistent read).
    fn form(
        &self,
        t: &TenantId,
        form_id: &str,
    ) -> impl Future<Output = Result<Option<Form>, StoreError>> + Send;
    /// Every form of the tenant.
    fn forms(&self, t: &TenantId) -> impl Future<Output = Result<Vec<Form>, StoreError>> + Send;
    /// Replaces a form if its stored version is still `version`: `Ok(false)` if not.
    fn save_form(
        &self,
        t: &TenantId,
        form: &Form,
        version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes a form if its stored version is still `version` and it is a draft.
    fn delete_form(
        &self,
        t: &TenantId,
        form_id: &str,
        version: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A customer's submission to a form (consistent read).
    fn submission(
        &self,
        t: &TenantId,
        form_id: &str,
        external_userid: &str,
    ) -> impl Future<Output = Result<Option<Submission>, StoreError>> + Send;
    /// Writes `sub`: the customer's first (`previous: None`, counted in the form's
    /// submissions in the same transaction) or a later version replacing `previous`.
    /// `Ok(false)` if another submit got there first (read again).
    fn put_submission(
        &self,
        t: &TenantId,
        sub: &Submission,
        previous: Option<i64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A page of a form's submissions, newest first.
    fn submissions(
        &self,
        t: &TenantId,
        form_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<SubmissionPage, StoreError>> + Send;
    /// How many customers submitted each form (absent: none).
    fn submission_counts(
        &self,
        t: &TenantId,
        form_ids: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, i64>, StoreError>> + Send;
}
