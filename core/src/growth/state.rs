//! A code's `state`: its id here and the channel WeCom echoes in the add callback. It is
//! derived from the tenant and the create request's idempotency key, so that a retried
//! create names the same code (found again at WeCom by its state) instead of a second one.
use sha2::{Digest, Sha256};

/// The prefix of every generated state.
pub const PREFIX: &str = "ch";
/// The prefix of a group code's state (「加入群聊」).
pub const GROUP_PREFIX: &str = "gc";
/// Hex digits after the prefix: 64 bits, unique per tenant in practice.
pub const DIGITS: usize = 16;

/// The state of the code created with `idempotency_key` in `tenant` (18 characters, within
/// WeCom's 30).
pub fn state_for(tenant: &str, idempotency_key: &str) -> String {
    generate(PREFIX, b"channel-code\0", tenant, idempotency_key)
}

/// The state of the group code created with `idempotency_key` in `tenant` (18 characters,
/// within WeCom's 30 for join ways).
pub fn group_state_for(tenant: &str, idempotency_key: &str) -> String {
    generate(GROUP_PREFIX, b"group-code\0", tenant, idempotency_key)
}

pub(crate) fn generate(prefix: &str, domain: &[u8], tenant: &str, idempotency_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(tenant.as_bytes());
    h.update(b"\0");
    h.update(idempotency_key.as_bytes());
    let digest = hex::encode(h.finalize());
    format!("{prefix}{}", &digest[..DIGITS])
}

pub(crate) fn is_generated(prefix: &str, raw: &str) -> bool {
    raw.len() == prefix.len() + DIGITS
        && raw.starts_with(prefix)
        && raw[prefix.len()..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Whether `raw` is a state this module generates (path parameters are checked before any
/// read).
pub fn is_code_state(raw: &str) -> bool {
    is_generated(PREFIX, raw)
}

/// Whether `raw` is a group code's state.
pub fn is_group_code_state(raw: &str) -> bool {
    is_generated(GROUP_PREFIX, raw)
}

/// A hash of a request body (a retry with the same key must send the same body).
pub fn request_hash(body: &str) -> String {
    hex::encode(&Sha256::digest(body.as_bytes())[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wecom::api::CONTACT_WAY_STATE_CHARS;

    #[test]
    fn states_are_stable_per_key_distinct_per_tenant_and_fit_wecom() {
        let a = state_for("ww1", "key-1");
        assert_eq!(a, state_for("ww1", "key-1"));
        assert_ne!(a, state_for("ww1", "key-2"));
        assert_ne!(a, state_for("ww2", "key-1"));
        assert!(a.chars().count() <= CONTACT_WAY_STATE_CHARS);
        assert!(is_code_state(&a), "{a}");
    }

    #[test]
    fn only_generated_states_are_code_ids() {
        for bad in [
            "",
            "ch",
            "ch0123456789abcdeF",
            "xx0123456789abcdef",
            "ch0123456789abcdef0",
        ] {
            assert!(!is_code_state(bad), "{bad}");
        }
        assert!(is_code_state("ch0123456789abcdef"));
    }

    #[test]
    fn group_states_have_their_own_prefix() {
        let g = group_state_for("ww1", "key-1");
        assert!(is_group_code_state(&g), "{g}");
        assert!(!is_code_state(&g));
        assert_eq!(g, group_state_for("ww1", "key-1"));
        assert_ne!(g, group_state_for("ww2", "key-1"));
    }
}
