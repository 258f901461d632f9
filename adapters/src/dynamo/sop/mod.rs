//! The DynamoDB adapter of the tasks table (key layout in [`keys`]).
//!
//! Exactly-once rests on three things: deterministic keys (a task's key is its plan,
//! occurrence and target, not who executes it), conditional writes (`attribute_not_exists` on every
//! create, a status condition on every transition) and claims with an expiry on outbox
//! entries, so that re-fired, overlapping and retried dispatch runs create and send nothing
//! twice. Quota counters are reserved in the same transaction as the task they count.
pub mod directory;
pub mod keys;
pub mod links;

use crate::dynamo::item::{self, n, s, AttrMap, ItemExt};
use crate::dynamo::schema::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use crate::dynamo::update::item_exists;
use crate::dynamo::{Cond, Db, Query, StoreError, Table, Update};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use scrm_core::contacts::Page;
use scrm_core::sop::occurrence::{
    Branch, JourneyRun, Occurrence, OutboxItem, OutboxKind, OutboxState,
};
use scrm_core::sop::plan::{Plan, PlanId, PlanSpec, PlanStatus};
use scrm_core::sop::ports::{
    Created, DispatchFailure, DueEntry, GroupTagStore, NewTask, OutboxStore, PlanStore, TaskStore,
};
use scrm_core::sop::task::{DoneBy, Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
use scrm_core::tenants::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How long tasks, occurrences and runs are kept (figures look back this far).
const KEEP: Duration = Duration::days(400);
/// How long quota counters are kept (their periods are at most a month).
const KEEP_COUNTERS: Duration = Duration::days(70);
/// Most actions per transaction (DynamoDB allows 100).
const MAX_ACTIONS: usize = 99;
/// Rounds of retrying conflicting transactions before giving up as retryable.
const MAX_ROUNDS: u32 = 8;

fn ts(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp())
}

fn from_ts(secs: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| StoreError::Corrupt("timestamp".into()))
}

fn opt_ts(item: &AttrMap, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    item.n_opt(name)?.map(from_ts).transpose()
}

fn bool_attr(b: bool) -> AttributeValue {
    AttributeValue::Bool(b)
}

/// The parts of a plan kept as JSON (status, version and next due are attributes, because
/// conditions and the due index use them).
#[derive(Serialize, Deserialize)]
struct PlanData {
    name: String,
    spec: PlanSpec,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn plan_item(t: &TenantId, p: &Plan) -> AttrMap {
    let data = PlanData {
        name: p.name.clone(),
        spec: p.spec.clone(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    };
    let mut item = item::item([
        (PK, s(keys::plan_pk(t, &p.plan_id))),
        (SK, s(keys::PLAN)),
        ("plan_id", s(p.plan_id.as_str())),
        ("kind", item::json(&p.spec.kind())),
        ("status", s(p.status.as_str())),
        ("version", n(p.version)),
        ("data", item::json(&data)),
        (GSI2_PK, s(keys::plans_index(t))),
        (GSI2_SK, s(p.plan_id.as_str())),
    ]);
    if let Some(due) = p.next_due {
        item.insert("next_due".into(), ts(due));
        if p.status == PlanStatus::Active {
            item.insert(GSI1_PK.into(), s(keys::due_index(t)));
            item.insert(
                GSI1_SK.into(),
                s(keys::due_sk(due, "P", p.plan_id.as_str())),
            );
        }
    }
    item
}

fn plan_from_item(item: &AttrMap) -> Result<Plan, StoreError> {
    let data: PlanData = item.json("data")?;
    Ok(Plan {
        plan_id: PlanId::parse(item.s("plan_id")?)
            .ok_or_else(|| StoreError::Corrupt("plan_id".into()))?,
        name: data.name,
        spec: data.spec,
        status: PlanStatus::parse(item.s("status")?)
            .ok_or_else(|| StoreError::Corrupt("plan status".into()))?,
        version: item.n("version")?,
        next_due: opt_ts(item, "next_due")?,
        created_at: data.created_at,
        updated_at: data.updated_at,
    })
}

fn journey_stage(p: &Plan) -> Option<&str> {
    match &p.spec {
        PlanSpec::Journey { stage, .. } => Some(stage.as_str()),
        _ => None,
    }
}

fn run_item(t: &TenantId, r: &JourneyRun) -> AttrMap {
    let mut item = item::item([
        (PK, s(keys::run_pk(t, &r.run_id))),
        (SK, s(keys::RUN)),
        ("run_id", s(&r.run_id)),
        ("plan_id", s(r.plan_id.as_str())),
        ("external_userid", s(&r.external_userid)),
        ("entered_at", ts(r.entered_at)),
        ("branch", s(r.branch.as_str())),
        ("next_step", n(r.next_step as i64)),
        (GSI2_PK, s(keys::customer_runs_index(t, &r.external_userid))),
        (GSI2_SK, s(&r.run_id)),
        (TTL, ts(r.entered_at + KEEP)),
    ]);
    if let Some(u) = &r.replied_to {
        item.insert("replied_to".into(), s(u));
    }
    if let Some(due) = r.next_due {
        item.insert("next_due".into(), ts(due));
        item.insert(GSI1_PK.into(), s(keys::due_index(t)));
        item.insert(GSI1_SK.into(), s(keys::due_sk(due, "J", &r.run_id)));
    }
    item
}

fn run_from_item(item: &AttrMap) -> Result<JourneyRun, StoreError> {
    Ok(JourneyRun {
        run_id: item.s("run_id")?.to_string(),
        plan_id: PlanId::parse(item.s("plan_id")?)
            .ok_or_else(|| StoreError::Corrupt("plan_id".into()))?,
        external_userid: item.s("external_userid")?.to_string(),
        entered_at: from_ts(item.n("entered_at")?)?,
        branch: match item.s("branch")? {
            "replied" => Branch::Replied,
            _ => Branch::Silent,
        },
        replied_to: item.s_opt("replied_to").map(str::to_string),
        next_step: usize::try_from(item.n("next_step")?).unwrap_or(0),
        next_due: opt_ts(item, "next_due")?,
    })
}

fn task_key_of(task: &Task) -> TaskKey {
    TaskKey {
        plan_id: task.plan_id.clone(),
        occurrence_id: task.occurrence_id.clone(),
        target: task.target.clone(),
        staff: task.staff.clone(),
    }
}

fn staff_sk(task: &Task, status: TaskStatus) -> String {
    format!(
        "{}#{:012}#{}#{}#{}",
        status.index_prefix(),
        task.scheduled_at.timestamp(),
        task.plan_id,
        task.occurrence_id,
        task.target.key()
    )
}

/// A task item in partition `pk` (its shard, or its occurrence's own partition for an
/// occurrence begun before sharding: [`create_pk`]).
fn task_item(pk: String, t: &TenantId, task: &Task, quota: &[(String, String)]) -> AttrMap {
    let key = task_key_of(task);
    let mut item = item::item([
        (PK, s(pk)),
        (SK, s(keys::task_sk(&task.target, &task.staff))),
        ("task_id", s(key.id())),
        ("plan_id", s(task.plan_id.as_str())),
        ("plan_name", s(&task.plan_name)),
        ("occurrence_id", s(task.occurrence_id.as_str())),
        ("target", s(task.target.key())),
        ("staff", s(&task.staff)),
        ("status", s(task.status.as_str())),
        ("scheduled_at", ts(task.scheduled_at)),
        ("late", bool_attr(task.late)),
        ("created_at", ts(task.created_at)),
        (GSI1_PK, s(keys::staff_index(t, &task.staff))),
        (GSI1_SK, s(staff_sk(task, task.status))),
        (TTL, ts(task.scheduled_at + KEEP)),
    ]);
    if let Some(name) = &task.target_name {
        item.insert("target_name".into(), s(name));
    }
    if let Some(b) = &task.branch {
        item.insert("branch".into(), s(b));
    }
    if let Some(f) = &task.failure {
        item.insert("failure".into(), item::json(f));
    }
    if let Some(at) = task.done_at {
        item.insert("done_at".into(), ts(at));
    }
    if let Some(by) = task.done_by {
        item.insert("done_by".into(), item::json(&by));
    }
    if !quota.is_empty() {
        item.insert(
            "quota".into(),
            AttributeValue::L(
                quota
                    .iter()
                    .map(|(pk, sk)| s(format!("{pk}\t{sk}")))
                    .collect(),
            ),
        );
    }
    if task.status == TaskStatus::Pending {
        item.insert(GSI2_PK.into(), s(keys::target_index(t, &task.target.key())));
        item.insert(
            GSI2_SK.into(),
            s(format!(
                "{:012}#{}#{}#{}",
                task.scheduled_at.timestamp(),
                task.plan_id,
                task.occurrence_id,
                task.staff
            )),
        );
    }
    item
}

fn task_from_item(item: &AttrMap) -> Result<Task, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("task {what}"));
    Ok(Task {
        task_id: item.s("task_id")?.to_string(),
        plan_id: PlanId::parse(item.s("plan_id")?).ok_or_else(|| corrupt("plan_id"))?,
        plan_name: item.s("plan_name")?.to_string(),
        occurrence_id: OccurrenceId::parse(item.s("occurrence_id")?)
            .ok_or_else(|| corrupt("occurrence_id"))?,
        target: Target::parse_key(item.s("target")?).ok_or_else(|| corrupt("target"))?,
        target_name: item.s_opt("target_name").map(str::to_string),
        staff: item.s("staff")?.to_string(),
        status: TaskStatus::parse(item.s("status")?).ok_or_else(|| corrupt("status"))?,
        scheduled_at: from_ts(item.n("scheduled_at")?)?,
        late: item.bool_opt("late").unwrap_or(false),
        branch: item.s_opt("branch").map(str::to_string),
        created_at: from_ts(item.n("created_at")?)?,
        done_at: opt_ts(item, "done_at")?,
        done_by: item
            .s_opt("done_by")
            .map(|_| item.json::<DoneBy>("done_by"))
            .transpose()?,
        failure: item
            .s_opt("failure")
            .map(|_| item.json::<Failure>("failure"))
            .transpose()?,
    })
}

fn quota_of(item: &AttrMap) -> Vec<(String, String)> {
    item.strings("quota")
        .into_iter()
        .filter_map(|q| {
            q.split_once('\t')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

fn outbox_sk(kind: &OutboxKind) -> String {
    format!("{}{}", keys::OUTBOX, kind.key())
}

fn outbox_index_sk(at: DateTime<Utc>, item: &OutboxItem) -> String {
    format!(
        "{:012}#{}#{}#{}",
        at.timestamp(),
        item.plan_id,
        item.occurrence_id,
        item.kind.key()
    )
}

fn outbox_item(t: &TenantId, o: &OutboxItem) -> AttrMap {
    let mut item = item::item([
        (PK, s(keys::occ_pk(t, &o.plan_id, &o.occurrence_id))),
        (SK, s(outbox_sk(&o.kind))),
        ("plan_id", s(o.plan_id.as_str())),
        ("occurrence_id", s(o.occurrence_id.as_str())),
        ("kind", item::json(&o.kind)),
        ("state", s(o.state.as_str())),
        ("attempts", n(i64::from(o.attempts))),
    ]);
    if let Some(at) = o.next_attempt_at {
        item.insert("next_attempt_at".into(), ts(at));
        if o.state == OutboxState::Pending {
            item.insert(GSI1_PK.into(), s(keys::outbox_index(t)));
            item.insert(GSI1_SK.into(), s(outbox_index_sk(at, o)));
        }
    }
    if let Some(at) = o.sent_at {
        item.insert(TTL.into(), ts(at + KEEP));
    } else if let Some(at) = o.next_attempt_at {
        item.insert(TTL.into(), ts(at + KEEP));
    }
    item
}

fn outbox_from_item(item: &AttrMap) -> Result<OutboxItem, StoreError> {
    Ok(OutboxItem {
        plan_id: PlanId::parse(item.s("plan_id")?)
            .ok_or_else(|| StoreError::Corrupt("outbox plan_id".into()))?,
        occurrence_id: OccurrenceId::parse(item.s("occurrence_id")?)
            .ok_or_else(|| StoreError::Corrupt("outbox occurrence_id".into()))?,
        kind: item.json("kind")?,
        state: OutboxState::parse(item.s("state")?)
            .ok_or_else(|| StoreError::Corrupt("outbox state".into()))?,
        attempts: u32::try_from(item.n("attempts")?).unwrap_or(0),
        next_attempt_at: opt_ts(item, "next_attempt_at")?,
        last_errcode: item.n_opt("last_errcode")?,
        last_error: item.s_opt("last_error").map(str::to_string),
        wecom_id: item.s_opt("wecom_id").map(str::to_string),
        moment_id: item.s_opt("moment_id").map(str::to_string),
        sent_at: opt_ts(item, "sent_at")?,
        next_sync_at: opt_ts(item, "next_sync_at")?,
        first_attempt_at: opt_ts(item, "first_attempt_at")?,
        settled_attempts: u32::try_from(item.n_opt("settled_attempts")?.unwrap_or(0)).unwrap_or(0),
        outcome_unknown: item.bool_opt("outcome_unknown").unwrap_or(false),
    })
}

/// The partition a task is created in: its shard, unless its occurrence was begun before
/// tasks were sharded (its own partition, in `unsharded`), whose tasks stay together so that
/// a run resuming it finds the ones created before.
fn create_pk(t: &TenantId, task: &Task, unsharded: &HashSet<String>) -> String {
    let own = keys::occ_pk(t, &task.plan_id, &task.occurrence_id);
    if unsharded.contains(&own) {
        own
    } else {
        keys::task_pk(t, &task.plan_id, &task.occurrence_id, &task.target)
    }
}

/// The DynamoDB adapter of the tasks table.
#[derive(Debug, Clone)]
pub struct DynamoSop {
    table: Table,
}

impl DynamoSop {
    /// Builds the adapter.
    pub fn new(db: Db) -> Self {
        Self { table: db.tasks() }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<AttrMap>, StoreError> {
        self.table.get_consistent(pk, sk).await
    }

    async fn put_new(&self, item: AttrMap) -> Result<bool, StoreError> {
        self.table.put_new(item).await
    }

    /// The query's first `n` items, read in pages of at most `n` (and 1000).
    async fn first(&self, q: Query, n: usize) -> Result<Vec<AttrMap>, StoreError> {
        self.table.query_up_to(q.page_size(n.min(1000)), n).await
    }

    fn quota_action(
        &self,
        t: &TenantId,
        counter: &str,
        period: &str,
        limit: u32,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut u = Update::new();
        u.increment_from("count", 0, 1)
            .set_if_not_exists(TTL, ts(at + KEEP_COUNTERS));
        let c = u.name("count");
        u.value(":limit", n(i64::from(limit)))
            .when(format!("attribute_not_exists({c}) OR {c} < :limit"));
        self.table.tx_update(keys::quota_pk(t, counter), period, &u)
    }

    fn release_action(&self, pk: &str, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let mut u = Update::new();
        u.increment("count", -1);
        let c = u.name("count");
        u.value(":zero", n(0)).when(format!("{c} > :zero"));
        self.table.tx_update(pk, sk, &u)
    }

    /// The task a key names (its partition and sort key, item and task): `None` when there
    /// is none or it is another staff member's. Tasks stored under the earlier key layouts
    /// (one partition per occurrence; the staff member in the sort key) are found too.
    async fn stored_task(
        &self,
        t: &TenantId,
        key: &TaskKey,
    ) -> Result<Option<(String, String, AttrMap, Task)>, StoreError> {
        let sharded = keys::task_pk(t, &key.plan_id, &key.occurrence_id, &key.target);
        let unsharded = keys::occ_pk(t, &key.plan_id, &key.occurrence_id);
        let mut places = vec![(sharded, keys::task_sk(&key.target, &key.staff))];
        let mut sks = vec![
            keys::task_sk(&key.target, &key.staff),
            keys::legacy_task_sk(&key.target, &key.staff),
        ];
        sks.dedup();
        places.extend(sks.into_iter().map(|sk| (unsharded.clone(), sk)));
        let mut found = None;
        for (pk, sk) in places {
            if let Some(item) = self.get(pk.clone(), &sk).await? {
                found = Some((pk, sk, item));
                break;
            }
        }
        let Some((pk, sk, item)) = found else {
            return Ok(None);
        };
        let task = task_from_item(&item)?;
        // A key naming another staff member names no task of theirs.
        Ok((task.staff == key.staff).then_some((pk, sk, item, task)))
    }

    /// The stored task a create found in its place (with its status and staff member).
    async fn existing(&self, pk: String, task: &Task) -> Result<Created, StoreError> {
        match self
            .get(pk, &keys::task_sk(&task.target, &task.staff))
            .await?
        {
            Some(item) => Ok(Created::Existed(Box::new(task_from_item(&item)?))),
            // Tasks are never deleted before their TTL: this would be a bug or an expiry.
            None => Err(StoreError::Corrupt(format!(
                "task {} reported existing but not found",
                task.task_id
            ))),
        }
    }

    /// The occurrences among `tasks` (their own partitions) whose creation began before tasks
    /// were sharded: one query of one item per occurrence.
    async fn begun_unsharded(
        &self,
        t: &TenantId,
        tasks: &[NewTask],
    ) -> Result<HashSet<String>, StoreError> {
        let own: std::collections::BTreeSet<String> = tasks
            .iter()
            .map(|nt| keys::occ_pk(t, &nt.task.plan_id, &nt.task.occurrence_id))
            .collect();
        let mut begun = HashSet::new();
        for pk in own {
            let q = Query::partition(pk.clone())
                .consistent()
                .sk_begins_with(keys::TASK);
            if !self.first(q, 1).await?.is_empty() {
                begun.insert(pk);
            }
        }
        Ok(begun)
    }

    /// One round of task creation: as many tasks per transaction as fit. Returns the
    /// outcome per input index; `None` means "try again next round".
    async fn create_round(
        &self,
        t: &TenantId,
        tasks: &[&NewTask],
        unsharded: &HashSet<String>,
    ) -> Result<Vec<Option<Created>>, StoreError> {
        let pk_of = |task: &Task| create_pk(t, task, unsharded);
        let mut outcomes: Vec<Option<Created>> = vec![None; tasks.len()];
        // Build batches of whole tasks whose items are all distinct.
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut actions = 0usize;
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for (i, nt) in tasks.iter().enumerate() {
            let mut keys_of: Vec<(String, String)> = nt
                .slots
                .iter()
                .map(|sl| (keys::quota_pk(t, &sl.counter), sl.period.clone()))
                .collect();
            keys_of.push((
                pk_of(&nt.task),
                keys::task_sk(&nt.task.target, &nt.task.staff),
            ));
            let need = keys_of.len();
            if actions + need > MAX_ACTIONS || keys_of.iter().any(|k| seen.contains(k)) {
                batches.push(std::mem::take(&mut current));
                actions = 0;
                seen.clear();
            }
            seen.extend(keys_of);
            current.push(i);
            actions += need;
        }
        if !current.is_empty() {
            batches.push(current);
        }
        let results = futures::stream::iter(batches.into_iter().map(|batch| async move {
            let mut acts = Vec::new();
            // (input index, first action index, action count)
            let mut layout = Vec::new();
            for &i in &batch {
                let nt = tasks[i];
                let at = nt.task.created_at;
                let quota: Vec<(String, String)> = nt
                    .slots
                    .iter()
                    .map(|sl| (keys::quota_pk(t, &sl.counter), sl.period.clone()))
                    .collect();
                layout.push((i, acts.len(), 1 + nt.slots.len()));
                acts.push(self.table.tx_put(
                    task_item(pk_of(&nt.task), t, &nt.task, &quota),
                    &Cond::item_absent(),
                )?);
                for sl in &nt.slots {
                    acts.push(self.quota_action(t, &sl.counter, &sl.period, sl.limit, at)?);
                }
            }
            let result = self.table.transact(acts).await;
            Ok::<_, StoreError>((layout, result))
        }))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
        for r in results {
            let (layout, result) = r?;
            match result {
                Ok(()) => {
                    for (i, _, _) in layout {
                        outcomes[i] = Some(Created::Pending);
                    }
                }
                Err(StoreError::TransactionCanceled { reasons }) => {
                    for (i, first, count) in layout {
                        let failed = |k: usize| {
                            reasons
                                .get(first + k)
                                .is_some_and(|r| r == "ConditionalCheckFailed")
                        };
                        if failed(0) {
                            let task = &tasks[i].task;
                            outcomes[i] = Some(self.existing(pk_of(task), task).await?);
                        } else if let Some(slot) = (1..count).find(|k| failed(*k)) {
                            let nt = tasks[i];
                            let failure = nt.slots[slot - 1].rule.failure();
                            let mut task = nt.task.clone();
                            task.status = TaskStatus::Failed;
                            task.failure = Some(failure.clone());
                            let created =
                                self.put_new(task_item(pk_of(&task), t, &task, &[])).await?;
                            outcomes[i] = Some(if created {
                                Created::QuotaFailed(failure)
                            } else {
                                self.existing(pk_of(&nt.task), &nt.task).await?
                            });
                        }
                        // Otherwise this task was fine but cancelled with its batch: retry.
                    }
                }
                Err(e) if e.is_retryable() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(outcomes)
    }
}

impl PlanStore for DynamoSop {
    async fn create_plan(&self, t: &TenantId, plan: &Plan) -> Result<(), StoreError> {
        let mut acts = vec![self
            .table
            .tx_put(plan_item(t, plan), &Cond::item_absent())?];
        if let Some(stage) = journey_stage(plan) {
            acts.push(self.table.tx_put(
                item::item([
                    (PK, s(keys::stage_pk(t, stage))),
                    (SK, s(keys::stage_sk(&plan.plan_id))),
                    ("plan_id", s(plan.plan_id.as_str())),
                ]),
                &Cond::new(),
            )?);
        }
        self.table.transact(acts).await
    }

    async fn plan(&self, t: &TenantId, id: &PlanId) -> Result<Option<Plan>, StoreError> {
        self.get(keys::plan_pk(t, id), keys::PLAN)
            .await?
            .as_ref()
            .map(plan_from_item)
            .transpose()
    }

    async fn plans(
        &self,
        t: &TenantId,
        before: Option<&PlanId>,
        limit: usize,
    ) -> Result<Page<Plan>, StoreError> {
        let mut q = Query::index(GSI2, keys::plans_index(t)).descending();
        if let Some(b) = before {
            q = q.sk_before(b.as_str());
        }
        let items = self.first(q, limit + 1).await?;
        let mut plans = items
            .iter()
            .map(plan_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let more = plans.len() > limit;
        plans.truncate(limit);
        let next_cursor = more
            .then(|| plans.last().map(|p| p.plan_id.to_string()))
            .flatten();
        Ok(Page {
            items: plans,
            next_cursor,
        })
    }

    async fn replace_plan(
        &self,
        t: &TenantId,
        plan: &Plan,
        previous: &Plan,
    ) -> Result<bool, StoreError> {
        let mut same_version = Cond::new();
        let v = same_version.name("version");
        same_version
            .value(":v", n(previous.version))
            .when(format!("{v} = :v"));
        let mut acts = vec![self.table.tx_put(plan_item(t, plan), &same_version)?];
        let old_stage = journey_stage(previous);
        let new_stage = journey_stage(plan).filter(|_| plan.status != PlanStatus::Ended);
        if old_stage != new_stage {
            if let Some(old) = old_stage {
                acts.push(
                    self.table
                        .tx_delete(keys::stage_pk(t, old), keys::stage_sk(&plan.plan_id))?,
                );
            }
            if let Some(new) = new_stage {
                acts.push(self.table.tx_put(
                    item::item([
                        (PK, s(keys::stage_pk(t, new))),
                        (SK, s(keys::stage_sk(&plan.plan_id))),
                        ("plan_id", s(plan.plan_id.as_str())),
                    ]),
                    &Cond::new(),
                )?);
            }
        }
        match self.table.transact(acts).await {
            Ok(()) => Ok(true),
            Err(e) if e.condition_failed_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn advance_plan(
        &self,
        t: &TenantId,
        id: &PlanId,
        version: i64,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.remove("dispatch_error")
            .remove("dispatch_error_at")
            .remove("dispatch_failures");
        match to {
            Some(due) => {
                u.set("next_due", ts(due))
                    .set(GSI1_SK, s(keys::due_sk(due, "P", id.as_str())));
            }
            None => {
                u.remove("next_due").remove(GSI1_PK).remove(GSI1_SK);
            }
        }
        // Only an active plan still waiting at `from`, unedited since it was read, moves (an
        // edit or a pause re-indexed it itself, keeping an occurrence still due).
        let next_due = u.name("next_due");
        let status = u.name("status");
        let v = u.name("version");
        u.value(":from", ts(from))
            .value(":active", s(PlanStatus::Active.as_str()))
            .value(":v", n(version))
            .when(format!(
                "{next_due} = :from AND {status} = :active AND {v} = :v"
            ));
        self.table
            .update(keys::plan_pk(t, id), keys::PLAN, &u)
            .await
    }

    async fn record_dispatch_failure(
        &self,
        t: &TenantId,
        id: &PlanId,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let message: String = message.chars().take(1000).collect();
        let mut u = Update::new();
        u.set("dispatch_error", s(message))
            .set("dispatch_error_at", ts(at))
            .add("dispatch_failures", 1)
            .when(item_exists());
        self.table
            .update(keys::plan_pk(t, id), keys::PLAN, &u)
            .await?;
        Ok(())
    }

    async fn dispatch_failure(
        &self,
        t: &TenantId,
        id: &PlanId,
    ) -> Result<Option<DispatchFailure>, StoreError> {
        let Some(item) = self.get(keys::plan_pk(t, id), keys::PLAN).await? else {
            return Ok(None);
        };
        let Some(message) = item.s_opt("dispatch_error") else {
            return Ok(None);
        };
        Ok(Some(DispatchFailure {
            message: message.to_string(),
            at: opt_ts(&item, "dispatch_error_at")?.unwrap_or_default(),
            failures: item.n_opt("dispatch_failures")?.unwrap_or(1),
        }))
    }

    async fn due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let q =
            Query::index(GSI1, keys::due_index(t)).sk_at_most(format!("{:012}#~", now.timestamp()));
        let items = self.first(q, limit).await?;
        // One unreadable item is reported as such, not as a failure of the whole index.
        Ok(items
            .iter()
            .map(|item| {
                let parsed = match item.s(SK) {
                    Ok(keys::PLAN) => plan_from_item(item).map(DueEntry::Plan),
                    Ok(_) => run_from_item(item).map(DueEntry::Run),
                    Err(e) => Err(e),
                };
                parsed.unwrap_or_else(|e| DueEntry::Unreadable {
                    plan_id: item.s_opt("plan_id").and_then(PlanId::parse),
                    error: e.to_string(),
                })
            })
            .collect())
    }

    async fn journey_plans(&self, t: &TenantId, stage: &str) -> Result<Vec<Plan>, StoreError> {
        let items = self
            .table
            .query_all(Query::partition(keys::stage_pk(t, stage)).consistent())
            .await?;
        let mut plans = Vec::new();
        for item in items {
            if let Some(id) = PlanId::parse(item.s("plan_id")?) {
                if let Some(p) = self.plan(t, &id).await? {
                    if p.status == PlanStatus::Active {
                        plans.push(p);
                    }
                }
            }
        }
        Ok(plans)
    }
}

impl TaskStore for DynamoSop {
    async fn put_occurrence(&self, t: &TenantId, occ: &Occurrence) -> Result<bool, StoreError> {
        self.put_new(item::item([
            (PK, s(keys::plan_pk(t, &occ.plan_id))),
            (SK, s(keys::occ_sk(&occ.occurrence_id))),
            ("occurrence_id", s(occ.occurrence_id.as_str())),
            ("data", item::json(occ)),
            (TTL, ts(occ.scheduled_at + KEEP)),
        ]))
        .await
    }

    async fn occurrence(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> Result<Option<Occurrence>, StoreError> {
        self.get(keys::plan_pk(t, plan), &keys::occ_sk(occ))
            .await?
            .map(|item| item.json("data"))
            .transpose()
    }

    async fn occurrences(
        &self,
        t: &TenantId,
        plan: &PlanId,
        before: Option<&OccurrenceId>,
        limit: usize,
    ) -> Result<Page<Occurrence>, StoreError> {
        let hi = match before {
            Some(b) => keys::occ_sk(b),
            None => format!("{}~", keys::OCC),
        };
        let q = Query::partition(keys::plan_pk(t, plan))
            .consistent()
            .sk_between(keys::OCC, hi)
            .descending();
        let items = self.first(q, limit + 2).await?;
        let mut occs = Vec::new();
        for item in &items {
            let o: Occurrence = item.json("data")?;
            if before.is_some_and(|b| *b == o.occurrence_id) {
                continue;
            }
            occs.push(o);
        }
        let more = occs.len() > limit;
        occs.truncate(limit);
        let next_cursor = more
            .then(|| occs.last().map(|o| o.occurrence_id.to_string()))
            .flatten();
        Ok(Page {
            items: occs,
            next_cursor,
        })
    }

    async fn create_tasks(
        &self,
        t: &TenantId,
        tasks: Vec<NewTask>,
    ) -> Result<Vec<Created>, StoreError> {
        let unsharded = self.begun_unsharded(t, &tasks).await?;
        let mut outcomes: Vec<Option<Created>> = vec![None; tasks.len()];
        for round in 0..MAX_ROUNDS {
            let open: Vec<usize> = (0..tasks.len())
                .filter(|i| outcomes[*i].is_none())
                .collect();
            if open.is_empty() {
                break;
            }
            if round > 0 {
                let ms = 20u64 << round.min(6);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            let refs: Vec<&NewTask> = open.iter().map(|i| &tasks[*i]).collect();
            let got = self.create_round(t, &refs, &unsharded).await?;
            for (j, o) in got.into_iter().enumerate() {
                outcomes[open[j]] = o;
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.ok_or_else(|| {
                    StoreError::Retryable("task creation kept conflicting; retry the run".into())
                })
            })
            .collect()
    }

    async fn occurrence_tasks(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> Result<Vec<Task>, StoreError> {
        // Every shard, and the occurrence's own partition (tasks stored before sharding),
        // read at once; targets sorted as one partition's query would list them.
        let partitions = (0..keys::TASK_SHARDS)
            .map(|shard| keys::occ_tasks_pk(t, plan, occ, shard))
            .chain(std::iter::once(keys::occ_pk(t, plan, occ)));
        let pages: Vec<Result<Vec<AttrMap>, StoreError>> =
            futures::stream::iter(partitions.map(|pk| {
                self.table
                    .query_all(Query::partition(pk).consistent().sk_begins_with(keys::TASK))
            }))
            .buffered(8)
            .collect()
            .await;
        let mut items = Vec::new();
        for page in pages {
            items.extend(page?);
        }
        items.sort_by(|a, b| {
            let sk = |i: &AttrMap| i.s(SK).map(str::to_string).unwrap_or_default();
            sk(a).cmp(&sk(b))
        });
        items.iter().map(task_from_item).collect()
    }

    async fn task(&self, t: &TenantId, key: &TaskKey) -> Result<Option<Task>, StoreError> {
        Ok(self.stored_task(t, key).await?.map(|(_, _, _, task)| task))
    }

    async fn staff_tasks(
        &self,
        t: &TenantId,
        staff: &str,
        status: TaskStatus,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Task>, StoreError> {
        let prefix = format!("{}#", status.index_prefix());
        let hi = match cursor {
            Some(c) if c.starts_with(&prefix) => c.to_string(),
            _ => format!("{prefix}~"),
        };
        let q = Query::index(GSI1, keys::staff_index(t, staff))
            .sk_between(prefix, hi)
            .descending();
        let items = self.first(q, limit + 2).await?;
        let mut tasks = Vec::new();
        let mut last_sk = None;
        let mut more = false;
        for item in &items {
            let sk = item.s(GSI1_SK)?.to_string();
            if cursor == Some(sk.as_str()) {
                continue;
            }
            if tasks.len() == limit {
                more = true;
                break;
            }
            tasks.push(task_from_item(item)?);
            last_sk = Some(sk);
        }
        Ok(Page {
            items: tasks,
            next_cursor: if more { last_sk } else { None },
        })
    }

    async fn pending_group_tasks(
        &self,
        t: &TenantId,
        chat_id: &str,
    ) -> Result<Vec<Task>, StoreError> {
        let target = Target::Group {
            chat_id: chat_id.to_string(),
        };
        self.table
            .query_all(Query::index(GSI2, keys::target_index(t, &target.key())))
            .await?
            .iter()
            .map(task_from_item)
            .filter(|r| !matches!(r, Ok(task) if task.status != TaskStatus::Pending))
            .collect()
    }

    async fn complete_task(
        &self,
        t: &TenantId,
        key: &TaskKey,
        by: DoneBy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some((pk, sk, _, task)) = self.stored_task(t, key).await? else {
            return Ok(false);
        };
        let mut u = Update::new();
        u.set("status", s(TaskStatus::Done.as_str()))
            .set("done_at", ts(at))
            .set("done_by", item::json(&by))
            .set(GSI1_SK, s(staff_sk(&task, TaskStatus::Done)))
            .remove(GSI2_PK)
            .remove(GSI2_SK)
            .value(":pending", s(TaskStatus::Pending.as_str()))
            .value(":staff", s(&key.staff));
        let status = u.name("status");
        let staff = u.name("staff");
        u.when(format!("{status} = :pending AND {staff} = :staff"));
        self.table.update(pk, sk, &u).await
    }

    async fn fail_task(
        &self,
        t: &TenantId,
        key: &TaskKey,
        failure: &Failure,
        release_quota: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some((pk, sk, item, task)) = self.stored_task(t, key).await? else {
            return Ok(false);
        };
        if task.status != TaskStatus::Pending {
            return Ok(false);
        }
        let mut u = Update::new();
        u.set("status", s(TaskStatus::Failed.as_str()))
            .set("failure", item::json(failure))
            .set("failed_at", ts(at))
            .set(GSI1_SK, s(staff_sk(&task, TaskStatus::Failed)))
            .remove(GSI2_PK)
            .remove(GSI2_SK)
            .remove("quota")
            .value(":pending", s(TaskStatus::Pending.as_str()));
        let status = u.name("status");
        u.when(format!("{status} = :pending"));
        // Counters kept (the message may have been sent) stay reserved for good: the task
        // no longer lists them.
        let quota = if release_quota {
            quota_of(&item)
        } else {
            Vec::new()
        };
        if quota.is_empty() {
            return self.table.update(pk, sk, &u).await;
        }
        let mut acts = vec![self.table.tx_update(pk.clone(), sk.clone(), &u)?];
        for (qpk, qsk) in &quota {
            acts.push(self.release_action(qpk, qsk)?);
        }
        match self.table.transact(acts).await {
            Ok(()) => Ok(true),
            Err(e) if e.condition_failed_at(0) => Ok(false),
            // A counter already at zero (expired or never reserved): fail the task alone.
            Err(e) if e.any_condition_failed() => self.table.update(pk, sk, &u).await,
            Err(e) => Err(e),
        }
    }

    async fn put_run(&self, t: &TenantId, run: &JourneyRun) -> Result<bool, StoreError> {
        self.put_new(run_item(t, run)).await
    }

    async fn customer_runs(
        &self,
        t: &TenantId,
        external_userid: &str,
    ) -> Result<Vec<JourneyRun>, StoreError> {
        self.table
            .query_all(Query::index(
                GSI2,
                keys::customer_runs_index(t, external_userid),
            ))
            .await?
            .iter()
            .map(run_from_item)
            .collect()
    }

    async fn set_branch(
        &self,
        t: &TenantId,
        run_id: &str,
        branch: Branch,
        replied_to: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("branch", s(branch.as_str()));
        u.set_if_some("replied_to", replied_to.map(s))
            .when(item_exists());
        self.table
            .update(keys::run_pk(t, run_id), keys::RUN, &u)
            .await?;
        Ok(())
    }

    async fn advance_run(
        &self,
        t: &TenantId,
        run_id: &str,
        from: usize,
        to_step: usize,
        to_due: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut u = Update::new();
        u.set("next_step", n(to_step as i64));
        match to_due {
            Some(due) => {
                u.set("next_due", ts(due))
                    .set(GSI1_PK, s(keys::due_index(t)))
                    .set(GSI1_SK, s(keys::due_sk(due, "J", run_id)));
            }
            None => {
                u.remove("next_due").remove(GSI1_PK).remove(GSI1_SK);
            }
        }
        let next_step = u.name("next_step");
        u.value(":from", n(from as i64))
            .when(format!("{next_step} = :from"));
        self.table
            .update(keys::run_pk(t, run_id), keys::RUN, &u)
            .await
    }
}

impl OutboxStore for DynamoSop {
    async fn put_outbox(&self, t: &TenantId, item: &OutboxItem) -> Result<bool, StoreError> {
        self.put_new(outbox_item(t, item)).await
    }

    async fn outbox_due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let q = Query::index(GSI1, keys::outbox_index(t))
            .sk_at_most(format!("{:012}#~", now.timestamp()));
        self.first(q, limit)
            .await?
            .iter()
            .map(outbox_from_item)
            .collect()
    }

    async fn claim_outbox(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let mut u = Update::new();
        u.set(
            "claim_until",
            ts(now + scrm_core::sop::occurrence::CLAIM_FOR),
        )
        .increment("attempts", 1)
        .set_if_not_exists("first_attempt_at", ts(now));
        let state = u.name("state");
        let next_attempt = u.name("next_attempt_at");
        let claim = u.name("claim_until");
        u.value(":pending", s(OutboxState::Pending.as_str()))
            .value(":now", ts(now))
            .when(format!(
                "{state} = :pending AND {next_attempt} <= :now \
                 AND (attribute_not_exists({claim}) OR {claim} < :now)"
            ));
        self.table
            .update_returning(
                keys::occ_pk(t, plan, occ),
                format!("{}{key}", keys::OUTBOX),
                &u,
            )
            .await?
            .as_ref()
            .map(outbox_from_item)
            .transpose()
    }

    async fn settle_outbox(&self, t: &TenantId, o: &OutboxItem) -> Result<(), StoreError> {
        let mut u = Update::new();
        u.set("state", s(o.state.as_str()))
            .set("attempts", n(i64::from(o.attempts)))
            .set("settled_attempts", n(i64::from(o.settled_attempts)))
            .set("outcome_unknown", bool_attr(o.outcome_unknown))
            .remove("claim_until");
        // The outbox entry holds exactly what `o` holds: an absent value is removed.
        for (attr, v) in [
            ("next_attempt_at", o.next_attempt_at.map(ts)),
            ("last_errcode", o.last_errcode.map(n)),
            ("last_error", o.last_error.as_deref().map(s)),
            ("wecom_id", o.wecom_id.as_deref().map(s)),
            ("moment_id", o.moment_id.as_deref().map(s)),
            ("sent_at", o.sent_at.map(ts)),
            ("next_sync_at", o.next_sync_at.map(ts)),
        ] {
            match v {
                Some(v) => u.set(attr, v),
                None => u.remove(attr),
            };
        }
        match (o.state, o.next_attempt_at, o.next_sync_at) {
            (OutboxState::Pending, Some(at), _) => {
                u.set(GSI1_PK, s(keys::outbox_index(t)))
                    .set(GSI1_SK, s(outbox_index_sk(at, o)));
            }
            (OutboxState::Sent, _, Some(at)) => {
                u.set(GSI1_PK, s(keys::sync_index(t)))
                    .set(GSI1_SK, s(outbox_index_sk(at, o)));
            }
            _ => {
                u.remove(GSI1_PK).remove(GSI1_SK);
            }
        }
        u.when(item_exists());
        self.table
            .update(
                keys::occ_pk(t, &o.plan_id, &o.occurrence_id),
                outbox_sk(&o.kind),
                &u,
            )
            .await?;
        Ok(())
    }

    async fn sync_due(
        &self,
        t: &TenantId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let q = Query::index(GSI1, keys::sync_index(t))
            .sk_at_most(format!("{:012}#~", now.timestamp()));
        self.first(q, limit)
            .await?
            .iter()
            .map(outbox_from_item)
            .collect()
    }

    async fn recorded_wecom_ids(&self, t: &TenantId) -> Result<HashSet<String>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI1, keys::sync_index(t)))
            .await?;
        Ok(items
            .iter()
            .flat_map(|i| [i.s_opt("wecom_id"), i.s_opt("moment_id")])
            .flatten()
            .map(str::to_string)
            .collect())
    }

    async fn occurrence_outbox(
        &self,
        t: &TenantId,
        plan: &PlanId,
        occ: &OccurrenceId,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.table
            .query_all(
                Query::partition(keys::occ_pk(t, plan, occ))
                    .consistent()
                    .sk_begins_with(keys::OUTBOX),
            )
            .await?
            .iter()
            .map(outbox_from_item)
            .collect()
    }
}

impl GroupTagStore for DynamoSop {
    async fn set_group_tags(
        &self,
        t: &TenantId,
        chat_id: &str,
        tags: &[String],
    ) -> Result<(), StoreError> {
        let current: HashSet<String> = self.group_tags(t, chat_id).await?.into_iter().collect();
        let wanted: HashSet<String> = tags.iter().cloned().collect();
        for old in current.difference(&wanted) {
            self.table
                .delete(keys::group_tags_pk(t, chat_id), keys::tag_sk(old))
                .await?;
        }
        for new in wanted.difference(&current) {
            self.table
                .put(item::item([
                    (PK, s(keys::group_tags_pk(t, chat_id))),
                    (SK, s(keys::tag_sk(new))),
                    ("tag", s(new)),
                    ("chat_id", s(chat_id)),
                    (GSI2_PK, s(keys::tagged_index(t, new))),
                    (GSI2_SK, s(chat_id)),
                ]))
                .await?;
        }
        Ok(())
    }

    async fn group_tags(&self, t: &TenantId, chat_id: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .table
            .query_all(Query::partition(keys::group_tags_pk(t, chat_id)).consistent())
            .await?;
        items
            .iter()
            .map(|i| i.s("tag").map(str::to_string))
            .collect()
    }

    async fn tagged_groups(&self, t: &TenantId, tag: &str) -> Result<Vec<String>, StoreError> {
        let items = self
            .table
            .query_all(Query::index(GSI2, keys::tagged_index(t, tag)))
            .await?;
        items
            .iter()
            .map(|i| i.s("chat_id").map(str::to_string))
            .collect()
    }
}
