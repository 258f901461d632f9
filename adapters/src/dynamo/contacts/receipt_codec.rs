//! How a callback receipt keeps its XML and its plan small: a receipt under 1 KB costs one
//! write unit a write instead of two, and it is written twice (created, then published).
//!
//! - The XML is stored as binary ([`encode_xml`]): WeCom's element names, CDATA wrappers and
//!   common values are replaced by two-byte codes from a fixed dictionary; everything else
//!   is kept byte for byte, so [`decode_xml`] gives back the exact message (the sweep parses
//!   it again, the console shows it). A callback's XML shrinks to about half.
//! - The plan (and the events recorded when a publication failed) is stored as JSON without
//!   what the receipt already says ([`encode_events`]): the event id's `cb:{dedupe key}:`
//!   prefix, the tenant, and `occurred_at` when it is the callback's CreateTime.
//!
//! The dictionary is part of the stored format: entries may only be appended (the first
//! byte of an encoded XML is the format's version).
use chrono::DateTime;
use scrm_core::events::EventEnvelope;
use serde_json::Value;

/// The format's version, the first byte of every encoded XML.
const VERSION: u8 = 1;
/// Introduces a dictionary code: the next byte is the entry's index + 1, or 0 for a literal
/// `ESCAPE` byte (XML cannot contain it, but any input round-trips).
const ESCAPE: u8 = 0x01;

/// WeCom's callback elements (customer contact, customer groups, tags).
const ELEMENTS: &[&str] = &[
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Event",
    "ChangeType",
    "UserID",
    "ExternalUserID",
    "State",
    "WelcomeCode",
    "Source",
    "FailReason",
    "ChatId",
    "UpdateDetail",
    "JoinScene",
    "QuitScene",
    "MemChangeCnt",
    "MemChangeList",
    "Item",
    "CurMemVer",
    "LastMemVer",
    "Id",
    "TagType",
    "StrategyId",
];

/// Values that recur in callbacks.
const VALUES: &[&str] = &[
    "change_external_contact",
    "change_external_chat",
    "change_external_tag",
    "add_external_contact",
    "add_half_external_contact",
    "edit_external_contact",
    "del_external_contact",
    "del_follow_user",
    "transfer_fail",
    "add_member",
    "del_member",
    "change_owner",
    "change_name",
    "change_notice",
    "create",
    "update",
    "dismiss",
    "delete",
    "shuffle",
    "event",
    "sys",
    "<xml>",
    "</xml>",
];

/// The dictionary, longest entries first (a greedy match then takes the longest).
fn dictionary() -> &'static [String] {
    static DICT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    DICT.get_or_init(|| {
        let mut d = Vec::new();
        for e in ELEMENTS {
            d.push(format!("<{e}><![CDATA["));
            d.push(format!("]]></{e}>"));
            d.push(format!("<{e}>"));
            d.push(format!("</{e}>"));
        }
        d.extend(VALUES.iter().map(|v| v.to_string()));
        d.push("<![CDATA[".into());
        d.push("]]>".into());
        d
    })
}

/// The dictionary's indexes, longest entry first, for encoding.
fn by_length() -> &'static [usize] {
    static ORDER: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let d = dictionary();
        let mut order: Vec<usize> = (0..d.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(d[i].len()));
        order
    })
}

/// The XML, encoded (see the module's documentation).
pub fn encode_xml(xml: &str) -> Vec<u8> {
    let d = dictionary();
    let bytes = xml.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2 + 1);
    out.push(VERSION);
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest[0] == ESCAPE {
            out.extend([ESCAPE, 0]);
            i += 1;
            continue;
        }
        if matches!(rest[0], b'<' | b']' | b'a'..=b'z') {
            if let Some(&k) = by_length()
                .iter()
                .find(|&&k| rest.starts_with(d[k].as_bytes()))
            {
                out.extend([ESCAPE, (k + 1) as u8]);
                i += d[k].len();
                continue;
            }
        }
        out.push(rest[0]);
        i += 1;
    }
    out
}

/// The XML an [`encode_xml`] gave; `None` if `encoded` is not one.
pub fn decode_xml(encoded: &[u8]) -> Option<String> {
    let d = dictionary();
    let (&version, body) = encoded.split_first()?;
    if version != VERSION {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut i = 0;
    while i < body.len() {
        if body[i] == ESCAPE {
            match *body.get(i + 1)? {
                0 => out.push(ESCAPE),
                k => out.extend_from_slice(d.get(usize::from(k) - 1)?.as_bytes()),
            }
            i += 2;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The event id prefix every event of the callback `dedupe_key` has.
fn id_prefix(dedupe_key: &str) -> String {
    format!("cb:{dedupe_key}:")
}

/// `events` as stored on the receipt of `dedupe_key` (tenant `tenant`, CreateTime
/// `event_time`): what the receipt already says left out.
pub fn encode_events(
    events: &[EventEnvelope],
    tenant: &str,
    dedupe_key: &str,
    event_time: i64,
) -> String {
    let prefix = id_prefix(dedupe_key);
    let created = DateTime::from_timestamp(event_time, 0);
    let compact: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                if e.tenant == tenant {
                    o.remove("tenant");
                }
                if Some(e.occurred_at) == created {
                    o.remove("occurred_at");
                }
                if let Some(suffix) = e.event_id.strip_prefix(&prefix) {
                    o.remove("event_id");
                    o.insert("id".into(), Value::String(suffix.to_string()));
                }
            }
            v
        })
        .collect();
    Value::Array(compact).to_string()
}

/// The events an [`encode_events`] gave.
pub fn decode_events(
    stored: &str,
    tenant: &str,
    dedupe_key: &str,
    event_time: i64,
) -> Result<Vec<EventEnvelope>, serde_json::Error> {
    let prefix = id_prefix(dedupe_key);
    let created = DateTime::from_timestamp(event_time, 0).map(|t| Value::String(t.to_rfc3339()));
    let compact: Vec<Value> = serde_json::from_str(stored)?;
    compact
        .into_iter()
        .map(|mut v| {
            if let Value::Object(o) = &mut v {
                o.entry("tenant")
                    .or_insert_with(|| Value::String(tenant.to_string()));
                if let Some(created) = &created {
                    o.entry("occurred_at").or_insert_with(|| created.clone());
                }
                if let Some(Value::String(suffix)) = o.remove("id") {
                    o.insert(
                        "event_id".into(),
                        Value::String(format!("{prefix}{suffix}")),
                    );
                }
            }
            serde_json::from_value(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scrm_core::events::DomainEvent;

    const JOIN: &str = "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
        <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[change_external_chat]]></Event><ChangeType><![CDATA[update]]></ChangeType>\
        <ChatId><![CDATA[wrshop]]></ChatId><UpdateDetail><![CDATA[add_member]]></UpdateDetail>\
        <JoinScene>3</JoinScene><QuitScene>0</QuitScene><MemChangeCnt>1</MemChangeCnt>\
        <MemChangeList><Item><![CDATA[wmbob]]></Item></MemChangeList>\
        <CurMemVer><![CDATA[71217227bcbd4ba3b6bc6e5d3c3b4bd5]]></CurMemVer></xml>";

    #[test]
    fn a_callback_round_trips_at_about_half_its_size() {
        let encoded = encode_xml(JOIN);
        assert_eq!(decode_xml(&encoded).as_deref(), Some(JOIN));
        assert!(
            encoded.len() * 2 < JOIN.len() + 60,
            "{} of {}",
            encoded.len(),
            JOIN.len()
        );
    }

    #[test]
    fn any_text_round_trips() {
        for s in [
            "",
            "plain",
            "\u{1}<xml>\u{1}\u{1}</xml>]]",
            "<Unknown><![CDATA[值 <ok> ]]]]></Unknown>",
            "<ToUserName",
            "]]></ToUserName>",
        ] {
            assert_eq!(decode_xml(&encode_xml(s)).as_deref(), Some(s), "{s:?}");
        }
        assert_eq!(decode_xml(&[]), None);
        assert_eq!(decode_xml(&[VERSION, ESCAPE]), None);
        assert_eq!(decode_xml(&[VERSION, ESCAPE, 250]), None);
    }

    #[test]
    fn events_round_trip_without_what_the_receipt_says() {
        let key = "ab".repeat(32);
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let events = vec![
            EventEnvelope::new(
                format!("cb:{key}:MemberJoinedGroup:wmbob"),
                "wwcorp",
                at,
                DomainEvent::MemberJoinedGroup {
                    chat_id: "wrshop".into(),
                    member_id: "wmbob".into(),
                    is_customer: true,
                    join_scene: Some(3),
                    state: None,
                },
            ),
            // Another id, tenant and time are kept as they are.
            EventEnvelope::new(
                "other",
                "wwother",
                at + chrono::Duration::seconds(1),
                DomainEvent::GroupCreated {
                    chat_id: "wrshop".into(),
                },
            ),
        ];
        let stored = encode_events(&events, "wwcorp", &key, 1_700_000_000);
        assert!(
            !stored.contains(&key) && !stored.contains("wwcorp"),
            "{stored}"
        );
        assert_eq!(
            decode_events(&stored, "wwcorp", &key, 1_700_000_000).unwrap(),
            events
        );
    }
}
