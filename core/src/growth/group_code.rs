//! Group codes (群活码): one WeCom 「加入群聊」 join way whose `state` names it, offering
//! customers the first groups of a pool that are not full yet. WeCom offers at most 5
//! groups a join way and lets at most 200 members join a group by QR, so the code rotates
//! through a longer pool as groups fill: what an operator configures, with its limits, and
//! the rotation (pure).
use super::model::Problem;
use crate::wecom::api::{JoinWay, JOIN_WAY_CHATS, JOIN_WAY_REMARK_CHARS, ROOM_BASE_NAME_CHARS};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A code's name, in characters.
pub const NAME_CHARS: usize = 64;
/// Groups in a code's pool.
pub const MAX_POOL: usize = 100;
/// WeCom lets at most this many members join a group by QR code.
pub const QR_JOIN_LIMIT: i64 = 200;
/// The member count at which a group counts as full unless the operator says otherwise:
/// a few places under WeCom's 200 for joins by invitation meanwhile.
pub const DEFAULT_FULL_AT: i64 = 195;
/// WeCom's `JoinScene` of a join by QR code.
pub const JOIN_SCENE_QR: i64 = 3;

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

fn default_full_at() -> i64 {
    DEFAULT_FULL_AT
}

fn default_room_base_id() -> i64 {
    1
}

/// What an operator sends to create or edit a group code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCodeInput {
    /// A name for people (its first 30 characters are WeCom's remark).
    pub name: String,
    /// The pool, in the order groups are filled.
    pub chat_ids: Vec<String>,
    /// Members at which a group counts as full.
    #[serde(default = "default_full_at")]
    pub full_at: i64,
    /// When every group is full, WeCom creates new ones from the last.
    #[serde(default)]
    pub auto_create_room: bool,
    /// The created groups' name, before their number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_base_name: Option<String>,
    /// The first created group's number.
    #[serde(default = "default_room_base_id")]
    pub room_base_id: i64,
}

impl GroupCodeInput {
    /// Every problem the input has by itself (the directory's knowledge of the groups is
    /// checked by the use case); empty: acceptable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_CHARS {
            out.push(problem("name", format!("1-{NAME_CHARS} characters")));
        }
        if self.chat_ids.is_empty() {
            out.push(problem("chat_ids", "at least one group"));
        }
        if self.chat_ids.len() > MAX_POOL {
            out.push(problem("chat_ids", format!("at most {MAX_POOL} groups")));
        }
        let mut seen = HashSet::new();
        for (i, id) in self.chat_ids.iter().enumerate() {
            if id.is_empty() || id.len() > 128 || id.chars().any(char::is_whitespace) {
                out.push(problem(format!("chat_ids[{i}]"), "a group chat id"));
            } else if !seen.insert(id.as_str()) {
                out.push(problem(format!("chat_ids[{i}]"), "listed twice"));
            }
        }
        if !(1..=QR_JOIN_LIMIT).contains(&self.full_at) {
            out.push(problem(
                "full_at",
                format!("1 to {QR_JOIN_LIMIT} members (WeCom lets at most {QR_JOIN_LIMIT} join by QR code)"),
            ));
        }
        match &self.room_base_name {
            None if self.auto_create_room => out.push(problem(
                "room_base_name",
                "required when auto_create_room: the created groups' name",
            )),
            Some(n) if n.trim().is_empty() || n.chars().count() > ROOM_BASE_NAME_CHARS => {
                out.push(problem(
                    "room_base_name",
                    format!("1-{ROOM_BASE_NAME_CHARS} characters"),
                ))
            }
            _ => {}
        }
        if self.room_base_id < 1 {
            out.push(problem("room_base_id", "1 or more"));
        }
        out
    }
}

/// Where a group code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupCodeStatus {
    /// Recorded before WeCom was asked; a retry of the create creates it again.
    Creating,
    /// Live.
    Active,
}

/// A group code as stored and answered. Its id is its `state`, generated, unique per tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCode {
    /// The id and WeCom `state`.
    pub state: String,
    /// What the operator configured.
    #[serde(flatten)]
    pub spec: GroupCodeInput,
    /// Where it is in its life.
    pub status: GroupCodeStatus,
    /// WeCom's id of the join way, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// The QR code's picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// The groups WeCom offers now (at most 5, in pool order).
    #[serde(default)]
    pub current: Vec<String>,
    /// Every group of the pool was full at the last rotation.
    #[serde(default)]
    pub all_full: bool,
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
}

/// The groups a code offers, and whether the pool is full.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rotation {
    /// The groups WeCom should offer.
    pub current: Vec<String>,
    /// No group of the pool is below `full_at`.
    pub all_full: bool,
}

/// The groups `spec` offers given each group's member count (`sizes`; a group missing
/// from it, gone from the directory or dismissed, counts as full): the first 5 of the pool
/// below `full_at`, in order. None below: with `auto_create_room` the last group (WeCom
/// creates new groups from the base name when it is full), else the last 5, which WeCom
/// still fills up to its 200.
pub fn rotate(spec: &GroupCodeInput, sizes: &HashMap<String, i64>) -> Rotation {
    let open: Vec<String> = spec
        .chat_ids
        .iter()
        .filter(|c| sizes.get(*c).is_some_and(|n| *n < spec.full_at))
        .take(JOIN_WAY_CHATS)
        .cloned()
        .collect();
    if !open.is_empty() {
        return Rotation {
            current: open,
            all_full: false,
        };
    }
    let keep = if spec.auto_create_room {
        1
    } else {
        JOIN_WAY_CHATS
    };
    let from = spec.chat_ids.len().saturating_sub(keep);
    Rotation {
        current: spec.chat_ids[from..].to_vec(),
        all_full: true,
    }
}

/// WeCom's settings of `code` offering `current` (an update when it has a config id: the
/// update overwrites, so every field is sent).
pub fn join_way(code: &GroupCode, current: &[String]) -> JoinWay {
    let remark: String = code
        .spec
        .name
        .trim()
        .chars()
        .take(JOIN_WAY_REMARK_CHARS)
        .collect();
    let auto = code.spec.auto_create_room;
    JoinWay {
        config_id: code.config_id.clone(),
        scene: 2,
        remark: Some(remark),
        auto_create_room: i64::from(auto),
        room_base_name: auto.then(|| code.spec.room_base_name.clone()).flatten(),
        room_base_id: auto.then_some(code.spec.room_base_id),
        chat_id_list: current.to_vec(),
        state: code.state.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pool: &[&str]) -> GroupCodeInput {
        serde_json::from_value(serde_json::json!({
            "name": "会员福利群",
            "chat_ids": pool,
        }))
        .expect("a valid input")
    }

    fn sizes(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
        pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    fn fields(i: &GroupCodeInput) -> Vec<String> {
        i.problems().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn defaults_are_wecoms_room_and_a_margin_under_200() {
        let i = input(&["wr1"]);
        assert!(i.problems().is_empty());
        assert_eq!(
            (i.full_at, i.auto_create_room, i.room_base_id),
            (195, false, 1)
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(fields(&input(&[])), ["chat_ids"]);
        assert_eq!(fields(&input(&["wr1", "wr2", "wr1"])), ["chat_ids[2]"]);
        let many: Vec<String> = (0..101).map(|i| format!("wr{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(fields(&input(&many)), ["chat_ids"]);
        let mut bad = input(&["wr1"]);
        bad.name = " ".into();
        bad.full_at = 201;
        bad.auto_create_room = true;
        bad.room_base_id = 0;
        assert_eq!(
            fields(&bad),
            ["name", "full_at", "room_base_name", "room_base_id"]
        );
        bad.room_base_name = Some("群".repeat(41));
        bad.full_at = 0;
        assert_eq!(
            fields(&bad),
            ["name", "full_at", "room_base_name", "room_base_id"]
        );
    }

    #[test]
    fn the_first_five_groups_below_full_at_are_offered_in_order() {
        let pool: Vec<String> = (1..=7).map(|i| format!("wr{i}")).collect();
        let pool: Vec<&str> = pool.iter().map(String::as_str).collect();
        let i = input(&pool);
        let all = sizes(&pool.iter().map(|c| (*c, 10)).collect::<Vec<_>>());
        assert_eq!(
            rotate(&i, &all).current,
            ["wr1", "wr2", "wr3", "wr4", "wr5"]
        );
        let mut filled = all.clone();
        filled.insert("wr2".into(), 195);
        filled.remove("wr3");
        let r = rotate(&i, &filled);
        assert_eq!(r.current, ["wr1", "wr4", "wr5", "wr6", "wr7"]);
        assert!(!r.all_full);
    }

    #[test]
    fn a_full_pool_keeps_its_last_groups_or_the_last_for_auto_created_rooms() {
        let i = input(&["wr1", "wr2", "wr3", "wr4", "wr5", "wr6"]);
        let full = sizes(&[
            ("wr1", 200),
            ("wr2", 195),
            ("wr3", 199),
            ("wr4", 195),
            ("wr5", 196),
            ("wr6", 195),
        ]);
        let r = rotate(&i, &full);
        assert_eq!(r.current, ["wr2", "wr3", "wr4", "wr5", "wr6"]);
        assert!(r.all_full);
        let mut auto = i.clone();
        auto.auto_create_room = true;
        auto.room_base_name = Some("福利群".into());
        assert_eq!(rotate(&auto, &full).current, ["wr6"]);
    }

    #[test]
    fn the_update_carries_every_setting() {
        let mut spec = input(&["wr1"]);
        spec.name = "n".repeat(40);
        let code = GroupCode {
            state: "gc0123456789abcdef".into(),
            spec,
            status: GroupCodeStatus::Active,
            config_id: Some("cfg".into()),
            qr_code: None,
            current: vec![],
            all_full: false,
            version: 2,
            request_hash: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let w = join_way(&code, &["wr1".into()]);
        assert_eq!(w.remark.as_deref().map(|r| r.chars().count()), Some(30));
        assert_eq!(
            (w.scene, w.auto_create_room, w.room_base_name.as_deref()),
            (2, 0, None)
        );
        assert_eq!(w.config_id.as_deref(), Some("cfg"));
        assert!(w.validate().is_ok());
    }
}
