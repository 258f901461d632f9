//! Domain events: what happened, normalised away from WeCom's callback shapes, published to
//! the project's EventBridge bus so that other functions (points, SOP, re-sync) react through
//! rules. Locally the same routing table delivers them to the functions served by
//! `cargo lambda watch`.
//!
//! Every event carries a deterministic `event_id` (derived from what caused it), so a
//! consumer that sees the same event twice (EventBridge is at-least-once; WeCom re-delivers
//! callbacks) can make its effect idempotent on that id.
pub mod ports;
pub mod routing;

pub use ports::{EventPublisher, PublishError, RecordingPublisher};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The EventBridge `source` of every domain event.
pub const SOURCE: &str = "scrm";

/// Who removed a contact relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedBy {
    /// The member (staff) deleted the customer (`del_external_contact`).
    Member,
    /// The customer deleted the member (`del_follow_user`).
    Customer,
}

/// What happened. The variant name is the EventBridge `detail-type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent {
    /// A staff member added a customer (also the "free verification" half add).
    ContactAdded {
        /// The customer.
        external_userid: String,
        /// The staff member.
        userid: String,
        /// The channel (`state` of the Contact Me code), if any.
        state: Option<String>,
        /// Whether this was `add_half_external_contact` (not yet confirmed by the member).
        half: bool,
        /// WeCom's `WelcomeCode`: lets one welcome message be sent, once, within 20 s of the
        /// add (absent when WeCom allows none; events published before it existed lack it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        welcome_code: Option<String>,
    },
    /// A staff member edited a customer's remark or tags.
    ContactEdited {
        /// The customer.
        external_userid: String,
        /// The staff member.
        userid: String,
    },
    /// A contact relation ended.
    ContactRemoved {
        /// The customer.
        external_userid: String,
        /// The staff member.
        userid: String,
        /// Who removed whom.
        by: RemovedBy,
        /// `DELETE_BY_TRANSFER` when removed by an on-job transfer.
        source: Option<String>,
    },
    /// A customer transfer to a new member failed.
    ContactTransferFailed {
        /// The customer.
        external_userid: String,
        /// The takeover member.
        userid: String,
        /// `customer_refused` or `customer_limit_exceed`.
        reason: String,
    },
    /// A customer group was created.
    GroupCreated {
        /// The group.
        chat_id: String,
    },
    /// A group's name or notice changed.
    GroupUpdated {
        /// The group.
        chat_id: String,
        /// WeCom's UpdateDetail (`change_name`, `change_notice`, ...).
        detail: String,
    },
    /// A group's owner changed.
    GroupOwnerChanged {
        /// The group.
        chat_id: String,
        /// The previous owner, if known.
        previous_owner: Option<String>,
        /// The new owner, if known.
        new_owner: Option<String>,
    },
    /// A group was dismissed.
    GroupDismissed {
        /// The group.
        chat_id: String,
    },
    /// Someone joined a group (one event per member).
    MemberJoinedGroup {
        /// The group.
        chat_id: String,
        /// The member: a customer's external_userid or a staff userid.
        member_id: String,
        /// Whether the member is a customer.
        is_customer: bool,
        /// WeCom's JoinScene (0 invited, 3 QR code; an open integer).
        join_scene: Option<i64>,
        /// The 「加入群聊」 code's `state` the member joined through, when the group's detail
        /// (`groupchat/get` `member_list[].state`) was read for this change; none when the
        /// callback reused a detail fetched moments before (see the consumers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
    /// Someone left a group (one event per member).
    MemberLeftGroup {
        /// The group.
        chat_id: String,
        /// The member.
        member_id: String,
        /// Whether the member is a customer.
        is_customer: bool,
        /// WeCom's QuitScene (0 left, 1 removed).
        quit_scene: Option<i64>,
    },
    /// A corp tag or tag group was created, changed, deleted or reordered.
    CorpTagChanged {
        /// Tag or group id (empty for a reorder of all groups).
        id: String,
        /// `tag` or `tag_group`.
        tag_type: Option<String>,
        /// `create`, `update`, `delete`, `shuffle`.
        change: String,
    },
    /// A staff member left the company (from a re-sync or the directory).
    StaffDeparted {
        /// The staff member.
        userid: String,
    },
    /// A customer entered a lifecycle stage; starts journey SOPs.
    StageEntered {
        /// The customer.
        external_userid: String,
        /// The stage entered.
        stage: String,
        /// The stage left, if any.
        previous_stage: Option<String>,
    },
    /// A customer replied to staff (moves a journey to its "replied" branch).
    CustomerReplied {
        /// The customer.
        external_userid: String,
        /// The staff member replied to.
        userid: Option<String>,
    },
    /// A large points job was created and must be run.
    PointsJobCreated {
        /// The job.
        job_id: String,
    },
    /// A full directory re-sync was requested (or must continue).
    ResyncRequested {
        /// The job.
        job_id: String,
    },
    /// A customer submitted a smart form (a version of their one submission to it): its
    /// tags and remark are put on them at WeCom.
    FormSubmitted {
        /// The form.
        form_id: String,
        /// The customer.
        external_userid: String,
        /// The submission's version this event is about (a newer one supersedes it).
        version: i64,
    },
    /// A customer did something the product tracks (today: clicked a tracked link). The
    /// staff member who sent what they acted on is notified; the customer timeline and
    /// lifecycle rules are its other consumers.
    CustomerInteracted {
        /// The customer.
        external_userid: String,
        /// What they did: `link_click`.
        interaction: String,
        /// The staff member who sent what they acted on, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        userid: Option<String>,
        /// The link clicked, for `link_click`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<LinkClick>,
    },
    /// An add through a fission inviter's personal code counted (pending its hold).
    FissionInviteeCounted {
        /// The campaign.
        campaign_id: String,
        /// The inviter (external_userid).
        inviter: String,
        /// The invitee (external_userid).
        invitee: String,
    },
    /// A counted invitee left within the hold: their count is revoked.
    FissionInviteeRevoked {
        /// The campaign.
        campaign_id: String,
        /// The inviter (external_userid).
        inviter: String,
        /// The invitee (external_userid).
        invitee: String,
    },
    /// An inviter's confirmed invitees reached a tier.
    FissionTierReached {
        /// The campaign.
        campaign_id: String,
        /// The inviter (external_userid).
        inviter: String,
        /// The tier's index.
        tier: usize,
    },
    /// A tier's reward was paid to its inviter.
    FissionRewardPaid {
        /// The campaign.
        campaign_id: String,
        /// The inviter (external_userid).
        inviter: String,
        /// The tier's index.
        tier: usize,
        /// What was paid: `points`, `reward` or `coupon`.
        kind: String,
        /// The points paid, for `points`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points: Option<i64>,
        /// The catalogue reward granted, for `reward`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reward_id: Option<String>,
        /// The coupon list a code was issued from, for `coupon`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        list_id: Option<String>,
    },
    /// A fission campaign ended (by time or by an operator) and its inviters' personal
    /// codes were deleted at WeCom.
    FissionCampaignEnded {
        /// The campaign.
        campaign_id: String,
        /// When it ended.
        ended_at: DateTime<Utc>,
        /// Personal codes deleted.
        codes_removed: u32,
    },
}

/// A tracked link's click, as [`DomainEvent::CustomerInteracted`] carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClick {
    /// The link.
    pub link_id: String,
    /// The short code clicked (its send context).
    pub code: String,
    /// The link's title.
    pub title: String,
    /// Where it led.
    pub url: String,
    /// How it was sent: `direct`, `welcome`, `plan`, `campaign`.
    pub via: String,
    /// The SOP plan that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The channel code of the welcome that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

impl DomainEvent {
    /// The EventBridge `detail-type`: the variant name.
    pub fn detail_type(&self) -> &'static str {
        match self {
            DomainEvent::ContactAdded { .. } => "ContactAdded",
            DomainEvent::ContactEdited { .. } => "ContactEdited",
            DomainEvent::ContactRemoved { .. } => "ContactRemoved",
            DomainEvent::ContactTransferFailed { .. } => "ContactTransferFailed",
            DomainEvent::GroupCreated { .. } => "GroupCreated",
            DomainEvent::GroupUpdated { .. } => "GroupUpdated",
            DomainEvent::GroupOwnerChanged { .. } => "GroupOwnerChanged",
            DomainEvent::GroupDismissed { .. } => "GroupDismissed",
            DomainEvent::MemberJoinedGroup { .. } => "MemberJoinedGroup",
            DomainEvent::MemberLeftGroup { .. } => "MemberLeftGroup",
            DomainEvent::CorpTagChanged { .. } => "CorpTagChanged",
            DomainEvent::StaffDeparted { .. } => "StaffDeparted",
            DomainEvent::StageEntered { .. } => "StageEntered",
            DomainEvent::CustomerReplied { .. } => "CustomerReplied",
            DomainEvent::PointsJobCreated { .. } => "PointsJobCreated",
            DomainEvent::ResyncRequested { .. } => "ResyncRequested",
            DomainEvent::CustomerInteracted { .. } => "CustomerInteracted",
            DomainEvent::FormSubmitted { .. } => "FormSubmitted",
            DomainEvent::FissionInviteeCounted { .. } => "FissionInviteeCounted",
            DomainEvent::FissionInviteeRevoked { .. } => "FissionInviteeRevoked",
            DomainEvent::FissionTierReached { .. } => "FissionTierReached",
            DomainEvent::FissionRewardPaid { .. } => "FissionRewardPaid",
            DomainEvent::FissionCampaignEnded { .. } => "FissionCampaignEnded",
        }
    }
}

/// A domain event with its identity: the EventBridge `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Deterministic id (e.g. `cb:<callback dedupe key>:<n>`): consumers dedupe on it.
    pub event_id: String,
    /// The tenant (corp id).
    pub tenant: String,
    /// When it happened (the callback's CreateTime, or the request time).
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: DomainEvent,
}

impl EventEnvelope {
    /// Wraps an event.
    pub fn new(
        event_id: impl Into<String>,
        tenant: impl Into<String>,
        occurred_at: DateTime<Utc>,
        event: DomainEvent,
    ) -> Self {
        Self {
            event_id: event_id.into(),
            tenant: tenant.into(),
            occurred_at,
            event,
        }
    }

    /// The EventBridge `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        self.event.detail_type()
    }

    /// The EventBridge event a rule target receives, as JSON (what `cargo lambda invoke`
    /// and the local publisher send, and what the handlers parse).
    pub fn to_eventbridge_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "id": self.event_id,
            "detail-type": self.detail_type(),
            "source": SOURCE,
            "account": "000000000000",
            "time": self.occurred_at.to_rfc3339(),
            "region": "local",
            "resources": [],
            "detail": self,
        })
    }

    /// Parses the EventBridge event a rule target receives.
    pub fn from_eventbridge_json(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let detail = value
            .get("detail")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        serde_json::from_value(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_through_the_eventbridge_shape() {
        let env = EventEnvelope::new(
            "cb:abc:0",
            "ww0001",
            Utc::now(),
            DomainEvent::MemberLeftGroup {
                chat_id: "wr1".into(),
                member_id: "wm1".into(),
                is_customer: true,
                quit_scene: Some(0),
            },
        );
        let json = env.to_eventbridge_json();
        assert_eq!(json["detail-type"], "MemberLeftGroup");
        assert_eq!(json["detail"]["type"], "MemberLeftGroup");
        assert_eq!(EventEnvelope::from_eventbridge_json(&json).unwrap(), env);
    }
}
