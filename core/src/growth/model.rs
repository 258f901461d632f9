//! Channel codes (渠道活码) and welcome messages: what an operator configures, with every
//! limit WeCom or the product puts on it, checked before anything is written.
use crate::wecom::api::{
    limits, Attachment, ImageAttachment, LinkAttachment, MiniprogramAttachment, CONTACT_WAY_USERS,
    CUSTOMER_REMARK_CHARS,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A code's name, in characters.
pub const NAME_CHARS: usize = 64;
/// Tags a code applies on add.
pub const MAX_TAGS: usize = 20;
/// A remark template, in characters (the rendered remark is cut to WeCom's 20).
pub const REMARK_TEMPLATE_CHARS: usize = 60;
/// Shifts of a rota.
pub const MAX_SHIFTS: usize = 200;
/// The highest daily cap of adds per member.
pub const MAX_DAILY_CAP: u32 = 100_000;
/// A link's title, in bytes (WeCom's limit for welcome links).
pub const LINK_TITLE_BYTES: usize = 128;
/// A URL, in bytes.
pub const URL_BYTES: usize = 1024;

/// The placeholders a welcome text may hold, and the most bytes each renders to (a
/// customer's name is cut to 32 characters, a member's to 64; the points link is the
/// page's URL plus its query), so that a template that fits renders within WeCom's 4000
/// bytes whoever it greets.
pub const CUSTOMER_NAME: &str = "{customer_name}";
/// The member's name.
pub const STAFF_NAME: &str = "{staff_name}";
/// The link to the customer's points / check-in page.
pub const POINTS_LINK: &str = "{points_link}";
/// Characters a customer's name is cut to.
pub const CUSTOMER_NAME_CHARS: usize = 32;
/// Characters a member's name is cut to.
pub const STAFF_NAME_CHARS: usize = 64;
/// Bytes the points link's query (`corp_id=…`) may add to the page URL.
pub const POINTS_QUERY_BYTES: usize = 80;

/// One field's problem: the same shape as a plan's, answered the same way.
pub use crate::sop::plan::Problem;

pub(crate) fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

/// Single or multi-member (WeCom's `type` 1 / 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// One member at a time (the rota's first choice).
    Single,
    /// Every member the rota puts on duty.
    Multi,
}

impl CodeKind {
    /// WeCom's `type`.
    pub fn wecom_type(self) -> i64 {
        match self {
            CodeKind::Single => 1,
            CodeKind::Multi => 2,
        }
    }
}

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    /// Recorded before WeCom was asked to create it; a retry reconciles it by its state.
    Creating,
    /// Live: adds are welcomed, tagged and remarked.
    Active,
    /// WeCom still adds through it, but nothing is sent or applied.
    Paused,
}

/// A member on duty on some weekdays between two local times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// The member.
    pub userid: String,
    /// ISO weekdays, 1 (Monday) to 7 (Sunday).
    pub weekdays: Vec<u8>,
    /// Local start, `HH:MM`, inclusive.
    pub start: String,
    /// Local end, `HH:MM` (up to `24:00`), exclusive.
    pub end: String,
}

/// Who a code adds to, when: shifts in the tenant's time zone, a daily cap of adds per
/// member through this code, and the members who take over when nobody on shift is
/// available (all capped, or off hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rota {
    /// The shifts.
    pub shifts: Vec<Shift>,
    /// Adds per member and local day through this code; none: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<u32>,
    /// Members when nobody on shift is available (not capped).
    #[serde(default)]
    pub backup: Vec<String>,
}

/// Minutes since midnight of `HH:MM` (`24:00` is 1440).
pub fn minutes_of(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// A member id WeCom could have issued.
pub fn valid_userid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
}

impl Rota {
    /// Every member of the rota, shifts first, in order, each once.
    pub fn members(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in self
            .shifts
            .iter()
            .map(|s| &s.userid)
            .chain(self.backup.iter())
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    }

    fn problems(&self, out: &mut Vec<Problem>) {
        if self.shifts.is_empty() {
            out.push(problem("rota.shifts", "a rota needs at least one shift"));
        }
        if self.shifts.len() > MAX_SHIFTS {
            out.push(problem(
                "rota.shifts",
                format!("at most {MAX_SHIFTS} shifts"),
            ));
        }
        for (i, s) in self.shifts.iter().enumerate() {
            let f = |name: &str| format!("rota.shifts[{i}].{name}");
            if !valid_userid(&s.userid) {
                out.push(problem(f("userid"), "not a WeCom member id"));
            }
            if s.weekdays.is_empty() || s.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                out.push(problem(
                    f("weekdays"),
                    "1 (Monday) to 7 (Sunday), at least one",
                ));
            }
            match (minutes_of(&s.start), minutes_of(&s.end)) {
                (Some(a), Some(b)) if a < b && a < 1440 => {}
                (Some(_), Some(_)) => out.push(problem(f("end"), "must be after start")),
                _ => out.push(problem(
                    f("start"),
                    "start and end are HH:MM (end up to 24:00)",
                )),
            }
        }
        for (i, id) in self.backup.iter().enumerate() {
            if !valid_userid(id) {
                out.push(problem(
                    format!("rota.backup[{i}]"),
                    "not a WeCom member id",
                ));
            }
        }
        if self.members().len() > CONTACT_WAY_USERS {
            out.push(problem(
                "rota",
                format!("at most {CONTACT_WAY_USERS} distinct members (WeCom's limit)"),
            ));
        }
        if let Some(cap) = self.daily_cap {
            if cap == 0 || cap > MAX_DAILY_CAP {
                out.push(problem(
                    "rota.daily_cap",
                    format!("1 to {MAX_DAILY_CAP} adds per member and day"),
                ));
            }
        }
    }
}

/// An attachment of a welcome message. Images go by URL (`pic_url`) and never expire; a
/// material of the content center is made sendable when the welcome is sent (its WeCom
/// media uploaded, or uploaded again before WeCom's three days pass), so a welcome never
/// holds a media id that expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WelcomeAttachment {
    /// An image by public URL.
    Image {
        /// The picture.
        pic_url: String,
    },
    /// A link card.
    Link {
        /// Title (≤128 bytes).
        title: String,
        /// Target.
        url: String,
        /// Description (≤512 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        desc: Option<String>,
        /// Cover picture URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        picurl: Option<String>,
        /// Sent as a tracked short link of its own per customer (clicks counted for the
        /// channel and the member, the member told of the customer's click).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        track: bool,
    },
    /// A mini-program card.
    Miniprogram {
        /// Title (≤64 bytes).
        title: String,
        /// Cover media id.
        pic_media_id: String,
        /// The mini-program's appid.
        appid: String,
        /// Page path.
        page: String,
    },
    /// A material of the content center (any kind a message may carry: a text material's
    /// text joins the welcome's text).
    Material {
        /// The material's id.
        material_id: String,
    },
}

fn web_url(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= URL_BYTES && u.len() > 8
}

impl WelcomeAttachment {
    /// WeCom's shape; none for a material, which is resolved when sent.
    pub fn to_wecom(&self) -> Option<Attachment> {
        Some(match self {
            WelcomeAttachment::Material { .. } => return None,
            WelcomeAttachment::Image { pic_url } => Attachment::Image {
                image: ImageAttachment {
                    media_id: None,
                    pic_url: Some(pic_url.clone()),
                },
            },
            WelcomeAttachment::Link {
                title,
                url,
                desc,
                picurl,
                ..
            } => Attachment::Link {
                link: LinkAttachment {
                    title: title.clone(),
                    picurl: picurl.clone(),
                    desc: desc.clone(),
                    url: url.clone(),
                },
            },
            WelcomeAttachment::Miniprogram {
                title,
                pic_media_id,
                appid,
                page,
            } => Attachment::Miniprogram {
                miniprogram: MiniprogramAttachment {
                    title: title.clone(),
                    pic_media_id: pic_media_id.clone(),
                    appid: appid.clone(),
                    page: page.clone(),
                },
            },
        })
    }

    fn problems(&self, field: &str, out: &mut Vec<Problem>) {
        match self {
            WelcomeAttachment::Image { pic_url } => {
                if !web_url(pic_url) {
                    out.push(problem(format!("{field}.pic_url"), "an http(s) URL"));
                }
            }
            WelcomeAttachment::Link {
                title,
                url,
                desc,
                picurl,
                ..
            } => {
                if title.is_empty() || title.len() > LINK_TITLE_BYTES {
                    out.push(problem(format!("{field}.title"), "1-128 bytes"));
                }
                if !web_url(url) {
                    out.push(problem(format!("{field}.url"), "an http(s) URL"));
                }
                if desc.as_deref().map_or(0, str::len) > limits::LINK_DESC_BYTES {
                    out.push(problem(format!("{field}.desc"), "at most 512 bytes"));
                }
                if picurl.as_deref().is_some_and(|p| !web_url(p)) {
                    out.push(problem(format!("{field}.picurl"), "an http(s) URL"));
                }
            }
            WelcomeAttachment::Miniprogram {
                title,
                pic_media_id,
                appid,
                page,
            } => {
                if title.is_empty() || title.len() > limits::MINIPROGRAM_TITLE_BYTES {
                    out.push(problem(format!("{field}.title"), "1-64 bytes"));
                }
                if pic_media_id.is_empty() || appid.is_empty() || page.is_empty() {
                    out.push(problem(
                        field.to_string(),
                        "pic_media_id, appid and page are required",
                    ));
                }
            }
            // Whether it exists and is ready is the content center's to say (at save).
            WelcomeAttachment::Material { material_id } => {
                if crate::content::MaterialId::parse(material_id).is_none() {
                    out.push(problem(
                        format!("{field}.material_id"),
                        "a material id of the content center",
                    ));
                }
            }
        }
    }
}

/// A welcome message: text with placeholders and up to 9 attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Welcome {
    /// The text; `{customer_name}`, `{staff_name}` and `{points_link}` are filled in.
    #[serde(default)]
    pub text: String,
    /// Up to 9 attachments.
    #[serde(default)]
    pub attachments: Vec<WelcomeAttachment>,
    /// The customers' points / check-in page (the mobile pages' URL), which
    /// `{points_link}` links to with the tenant's `corp_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_page_url: Option<String>,
}

/// The most bytes `text` can render to, whoever is greeted.
pub fn rendered_bound(text: &str, points_page_url: Option<&str>) -> usize {
    let link = points_page_url.map_or(0, str::len) + POINTS_QUERY_BYTES;
    text.len()
        + text.matches(CUSTOMER_NAME).count() * (CUSTOMER_NAME_CHARS * 4)
        + text.matches(STAFF_NAME).count() * (STAFF_NAME_CHARS * 4)
        + text.matches(POINTS_LINK).count() * link
}

impl Welcome {
    /// The ids of the materials it refers to, in order, each once.
    pub fn material_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for a in &self.attachments {
            if let WelcomeAttachment::Material { material_id } = a {
                if !ids.contains(material_id) {
                    ids.push(material_id.clone());
                }
            }
        }
        ids
    }

    /// Every problem, for the field `field`.
    pub fn problems(&self, field: &str, out: &mut Vec<Problem>) {
        if self.text.trim().is_empty() && self.attachments.is_empty() {
            out.push(problem(field, "a welcome needs text or attachments"));
        }
        let bound = rendered_bound(&self.text, self.points_page_url.as_deref());
        if bound > limits::TEMPLATE_TEXT_BYTES {
            out.push(problem(
                format!("{field}.text"),
                format!("may render to {bound} bytes with the longest names; WeCom allows 4000"),
            ));
        }
        let mut rest = self.text.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open..];
            let known = [CUSTOMER_NAME, STAFF_NAME, POINTS_LINK]
                .into_iter()
                .find(|p| after.starts_with(p));
            match known {
                Some(p) => rest = &after[p.len()..],
                None => {
                    let shown: String = after.chars().take(20).collect();
                    out.push(problem(
                        format!("{field}.text"),
                        format!(
                            "unknown placeholder at {shown:?}: use {{customer_name}}, {{staff_name}} or {{points_link}}"
                        ),
                    ));
                    break;
                }
            }
        }
        if self.text.contains(POINTS_LINK) && self.points_page_url.is_none() {
            out.push(problem(
                format!("{field}.points_page_url"),
                "{points_link} needs the points page's URL",
            ));
        }
        if self.points_page_url.as_deref().is_some_and(|u| !web_url(u)) {
            out.push(problem(
                format!("{field}.points_page_url"),
                "an http(s) URL",
            ));
        }
        if self.attachments.len() > limits::ATTACHMENTS {
            out.push(problem(
                format!("{field}.attachments"),
                "at most 9 attachments (WeCom's limit)",
            ));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            a.problems(&format!("{field}.attachments[{i}]"), out);
        }
    }
}

fn default_true() -> bool {
    true
}

/// What an operator sends to create or edit a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// A name for people.
    pub name: String,
    /// Single or multi-member.
    pub kind: CodeKind,
    /// Who it adds to, when.
    pub rota: Rota,
    /// The welcome sent on add; none: the tenant's default welcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<Welcome>,
    /// Corp tag ids applied to the relation on add.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The member's remark on the customer, set on add (`{customer_name}` filled in, cut to
    /// 20 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark_template: Option<String>,
    /// Customers are added without the member's confirmation (WeCom's default).
    #[serde(default = "default_true")]
    pub skip_verify: bool,
    /// A group code (its `state`) whose QR picture is sent with the welcome, inviting the
    /// customer into the code's groups (one of the welcome's 9 attachments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_invite: Option<String>,
}

impl CodeInput {
    /// Every problem; empty: acceptable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_CHARS {
            out.push(problem("name", format!("1-{NAME_CHARS} characters")));
        }
        self.rota.problems(&mut out);
        if let Some(w) = &self.welcome {
            w.problems("welcome", &mut out);
            if self.group_invite.is_some() && w.attachments.len() >= limits::ATTACHMENTS {
                out.push(problem(
                    "welcome.attachments",
                    "at most 8 attachments with a group invite (its QR is the 9th)",
                ));
            }
        }
        if let Some(g) = &self.group_invite {
            if !super::state::is_group_code_state(g) {
                out.push(problem(
                    "group_invite",
                    "a group code's state (gc + 16 hex digits)",
                ));
            }
        }
        if self.tags.len() > MAX_TAGS {
            out.push(problem("tags", format!("at most {MAX_TAGS} tags")));
        }
        for (i, t) in self.tags.iter().enumerate() {
            if t.is_empty() || t.len() > 64 || t.chars().any(char::is_whitespace) {
                out.push(problem(format!("tags[{i}]"), "a corp tag id"));
            }
        }
        if let Some(r) = &self.remark_template {
            if r.trim().is_empty() || r.chars().count() > REMARK_TEMPLATE_CHARS {
                out.push(problem(
                    "remark_template",
                    format!(
                        "1-{REMARK_TEMPLATE_CHARS} characters (rendered and cut to WeCom's {CUSTOMER_REMARK_CHARS})"
                    ),
                ));
            }
        }
        out
    }
}

/// A channel code as stored. Its id is its `state`, generated, unique per tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCode {
    /// The id and WeCom `state`.
    pub state: String,
    /// What the operator configured.
    #[serde(flatten)]
    pub spec: CodeInput,
    /// Where it is in its life.
    pub status: CodeStatus,
    /// WeCom's id of the code, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// The QR code's picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// The group invite's picture as WeCom hosts it (`media/uploadimg` of the group code's
    /// QR, uploaded when the code is saved), sent with the welcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_pic_url: Option<String>,
    /// The members WeCom currently adds to (the rota's last choice).
    #[serde(default)]
    pub on_duty: Vec<String>,
    /// Moves with every change.
    pub version: i64,
    /// A hash of the create request, so that a retry with the same idempotency key but
    /// another body is refused.
    #[serde(default)]
    pub request_hash: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When the rota's choice may next change by itself (a shift boundary, a capped rota's
    /// midnight) while the code is active: its place in the rota's due index. Kept by the
    /// store beside the code, not part of the code's JSON.
    #[serde(skip)]
    pub rota_due: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CodeInput {
        serde_json::from_value(serde_json::json!({
            "name": "门店海报",
            "kind": "single",
            "rota": {
                "shifts": [{ "userid": "amy", "weekdays": [1, 2], "start": "09:00", "end": "18:00" }],
                "daily_cap": 50,
                "backup": ["bob"]
            },
            "tags": ["ettag1"],
            "remark_template": "海报-{customer_name}"
        }))
        .expect("a valid input")
    }

    fn fields(i: &CodeInput) -> Vec<String> {
        i.problems().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_valid_code_has_no_problem_and_defaults_to_skip_verify() {
        let i = input();
        assert!(i.problems().is_empty(), "{:?}", i.problems());
        assert!(i.skip_verify);
        assert_eq!(i.rota.members(), ["amy", "bob"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut nobody = input();
        nobody.rota.shifts.clear();
        assert_eq!(fields(&nobody), ["rota.shifts"]);
        let mut bad = input();
        bad.name = " ".into();
        bad.rota.shifts[0].weekdays = vec![0, 8];
        bad.rota.shifts[0].start = "18:00".into();
        bad.rota.daily_cap = Some(0);
        bad.rota.backup = vec!["no one".into()];
        bad.tags = vec!["has space".into()];
        bad.remark_template = Some("x".repeat(61));
        assert_eq!(
            fields(&bad),
            [
                "name",
                "rota.shifts[0].weekdays",
                "rota.shifts[0].end",
                "rota.backup[0]",
                "rota.daily_cap",
                "tags[0]",
                "remark_template"
            ]
        );
        let mut crowd = input();
        crowd.rota.backup = (0..100).map(|i| format!("u{i}")).collect();
        assert_eq!(fields(&crowd), ["rota"]);
    }

    #[test]
    fn unknown_fields_such_as_a_chosen_state_are_refused() {
        let r: Result<CodeInput, _> = serde_json::from_value(serde_json::json!({
            "name": "x", "kind": "multi", "state": "mine",
            "rota": { "shifts": [{ "userid": "a", "weekdays": [1], "start": "00:00", "end": "24:00" }] }
        }));
        assert!(r.is_err());
    }

    #[test]
    fn times_are_hh_mm_up_to_midnight() {
        assert_eq!(minutes_of("00:00"), Some(0));
        assert_eq!(minutes_of("24:00"), Some(1440));
        for bad in ["24:01", "9:00", "12:60", "noon", ""] {
            assert_eq!(minutes_of(bad), None, "{bad}");
        }
    }
}
