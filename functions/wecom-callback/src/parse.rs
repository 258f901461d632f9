//! From the decrypted XML to what the directory applies: `scrm_core::wecom::events` parses
//! it; this maps the typed event to a [`Change`] and names its dedupe key.
use crate::open::{Opened, RejectReason};
use scrm_core::contacts::apply::Change;
use scrm_core::events::RemovedBy;
use scrm_core::wecom::events::{CallbackEvent, ChatChange, ContactChange};

/// Parses a decrypted callback. An unknown event is `Ok` with no change (stored and
/// acknowledged); only XML that cannot be read, or a known event missing an identifying
/// element, is rejected.
pub fn parse_callback(xml: String) -> Result<Opened, RejectReason> {
    let event = CallbackEvent::parse(&xml)
        .map_err(|e| RejectReason::BadMessage(format!("{} ({})", e, e.code())))?;
    let kind = match event.change_type() {
        "" => event.event_name().to_string(),
        ct => format!("{}/{ct}", event.event_name()),
    };
    let kind = if kind.is_empty() {
        format!("msg:{}", event.header().msg_type)
    } else {
        kind
    };
    Ok(Opened {
        dedupe_key: event.dedupe_key(),
        event_time: event.header().create_time,
        change: change_of(&event),
        kind,
        xml,
    })
}

/// The directory change a known event makes.
pub fn change_of(event: &CallbackEvent) -> Option<Change> {
    Some(match event {
        CallbackEvent::ExternalContact {
            user_id,
            external_user_id,
            change,
            ..
        } => {
            let (userid, external_userid) = (user_id.clone(), external_user_id.clone());
            match change {
                ContactChange::Add { state, .. } => Change::ContactAdded {
                    userid,
                    external_userid,
                    state: state.clone(),
                    half: false,
                },
                ContactChange::AddHalf { state, .. } => Change::ContactAdded {
                    userid,
                    external_userid,
                    state: state.clone(),
                    half: true,
                },
                ContactChange::Edit { .. } => Change::ContactEdited {
                    userid,
                    external_userid,
                },
                ContactChange::Delete { source } => Change::ContactRemoved {
                    userid,
                    external_userid,
                    by: RemovedBy::Member,
                    source: source.as_ref().map(|s| s.as_str().to_string()),
                },
                ContactChange::DeleteFollowUser => Change::ContactRemoved {
                    userid,
                    external_userid,
                    by: RemovedBy::Customer,
                    source: None,
                },
                ContactChange::TransferFail { fail_reason } => Change::TransferFailed {
                    userid,
                    external_userid,
                    reason: fail_reason
                        .as_ref()
                        .map(|r| r.as_str().to_string())
                        .unwrap_or_default(),
                },
            }
        }
        CallbackEvent::ExternalChat {
            chat_id, change, ..
        } => {
            let chat_id = chat_id.clone();
            match change {
                ChatChange::Create => Change::GroupCreated { chat_id },
                ChatChange::Dismiss => Change::GroupDismissed { chat_id },
                ChatChange::Update(u) => Change::GroupUpdated {
                    chat_id,
                    detail: u.detail.as_str().to_string(),
                    join_scene: u.join_scene,
                    quit_scene: u.quit_scene,
                    members: u.mem_change_list.clone(),
                    cur_mem_ver: u.cur_mem_ver.clone(),
                },
            }
        }
        CallbackEvent::ExternalTag {
            id,
            tag_type,
            change,
            ..
        } => Change::TagChanged {
            id: id.clone(),
            tag_type: tag_type.as_ref().map(|t| t.as_str().to_string()),
            change: change.as_str().to_string(),
        },
        CallbackEvent::Unknown { .. } => return None,
    })
}
