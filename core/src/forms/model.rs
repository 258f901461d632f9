//! What an operator defines (a form and its fields) and what a customer answers, with both
//! validations as pure code: a definition's own problems (create and edit) and an answer
//! set's problems against its form (submit). Every problem names its field and carries a
//! stable code, so a page can put the message beside the right input.
use crate::points::rules::{CustomerProfile, ProfileField};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Fields a form has at most (one screen of a phone, and one CSV row of reasonable width).
pub const MAX_FIELDS: usize = 30;
/// Options a choice field has at most.
pub const MAX_OPTIONS: usize = 20;
/// Characters of a form's title, a field's label or an option's label.
pub const MAX_TITLE_CHARS: usize = 100;
/// Characters of a form's description or a field's help text.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Characters of a field id or an option value (`[a-z0-9_]`, starting with a letter).
pub const MAX_ID_CHARS: usize = 32;
/// Characters of a remark template (rendered, then cut to WeCom's 20).
pub const MAX_REMARK_TEMPLATE_CHARS: usize = 60;
/// The longest answer of a short text field (and its `max_length` at most).
pub const SHORT_TEXT_CHARS: u32 = 200;
/// The longest answer of a long text field (and its `max_length` at most).
pub const LONG_TEXT_CHARS: u32 = 2000;
/// The longest e-mail address (RFC 5321's path limit).
pub const EMAIL_CHARS: usize = 254;
/// The largest magnitude of a number field's bounds and answers (integers stay exact in
/// JSON's doubles up to 2^53; a form never needs more).
pub const MAX_NUMBER: f64 = 1e15;
/// Unknown fields named in an answer's problems at most.
pub const MAX_UNKNOWN_REPORTED: usize = 10;
/// Corp tag ids are WeCom's (`et…`), at most this long.
pub const MAX_TAG_ID_CHARS: usize = 64;

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    ShortText,
    /// Several lines of text.
    LongText,
    /// One of the options.
    SingleChoice,
    /// Any number of the options (bounded by `min`/`max`).
    MultipleChoice,
    /// A number (bounded by `min`/`max`).
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A mainland China mobile number (11 digits, `1[3-9]…`).
    Mobile,
    /// An e-mail address.
    Email,
}

impl FieldKind {
    fn is_choice(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultipleChoice)
    }
    fn is_text(self) -> bool {
        matches!(self, FieldKind::ShortText | FieldKind::LongText)
    }
    fn text_cap(self) -> u32 {
        match self {
            FieldKind::LongText => LONG_TEXT_CHARS,
            _ => SHORT_TEXT_CHARS,
        }
    }
}

/// One option of a choice field; choosing it may tag the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldOption {
    /// Its value in answers and exports (`[a-z0-9_]`, unique within the field).
    pub value: String,
    /// What the customer sees.
    pub label: String,
    /// The corp tag put on the customer when chosen (taken off when no longer chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_id: Option<String>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Its key in answers and the remark template (`[a-z0-9_]`, unique within the form).
    pub id: String,
    /// What the customer sees.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
    /// Help text under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The lowest number (`number`), or the fewest options chosen (`multiple_choice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The highest number (`number`), or the most options chosen (`multiple_choice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The longest text answer in characters (text fields; at most 200 short, 2000 long).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The options (choice fields only; 1 to 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<FieldOption>,
    /// The customer-entered profile field the answer fills (text and mobile fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_field: Option<ProfileField>,
}

/// A form as the operator writes it (create and edit bodies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    /// The title.
    pub title: String,
    /// Shown above the fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fields, in order (1 to 30).
    pub fields: Vec<Field>,
    /// The remark set on the customer by each staff member following them, with `{field
    /// id}` replaced by the answer (cut to WeCom's 20 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark_template: Option<String>,
}

/// Where a form is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormStatus {
    /// Being written: customers cannot see it; it may be deleted.
    Draft,
    /// Open to customers.
    Published,
    /// No longer taking answers (may be published again).
    Closed,
}

impl FormStatus {
    /// Whether a form may go from `self` to `to` (never back to a draft).
    pub fn may_become(self, to: FormStatus) -> bool {
        matches!(
            (self, to),
            (FormStatus::Draft, FormStatus::Published)
                | (FormStatus::Draft, FormStatus::Closed)
                | (FormStatus::Published, FormStatus::Closed)
                | (FormStatus::Closed, FormStatus::Published)
        )
    }
}

/// A stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// Its id (`fm` and 16 hex digits, from the create's idempotency key).
    pub form_id: String,
    /// The definition.
    #[serde(flatten)]
    pub spec: FormInput,
    /// Where it is in its life.
    pub status: FormStatus,
    /// Bumped by every change; an edit names the version it starts from.
    pub version: i64,
    /// A hash of the create's body (a retry with the same key must send the same body).
    pub request_hash: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// An answer, as stored and exported (normalised: trimmed text, option values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    /// Text, a chosen option's value, a date, a mobile or an e-mail.
    Text(String),
    /// The chosen options' values, in the form's order.
    Choices(Vec<String>),
    /// A number.
    Number(f64),
}

/// A customer's answers to one form (one per customer and form; a later submit replaces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The form.
    pub form_id: String,
    /// The customer.
    pub external_userid: String,
    /// The answers by field id (unanswered optional fields absent).
    pub answers: BTreeMap<String, AnswerValue>,
    /// 1 for the first submit, bumped by each later one.
    pub version: i64,
    /// The `Idempotency-Key` of the submit that wrote this version.
    pub idempotency_key: String,
    /// A hash of the answers (a retry under the same key must send the same answers).
    pub fingerprint: String,
    /// When first submitted.
    pub first_submitted_at: DateTime<Utc>,
    /// When this version was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// Something wrong with a definition or an answer: where, a stable code, and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A JSON path such as `fields[2].options` or the answered field's id.
    pub field: String,
    /// A stable code (`required`, `too_long`, `not_an_option`, …).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The problems in one line (`field: message; …`).
    pub fn summary(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn is_key(raw: &str) -> bool {
    let mut chars = raw.chars();
    raw.chars().count() <= MAX_ID_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn chars_in(raw: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&raw.trim().chars().count())
}

fn is_tag_id(raw: &str) -> bool {
    (1..=MAX_TAG_ID_CHARS).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The profile fields a form field of `kind` may fill.
fn fits_profile(kind: FieldKind, p: ProfileField) -> bool {
    match p {
        ProfileField::Mobile => kind == FieldKind::Mobile,
        ProfileField::Address => kind.is_text(),
        ProfileField::Name | ProfileField::WechatId => kind == FieldKind::ShortText,
    }
}

impl FormInput {
    /// Every problem of the definition (empty: acceptable).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !chars_in(&self.title, 1, MAX_TITLE_CHARS) {
            out.push(Problem::new(
                "title",
                "invalid",
                format!("1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_DESCRIPTION_CHARS {
                out.push(Problem::new(
                    "description",
                    "too_long",
                    format!("at most {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
        }
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            out.push(Problem::new(
                "fields",
                "invalid",
                format!("1 to {MAX_FIELDS} fields"),
            ));
        }
        let mut ids = HashSet::new();
        let mut profiles = HashSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let at = |what: &str| format!("fields[{i}].{what}");
            if !is_key(&f.id) {
                out.push(Problem::new(
                    at("id"),
                    "invalid",
                    format!(
                        "a lowercase letter, then letters, digits or _ (at most {MAX_ID_CHARS})"
                    ),
                ));
            } else if !ids.insert(f.id.as_str()) {
                out.push(Problem::new(
                    at("id"),
                    "duplicate",
                    "another field has this id",
                ));
            }
            if !chars_in(&f.label, 1, MAX_TITLE_CHARS) {
                out.push(Problem::new(
                    at("label"),
                    "invalid",
                    format!("1 to {MAX_TITLE_CHARS} characters"),
                ));
            }
            if f.help
                .as_deref()
                .is_some_and(|h| h.chars().count() > MAX_DESCRIPTION_CHARS)
            {
                out.push(Problem::new(
                    at("help"),
                    "too_long",
                    format!("at most {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
            field_bounds(f, &at, &mut out);
            field_options(f, &at, &mut out);
            if let Some(p) = f.profile_field {
                if !fits_profile(f.kind, p) {
                    out.push(Problem::new(
                        at("profile_field"),
                        "invalid",
                        "a mobile fills the mobile; an address a text field; a name or WeChat id a short text field",
                    ));
                } else if !profiles.insert(p) {
                    out.push(Problem::new(
                        at("profile_field"),
                        "duplicate",
                        "another field fills this profile field",
                    ));
                }
            }
        }
        if let Some(t) = &self.remark_template {
            if !chars_in(t, 1, MAX_REMARK_TEMPLATE_CHARS) {
                out.push(Problem::new(
                    "remark_template",
                    "invalid",
                    format!("1 to {MAX_REMARK_TEMPLATE_CHARS} characters"),
                ));
            }
            for name in placeholders(t) {
                if !ids.contains(name) {
                    out.push(Problem::new(
                        "remark_template",
                        "unknown_field",
                        format!("{{{name}}} names no field of the form"),
                    ));
                }
            }
        }
        out
    }
}

fn field_bounds(f: &Field, at: &dyn Fn(&str) -> String, out: &mut Vec<Problem>) {
    let bounded = matches!(f.kind, FieldKind::Number | FieldKind::MultipleChoice);
    if !bounded && (f.min.is_some() || f.max.is_some()) {
        out.push(Problem::new(
            at("min"),
            "not_allowed",
            "min and max apply to number and multiple-choice fields only",
        ));
    }
    for (name, v) in [("min", f.min), ("max", f.max)] {
        if let Some(v) = v {
            let whole = f.kind != FieldKind::MultipleChoice || (v >= 0.0 && v.fract() == 0.0);
            if !v.is_finite() || v.abs() > MAX_NUMBER || !whole {
                out.push(Problem::new(
                    at(name),
                    "invalid",
                    "a number within ±1e15 (a whole count for multiple choice)",
                ));
            }
        }
    }
    if let (Some(lo), Some(hi)) = (f.min, f.max) {
        if lo > hi {
            out.push(Problem::new(at("max"), "invalid", "max is below min"));
        }
    }
    if f.kind == FieldKind::MultipleChoice {
        if let Some(lo) = f.min {
            if lo > f.options.len() as f64 {
                out.push(Problem::new(
                    at("min"),
                    "invalid",
                    "more choices required than there are options",
                ));
            }
        }
    }
    match f.max_length {
        Some(n) if !f.kind.is_text() => {
            let _ = n;
            out.push(Problem::new(
                at("max_length"),
                "not_allowed",
                "max_length applies to text fields only",
            ));
        }
        Some(n) if n == 0 || n > f.kind.text_cap() => out.push(Problem::new(
            at("max_length"),
            "invalid",
            format!("1 to {}", f.kind.text_cap()),
        )),
        _ => {}
    }
}

fn field_options(f: &Field, at: &dyn Fn(&str) -> String, out: &mut Vec<Problem>) {
    if !f.kind.is_choice() {
        if !f.options.is_empty() {
            out.push(Problem::new(
                at("options"),
                "not_allowed",
                "options apply to choice fields only",
            ));
        }
        return;
    }
    if f.options.is_empty() || f.options.len() > MAX_OPTIONS {
        out.push(Problem::new(
            at("options"),
            "invalid",
            format!("1 to {MAX_OPTIONS} options"),
        ));
    }
    let mut values = HashSet::new();
    for (j, o) in f.options.iter().enumerate() {
        if !is_key(&o.value) {
            out.push(Problem::new(
                at(&format!("options[{j}].value")),
                "invalid",
                format!("a lowercase letter, then letters, digits or _ (at most {MAX_ID_CHARS})"),
            ));
        } else if !values.insert(o.value.as_str()) {
            out.push(Problem::new(
                at(&format!("options[{j}].value")),
                "duplicate",
                "another option has this value",
            ));
        }
        if !chars_in(&o.label, 1, MAX_TITLE_CHARS) {
            out.push(Problem::new(
                at(&format!("options[{j}].label")),
                "invalid",
                format!("1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
        if o.tag_id.as_deref().is_some_and(|t| !is_tag_id(t)) {
            out.push(Problem::new(
                at(&format!("options[{j}].tag_id")),
                "invalid",
                "a corp tag id (letters, digits, _ or -)",
            ));
        }
    }
}

/// The `{name}` placeholders of a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Whether `raw` is a mainland China mobile number.
pub fn is_cn_mobile(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// Whether `raw` looks like an e-mail address (one `@`, a dotted domain, no spaces).
pub fn is_email(raw: &str) -> bool {
    if raw.chars().count() > EMAIL_CHARS || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    let Some((local, domain)) = raw.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl Field {
    /// The answer normalised, or the problem with it (`v` not blank).
    fn answer(&self, v: &Value) -> Result<AnswerValue, Problem> {
        let bad = |code: &'static str, m: String| Problem::new(self.id.clone(), code, m);
        let text = || match v {
            Value::String(s) => Ok(s.trim().to_string()),
            _ => Err(bad("wrong_type", "a text answer is expected".into())),
        };
        match self.kind {
            FieldKind::ShortText | FieldKind::LongText => {
                let s = text()?;
                let cap = self.max_length.unwrap_or(self.kind.text_cap());
                if s.chars().count() > cap as usize {
                    return Err(bad("too_long", format!("at most {cap} characters")));
                }
                if s.chars().any(|c| c.is_control() && c != '\n') {
                    return Err(bad("invalid", "control characters are not allowed".into()));
                }
                if self.kind == FieldKind::ShortText && s.contains('\n') {
                    return Err(bad("invalid", "one line only".into()));
                }
                if let Some(p) = self.profile_field {
                    let probe = profile_update(p, &s);
                    if let Err(e) = probe.validate() {
                        return Err(bad("invalid", e.to_string()));
                    }
                }
                Ok(AnswerValue::Text(s))
            }
            FieldKind::SingleChoice => {
                let s = text()?;
                if !self.options.iter().any(|o| o.value == s) {
                    return Err(bad("not_an_option", format!("{s:?} is not an option")));
                }
                Ok(AnswerValue::Text(s))
            }
            FieldKind::MultipleChoice => {
                let Value::Array(items) = v else {
                    return Err(bad("wrong_type", "a list of options is expected".into()));
                };
                let mut chosen = HashSet::new();
                for item in items {
                    let Value::String(s) = item else {
                        return Err(bad("wrong_type", "a list of options is expected".into()));
                    };
                    if !self.options.iter().any(|o| &o.value == s) {
                        return Err(bad("not_an_option", format!("{s:?} is not an option")));
                    }
                    if !chosen.insert(s.as_str()) {
                        return Err(bad("duplicate", format!("{s:?} is chosen twice")));
                    }
                }
                let n = chosen.len() as f64;
                if self.min.is_some_and(|lo| n < lo) {
                    return Err(bad(
                        "too_few",
                        format!("choose at least {}", self.min.unwrap_or(0.0)),
                    ));
                }
                if self.max.is_some_and(|hi| n > hi) {
                    return Err(bad(
                        "too_many",
                        format!("choose at most {}", self.max.unwrap_or(0.0)),
                    ));
                }
                // The form's order, whatever order the page sent.
                Ok(AnswerValue::Choices(
                    self.options
                        .iter()
                        .filter(|o| chosen.contains(o.value.as_str()))
                        .map(|o| o.value.clone())
                        .collect(),
                ))
            }
            FieldKind::Number => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    _ => None,
                }
                .filter(|n| n.is_finite() && n.abs() <= MAX_NUMBER)
                .ok_or_else(|| bad("not_a_number", "a number is expected".into()))?;
                if self.min.is_some_and(|lo| n < lo) {
                    return Err(bad(
                        "below_min",
                        format!("at least {}", self.min.unwrap_or(0.0)),
                    ));
                }
                if self.max.is_some_and(|hi| n > hi) {
                    return Err(bad(
                        "above_max",
                        format!("at most {}", self.max.unwrap_or(0.0)),
                    ));
                }
                Ok(AnswerValue::Number(n))
            }
            FieldKind::Date => {
                let s = text()?;
                let ok = s.len() == 10 && NaiveDate::parse_from_str(&s, "%Y-%m-%d").is_ok();
                if !ok {
                    return Err(bad("not_a_date", "a date as YYYY-MM-DD is expected".into()));
                }
                Ok(AnswerValue::Text(s))
            }
            FieldKind::Mobile => {
                let s = text()?;
                if !is_cn_mobile(&s) {
                    return Err(bad(
                        "not_a_mobile",
                        "a mainland China mobile number (11 digits) is expected".into(),
                    ));
                }
                Ok(AnswerValue::Text(s))
            }
            FieldKind::Email => {
                let s = text()?;
                if !is_email(&s) {
                    return Err(bad("not_an_email", "an e-mail address is expected".into()));
                }
                Ok(AnswerValue::Text(s))
            }
        }
    }
}

fn profile_update(p: ProfileField, value: &str) -> CustomerProfile {
    let mut u = CustomerProfile::default();
    let v = Some(value.to_string());
    match p {
        ProfileField::Name => u.name = v,
        ProfileField::Mobile => u.mobile = v,
        ProfileField::WechatId => u.wechat_id = v,
        ProfileField::Address => u.address = v,
    }
    u
}

/// The answers a submit sends: field id → value (text, a list of option values, a number).
pub type RawAnswers = serde_json::Map<String, Value>;

impl Form {
    /// The answers normalised, or every problem with them (unknown fields, missing
    /// required ones, values their field refuses).
    pub fn check_answers(
        &self,
        raw: &RawAnswers,
    ) -> Result<BTreeMap<String, AnswerValue>, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut out = BTreeMap::new();
        for f in &self.spec.fields {
            match raw.get(&f.id).filter(|v| !blank(v)) {
                None if f.required => problems.push(Problem::new(
                    f.id.clone(),
                    "required",
                    "an answer is required",
                )),
                None => {}
                Some(v) => match f.answer(v) {
                    Ok(a) => {
                        out.insert(f.id.clone(), a);
                    }
                    Err(p) => problems.push(p),
                },
            }
        }
        // A few unknown fields say enough (a body of thousands would make an answer as big).
        let unknown = raw
            .keys()
            .filter(|id| !self.spec.fields.iter().any(|f| &f.id == *id))
            .take(MAX_UNKNOWN_REPORTED)
            .map(|id| {
                let shown: String = id.chars().take(MAX_ID_CHARS).collect();
                Problem::new(shown, "unknown_field", "no such field in the form")
            });
        problems.extend(unknown);
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// The profile fields the answers fill (`None`: the form fills none of them).
    pub fn profile_of(&self, answers: &BTreeMap<String, AnswerValue>) -> Option<CustomerProfile> {
        let mut profile = CustomerProfile::default();
        let mut any = false;
        for f in &self.spec.fields {
            if let (Some(p), Some(AnswerValue::Text(v))) = (f.profile_field, answers.get(&f.id)) {
                let u = profile_update(p, v);
                profile = profile.merged(&u);
                any = true;
            }
        }
        any.then_some(profile)
    }

    /// The corp tags the answers call for, and those of the options not chosen (taken off,
    /// so a changed answer moves the customer's tag).
    pub fn tags_of(&self, answers: &BTreeMap<String, AnswerValue>) -> (Vec<String>, Vec<String>) {
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for f in self.spec.fields.iter().filter(|f| f.kind.is_choice()) {
            let chosen: Vec<&str> = match answers.get(&f.id) {
                Some(AnswerValue::Text(v)) => vec![v.as_str()],
                Some(AnswerValue::Choices(vs)) => vs.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            };
            for o in &f.options {
                if let Some(tag) = &o.tag_id {
                    if chosen.contains(&o.value.as_str()) {
                        add.push(tag.clone());
                    } else {
                        remove.push(tag.clone());
                    }
                }
            }
        }
        // A tag both chosen (by one option) and not (by another) stays on.
        remove.retain(|t| !add.contains(t));
        add.dedup();
        remove.sort();
        remove.dedup();
        (add, remove)
    }

    /// An answer as a person reads it: option labels, numbers without a needless `.0`.
    pub fn display(&self, field: &Field, answer: &AnswerValue) -> String {
        let label = |v: &str| {
            field
                .options
                .iter()
                .find(|o| o.value == v)
                .map(|o| o.label.clone())
                .unwrap_or_else(|| v.to_string())
        };
        match answer {
            AnswerValue::Text(v) if field.kind == FieldKind::SingleChoice => label(v),
            AnswerValue::Text(v) => v.clone(),
            AnswerValue::Choices(vs) => vs.iter().map(|v| label(v)).collect::<Vec<_>>().join("、"),
            AnswerValue::Number(n) => format_number(*n),
        }
    }

    /// The remark the template makes of the answers, if the form has one.
    pub fn remark_of(&self, answers: &BTreeMap<String, AnswerValue>) -> Option<String> {
        let template = self.spec.remark_template.as_deref()?;
        let mut text = template.to_string();
        for f in &self.spec.fields {
            let value = answers
                .get(&f.id)
                .map(|a| self.display(f, a))
                .unwrap_or_default();
            text = text.replace(&format!("{{{}}}", f.id), &value);
        }
        let text: String = text
            .trim()
            .chars()
            .take(crate::wecom::api::CUSTOMER_REMARK_CHARS)
            .collect();
        (!text.trim().is_empty()).then_some(text)
    }
}

/// A number as text: whole numbers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> FormInput {
        serde_json::from_value(json!({
            "title": "到店调查",
            "fields": [
                { "id": "name", "label": "姓名", "kind": "short_text", "required": true, "profile_field": "name" },
                { "id": "phone", "label": "手机", "kind": "mobile", "required": true, "profile_field": "mobile" },
                { "id": "mail", "label": "邮箱", "kind": "email" },
                { "id": "visit", "label": "到店次数", "kind": "number", "min": 0, "max": 100 },
                { "id": "born", "label": "生日", "kind": "date" },
                { "id": "like", "label": "偏好", "kind": "multiple_choice", "min": 1, "max": 2, "options": [
                    { "value": "tea", "label": "茶", "tag_id": "ettea" },
                    { "value": "coffee", "label": "咖啡", "tag_id": "etcoffee" },
                    { "value": "juice", "label": "果汁" }
                ]},
                { "id": "city", "label": "城市", "kind": "single_choice", "options": [
                    { "value": "sh", "label": "上海", "tag_id": "etsh" },
                    { "value": "bj", "label": "北京", "tag_id": "etbj" }
                ]},
                { "id": "note", "label": "备注", "kind": "long_text", "max_length": 10 }
            ],
            "remark_template": "{city}-{name}"
        }))
        .unwrap()
    }

    fn form() -> Form {
        Form {
            form_id: "fm0123456789abcdef".into(),
            spec: sample(),
            status: FormStatus::Published,
            version: 1,
            request_hash: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn raw(v: Value) -> RawAnswers {
        v.as_object().unwrap().clone()
    }

    fn codes(
        r: Result<BTreeMap<String, AnswerValue>, Vec<Problem>>,
    ) -> Vec<(String, &'static str)> {
        r.unwrap_err()
            .into_iter()
            .map(|p| (p.field, p.code))
            .collect()
    }

    #[test]
    fn a_sound_definition_has_no_problems() {
        assert_eq!(sample().problems(), vec![]);
    }

    #[test]
    fn definitions_are_refused_field_by_field() {
        let mut f = sample();
        f.fields[1].id = "name".into();
        f.fields[5].options.clear();
        f.fields[0].max_length = Some(500);
        f.fields[2].options = vec![FieldOption {
            value: "x".into(),
            label: "x".into(),
            tag_id: None,
        }];
        f.fields[3].max = Some(-1.0);
        f.fields[4].profile_field = Some(ProfileField::Address);
        f.remark_template = Some("{nope}".into());
        let got: Vec<(String, &str)> = f
            .problems()
            .into_iter()
            .map(|p| (p.field, p.code))
            .collect();
        for want in [
            ("fields[1].id", "duplicate"),
            ("fields[5].options", "invalid"),
            ("fields[0].max_length", "invalid"),
            ("fields[2].options", "not_allowed"),
            ("fields[3].max", "invalid"),
            ("fields[4].profile_field", "invalid"),
            ("remark_template", "unknown_field"),
        ] {
            assert!(
                got.iter().any(|(f, c)| f == want.0 && *c == want.1),
                "{want:?} in {got:?}"
            );
        }
        let mut many = sample();
        many.fields = (0..=MAX_FIELDS)
            .map(|i| Field {
                id: format!("f{i}"),
                ..sample().fields[0].clone()
            })
            .collect();
        many.fields.iter_mut().for_each(|f| f.profile_field = None);
        assert_eq!(many.problems()[0].field, "fields");
    }

    #[test]
    fn good_answers_are_normalised() {
        let a = form()
            .check_answers(&raw(json!({
                "name": " 王小明 ", "phone": "13800138000", "visit": 3, "born": "1990-02-28",
                "like": ["coffee", "tea"], "city": "sh", "mail": ""
            })))
            .unwrap();
        assert_eq!(a["name"], AnswerValue::Text("王小明".into()));
        assert_eq!(
            a["like"],
            AnswerValue::Choices(vec!["tea".into(), "coffee".into()])
        );
        assert!(
            !a.contains_key("mail"),
            "a blank optional answer is no answer"
        );
        let f = form();
        assert_eq!(f.tags_of(&a).0, vec!["ettea", "etcoffee", "etsh"]);
        assert_eq!(f.tags_of(&a).1, vec!["etbj"]);
        assert_eq!(f.remark_of(&a).as_deref(), Some("上海-王小明"));
        let p = f.profile_of(&a).unwrap();
        assert_eq!(p.mobile.as_deref(), Some("13800138000"));
        assert_eq!(f.display(&f.spec.fields[3], &a["visit"]), "3");
    }

    #[test]
    fn bad_answers_name_their_field_and_code() {
        let got = codes(form().check_answers(&raw(json!({
            "phone": "12345", "mail": "a@b", "visit": 101, "born": "1990-2-28",
            "like": ["tea", "coffee", "juice"], "city": "gz", "note": "01234567890", "extra": 1
        }))));
        for want in [
            ("extra", "unknown_field"),
            ("name", "required"),
            ("phone", "not_a_mobile"),
            ("mail", "not_an_email"),
            ("visit", "above_max"),
            ("born", "not_a_date"),
            ("like", "too_many"),
            ("city", "not_an_option"),
            ("note", "too_long"),
        ] {
            assert!(
                got.iter().any(|(f, c)| f == want.0 && *c == want.1),
                "{want:?} in {got:?}"
            );
        }
        let got = codes(form().check_answers(&raw(json!({
            "name": "x", "phone": "13800138000", "like": [], "visit": "3"
        }))));
        assert!(got.contains(&("visit".into(), "not_a_number")), "{got:?}");
        let got = codes(form().check_answers(&raw(json!({
            "name": "x", "phone": "13800138000", "like": ["tea", "tea"]
        }))));
        assert!(got.contains(&("like".into(), "duplicate")), "{got:?}");
    }

    #[test]
    fn mobiles_and_emails() {
        assert!(is_cn_mobile("13912345678"));
        for bad in [
            "12912345678",
            "1391234567",
            "139123456789",
            "1391234567a",
            "+8613912345678",
        ] {
            assert!(!is_cn_mobile(bad), "{bad}");
        }
        assert!(is_email("a.b@example.com"));
        for bad in [
            "a@b",
            "@x.com",
            "a b@x.com",
            "a@@x.com",
            "a@x..com",
            "a@.x.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn statuses_never_return_to_draft() {
        use FormStatus::*;
        assert!(Draft.may_become(Published));
        assert!(Closed.may_become(Published));
        assert!(!Published.may_become(Draft));
        assert!(!Published.may_become(Published));
    }
}
