//! The admin API's use cases of forms: create (idempotent on the request's key), edit and
//! status changes (version-guarded), delete (drafts only: a form that has been published
//! may hold answers, so it is closed instead), and the submissions' CSV.
use super::model::{Form, FormInput, FormStatus, Problem, Submission};
use super::ports::FormStore;
use super::FormsError;
use crate::growth::state::request_hash;
use crate::tenants::TenantId;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The prefix of a form id.
pub const PREFIX: &str = "fm";
/// Hex digits after the prefix.
pub const DIGITS: usize = 16;

/// The id of the form created with `idempotency_key` in `tenant`, so that a retried create
/// names the same form.
pub fn form_id_for(tenant: &str, idempotency_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"form\0");
    h.update(tenant.as_bytes());
    h.update(b"\0");
    h.update(idempotency_key.as_bytes());
    format!("{PREFIX}{}", &hex::encode(h.finalize())[..DIGITS])
}

/// Whether `raw` is a form id (path parameters are checked before any read).
pub fn is_form_id(raw: &str) -> bool {
    raw.len() == PREFIX.len() + DIGITS
        && raw.starts_with(PREFIX)
        && raw[PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

fn checked(input: &FormInput) -> Result<(), FormsError> {
    let problems = input.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(FormsError::Invalid(problems))
    }
}

/// Creates a draft form: `(form, true)` when this call created it, `(form, false)` for a
/// retry of the same request; the same key with another body is refused.
pub async fn create<S: FormStore>(
    store: &S,
    t: &TenantId,
    idempotency_key: &str,
    input: FormInput,
    now: DateTime<Utc>,
) -> Result<(Form, bool), FormsError> {
    checked(&input)?;
    let hash = request_hash(&serde_json::to_string(&input).unwrap_or_default());
    let form = Form {
        form_id: form_id_for(t.as_str(), idempotency_key),
        spec: input,
        status: FormStatus::Draft,
        version: 1,
        request_hash: hash,
        created_at: now,
        updated_at: now,
    };
    match store.create_form(t, &form).await? {
        None => Ok((form, true)),
        Some(old) if old.request_hash == form.request_hash => Ok((old, false)),
        Some(_) => Err(FormsError::KeyReused),
    }
}

/// A form of the tenant, or `no_such_form`.
pub async fn form<S: FormStore>(store: &S, t: &TenantId, id: &str) -> Result<Form, FormsError> {
    if !is_form_id(id) {
        return Err(FormsError::NoSuchForm);
    }
    store.form(t, id).await?.ok_or(FormsError::NoSuchForm)
}

async fn current<S: FormStore>(
    store: &S,
    t: &TenantId,
    id: &str,
    version: i64,
) -> Result<Form, FormsError> {
    let f = form(store, t, id).await?;
    if f.version != version {
        return Err(FormsError::StaleVersion {
            current: f.version,
            given: version,
        });
    }
    Ok(f)
}

async fn save<S: FormStore>(
    store: &S,
    t: &TenantId,
    f: &Form,
    from: i64,
) -> Result<(), FormsError> {
    if store.save_form(t, f, from).await? {
        Ok(())
    } else {
        Err(FormsError::ChangedMeanwhile)
    }
}

/// Replaces a form's definition (any status; answers already given keep their values, and
/// the export shows the fields the form has now).
pub async fn edit<S: FormStore>(
    store: &S,
    t: &TenantId,
    id: &str,
    version: i64,
    input: FormInput,
    now: DateTime<Utc>,
) -> Result<Form, FormsError> {
    checked(&input)?;
    let mut f = current(store, t, id, version).await?;
    f.spec = input;
    f.version = version + 1;
    f.updated_at = now;
    save(store, t, &f, version).await?;
    Ok(f)
}

/// Publishes, closes or reopens a form.
pub async fn set_status<S: FormStore>(
    store: &S,
    t: &TenantId,
    id: &str,
    version: i64,
    status: FormStatus,
    now: DateTime<Utc>,
) -> Result<Form, FormsError> {
    let mut f = current(store, t, id, version).await?;
    if !f.status.may_become(status) {
        return Err(FormsError::BadTransition {
            from: f.status,
            to: status,
        });
    }
    f.status = status;
    f.version = version + 1;
    f.updated_at = now;
    save(store, t, &f, version).await?;
    Ok(f)
}

/// Deletes a draft (conditional on the draft read: a form published meanwhile stays).
pub async fn delete<S: FormStore>(store: &S, t: &TenantId, id: &str) -> Result<(), FormsError> {
    let f = form(store, t, id).await?;
    if f.status != FormStatus::Draft {
        return Err(FormsError::NotDraft);
    }
    if store.delete_form(t, id, f.version).await? {
        Ok(())
    } else {
        Err(FormsError::ChangedMeanwhile)
    }
}

/// The UTF-8 byte order mark: Excel reads a CSV without it in the system's code page.
pub const BOM: &str = "\u{feff}";

/// One CSV cell: quoted when it holds a separator, a quote or a line break (quotes
/// doubled), and prefixed with `'` when a spreadsheet would read it as a formula.
pub fn csv_cell(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn csv_row(cells: impl IntoIterator<Item = String>) -> String {
    let mut line = cells
        .into_iter()
        .map(|c| csv_cell(&c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The header row of a form's export (with the BOM): the customer, the times, then a
/// column per field, labelled as the form labels it now.
pub fn csv_header(f: &Form) -> String {
    let fixed = [
        "external_userid",
        "submitted_at",
        "first_submitted_at",
        "version",
    ];
    let mut out = BOM.to_string();
    out.push_str(&csv_row(
        fixed
            .iter()
            .map(|s| s.to_string())
            .chain(f.spec.fields.iter().map(|x| x.label.trim().to_string())),
    ));
    out
}

/// One submission as a CSV row (answers as a person reads them; times in UTC, RFC 3339).
pub fn csv_line(f: &Form, s: &Submission) -> String {
    let fixed = [
        s.external_userid.clone(),
        s.submitted_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        s.first_submitted_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        s.version.to_string(),
    ];
    csv_row(fixed.into_iter().chain(f.spec.fields.iter().map(|field| {
        s.answers
            .get(&field.id)
            .map(|a| f.display(field, a))
            .unwrap_or_default()
    })))
}

/// The problems as an error's details.
pub fn problems_json(problems: &[Problem]) -> serde_json::Value {
    serde_json::json!({ "problems": problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_key_and_recognised() {
        let a = form_id_for("ww1", "k1");
        assert_eq!(a, form_id_for("ww1", "k1"));
        assert_ne!(a, form_id_for("ww2", "k1"));
        assert!(is_form_id(&a));
        for bad in ["", "fm", "fm0123456789abcdeF", "ch0123456789abcdef"] {
            assert!(!is_form_id(bad), "{bad}");
        }
    }

    #[test]
    fn cells_are_escaped_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("-1,5"), "\"'-1,5\"");
        assert_eq!(csv_cell("上海"), "上海");
    }
}
