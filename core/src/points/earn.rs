//! The earning rules applied: check-in, profile completion, follows, newcomer points and
//! zero-on-leave. Each is one idempotent ledger write whose key makes the rule's "once":
//! a day for a check-in, the customer's whole life for newcomer, profile and follow
//! points, the event for a zero-on-leave.
use super::ledger::{apply, check_in_key, once_key, OpKind, Operation, When};
use super::model::{EntryKind, IdempotencyKey, Origin, Outcome, Points};
use super::ports::{Account, ActivityStore, LedgerStore, Memberships, ProfileStore, RulesStore};
use super::rules::{CustomerProfile, LeaveScope};
use super::stats::{self, Figure};
use super::PointsError;
use serde::{Deserialize, Serialize};

/// Checks a customer in for their tenant-local today, then records the check-in on the
/// groups they are in (for the per-group views). A second check-in the same day answers
/// the first one's result.
pub async fn check_in_customer<S, M>(
    store: &S,
    directory: &M,
    account: &Account,
    when: When,
) -> Result<Outcome, PointsError>
where
    S: LedgerStore + RulesStore + ActivityStore,
    M: Memberships,
{
    let rules = store.rules(&account.tenant).await?;
    let today = when.today();
    let op = Operation {
        key: check_in_key(today),
        key_forever: false,
        once: false,
        origin: Origin::new(
            "check_in",
            "customer-api",
            format!("customer:{}", account.customer),
        ),
        kind: OpKind::CheckIn {
            rule: rules.check_in.clone(),
            expires_on: rules.expiry_for(today),
        },
        details: serde_json::Value::Null,
    };
    // The customer's groups are read while the ledger is written, and the dashboard's
    // count and the group views are written together after it: three round trips.
    let (outcome, groups) = futures::join!(
        apply(store, account, &op, when),
        directory.customer_groups(&account.tenant, &account.customer)
    );
    let outcome = outcome?;
    let date = today.format("%Y-%m-%d").to_string();
    // Counted for the dashboard on a retry too (a replay), so a count lost to a failure
    // after the ledger write is made good; the key counts once.
    let counted = stats::check_in_key(account.customer.as_str(), &date);
    let count = async {
        if let Err(e) = store
            .count_once(&account.tenant, &date, Figure::CheckIns, &counted)
            .await
        {
            tracing::warn!(error = %e, "check-in not counted on the dashboard");
        }
    };
    let record = async {
        match groups {
            Ok(groups) if !groups.is_empty() => {
                if let Err(e) = store
                    .record_check_in(&account.tenant, &account.customer, &groups, &date, when.now)
                    .await
                {
                    tracing::warn!(error = %e, "check-in not recorded on the group views");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "groups of the customer not read"),
        }
    };
    futures::join!(count, record);
    Ok(outcome)
}

/// What saving a profile did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileSaved {
    /// The profile as stored.
    pub profile: CustomerProfile,
    /// Whether every field the tenant chose is filled.
    pub complete: bool,
    /// The completion reward, when paid now or earlier.
    pub reward: Option<Outcome>,
}

/// Saves the fields a customer filled and pays the completion reward once, when every
/// field the tenant chose is filled.
pub async fn save_profile<S>(
    store: &S,
    account: &Account,
    update: &CustomerProfile,
    when: When,
) -> Result<ProfileSaved, PointsError>
where
    S: LedgerStore + RulesStore + ProfileStore,
{
    update
        .validate()
        .map_err(|e| PointsError::Validation(e.to_string()))?;
    let rules = store.rules(&account.tenant).await?;
    let profile = store.profile(account).await?.merged(update);
    store.put_profile(account, &profile, when.now).await?;
    let complete = rules.profile.enabled && profile.completes(&rules.profile);
    let reward = if complete {
        let points = Points::new(rules.profile.points)
            .map_err(|e| PointsError::Validation(e.to_string()))?;
        let op = Operation::credit(
            once_key("profile"),
            EntryKind::Earn,
            points,
            rules.expiry_for(when.today()),
            Origin::new(
                "profile_completed",
                "customer-api",
                format!("customer:{}", account.customer),
            ),
        )
        .once_per_customer();
        Some(apply(store, account, &op, when).await?)
    } else {
        None
    };
    Ok(ProfileSaved {
        profile,
        complete,
        reward,
    })
}

/// What a customer confirms following.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowChannel {
    /// The official account (公众号).
    OfficialAccount,
    /// The video channel (视频号).
    VideoChannel,
}

impl FollowChannel {
    fn as_str(&self) -> &'static str {
        match self {
            FollowChannel::OfficialAccount => "official_account",
            FollowChannel::VideoChannel => "video_channel",
        }
    }
}

/// Pays the follow reward of a channel, once per customer ever.
pub async fn confirm_follow<S>(
    store: &S,
    account: &Account,
    channel: FollowChannel,
    when: When,
) -> Result<Outcome, PointsError>
where
    S: LedgerStore + RulesStore,
{
    let rules = store.rules(&account.tenant).await?;
    let rule = match channel {
        FollowChannel::OfficialAccount => &rules.follow_official_account,
        FollowChannel::VideoChannel => &rules.follow_video_channel,
    };
    let key = once_key(&format!("follow_{}", channel.as_str()));
    let points = match Points::new(rule.points) {
        Ok(p) if rule.enabled => p,
        _ => {
            // Switched off: a follow already paid still answers its result.
            return match store.idempotency(account, &key).await? {
                Some(rec) => Ok(Outcome {
                    applied: rec.result,
                    replayed: true,
                }),
                None => Err(PointsError::RuleDisabled("follow reward")),
            };
        }
    };
    let op = Operation::credit(
        key,
        EntryKind::Earn,
        points,
        rules.expiry_for(when.today()),
        Origin::new(
            format!("follow_{}", channel.as_str()),
            "customer-api",
            format!("customer:{}", account.customer),
        ),
    )
    .once_per_customer();
    apply(store, account, &op, when).await
}

/// What triggered a newcomer check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewcomerTrigger {
    /// A staff member added the customer.
    ContactAdded,
    /// The customer joined a group.
    JoinedGroup,
}

/// Pays newcomer points if the tenant's rule covers the trigger; once per customer ever,
/// whichever trigger comes first. `None` when the rule does not apply.
pub async fn newcomer<S>(
    store: &S,
    account: &Account,
    trigger: NewcomerTrigger,
    event_id: &str,
    when: When,
) -> Result<Option<Outcome>, PointsError>
where
    S: LedgerStore + RulesStore,
{
    let rules = store.rules(&account.tenant).await?;
    let rule = &rules.newcomer;
    let applies = rule.enabled
        && match trigger {
            NewcomerTrigger::ContactAdded => rule.on_contact_added,
            NewcomerTrigger::JoinedGroup => rule.on_group_join,
        };
    if !applies {
        return Ok(None);
    }
    let Ok(points) = Points::new(rule.points) else {
        return Ok(None);
    };
    let op = Operation::credit(
        once_key("newcomer"),
        EntryKind::Earn,
        points,
        rules.expiry_for(when.today()),
        Origin::new("newcomer", format!("event:{event_id}"), "system"),
    )
    .once_per_customer();
    apply(store, account, &op, when).await.map(Some)
}

/// Zeroes a customer's points when they leave, if the tenant's rule says so: by default
/// once they have left the tenant's community (no active membership left in its groups),
/// or on leaving any one group when the tenant chose [`LeaveScope::AnyGroup`]. Idempotent
/// on the event: a redelivered leave changes nothing.
pub async fn zero_on_leave<S, M>(
    store: &S,
    directory: &M,
    account: &Account,
    chat_id: &str,
    event_id: &str,
    when: When,
) -> Result<Option<Outcome>, PointsError>
where
    S: LedgerStore + RulesStore,
    M: Memberships,
{
    let rules = store.rules(&account.tenant).await?;
    if !rules.zero_on_leave {
        return Ok(None);
    }
    if rules.zero_on_leave_scope == LeaveScope::Community {
        let groups = directory
            .customer_groups(&account.tenant, &account.customer)
            .await?;
        // The group left is skipped: the event says it was left, and the directory's
        // index of a customer's groups may not show that yet.
        if groups.iter().any(|g| g != chat_id) {
            return Ok(None);
        }
    }
    let key = IdempotencyKey::parse(&format!("leave:{event_id}"))
        .unwrap_or_else(|_| IdempotencyKey::system(format!("leave:{}", short_hash(event_id))));
    let op = Operation::clear(
        key,
        EntryKind::ZeroOnLeave,
        Origin::new("left_group", format!("event:{event_id}"), "system"),
    )
    .with_details(serde_json::json!({ "chat_id": chat_id }));
    apply(store, account, &op, when).await.map(Some)
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(s.as_bytes())[..16])
}
