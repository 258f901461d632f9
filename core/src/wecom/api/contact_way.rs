//! 「联系我」 codes (`externalcontact/*_contact_way`) and a member's remark on a customer
//! (`externalcontact/remark`), with WeCom's own field names and limits (reference §C.7).
use super::error::WeComError;
use super::types::invalid;
use serde::{Deserialize, Serialize};

/// `state` of a code: at most 30 characters.
pub const CONTACT_WAY_STATE_CHARS: usize = 30;
/// `remark` of a code: at most 30 characters.
pub const CONTACT_WAY_REMARK_CHARS: usize = 30;
/// Members of one code (departments expanded).
pub const CONTACT_WAY_USERS: usize = 100;
/// `externalcontact/remark`: a member's remark on a customer, in characters.
pub const CUSTOMER_REMARK_CHARS: usize = 20;
/// `list_contact_way`: the most config ids per page.
pub const LIST_CONTACT_WAY_PAGE: u32 = 1000;

/// `add_contact_way` / `update_contact_way` (the update overwrites; `config_id` names the
/// code and `type`/`scene` are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContactWay {
    /// Set for an update only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// 1 single member, 2 several (create only).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<i64>,
    /// 1 mini-program button, 2 QR code (create only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<i64>,
    /// Shown only to the corp (≤30 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Whether customers are added without the member's confirmation.
    pub skip_verify: bool,
    /// Echoed as `State` in the add callback (≤30 characters).
    pub state: String,
    /// The members (exactly one for type 1, at most 100).
    pub user: Vec<String>,
}

impl ContactWay {
    /// WeCom's limits, checked before the call.
    pub fn validate(&self) -> Result<(), WeComError> {
        if self.state.is_empty() || self.state.chars().count() > CONTACT_WAY_STATE_CHARS {
            return Err(invalid("contact way state must be 1-30 characters"));
        }
        if self
            .remark
            .as_deref()
            .is_some_and(|r| r.chars().count() > CONTACT_WAY_REMARK_CHARS)
        {
            return Err(invalid("contact way remark exceeds 30 characters"));
        }
        if self.user.is_empty() || self.user.len() > CONTACT_WAY_USERS {
            return Err(invalid("contact way needs 1-100 members"));
        }
        if self.kind == Some(1) && self.user.len() != 1 {
            return Err(invalid(
                "a single-member contact way has exactly one member",
            ));
        }
        Ok(())
    }
}

/// `add_contact_way`'s answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ContactWayCreated {
    /// The code's id (WeCom cannot tell it again: store it).
    pub config_id: String,
    /// The QR code's picture URL (scene 2).
    #[serde(default)]
    pub qr_code: Option<String>,
}

/// `get_contact_way`'s `contact_way`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ContactWayInfo {
    /// The code's id.
    pub config_id: String,
    /// 1 single, 2 multi.
    #[serde(rename = "type", default)]
    pub kind: i64,
    /// 1 mini-program, 2 QR code.
    #[serde(default)]
    pub scene: i64,
    /// The state.
    #[serde(default)]
    pub state: Option<String>,
    /// The members.
    #[serde(default)]
    pub user: Vec<String>,
    /// The QR code's picture URL.
    #[serde(default)]
    pub qr_code: Option<String>,
}

/// `externalcontact/remark`: a member's remark on one customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustomerRemark {
    /// The member.
    pub userid: String,
    /// The customer.
    pub external_userid: String,
    /// The remark (≤20 characters).
    pub remark: String,
}

impl CustomerRemark {
    /// WeCom's limits, checked before the call.
    pub fn validate(&self) -> Result<(), WeComError> {
        if self.userid.is_empty() || self.external_userid.is_empty() {
            return Err(invalid("remark needs userid and external_userid"));
        }
        if self.remark.chars().count() > CUSTOMER_REMARK_CHARS {
            return Err(invalid("remark exceeds 20 characters"));
        }
        Ok(())
    }
}
