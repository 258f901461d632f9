//! The customer sidebar (聊天工具栏) of the staff pages: who a staff member is talking to,
//! read from what the product already stores, through the same ports the admin API reads a
//! customer's and a group's pages with (the directory, the tag mirror, the ledger, the
//! group-day activity, the SOP group tags). Nothing is written and WeCom is not asked.
//!
//! - A customer: profile, the caller's remark and tags on them (the tags of every active
//!   follow user when the caller is none), the tags the caller may add, points and
//!   streaks, the groups of the tenant they are in, and a short timeline (ledger entries,
//!   group joins and leaves, follow users added and removed) newest first.
//! - A group: name, owner, members, its SOP tags, today's check-ins and rate, recent joins
//!   and leaves.
//!
//! The lifecycle stage: the product keeps no current stage per customer (a stage arrives
//! only as a `StageEntered` event that starts journeys), so it is `None`.
use crate::contacts::{DirectoryRead, Membership, RelationStatus, RelationTag};
use crate::http::ApiError;
use crate::points::ledger::When;
use crate::points::model::EntryKind;
use crate::points::ports::{ActivityStore, HistoryRead};
use crate::points::views::rate;
use crate::points::{Account, CustomerId};
use crate::ports::StoreError;
use crate::sop::ports::GroupTagStore;
use crate::tags::edit::live_tags;
use crate::tags::TagMirror;
use crate::tenants::Tenant;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The most timeline events answered.
pub const TIMELINE_LEN: usize = 20;

/// A corp tag as the sidebar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidebarTag {
    /// The corp tag id.
    pub tag_id: String,
    /// Its name (the id when neither the relation nor the mirror names it).
    pub name: String,
    /// Its group's name, when known.
    pub group_name: Option<String>,
}

/// Points and streaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidebarPoints {
    /// The balance.
    pub balance: i64,
    /// Consecutive check-in days up to today or yesterday (0 once a day is missed).
    pub current_streak: u32,
    /// The longest streak ever.
    pub longest_streak: u32,
}

/// A group the customer is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidebarGroup {
    /// The group.
    pub chat_id: String,
    /// Its name, when known.
    pub name: Option<String>,
}

/// What a timeline event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A ledger entry (`amount`, `entry_kind`, `reason`).
    Points,
    /// Joined a group (`chat_id`, `group_name`; for a group, `member_id`, `member_name`).
    Joined,
    /// Left a group (same fields).
    Left,
    /// A staff member (`userid`) added the customer.
    ContactAdded,
    /// A follow relation ended (`userid`).
    ContactRemoved,
}

/// One event of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: TimelineKind,
    /// Points: the signed change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Points: the ledger entry's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_kind: Option<EntryKind>,
    /// Points: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Joins and leaves: the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// Joins and leaves: the group's name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// A group's joins and leaves: who.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// A group's joins and leaves: their name in the group, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    /// Follow relations: the staff member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userid: Option<String>,
}

impl TimelineEvent {
    fn new(at: DateTime<Utc>, kind: TimelineKind) -> Self {
        Self {
            at,
            kind,
            amount: None,
            entry_kind: None,
            reason: None,
            chat_id: None,
            group_name: None,
            member_id: None,
            member_name: None,
            userid: None,
        }
    }
}

/// A customer as the sidebar shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerSidebar {
    /// The customer.
    pub external_userid: String,
    /// WeChat nickname or WeCom name, once fetched from WeCom.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// Company (WeCom users).
    pub corp_name: Option<String>,
    /// The caller's remark on the customer.
    pub remark: Option<String>,
    /// The lifecycle stage (always `None`: see the module).
    pub stage: Option<String>,
    /// Whether the caller is an active follow user (only then may they edit tags).
    pub follower: bool,
    /// The caller's corp tags on the customer (every active follow user's when `follower`
    /// is false).
    pub tags: Vec<SidebarTag>,
    /// The corp's tags that exist now, to choose from.
    pub available_tags: Vec<SidebarTag>,
    /// Points and streaks.
    pub points: SidebarPoints,
    /// The tenant's groups they are in now.
    pub groups: Vec<SidebarGroup>,
    /// Newest first, at most [`TIMELINE_LEN`].
    pub timeline: Vec<TimelineEvent>,
}

/// A group's day of check-ins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidebarCheckIns {
    /// The tenant-local day (today).
    pub date: String,
    /// Customers in the group who checked in that day.
    pub checked_in: i64,
    /// Customers in the group now.
    pub customers: i64,
    /// `checked_in / customers` (0 for a group without customers).
    pub rate: f64,
}

/// A group as the sidebar shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSidebar {
    /// The group.
    pub chat_id: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Its owner's userid, when known.
    pub owner: Option<String>,
    /// Members now (staff and customers).
    pub members: i64,
    /// Whether the group was dismissed.
    pub dismissed: bool,
    /// Its SOP tags.
    pub tags: Vec<String>,
    /// Today's check-ins.
    pub check_ins: SidebarCheckIns,
    /// Joins and leaves, newest first, at most [`TIMELINE_LEN`].
    pub timeline: Vec<TimelineEvent>,
}

/// Why the sidebar has nothing to show.
#[derive(Debug, thiserror::Error)]
pub enum SidebarError {
    /// An id that cannot be WeCom's.
    #[error("{0}")]
    InvalidId(String),
    /// The tenant's directory does not know the customer.
    #[error("no customer {0}")]
    CustomerNotFound(String),
    /// The tenant's directory does not know the group.
    #[error("no group {0}")]
    GroupNotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SidebarError> for ApiError {
    fn from(e: SidebarError) -> Self {
        match e {
            SidebarError::InvalidId(m) => ApiError::validation(m),
            SidebarError::CustomerNotFound(_) => {
                ApiError::new(404, "customer_not_found", e.to_string())
            }
            SidebarError::GroupNotFound(_) => ApiError::new(404, "group_not_found", e.to_string()),
            SidebarError::Store(s) => s.into(),
        }
    }
}

fn epoch(at: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at, 0)
}

fn named(tag: &RelationTag, names: &HashMap<String, (String, String)>) -> Option<SidebarTag> {
    let id = tag.tag_id.clone()?;
    let mirrored = names.get(&id);
    Some(SidebarTag {
        name: tag
            .tag_name
            .clone()
            .or_else(|| mirrored.map(|n| n.1.clone()))
            .unwrap_or_else(|| id.clone()),
        group_name: tag
            .group_name
            .clone()
            .or_else(|| mirrored.map(|n| n.0.clone())),
        tag_id: id,
    })
}

fn newest_first(mut events: Vec<TimelineEvent>) -> Vec<TimelineEvent> {
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(TIMELINE_LEN);
    events
}

/// The joins and leaves of memberships (`group` names the group of each, for a customer's;
/// `None` names the member instead, for a group's).
fn membership_events(
    m: &Membership,
    group_name: Option<&str>,
    of_customer: bool,
) -> Vec<TimelineEvent> {
    let mut out = Vec::new();
    let stamp = |mut e: TimelineEvent| {
        if of_customer {
            e.chat_id = Some(m.chat_id.clone());
            e.group_name = group_name.map(str::to_string);
        } else {
            e.member_id = Some(m.member_id.clone());
            e.member_name = m.group_nickname.clone().or_else(|| m.name.clone());
        }
        e
    };
    if let Some(at) = m.join_time.and_then(epoch) {
        out.push(stamp(TimelineEvent::new(at, TimelineKind::Joined)));
    }
    if let Some(at) = m.left_at.filter(|_| !m.active).and_then(epoch) {
        out.push(stamp(TimelineEvent::new(at, TimelineKind::Left)));
    }
    out
}

/// The stores the sidebar reads.
pub struct SidebarReads<'a, D, M, P, G> {
    /// The directory.
    pub directory: &'a D,
    /// The corp tag mirror.
    pub tags: &'a M,
    /// The ledger and the group-day activity.
    pub points: &'a P,
    /// SOP group tags.
    pub group_tags: &'a G,
}

impl<D, M, P, G> SidebarReads<'_, D, M, P, G>
where
    D: DirectoryRead,
    M: TagMirror,
    P: HistoryRead + ActivityStore,
    G: GroupTagStore,
{
    /// The customer `external_userid` of `tenant` as `userid` (the caller) sees them.
    pub async fn customer(
        &self,
        tenant: &Tenant,
        userid: &str,
        external_userid: &str,
        now: DateTime<Utc>,
    ) -> Result<CustomerSidebar, SidebarError> {
        let t = &tenant.id;
        let id = CustomerId::parse(external_userid).map_err(|_| {
            SidebarError::InvalidId(
                "external_userid must be 1 to 128 letters, digits, `_` or `-`".into(),
            )
        })?;
        let view = self
            .directory
            .customer(t, external_userid)
            .await?
            .ok_or_else(|| SidebarError::CustomerNotFound(external_userid.to_string()))?;
        let account = Account::new(t.clone(), id);
        let (library, memberships, summary, entries) = futures::join!(
            self.tags.tag_groups(t),
            self.directory.member_groups(t, external_userid),
            self.points.summary(&account),
            self.points.entries(&account, None, TIMELINE_LEN as i32),
        );
        let (library, memberships, (balance, check_in, _), entries) =
            (library?, memberships?, summary?, entries?);
        let names = live_tags(&library);

        let mine = view
            .follow_users
            .iter()
            .find(|f| f.userid == userid && f.status == RelationStatus::Active);
        let mut tags: Vec<SidebarTag> = Vec::new();
        let relations = match mine {
            Some(f) => vec![f],
            None => view
                .follow_users
                .iter()
                .filter(|f| f.status == RelationStatus::Active)
                .collect(),
        };
        for tag in relations.iter().flat_map(|f| &f.tags) {
            if let Some(tag) = named(tag, &names) {
                if !tags.iter().any(|t| t.tag_id == tag.tag_id) {
                    tags.push(tag);
                }
            }
        }
        let available_tags = library
            .iter()
            .filter(|g| !g.deleted)
            .flat_map(|g| {
                g.tags.iter().filter(|t| !t.deleted).map(|t| SidebarTag {
                    tag_id: t.id.clone(),
                    name: t.name.clone(),
                    group_name: Some(g.group_name.clone()),
                })
            })
            .collect();

        let today = When::new(now, tenant.settings.tz()).today();
        let check_in = check_in.unwrap_or_default();
        let points = SidebarPoints {
            balance: balance.balance,
            current_streak: check_in.current_streak(today),
            longest_streak: check_in.longest,
        };

        let groups = memberships
            .iter()
            .filter(|g| g.membership.active && !g.group_dismissed)
            .map(|g| SidebarGroup {
                chat_id: g.membership.chat_id.clone(),
                name: g.group_name.clone(),
            })
            .collect();

        let mut events: Vec<TimelineEvent> = entries
            .iter()
            .map(|e| TimelineEvent {
                amount: Some(e.amount),
                entry_kind: Some(e.kind),
                reason: Some(e.origin.reason.clone()),
                ..TimelineEvent::new(e.created_at, TimelineKind::Points)
            })
            .collect();
        for g in &memberships {
            events.extend(membership_events(
                &g.membership,
                g.group_name.as_deref(),
                true,
            ));
        }
        for f in &view.follow_users {
            if let Some(at) = f.createtime.and_then(epoch) {
                events.push(TimelineEvent {
                    userid: Some(f.userid.clone()),
                    ..TimelineEvent::new(at, TimelineKind::ContactAdded)
                });
            }
            if let Some(at) = f
                .removed_at
                .filter(|_| f.status == RelationStatus::Removed)
                .and_then(epoch)
            {
                events.push(TimelineEvent {
                    userid: Some(f.userid.clone()),
                    ..TimelineEvent::new(at, TimelineKind::ContactRemoved)
                });
            }
        }

        Ok(CustomerSidebar {
            external_userid: view.customer.external_userid.clone(),
            name: view.customer.name.clone(),
            avatar: view.customer.avatar.clone(),
            corp_name: view.customer.corp_name.clone(),
            remark: mine
                .and_then(|f| f.remark.clone())
                .filter(|r| !r.is_empty()),
            stage: None,
            follower: mine.is_some(),
            tags,
            available_tags,
            points,
            groups,
            timeline: newest_first(events),
        })
    }

    /// The group `chat_id` of `tenant`.
    pub async fn group(
        &self,
        tenant: &Tenant,
        chat_id: &str,
        now: DateTime<Utc>,
    ) -> Result<GroupSidebar, SidebarError> {
        let t = &tenant.id;
        crate::contacts::admin::valid_id(chat_id, "chat_id")
            .map_err(|e| SidebarError::InvalidId(e.to_string()))?;
        let view = self
            .directory
            .group(t, chat_id)
            .await?
            .ok_or_else(|| SidebarError::GroupNotFound(chat_id.to_string()))?;
        let date = When::new(now, tenant.settings.tz())
            .today()
            .format("%Y-%m-%d")
            .to_string();
        let (tags, day) = futures::join!(
            self.group_tags.group_tags(t, chat_id),
            self.points.group_day(t, chat_id, &date),
        );
        let (tags, day) = (tags?, day?);
        let customers: Vec<&str> = view
            .members
            .iter()
            .filter(|m| m.active && m.is_customer)
            .map(|m| m.member_id.as_str())
            .collect();
        // Check-ins of customers still in the group: the rate's base is who is in it now.
        let checked_in = day
            .checked_in
            .iter()
            .filter(|c| customers.contains(&c.as_str()))
            .count() as i64;
        let customers = customers.len() as i64;
        let events = view
            .members
            .iter()
            .flat_map(|m| membership_events(m, None, false))
            .collect();
        Ok(GroupSidebar {
            chat_id: view.group.chat_id.clone(),
            name: view.group.name.clone(),
            owner: view.group.owner.clone(),
            members: view.group.member_count,
            dismissed: view.group.dismissed,
            tags,
            check_ins: SidebarCheckIns {
                date,
                checked_in,
                customers,
                rate: rate(checked_in, customers),
            },
            timeline: newest_first(events),
        })
    }
}
