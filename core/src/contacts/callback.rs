//! From a decrypted callback to what the inbox lands: `crate::wecom::events` parses the
//! XML; this maps the typed event to a [`Change`] and names its kind and dedupe key.
use super::apply::Change;
use crate::events::RemovedBy;
use crate::wecom::events::{CallbackEvent, ChatChange, ContactChange, ParseError};

/// A callback that passed every check (signature, decryption, receive id) and was parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The decrypted XML.
    pub xml: String,
    /// `Event/ChangeType` (or `MsgType` for a message).
    pub kind: String,
    /// The content-derived dedupe key.
    pub dedupe_key: String,
    /// CreateTime (epoch seconds).
    pub event_time: i64,
    /// The change, or `None` for an event the system does not know.
    pub change: Option<Change>,
}

/// Parses a decrypted callback. An unknown event is `Ok` with no change (stored and
/// acknowledged); only XML that cannot be read, or a known event missing an identifying
/// element, is rejected.
pub fn parse_callback(xml: String) -> Result<Callback, ParseError> {
    let event = CallbackEvent::parse(&xml)?;
    let kind = match event.change_type() {
        "" => event.event_name().to_string(),
        ct => format!("{}/{ct}", event.event_name()),
    };
    let kind = if kind.is_empty() {
        format!("msg:{}", event.header().msg_type)
    } else {
        kind
    };
    Ok(Callback {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(msg_type: &str, event: &str, change_type: &str, fields: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
             <CreateTime>1700000000</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>\
             <Event><![CDATA[{event}]]></Event><ChangeType><![CDATA[{change_type}]]></ChangeType>{fields}</xml>"
        )
    }

    #[test]
    fn a_known_event_is_named_by_event_and_change_type_and_keyed_by_content() {
        let x = xml(
            "event",
            "change_external_contact",
            "add_half_external_contact",
            "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXT]]></ExternalUserID>",
        );
        let cb = parse_callback(x.clone()).unwrap();
        assert_eq!(cb.kind, "change_external_contact/add_half_external_contact");
        assert_eq!(cb.event_time, 1700000000);
        assert_eq!(
            cb.dedupe_key,
            CallbackEvent::parse(&x).unwrap().dedupe_key()
        );
        assert_eq!(
            cb.change,
            Some(Change::ContactAdded {
                userid: "zhangsan".into(),
                external_userid: "wmEXT".into(),
                state: None,
                half: true,
            })
        );
        assert_eq!(cb.xml, x);
    }

    #[test]
    fn an_unknown_event_parses_with_no_change() {
        let cb = parse_callback(xml("event", "some_future_event", "", "")).unwrap();
        assert_eq!(cb.kind, "some_future_event");
        assert_eq!(cb.change, None);
    }

    #[test]
    fn unreadable_xml_is_refused() {
        assert!(parse_callback("not xml".into()).is_err());
    }
}
