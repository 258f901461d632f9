//! From a decrypted callback to what the inbox lands: `crate::wecom::events` parses the
//! XML; this maps the typed event to a [`Change`] and names its kind and dedupe key.
//!
//! The dedupe key must tell apart what WeCom tells apart. Most events carry the ids that
//! make them distinct ([`CallbackEvent::dedupe_key`]). A state change (a customer edited,
//! a tag updated, a group renamed or its notice changed) carries only the subject and a
//! one-second `CreateTime`, so it is keyed on a hash of the whole decrypted message (a
//! WeCom re-delivery is byte-identical after decryption; a message differing in anything
//! WeCom sent is another callback), and, since two such changes within one second can still
//! be identical, its effect is always a fresh read of WeCom's state, applied again on
//! every delivery ([`Callback::refresh`]).
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
    /// Whether the change's effect is to read WeCom's current state (see the module):
    /// applied again by a delivery that finds the callback already landed.
    pub refresh: bool,
}

/// Whether a change's effect is reading WeCom's current state of its subject, so that its
/// fields cannot tell two changes within one second apart.
pub fn is_state_refresh(change: &Change) -> bool {
    match change {
        Change::ContactEdited { .. } => true,
        Change::TagChanged { change, .. } => change == "update",
        Change::GroupUpdated { detail, .. } => {
            matches!(detail.as_str(), "change_name" | "change_notice")
        }
        _ => false,
    }
}

/// The dedupe key of a state change: a hash of the exact decrypted message.
fn message_key(xml: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut sha = Sha256::new();
    sha.update(b"wecom-callback-dedupe/message/v1");
    sha.update(xml.as_bytes());
    crate::wecom::events::lower_hex(&sha.finalize())
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
    let change = change_of(&event);
    let refresh = change.as_ref().is_some_and(is_state_refresh);
    Ok(Callback {
        dedupe_key: if refresh {
            message_key(&xml)
        } else {
            event.dedupe_key()
        },
        event_time: event.header().create_time,
        change,
        refresh,
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
                ContactChange::Add {
                    state,
                    welcome_code,
                } => Change::ContactAdded {
                    userid,
                    external_userid,
                    state: state.clone(),
                    half: false,
                    welcome_code: welcome_code.clone(),
                },
                ContactChange::AddHalf {
                    state,
                    welcome_code,
                } => Change::ContactAdded {
                    userid,
                    external_userid,
                    state: state.clone(),
                    half: true,
                    welcome_code: welcome_code.clone(),
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
                welcome_code: None,
            })
        );
        assert_eq!(cb.xml, x);
    }

    #[test]
    fn state_changes_are_keyed_on_the_exact_message_and_marked_refresh() {
        let edit = |extra: &str| {
            xml(
                "event",
                "change_external_contact",
                "edit_external_contact",
                &format!("<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXT]]></ExternalUserID>{extra}"),
            )
        };
        let a = parse_callback(edit("")).unwrap();
        assert!(a.refresh);
        // A re-delivery (byte-identical) has the same key.
        assert_eq!(parse_callback(edit("")).unwrap().dedupe_key, a.dedupe_key);
        // Anything WeCom sends differently, even an element this system does not read,
        // makes another callback.
        let b = parse_callback(edit("<Other>1</Other>")).unwrap();
        assert_ne!(a.dedupe_key, b.dedupe_key);
        assert_eq!(a.dedupe_key.len(), 64);
        // Events whose ids tell them apart keep their field key and are not refreshes.
        let add = parse_callback(xml(
            "event",
            "change_external_contact",
            "add_external_contact",
            "<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXT]]></ExternalUserID>",
        ))
        .unwrap();
        assert!(!add.refresh);
        let tag = |change: &str| {
            parse_callback(xml(
                "event",
                "change_external_tag",
                change,
                "<Id><![CDATA[et1]]></Id><TagType><![CDATA[tag]]></TagType>",
            ))
            .unwrap()
        };
        assert!(tag("update").refresh);
        assert!(!tag("create").refresh);
        let chat = |detail: &str| {
            parse_callback(xml(
                "event",
                "change_external_chat",
                "update",
                &format!("<ChatId><![CDATA[wr1]]></ChatId><UpdateDetail><![CDATA[{detail}]]></UpdateDetail>"),
            ))
            .unwrap()
        };
        assert!(chat("change_name").refresh && chat("change_notice").refresh);
        assert!(!chat("add_member").refresh && !chat("change_owner").refresh);
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
