//! 「加入群聊」 join ways (`externalcontact/groupchat/*_join_way`): a QR code that lets
//! customers join one of up to five groups, with WeCom's own field names and limits
//! (reference §C.7).
use super::error::WeComError;
use super::types::invalid;
use serde::{Deserialize, Serialize};

/// Groups one join way offers at a time.
pub const JOIN_WAY_CHATS: usize = 5;
/// `state` of a join way: at most 30 characters.
pub const JOIN_WAY_STATE_CHARS: usize = 30;
/// `remark` of a join way: WeCom keeps its first 30 characters.
pub const JOIN_WAY_REMARK_CHARS: usize = 30;
/// `room_base_name`: at most 40 characters.
pub const ROOM_BASE_NAME_CHARS: usize = 40;

/// `add_join_way` / `update_join_way`. The update overwrites every setting, so it carries
/// them all, with `config_id` naming the join way.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JoinWay {
    /// Set for an update only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// 1 mini-program button, 2 QR code.
    pub scene: i64,
    /// Shown only to the corp (cut to 30 characters by WeCom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// 1: WeCom creates a new group when the last one is full. Always sent: WeCom's
    /// default is 1.
    pub auto_create_room: i64,
    /// The created groups' name, before their number (≤40 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_base_name: Option<String>,
    /// The first created group's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_base_id: Option<i64>,
    /// The groups offered (1 to 5).
    pub chat_id_list: Vec<String>,
    /// Echoed per member by `groupchat/get` (≤30 characters).
    pub state: String,
}

impl JoinWay {
    /// WeCom's limits, checked before the call.
    pub fn validate(&self) -> Result<(), WeComError> {
        if !matches!(self.scene, 1 | 2) {
            return Err(invalid("join way scene must be 1 or 2"));
        }
        if self.chat_id_list.is_empty() || self.chat_id_list.len() > JOIN_WAY_CHATS {
            return Err(invalid("a join way offers 1-5 groups"));
        }
        if self.state.is_empty() || self.state.chars().count() > JOIN_WAY_STATE_CHARS {
            return Err(invalid("join way state must be 1-30 characters"));
        }
        if self
            .room_base_name
            .as_deref()
            .is_some_and(|n| n.chars().count() > ROOM_BASE_NAME_CHARS)
        {
            return Err(invalid("room_base_name exceeds 40 characters"));
        }
        Ok(())
    }
}

/// `add_join_way`'s answer: the id only (the QR code comes from `get_join_way`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct JoinWayCreated {
    /// The join way's id.
    pub config_id: String,
}

/// `get_join_way`'s `join_way`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct JoinWayInfo {
    /// The join way's id.
    pub config_id: String,
    /// 1 mini-program, 2 QR code.
    #[serde(default)]
    pub scene: i64,
    /// Remark.
    #[serde(default)]
    pub remark: Option<String>,
    /// Whether WeCom creates groups when the last is full.
    #[serde(default)]
    pub auto_create_room: i64,
    /// The created groups' name prefix.
    #[serde(default)]
    pub room_base_name: Option<String>,
    /// The first created group's number.
    #[serde(default)]
    pub room_base_id: Option<i64>,
    /// The groups offered.
    #[serde(default)]
    pub chat_id_list: Vec<String>,
    /// The QR code's picture URL.
    #[serde(default)]
    pub qr_code: Option<String>,
    /// The state.
    #[serde(default)]
    pub state: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way() -> JoinWay {
        JoinWay {
            scene: 2,
            chat_id_list: vec!["wr1".into()],
            state: "gc0123456789abcdef".into(),
            ..JoinWay::default()
        }
    }

    #[test]
    fn wecoms_limits_are_checked_before_the_call() {
        assert!(way().validate().is_ok());
        let mut six = way();
        six.chat_id_list = (0..6).map(|i| format!("wr{i}")).collect();
        assert!(six.validate().is_err());
        let mut long = way();
        long.state = "s".repeat(31);
        assert!(long.validate().is_err());
        let mut name = way();
        name.room_base_name = Some("群".repeat(41));
        assert!(name.validate().is_err());
        let body = serde_json::to_value(way()).unwrap();
        assert_eq!(
            body["auto_create_room"], 0,
            "always sent: WeCom's default is 1"
        );
        assert!(body.get("config_id").is_none());
    }
}
