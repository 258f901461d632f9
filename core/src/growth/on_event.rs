//! What an add or a removal does to growth (`growth-on-event`, a consumer of the domain
//! events the callback publishes):
//! - `ContactAdded` with a `WelcomeCode`: the welcome of the code's channel (or the
//!   tenant's default) is rendered and sent at once, retried on transient errors only while
//!   WeCom's 20 s window lasts; 41050/41051 are recorded, not retried. The outcome is
//!   recorded keyed by the event, so a redelivery sends nothing twice (and the code is
//!   single-use: a resend after a lost answer is refused with 41051, never delivered twice).
//! - Then, for a full add through an active code: its tags (`mark_tag`) and remark; the
//!   add counted once in the code's figures of the day; and, when the count or the hour
//!   changes who is on duty, the code's members at WeCom (`update_contact_way`).
//! - `ContactRemoved` of a relation made through a code: counted once as a deletion.
use super::admin::{choice_now, contact_way, rota_due};
use super::fission::is_inviter_state;
use super::fission_run::{self, FissionRunError, JoinDeps};
use super::model::{ChannelCode, CodeStatus, Welcome, WelcomeAttachment};
use super::ports::{ContactFacts, GrowthStore, GrowthWeCom, Movement, WelcomeOutcome};
use super::ports::{CustomerCards, FissionStore};
use super::state::is_code_state;
use super::welcome::{needs_staff_name, remark, render, Greeting};
use crate::clock::Clock;
use crate::contacts::source::contact_credentials;
use crate::content::MaterialResolver;
use crate::events::{DomainEvent, EventEnvelope};
use crate::links::admin::Target;
use crate::links::model::{SendContext, Via};
use crate::links::tracker::LinkTracker;
use crate::ports::{MayRetry, StoreError};
use crate::sop::content::{Attachment as SopAttachment, Content, ContentUse};
use crate::tenants::{Tenant, TenantId, TenantLookup};
use crate::wecom::api::{
    limits, Attachment, CorpCredentials, CustomerRemark, ImageAttachment, MarkTag, WeComError,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// WeCom's welcome code lives this long after the add.
pub const WELCOME_WINDOW: Duration = Duration::from_secs(20);
/// No attempt starts later than this before the window closes (one call's round trip).
pub const WELCOME_MARGIN: Duration = Duration::from_millis(1500);
/// Attempts at most, whatever the clock says.
pub const WELCOME_ATTEMPTS: u32 = 5;
/// WeCom: the welcome code is invalid or past its 20 s.
pub const CODE_EXPIRED: i64 = 41050;
/// WeCom: the welcome code was used already (or the two have chatted).
pub const CODE_USED: i64 = 41051;

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum GrowthEventError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// WeCom failed where a retry of the event may succeed (tags, remark, the rota).
    #[error(transparent)]
    WeCom(#[from] WeComError),
    /// The event cannot be handled (malformed tenant id).
    #[error("not a growth event: {0}")]
    Malformed(String),
}

impl From<FissionRunError> for GrowthEventError {
    fn from(e: FissionRunError) -> Self {
        match e {
            FissionRunError::Store(s) => GrowthEventError::Store(s),
            FissionRunError::WeCom(w) => GrowthEventError::WeCom(w),
            FissionRunError::Payout(p) => GrowthEventError::Store(StoreError::Retryable(p.into())),
        }
    }
}

impl MayRetry for GrowthEventError {
    fn is_retryable(&self) -> bool {
        match self {
            GrowthEventError::Store(e) => e.is_retryable(),
            GrowthEventError::WeCom(e) => e.is_retryable(),
            GrowthEventError::Malformed(_) => false,
        }
    }
}

/// What an event did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handled {
    /// The welcome's outcome, when this delivery decided it.
    pub welcome: Option<WelcomeOutcome>,
    /// Whether this delivery counted the movement in a code's figures.
    pub counted: bool,
    /// The members WeCom adds to now, when this delivery changed them.
    pub on_duty: Option<Vec<String>>,
    /// What an add through a fission inviter's code did.
    pub fission: Option<fission_run::JoinOutcome>,
}

/// What an event did, or why it was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrowthOutcome {
    /// The tenant is not registered.
    UnknownTenant,
    /// Not an event growth reacts to (its detail-type).
    NotGrowth(&'static str),
    /// Handled.
    Handled(Handled),
}

/// The ports the consumer uses.
pub struct GrowthDeps<'a, S, W, F, T> {
    /// The content center's materials made sendable (uploaded to WeCom when needed).
    pub materials: &'a dyn MaterialResolver,
    /// A welcome's links marked `track` made short links of the redirect function.
    pub links: &'a dyn LinkTracker,
    /// Codes, records, figures.
    pub store: &'a S,
    /// WeCom.
    pub wecom: &'a W,
    /// The directory's facts.
    pub facts: &'a F,
    /// Tenants.
    pub tenants: &'a T,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// Handles one domain event.
pub async fn on_event<S, W, F, T>(
    d: &GrowthDeps<'_, S, W, F, T>,
    env: &EventEnvelope,
) -> Result<GrowthOutcome, GrowthEventError>
where
    S: GrowthStore + FissionStore,
    W: GrowthWeCom,
    F: ContactFacts + CustomerCards,
    T: TenantLookup,
{
    let (external_userid, userid, state, half, welcome_code, added) = match &env.event {
        DomainEvent::ContactAdded {
            external_userid,
            userid,
            state,
            half,
            welcome_code,
        } => (
            external_userid,
            userid,
            state.clone(),
            *half,
            welcome_code.as_deref(),
            true,
        ),
        DomainEvent::ContactRemoved {
            external_userid,
            userid,
            ..
        } => (external_userid, userid, None, false, None, false),
        other => return Ok(GrowthOutcome::NotGrowth(other.detail_type())),
    };
    let t = TenantId::parse(&env.tenant).map_err(|e| GrowthEventError::Malformed(e.to_string()))?;
    let Some(tenant) = d.tenants.tenant(&t).await? else {
        tracing::warn!("event for an unknown tenant ignored");
        return Ok(GrowthOutcome::UnknownTenant);
    };
    let record = d
        .store
        .add_record(&t, &env.event_id)
        .await?
        .unwrap_or_default();
    if record.counted {
        return Ok(GrowthOutcome::Handled(Handled::default()));
    }
    let state = match (added, state) {
        (true, s) => s,
        // A removal names no channel: the directory remembers the relation's.
        (false, _) => d.facts.relation_state(&t, external_userid, userid).await?,
    };
    let code = match state.as_deref().filter(|s| is_code_state(s)) {
        Some(s) => GrowthStore::code(d.store, &t, s).await?,
        None => None,
    };
    let creds = contact_credentials(&tenant);
    let mut handled = Handled::default();
    if added && record.welcome.is_none() {
        if let Some(wc) = welcome_code {
            let (outcome, errcode) = match welcome_for(d.store, &t, code.as_ref()).await? {
                Some(w) => match &creds {
                    Some(c) => {
                        let g = Greeting {
                            corp_id: t.as_str(),
                            customer_name: None,
                            staff_name: None,
                            userid,
                        };
                        let parts = WelcomeParts {
                            tenant: &tenant,
                            state: state.as_deref(),
                            invite_pic_url: code.as_ref().and_then(|c| c.invite_pic_url.as_deref()),
                        };
                        send_welcome(d, c, &parts, &w, wc, &g, external_userid, env.occurred_at)
                            .await?
                    }
                    None => (WelcomeOutcome::Failed, None),
                },
                None => (WelcomeOutcome::NotConfigured, None),
            };
            d.store
                .record_welcome(&t, &env.event_id, state.as_deref(), outcome, errcode)
                .await?;
            handled.welcome = Some(outcome);
        }
    }
    if let Some(s) = state.as_deref().filter(|s| is_inviter_state(s)) {
        // An add or removal through a fission inviter's personal code.
        if added && !half {
            let deps = JoinDeps {
                store: d.store,
                wecom: d.wecom,
                cards: d.facts,
                tenants: d.tenants,
            };
            handled.fission = fission_run::on_added(
                &deps,
                &t,
                &env.event_id,
                s,
                external_userid,
                userid,
                env.occurred_at,
            )
            .await?;
        } else if !added {
            fission_run::on_removed(d.store, &t, Some(s), external_userid, env.occurred_at).await?;
        }
    }
    let Some(code) = code else {
        return Ok(GrowthOutcome::Handled(handled));
    };
    if code.status == CodeStatus::Creating || (added && half) {
        // A half add is no relation yet: its confirmation (a full add) is tagged and counted.
        return Ok(GrowthOutcome::Handled(handled));
    }
    if added && code.status == CodeStatus::Active {
        if let Some(c) = &creds {
            apply_tags_and_remark(d, c, &t, &code, external_userid, userid).await?;
        }
    }
    let date = env
        .occurred_at
        .with_timezone(&tenant.settings.tz())
        .date_naive();
    let movement = if added {
        Movement::Added
    } else {
        Movement::Removed
    };
    handled.counted = d
        .store
        .count_once(&t, &env.event_id, &code.state, date, userid, movement)
        .await?;
    if added && handled.counted && code.status == CodeStatus::Active {
        if let Some(c) = &creds {
            handled.on_duty = apply_rota(d, c, &t, &tenant, code).await?;
        }
    }
    Ok(GrowthOutcome::Handled(handled))
}

/// The welcome for an add: the code's own, else the tenant's default (no channel, an
/// unknown one, or a code without its own); none for a paused code.
async fn welcome_for<S: GrowthStore>(
    store: &S,
    t: &TenantId,
    code: Option<&ChannelCode>,
) -> Result<Option<Welcome>, StoreError> {
    match code {
        Some(c) if c.status != CodeStatus::Active => Ok(None),
        Some(ChannelCode {
            spec:
                crate::growth::model::CodeInput {
                    welcome: Some(w), ..
                },
            ..
        }) => Ok(Some(w.clone())),
        _ => store.default_welcome(t).await,
    }
}

/// Sends the welcome within WeCom's window: transient failures are retried while an
/// attempt can still start `WELCOME_MARGIN` before the window closes.
#[allow(clippy::too_many_arguments)]
async fn send_welcome<S, W, F, T>(
    d: &GrowthDeps<'_, S, W, F, T>,
    creds: &CorpCredentials,
    parts: &WelcomeParts<'_>,
    welcome: &Welcome,
    welcome_code: &str,
    g: &Greeting<'_>,
    external_userid: &str,
    added_at: DateTime<Utc>,
) -> Result<(WelcomeOutcome, Option<i64>), StoreError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    F: ContactFacts,
    T: TenantLookup,
{
    let t = &parts.tenant.id;
    let last_start =
        added_at + chrono::Duration::from_std(WELCOME_WINDOW - WELCOME_MARGIN).unwrap_or_default();
    if d.clock.now() >= last_start {
        // A late delivery (a retried event): WeCom would answer 41050.
        return Ok((WelcomeOutcome::Expired, None));
    }
    // The names, read at once: the directory holds the customer's (written before the event
    // was published); the member's only when the text names them.
    let staff = async {
        if needs_staff_name(&welcome.text) {
            d.wecom.staff_name(creds, g.userid).await.ok().flatten()
        } else {
            None
        }
    };
    let attachments = attachments(d, parts, welcome, g.userid, external_userid);
    let (customer, staff, (attachments, extra_text)) = futures::join!(
        d.facts.customer_name(t, external_userid),
        staff,
        attachments
    );
    let customer = customer.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "customer name unavailable for the welcome");
        None
    });
    let g = Greeting {
        customer_name: customer.as_deref(),
        staff_name: staff.as_deref(),
        ..g.clone()
    };
    let message = render(welcome, welcome_code, &g, attachments, &extra_text);
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=WELCOME_ATTEMPTS {
        match d.wecom.send_welcome(creds, &message).await {
            Ok(()) => return Ok((WelcomeOutcome::Sent, None)),
            Err(WeComError::Api { errcode, .. }) if errcode == CODE_EXPIRED => {
                return Ok((WelcomeOutcome::Expired, Some(errcode)))
            }
            Err(WeComError::Api { errcode, .. }) if errcode == CODE_USED => {
                return Ok((WelcomeOutcome::Used, Some(errcode)))
            }
            Err(e) if e.is_retryable() && attempt < WELCOME_ATTEMPTS => {
                let next = d.clock.now() + chrono::Duration::from_std(backoff).unwrap_or_default();
                if next >= last_start {
                    tracing::warn!(error = %e, attempt, "welcome window closing; not retried");
                    return Ok((WelcomeOutcome::Failed, errcode_of(&e)));
                }
                tracing::info!(error = %e, attempt, "welcome failed; retrying within the window");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, "welcome not sent");
                return Ok((WelcomeOutcome::Failed, errcode_of(&e)));
            }
        }
    }
    Ok((WelcomeOutcome::Failed, None))
}

/// What the welcome of an add is sent with besides its text.
struct WelcomeParts<'a> {
    /// The tenant.
    tenant: &'a Tenant,
    /// The channel code's state, if the add came through one.
    state: Option<&'a str>,
    /// The code's group invite picture, if it has one.
    invite_pic_url: Option<&'a str>,
}

/// The welcome's attachments as WeCom takes them, in order, and the text of text materials
/// (joined to the welcome's text): materials made sendable, links marked `track` made short
/// links of this customer's welcome, the group invite's QR last. Nothing here may lose the
/// welcome: a material that cannot be had is left out, a link that cannot be tracked goes
/// as it is (each logged).
async fn attachments<S, W, F, T>(
    d: &GrowthDeps<'_, S, W, F, T>,
    parts: &WelcomeParts<'_>,
    welcome: &Welcome,
    userid: &str,
    external_userid: &str,
) -> (Vec<Attachment>, String) {
    let now = d.clock.now();
    let mut out = Vec::with_capacity(welcome.attachments.len() + 1);
    let mut extra_text = String::new();
    for a in &welcome.attachments {
        match a {
            WelcomeAttachment::Material { material_id } => {
                let content = Content {
                    text: String::new(),
                    attachments: vec![SopAttachment::Material {
                        material_id: material_id.clone(),
                    }],
                };
                match d
                    .materials
                    .resolve(parts.tenant, &content, ContentUse::Message, now)
                    .await
                {
                    Ok(resolved) => {
                        let (text, sendable) = resolved.to_wecom_message();
                        if let Some(text) = text.filter(|t| !t.content.trim().is_empty()) {
                            if !extra_text.is_empty() {
                                extra_text.push('\n');
                            }
                            extra_text.push_str(&text.content);
                        }
                        out.extend(sendable);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, material_id, "welcome material left out");
                    }
                }
            }
            WelcomeAttachment::Link {
                title,
                url,
                track: true,
                ..
            } => {
                let mut sendable = a.to_wecom();
                if let Some(Attachment::Link { link }) = &mut sendable {
                    let context = SendContext {
                        via: Via::Welcome,
                        staff: Some(userid.to_string()),
                        channel: parts.state.map(str::to_string),
                        customer: Some(external_userid.to_string()),
                        ..SendContext::default()
                    };
                    let target = Target { url, title };
                    if let Some(short) = d.links.track(parts.tenant, target, context, now).await {
                        link.url = short;
                    }
                }
                out.extend(sendable);
            }
            other => out.extend(other.to_wecom()),
        }
    }
    if let Some(pic_url) = parts.invite_pic_url {
        out.push(Attachment::Image {
            image: ImageAttachment {
                media_id: None,
                pic_url: Some(pic_url.to_string()),
            },
        });
    }
    out.truncate(limits::ATTACHMENTS);
    (out, extra_text)
}

fn errcode_of(e: &WeComError) -> Option<i64> {
    match e {
        WeComError::Api { errcode, .. } => Some(*errcode),
        WeComError::RetryLater { errcode, .. } => *errcode,
        _ => None,
    }
}

/// The code's tags and remark on the new relation (both idempotent at WeCom: a
/// redelivery sets the same again).
async fn apply_tags_and_remark<S, W, F, T>(
    d: &GrowthDeps<'_, S, W, F, T>,
    creds: &CorpCredentials,
    t: &TenantId,
    code: &ChannelCode,
    external_userid: &str,
    userid: &str,
) -> Result<(), GrowthEventError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    F: ContactFacts,
    T: TenantLookup,
{
    if !code.spec.tags.is_empty() {
        let request = MarkTag {
            userid: userid.to_string(),
            external_userid: external_userid.to_string(),
            add_tag: code.spec.tags.clone(),
            remove_tag: Vec::new(),
        };
        d.wecom.mark_tag(creds, &request).await?;
    }
    if let Some(template) = &code.spec.remark_template {
        let name = d.facts.customer_name(t, external_userid).await?;
        let g = Greeting {
            corp_id: t.as_str(),
            customer_name: name.as_deref(),
            staff_name: None,
            userid,
        };
        let request = CustomerRemark {
            userid: userid.to_string(),
            external_userid: external_userid.to_string(),
            remark: remark(template, &g),
        };
        d.wecom.remark(creds, &request).await?;
    }
    Ok(())
}

/// Puts the rota's current choice on WeCom when it differs from the code's members.
async fn apply_rota<S, W, F, T>(
    d: &GrowthDeps<'_, S, W, F, T>,
    creds: &CorpCredentials,
    t: &TenantId,
    tenant: &Tenant,
    mut code: ChannelCode,
) -> Result<Option<Vec<String>>, GrowthEventError>
where
    S: GrowthStore,
    W: GrowthWeCom,
    F: ContactFacts,
    T: TenantLookup,
{
    let now = d.clock.now();
    let choice = choice_now(d.store, t, &code, tenant, now).await?;
    if choice.members == code.on_duty {
        if code.rota_due.is_none() {
            // A code saved before the rota's due index: it joins it (once, version kept).
            code.rota_due = rota_due(&code, tenant, now);
            if code.rota_due.is_some() {
                d.store.save_code(t, &code, code.version).await?;
            }
        }
        return Ok(None);
    }
    d.wecom
        .update_contact_way(creds, &contact_way(&code, &choice.members))
        .await?;
    tracing::info!(members = ?choice.members, duty = ?choice.duty, "rota applied to the code");
    let version = code.version;
    code.on_duty = choice.members.clone();
    code.version = version + 1;
    code.updated_at = now;
    code.rota_due = rota_due(&code, tenant, now);
    // An edit in between wins: it applied its own choice to WeCom.
    d.store.save_code(t, &code, version).await?;
    Ok(Some(choice.members))
}
