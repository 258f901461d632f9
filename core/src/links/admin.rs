//! Creating and listing links, minting a code for a send context, and the click figures.
use super::model::{CodeDay, Link, LinkCode, LinkInput, SendContext, ShortCode, TargetUrl};
use super::ports::{LinkStore, MintOutcome};
use super::LinkError;
use crate::tenants::TenantId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The longest range of days the figures cover at once.
pub const MAX_FIGURE_DAYS: i64 = 92;

/// The path of a code under the redirect function's base URL.
pub fn short_path(code: &ShortCode) -> String {
    format!("/l/{code}")
}

/// The short URL of a code under the redirect function's public base (`LINKS_BASE_URL`).
pub fn short_url(base: &str, code: &ShortCode) -> String {
    format!("{}{}", base.trim_end_matches('/'), short_path(code))
}

fn hex16(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    hex::encode(&digest[..8])
}

/// The id of the link created with an idempotency key: a retry names the same link.
pub fn link_id_for_key(t: &TenantId, key: &str) -> String {
    format!("lk{}", hex16(&[t.as_str(), "key", key]))
}

/// The id of the link another feature tracks a URL with: one link per tenant and URL.
pub fn link_id_for_url(t: &TenantId, url: &str) -> String {
    format!("lu{}", hex16(&[t.as_str(), "url", url]))
}

/// Whether a path segment can be a link id (`lk`/`lu` + 16 hex digits).
pub fn is_link_id(raw: &str) -> bool {
    raw.len() == 18
        && (raw.starts_with("lk") || raw.starts_with("lu"))
        && raw[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn new_link(link_id: String, input: &LinkInput, by: &str, now: DateTime<Utc>) -> Link {
    Link {
        link_id,
        url: input.url.clone(),
        title: input.title_or_host(),
        created_at: now,
        created_by: by.to_string(),
        code_key: hex::encode(rand::random::<[u8; 16]>()),
        request_hash: hex16(&[&input.url, input.title.as_deref().unwrap_or_default()]),
    }
}

/// Creates a link (an operator's): `(link, created)`; a retry with the same key and body
/// answers the stored link, with another body [`LinkError::KeyReused`].
pub async fn create<S: LinkStore>(
    store: &S,
    t: &TenantId,
    key: &str,
    input: &LinkInput,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(Link, bool), LinkError> {
    let problems = input.problems();
    if !problems.is_empty() {
        return Err(LinkError::Invalid(problems));
    }
    let link = new_link(link_id_for_key(t, key), input, by, now);
    match store.create_link(t, &link).await? {
        None => Ok((link, true)),
        Some(old) if old.request_hash == link.request_hash => Ok((old, false)),
        Some(_) => Err(LinkError::KeyReused),
    }
}

/// Mints (or finds again) the code of `link` in `context`: one conditional put.
pub async fn mint<S: LinkStore>(
    store: &S,
    t: &TenantId,
    timezone: &str,
    link: &Link,
    context: SendContext,
) -> Result<LinkCode, LinkError> {
    let problems = context.problems();
    if !problems.is_empty() {
        return Err(LinkError::Invalid(problems));
    }
    let code = LinkCode {
        code: ShortCode::derive(&link.code_key, &link.link_id, &context),
        tenant: t.as_str().to_string(),
        link_id: link.link_id.clone(),
        url: link.url.clone(),
        title: link.title.clone(),
        context,
        timezone: timezone.to_string(),
    };
    match store.put_code(&code).await? {
        MintOutcome::Ready => Ok(code),
        MintOutcome::Collision => Err(LinkError::Collision),
    }
}

/// What a feature sends: a link attachment's URL and title.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The URL.
    pub url: &'a str,
    /// Its title (the link's title when the link is first created).
    pub title: &'a str,
}

/// The tracked short URL of `url` sent in `context`, for the features that send links
/// (welcome messages, SOP pushes): the tenant's link of that URL is created the first time
/// (a read, then a put), then the context's code is minted (a put). Not a trackable URL
/// (not http or https): [`LinkError::Invalid`], and the caller sends the URL as it is.
pub async fn track_url<S: LinkStore>(
    store: &S,
    t: &TenantId,
    timezone: &str,
    base: &str,
    target: Target<'_>,
    context: SendContext,
    now: DateTime<Utc>,
) -> Result<String, LinkError> {
    let Target { url, title } = target;
    TargetUrl::parse(url).map_err(|p| LinkError::Invalid(vec![p]))?;
    let link_id = link_id_for_url(t, url);
    let link = match store.link(t, &link_id).await? {
        Some(link) => link,
        None => {
            let title: String = title.chars().take(super::model::MAX_TITLE_CHARS).collect();
            let input = LinkInput {
                url: url.to_string(),
                title: Some(title).filter(|t| !t.trim().is_empty()),
            };
            let link = new_link(link_id, &input, "system", now);
            // Two sends racing: the first link stays and both mint from its key.
            store.create_link(t, &link).await?.unwrap_or(link)
        }
    };
    let code = mint(store, t, timezone, &link, context).await?;
    Ok(short_url(base, &code.code))
}

/// Clicks and identified clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every click.
    pub clicks: i64,
    /// Clicks of identified customers.
    pub identified: i64,
    /// Distinct visitors, per day, added up over the days (someone who clicks on two days
    /// counts on each).
    pub visitors: i64,
}

impl Counts {
    fn add(&mut self, day: &CodeDay) {
        self.clicks += day.clicks;
        self.identified += day.identified;
        self.visitors += day.visitors;
    }
}

/// One key's counts (a link, a plan, a staff member, a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The link id, plan id, staff userid or date.
    pub key: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Clicks in a range of local days, added up per link, plan, staff member and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Everything.
    pub total: Counts,
    /// Per link.
    pub by_link: Vec<Row>,
    /// Per SOP plan (codes sent by a plan).
    pub by_plan: Vec<Row>,
    /// Per staff member (codes sent by one).
    pub by_staff: Vec<Row>,
    /// Per day, every day of the range.
    pub by_day: Vec<Row>,
}

/// Checks a range: `from` ≤ `to`, at most [`MAX_FIGURE_DAYS`] days.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), LinkError> {
    let days = (to - from).num_days() + 1;
    if !(1..=MAX_FIGURE_DAYS).contains(&days) {
        return Err(LinkError::BadRange(format!(
            "from must not be after to, and the range at most {MAX_FIGURE_DAYS} days"
        )));
    }
    Ok(())
}

/// The figures of `from` to `to` (only `link_id`'s when given).
pub async fn figures<S: LinkStore>(
    store: &S,
    t: &TenantId,
    from: NaiveDate,
    to: NaiveDate,
    link_id: Option<&str>,
) -> Result<Figures, LinkError> {
    check_range(from, to)?;
    let days = store.click_days(t, from, to).await?;
    let mut total = Counts::default();
    let (mut links, mut plans, mut staff) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut by_day: BTreeMap<String, Counts> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d.format("%Y-%m-%d").to_string(), Counts::default()))
        .collect();
    for day in days
        .iter()
        .filter(|d| link_id.is_none_or(|l| l == d.link_id))
    {
        total.add(day);
        links
            .entry(day.link_id.clone())
            .or_insert_with(Counts::default)
            .add(day);
        if let Some(p) = &day.context.plan {
            plans
                .entry(p.clone())
                .or_insert_with(Counts::default)
                .add(day);
        }
        if let Some(s) = &day.context.staff {
            staff
                .entry(s.clone())
                .or_insert_with(Counts::default)
                .add(day);
        }
        if let Some(c) = by_day.get_mut(&day.date) {
            c.add(day);
        }
    }
    let rows = |m: BTreeMap<String, Counts>| {
        let mut rows: Vec<Row> = m
            .into_iter()
            .map(|(key, counts)| Row { key, counts })
            .collect();
        rows.sort_by(|a, b| {
            b.counts
                .clicks
                .cmp(&a.counts.clicks)
                .then(a.key.cmp(&b.key))
        });
        rows
    };
    Ok(Figures {
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        total,
        by_link: rows(links),
        by_plan: rows(plans),
        by_staff: rows(staff),
        by_day: by_day
            .into_iter()
            .map(|(key, counts)| Row { key, counts })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_are_stable_and_recognised() {
        let t = TenantId::parse("ww0001").unwrap();
        let a = link_id_for_key(&t, "k1");
        assert_eq!(a, link_id_for_key(&t, "k1"));
        assert_ne!(a, link_id_for_key(&t, "k2"));
        assert!(is_link_id(&a));
        assert!(is_link_id(&link_id_for_url(&t, "https://e.com")));
        assert!(!is_link_id("lk123"));
        assert!(!is_link_id("ch0123456789abcdef"));
    }

    #[test]
    fn ranges_are_bounded() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_range(d("2026-03-01"), d("2026-03-01")).is_ok());
        assert!(check_range(d("2026-03-02"), d("2026-03-01")).is_err());
        assert!(check_range(d("2026-01-01"), d("2026-06-01")).is_err());
    }
}
