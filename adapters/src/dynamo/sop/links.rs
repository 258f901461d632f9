//! The one exchange of each staff link: `{t}#LINK#{link_id}` / `REDEEMED`, created with
//! `attribute_not_exists`, so that of two racing exchanges exactly one wins. Kept (TTL) a
//! day past the link's expiry, after which the link is refused for its age anyway.
use super::DynamoSop;
use crate::dynamo::item::{self, n, s};
use crate::dynamo::schema::{PK, SK, TTL};
use crate::dynamo::StoreError;
use scrm_core::sop::ports::StaffLinkStore;
use scrm_core::tenants::TenantId;

const REDEEMED: &str = "REDEEMED";
const KEEP_AFTER_EXPIRY: i64 = 24 * 3600;

fn link_pk(t: &TenantId, link_id: &str) -> String {
    format!("{t}#LINK#{link_id}")
}

impl StaffLinkStore for DynamoSop {
    async fn redeem_link(
        &self,
        t: &TenantId,
        link_id: &str,
        userid: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let record = item::item([
            (PK, s(link_pk(t, link_id))),
            (SK, s(REDEEMED)),
            ("userid", s(userid)),
            (TTL, n(expires_at + KEEP_AFTER_EXPIRY)),
        ]);
        self.table.put_new(record).await
    }
}
