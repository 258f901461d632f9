//! A staff member edits a customer's corp tags (the customer sidebar): through WeCom's
//! `mark_tag` on their own follow relation, then in the directory's copy, which WeCom would
//! never update since API-made changes send no callback.
//!
//! Order: the request's shape is checked before anything is read (ids, sizes, both lists
//! empty), then the customer (404 whatever else is wrong), the caller's relation (only a
//! follow user may tag: WeCom refuses anyone else with 84061), an id in both lists, and the
//! tags against the mirror; all before WeCom is asked; then the stored copy. A WeCom failure changes nothing stored. A
//! retry is harmless: WeCom's add and remove are set operations, and so is the stored
//! edit (a relation already as asked is not written again).
use super::ports::{FollowTags, StoredFollowTags, TagMarking, TagMirror};
use super::CorpTagGroupView;
use crate::contacts::source::contact_credentials;
use crate::contacts::{DirectoryRead, RelationStatus, RelationTag};
use crate::http::ApiError;
use crate::ports::StoreError;
use crate::tenants::Tenant;
use crate::wecom::api::{MarkTag, WeComError};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

/// The most tag ids one list of an edit may name. WeCom documents no count for
/// `mark_tag`; a person in a sidebar never picks near this many.
pub const MAX_TAGS_PER_LIST: usize = 100;
/// The longest tag id accepted (WeCom's ids are about 30 characters).
pub const MAX_TAG_ID_CHARS: usize = 128;
/// How often the stored copy is re-read when another edit moved it meanwhile.
const STORE_ATTEMPTS: usize = 5;

/// WeCom: the tag id does not exist.
pub const UNKNOWN_TAG_ERRCODE: i64 = 40068;
/// WeCom: the customer is not an external contact of the member.
pub const NOT_CONTACT_ERRCODE: i64 = 84061;

/// The edit asked for: tag ids to add and to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagEdit {
    /// Tag ids to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Tag ids to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Why a tag edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum TagEditError {
    /// Nothing to add or remove.
    #[error("give at least one tag id in add or remove")]
    Empty,
    /// The same id to add and to remove.
    #[error("tag ids both added and removed: {}", .0.join(", "))]
    InBothLists(Vec<String>),
    /// A list too long.
    #[error("at most {MAX_TAGS_PER_LIST} tag ids in add and in remove")]
    TooMany,
    /// An id that cannot be a tag id.
    #[error("tag ids must be 1 to {MAX_TAG_ID_CHARS} characters without control characters")]
    InvalidId,
    /// Tags the corp's tag library does not hold (or WeCom did not know).
    #[error("unknown tag ids: {}", .0.join(", "))]
    UnknownTags(Vec<String>),
    /// The directory does not know the customer.
    #[error("no customer {0}")]
    CustomerNotFound(String),
    /// The caller is not one of the customer's follow users.
    #[error(
        "you are not one of this customer's follow users; WeCom only lets a follow user tag a customer"
    )]
    NotFollower,
    /// The tenant cannot call WeCom's customer-contact APIs.
    #[error("the tenant has no customer-contact secret; tags cannot be changed in WeCom")]
    NoContactSecret,
    /// WeCom failed or refused.
    #[error(transparent)]
    WeCom(WeComError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TagEditError> for ApiError {
    fn from(e: TagEditError) -> Self {
        match e {
            TagEditError::Empty => ApiError::bad_request("tags_empty", e.to_string()),
            TagEditError::InBothLists(ref ids) => {
                let ids = ids.clone();
                ApiError::bad_request("tag_in_both_lists", e.to_string())
                    .with_details(serde_json::json!({ "tag_ids": ids }))
            }
            TagEditError::TooMany => ApiError::bad_request("too_many_tags", e.to_string()),
            TagEditError::InvalidId => ApiError::validation(e.to_string()),
            TagEditError::UnknownTags(ref ids) => {
                let ids = ids.clone();
                ApiError::bad_request("unknown_tag", e.to_string())
                    .with_details(serde_json::json!({ "tag_ids": ids }))
            }
            TagEditError::CustomerNotFound(_) => {
                ApiError::new(404, "customer_not_found", e.to_string())
            }
            TagEditError::NotFollower => ApiError::new(403, "not_follower", e.to_string()),
            TagEditError::NoContactSecret => {
                ApiError::conflict("contact_secret_missing", e.to_string())
            }
            TagEditError::WeCom(err) => {
                tracing::warn!(error = %err, errcode = ?err.errcode(), "mark_tag failed");
                if err.is_retryable() {
                    ApiError::new(503, "wecom_unavailable", "WeCom is busy; retry later")
                } else {
                    ApiError::new(502, "wecom_error", "WeCom refused the tag change")
                }
            }
            TagEditError::Store(s) => s.into(),
        }
    }
}

/// The edit with each list's ids once, in order, after checking what can be checked
/// without reading anything.
pub fn checked(edit: &TagEdit) -> Result<TagEdit, TagEditError> {
    fn once(ids: &[String]) -> Result<Vec<String>, TagEditError> {
        if ids.len() > MAX_TAGS_PER_LIST {
            return Err(TagEditError::TooMany);
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for id in ids {
            if id.is_empty()
                || id.chars().count() > MAX_TAG_ID_CHARS
                || id.chars().any(char::is_control)
            {
                return Err(TagEditError::InvalidId);
            }
            if seen.insert(id.as_str()) {
                out.push(id.clone());
            }
        }
        Ok(out)
    }
    let add = once(&edit.add)?;
    let remove = once(&edit.remove)?;
    if add.is_empty() && remove.is_empty() {
        return Err(TagEditError::Empty);
    }
    Ok(TagEdit { add, remove })
}

/// Refuses an edit that adds and removes the same tag (checked once the customer is known,
/// so that an unknown customer is told as such whatever the body).
fn not_both(edit: &TagEdit) -> Result<(), TagEditError> {
    let both: Vec<String> = edit
        .add
        .iter()
        .filter(|id| edit.remove.contains(id))
        .cloned()
        .collect();
    if both.is_empty() {
        Ok(())
    } else {
        Err(TagEditError::InBothLists(both))
    }
}

/// Tag id → (group name, tag name) of the tags the library holds now (deleted ones left
/// out: WeCom refuses them).
pub fn live_tags(groups: &[CorpTagGroupView]) -> HashMap<String, (String, String)> {
    groups
        .iter()
        .filter(|g| !g.deleted)
        .flat_map(|g| {
            g.tags
                .iter()
                .filter(|t| !t.deleted)
                .map(move |t| (t.id.clone(), (g.group_name.clone(), t.name.clone())))
        })
        .collect()
}

/// `before` with `remove` taken out and `add` put in (at the end, named from `names`):
/// the relation's tags after the edit. Personal tags (no id) are kept.
pub fn apply_edit(
    before: &[RelationTag],
    edit: &TagEdit,
    names: &HashMap<String, (String, String)>,
) -> Vec<RelationTag> {
    let mut after: Vec<RelationTag> = before
        .iter()
        .filter(|t| t.tag_id.as_ref().is_none_or(|id| !edit.remove.contains(id)))
        .cloned()
        .collect();
    for id in &edit.add {
        if after.iter().any(|t| t.tag_id.as_deref() == Some(id)) {
            continue;
        }
        let named = names.get(id);
        after.push(RelationTag {
            tag_id: Some(id.clone()),
            group_name: named.map(|n| n.0.clone()),
            tag_name: named.map(|n| n.1.clone()),
            tag_type: 1,
        });
    }
    after
}

/// Applies `edit` to the tags `userid` (the caller) keeps on the customer: WeCom first, then
/// the stored copy. Answers the relation's tags after the edit.
#[allow(clippy::too_many_arguments)]
pub async fn edit_customer_tags<D, F, M, W>(
    directory: &D,
    follow_tags: &F,
    mirror: &M,
    wecom: &W,
    tenant: &Tenant,
    userid: &str,
    external_userid: &str,
    edit: &TagEdit,
    now: i64,
) -> Result<Vec<RelationTag>, TagEditError>
where
    D: DirectoryRead,
    F: FollowTags,
    M: TagMirror,
    W: TagMarking,
{
    let edit = checked(edit)?;
    let t = &tenant.id;
    let customer = directory
        .customer(t, external_userid)
        .await?
        .ok_or_else(|| TagEditError::CustomerNotFound(external_userid.to_string()))?;
    let follows = customer
        .follow_users
        .iter()
        .any(|f| f.userid == userid && f.status == RelationStatus::Active);
    if !follows {
        return Err(TagEditError::NotFollower);
    }
    not_both(&edit)?;
    let names = live_tags(&mirror.tag_groups(t).await?);
    let unknown: Vec<String> = edit
        .add
        .iter()
        .chain(&edit.remove)
        .filter(|id| !names.contains_key(*id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(TagEditError::UnknownTags(unknown));
    }
    let creds = contact_credentials(tenant).ok_or(TagEditError::NoContactSecret)?;
    let request = MarkTag {
        userid: userid.to_string(),
        external_userid: external_userid.to_string(),
        add_tag: edit.add.clone(),
        remove_tag: edit.remove.clone(),
    };
    match wecom.mark_tag(&creds, &request).await {
        Ok(()) => {}
        // The directory's copy is behind WeCom: say what WeCom says.
        Err(e) if e.errcode() == Some(NOT_CONTACT_ERRCODE) => {
            return Err(TagEditError::NotFollower)
        }
        Err(e) if e.errcode() == Some(UNKNOWN_TAG_ERRCODE) => {
            let mut ids = edit.add.clone();
            ids.extend(edit.remove.iter().cloned());
            return Err(TagEditError::UnknownTags(ids));
        }
        Err(e) => return Err(TagEditError::WeCom(e)),
    }
    store_edit(
        follow_tags,
        tenant,
        userid,
        external_userid,
        &edit,
        &names,
        now,
    )
    .await
}

/// The stored copy after WeCom took the edit: re-applied on a fresh read when another
/// write moved it meanwhile; not written when already as asked.
async fn store_edit<F: FollowTags>(
    follow_tags: &F,
    tenant: &Tenant,
    userid: &str,
    external_userid: &str,
    edit: &TagEdit,
    names: &HashMap<String, (String, String)>,
    now: i64,
) -> Result<Vec<RelationTag>, TagEditError> {
    let t = &tenant.id;
    for _ in 0..STORE_ATTEMPTS {
        let read = follow_tags
            .follow_tags(t, external_userid, userid)
            .await?
            .unwrap_or(StoredFollowTags {
                tags: Vec::new(),
                raw: None,
            });
        let after = apply_edit(&read.tags, edit, names);
        if after == read.tags {
            return Ok(after);
        }
        if follow_tags
            .replace_follow_tags(t, external_userid, userid, &read, &after, now)
            .await?
        {
            return Ok(after);
        }
    }
    Err(TagEditError::Store(StoreError::Retryable(
        "the relation's tags kept changing".into(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(add: &[&str], remove: &[&str]) -> TagEdit {
        TagEdit {
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_edit_names_something_once_and_nothing_twice() {
        assert!(matches!(checked(&edit(&[], &[])), Err(TagEditError::Empty)));
        assert!(matches!(
            not_both(&checked(&edit(&["a"], &["a"])).unwrap()),
            Err(TagEditError::InBothLists(ids)) if ids == ["a"]
        ));
        assert!(matches!(
            checked(&edit(&[""], &[])),
            Err(TagEditError::InvalidId)
        ));
        let many: Vec<String> = (0..=MAX_TAGS_PER_LIST).map(|i| i.to_string()).collect();
        assert!(matches!(
            checked(&TagEdit {
                add: many,
                remove: vec![]
            }),
            Err(TagEditError::TooMany)
        ));
        assert_eq!(
            checked(&edit(&["a", "a"], &["b"])).unwrap(),
            edit(&["a"], &["b"])
        );
    }

    #[test]
    fn applying_an_edit_twice_changes_nothing_more() {
        let names: HashMap<String, (String, String)> =
            [("b".to_string(), ("G".to_string(), "B".to_string()))].into();
        let tag = |id: &str| RelationTag {
            tag_id: Some(id.into()),
            group_name: None,
            tag_name: None,
            tag_type: 1,
        };
        let personal = RelationTag {
            tag_id: None,
            group_name: None,
            tag_name: Some("mine".into()),
            tag_type: 2,
        };
        let before = vec![tag("a"), personal.clone()];
        let e = edit(&["b"], &["a"]);
        let once = apply_edit(&before, &e, &names);
        assert_eq!(once.len(), 2);
        assert_eq!(once[0], personal);
        assert_eq!(once[1].tag_name.as_deref(), Some("B"));
        assert_eq!(apply_edit(&once, &e, &names), once);
    }
}
