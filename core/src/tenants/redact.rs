//! What a key without the scope `personal_data:read` sees of personal data: enough to tell
//! records apart, not enough to contact or locate anyone.
use super::apikeys::{Principal, Scope};
use crate::points::rules::CustomerProfile;

/// What stands in for a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Whether `who` sees personal data as stored.
pub fn sees_personal_data(who: &Principal) -> bool {
    who.has(Scope::PersonalData)
}

/// A mobile number with all but its first 3 and last 4 digits hidden (`138****8000`);
/// a shorter one is hidden whole.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.trim().chars().collect();
    if chars.len() < 8 {
        return REDACTED.to_string();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// A customer's profile as `who` may see it: the mobile masked, the address and WeChat id
/// hidden unless the key may read personal data.
pub fn profile_for(who: &Principal, profile: CustomerProfile) -> CustomerProfile {
    if sees_personal_data(who) {
        return profile;
    }
    CustomerProfile {
        mobile: profile.mobile.as_deref().map(mask_mobile),
        address: profile.address.map(|_| REDACTED.to_string()),
        wechat_id: profile.wechat_id.map(|_| REDACTED.to_string()),
        ..profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::{Role, TenantId};

    fn key(role: Role) -> Principal {
        Principal {
            tenant: TenantId::parse("ww0001").unwrap(),
            role,
            scopes: role.scopes(),
            key_id: "k".into(),
        }
    }

    #[test]
    fn viewers_see_masked_mobiles_and_no_addresses() {
        let p = CustomerProfile {
            name: Some("王五".into()),
            mobile: Some("13800138000".into()),
            wechat_id: Some("wx_wang".into()),
            address: Some("上海市静安区1号".into()),
        };
        let seen = profile_for(&key(Role::Viewer), p.clone());
        assert_eq!(seen.mobile.as_deref(), Some("138****8000"));
        assert_eq!(seen.address.as_deref(), Some(REDACTED));
        assert_eq!(seen.wechat_id.as_deref(), Some(REDACTED));
        assert_eq!(seen.name, p.name);
        assert_eq!(profile_for(&key(Role::Operator), p.clone()), p);
        assert_eq!(mask_mobile("12345"), REDACTED);
    }
}
