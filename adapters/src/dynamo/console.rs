//! The console's sessions and members' roles, in the tenants table (beside the tenant's
//! profile and API keys: a tenant's console traffic is small).
//!
//! | Item | pk | sk |
//! |---|---|---|
//! | Member's console role (`role` (absent once removed), `name`, `version`, `granted_at`, `granted_by`, `last_login_at`) | `{corp}` | `CONSOLE#MEMBER#{userid}` |
//! | Console session (hash of the token only; `kind` member or key, `userid` / `key_id` + `key_hash`, `role`, `grant_version`, `expires_at`, `ttl`) | `{corp}` | `CONSOLE#SESSION#{sha256 hex}` |
use crate::dynamo::item::{self, AttrMap, ItemExt};
use crate::dynamo::schema::{PK, SK, TTL};
use crate::dynamo::tenants::{key_record_from_item, APIKEY};
use crate::dynamo::{Cond, Db, Query, StoreError, Table, Update};
use chrono::{DateTime, TimeZone, Utc};
use scrm_core::tenants::apikeys::{ApiKeyRecord, Role};
use scrm_core::tenants::console::{
    ConsoleStore, GrantChange, MemberGrant, SessionRecord, SessionSubject,
};
use scrm_core::tenants::TenantId;

const MEMBER: &str = "CONSOLE#MEMBER#";
const SESSION: &str = "CONSOLE#SESSION#";

/// Console sessions and members' roles (the tenants table).
#[derive(Debug, Clone)]
pub struct DynamoConsole {
    table: Table,
}

impl DynamoConsole {
    /// Builds the adapter on the handle's tenants table.
    pub fn new(db: &Db) -> Self {
        Self {
            table: db.tenants(),
        }
    }
}

fn member_sk(userid: &str) -> String {
    format!("{MEMBER}{userid}")
}

fn session_sk(hash: &str) -> String {
    format!("{SESSION}{hash}")
}

fn time(item: &AttrMap, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    item.s_opt(name)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| StoreError::Corrupt(name.into()))
        })
        .transpose()
}

fn role(item: &AttrMap) -> Result<Role, StoreError> {
    Role::parse(item.s("role")?).ok_or_else(|| StoreError::Corrupt("role".into()))
}

/// A member's grant; `None` once their access was removed (the item stays, so that its
/// version keeps moving on: a login that read an older grant can never match again).
fn grant_from_item(item: &AttrMap) -> Result<Option<MemberGrant>, StoreError> {
    if item.s_opt("role").is_none() {
        return Ok(None);
    }
    Ok(Some(MemberGrant {
        userid: item.s("userid")?.to_string(),
        role: role(item)?,
        name: item.s_opt("name").map(str::to_string),
        version: item.n("version")?,
        granted_at: time(item, "granted_at")?
            .ok_or_else(|| StoreError::Corrupt("granted_at".into()))?,
        granted_by: item.s("granted_by")?.to_string(),
        last_login_at: time(item, "last_login_at")?,
    }))
}

fn session_from_item(item: &AttrMap) -> Result<SessionRecord, StoreError> {
    let subject = match item.s("kind")? {
        "member" => SessionSubject::Member {
            userid: item.s("userid")?.to_string(),
            name: item.s_opt("name").map(str::to_string),
            grant_version: item.n("grant_version")?,
        },
        "key" => SessionSubject::Key {
            key_id: item.s("key_id")?.to_string(),
            key_hash: item.s("key_hash")?.to_string(),
        },
        _ => return Err(StoreError::Corrupt("session kind".into())),
    };
    let expires_at = Utc
        .timestamp_opt(item.n("expires_at")?, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt("expires_at".into()))?;
    Ok(SessionRecord {
        session_id: item.s("session_id")?.to_string(),
        subject,
        role: role(item)?,
        created_at: time(item, "created_at")?
            .ok_or_else(|| StoreError::Corrupt("created_at".into()))?,
        expires_at,
    })
}

fn session_item(t: &TenantId, hash: &str, r: &SessionRecord) -> AttrMap {
    let mut item = item::item([
        (PK, item::s(t.as_str())),
        (SK, item::s(session_sk(hash))),
        ("session_id", item::s(&r.session_id)),
        ("role", item::s(r.role.as_str())),
        ("created_at", item::s(r.created_at.to_rfc3339())),
        ("expires_at", item::n(r.expires_at.timestamp())),
        (TTL, item::n(r.expires_at.timestamp())),
    ]);
    match &r.subject {
        SessionSubject::Member {
            userid,
            name,
            grant_version,
        } => {
            item.insert("kind".into(), item::s("member"));
            item.insert("userid".into(), item::s(userid));
            if let Some(name) = name {
                item.insert("name".into(), item::s(name));
            }
            item.insert("grant_version".into(), item::n(*grant_version));
        }
        SessionSubject::Key { key_id, key_hash } => {
            item.insert("kind".into(), item::s("key"));
            item.insert("key_id".into(), item::s(key_id));
            item.insert("key_hash".into(), item::s(key_hash));
        }
    }
    item
}

impl ConsoleStore for DynamoConsole {
    async fn create_session(
        &self,
        t: &TenantId,
        hash: &str,
        record: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let put = self
            .table
            .tx_put(session_item(t, hash, record), &Cond::item_absent())?;
        let SessionSubject::Member {
            userid,
            grant_version,
            ..
        } = &record.subject
        else {
            return self
                .table
                .put_if(session_item(t, hash, record), &Cond::item_absent())
                .await;
        };
        // The grant must still be the one the session names: a role change between reading
        // it and here fails the transaction, and the login reads the grant again.
        let mut login = Update::new();
        let v = login.name("version");
        login
            .set("last_login_at", item::s(record.created_at.to_rfc3339()))
            .value(":expected_version", item::n(*grant_version))
            .when(format!("{v} = :expected_version"));
        let check = self
            .table
            .tx_update(t.as_str(), member_sk(userid), &login)?;
        match self.table.transact(vec![check, put]).await {
            Ok(()) => Ok(true),
            Err(e) if e.condition_failed_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn session(&self, t: &TenantId, hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.table
            .get_consistent(t.as_str(), session_sk(hash))
            .await?
            .as_ref()
            .map(session_from_item)
            .transpose()
    }

    async fn delete_session(&self, t: &TenantId, hash: &str) -> Result<(), StoreError> {
        self.table.delete(t.as_str(), session_sk(hash)).await
    }

    async fn delete_member_sessions(
        &self,
        t: &TenantId,
        userid: &str,
    ) -> Result<usize, StoreError> {
        let q = Query::partition(t.as_str())
            .sk_begins_with(SESSION)
            .filter("userid = :userid")
            .value(":userid", item::s(userid))
            .projection(SK)
            .consistent();
        let sessions = self.table.query_all(q).await?;
        for s in &sessions {
            self.table.delete(t.as_str(), s.s(SK)?).await?;
        }
        Ok(sessions.len())
    }

    async fn grant(&self, t: &TenantId, userid: &str) -> Result<Option<MemberGrant>, StoreError> {
        self.table
            .get_consistent(t.as_str(), member_sk(userid))
            .await?
            .as_ref()
            .map(grant_from_item)
            .transpose()
            .map(Option::flatten)
    }

    async fn grants(&self, t: &TenantId) -> Result<Vec<MemberGrant>, StoreError> {
        let items = self
            .table
            .query_all(Query::partition(t.as_str()).sk_begins_with(MEMBER))
            .await?;
        let mut grants = items
            .iter()
            .filter_map(|i| grant_from_item(i).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        grants.sort_by(|a, b| a.userid.cmp(&b.userid));
        Ok(grants)
    }

    async fn put_grant(
        &self,
        t: &TenantId,
        userid: &str,
        role: Role,
        name: Option<&str>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<GrantChange, StoreError> {
        // Only a different role (or none yet) moves the version: setting the same role
        // again is a no-op and ends no session.
        let mut u = Update::new();
        let r = u.name("role");
        u.set("userid", item::s(userid))
            .set("role", item::s(role.as_str()))
            .set("granted_at", item::s(now.to_rfc3339()))
            .set("granted_by", item::s(by))
            .set_if_some("name", name.map(item::s))
            .add("version", 1)
            .when(format!("(attribute_not_exists({r}) OR {r} <> :role)"));
        if let Some(item) = self
            .table
            .update_returning(t.as_str(), member_sk(userid), &u)
            .await?
        {
            let grant = grant_from_item(&item)?
                .ok_or_else(|| StoreError::Corrupt("grant without role".into()))?;
            return Ok(GrantChange {
                grant,
                changed: true,
            });
        }
        let mut grant = self
            .grant(t, userid)
            .await?
            .ok_or_else(|| StoreError::Corrupt("grant vanished".into()))?;
        if let Some(name) = name.filter(|n| grant.name.as_deref() != Some(*n)) {
            let mut u = Update::new();
            u.set("name", item::s(name));
            self.table.update(t.as_str(), member_sk(userid), &u).await?;
            grant.name = Some(name.to_string());
        }
        Ok(GrantChange {
            grant,
            changed: false,
        })
    }

    async fn delete_grant(&self, t: &TenantId, userid: &str) -> Result<bool, StoreError> {
        let mut u = Update::new();
        let r = u.name("role");
        u.remove("role")
            .add("version", 1)
            .when(format!("attribute_exists({r})"));
        self.table.update(t.as_str(), member_sk(userid), &u).await
    }

    async fn key_by_hash(
        &self,
        t: &TenantId,
        hash: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.table
            .get_consistent(t.as_str(), format!("{APIKEY}{hash}"))
            .await?
            .as_ref()
            .map(key_record_from_item)
            .transpose()
    }
}
