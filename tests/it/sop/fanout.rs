//! The dispatch fans out through the queue (moto's SQS): the minute's scheduler only
//! enqueues, workers take the messages in parallel, so one tenant's large plan in flight
//! does not hold back another tenant's minute; a worker stopped at its deadline leaves its
//! message to be delivered again, and the redelivery goes on where it stopped, every task
//! created once and every reminder sent once; a duplicate message does nothing twice.
use super::*;
use scrm_core::sop::dispatch::{Deadline, DispatchMessage, NoDeadline};
use scrm_core::sop::ports::CreatedOnWeCom;
use scrm_core::sop::SopWeCom;
use scrm_core::tenants::Tenant;
use scrm_core::wecom::api::{
    paths, AddMsgTemplateResult, GroupMsgSendResult, MomentPublish, MomentTask, MomentTaskResult,
    MsgTemplate, OAuthIdentity, WeComError,
};
use sop_dispatch_worker_fn::work_batch;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{mpsc, watch};

/// The fake WeCom's reminder call, held until the test opens the gate: a worker stands
/// mid-flight, inside a WeCom call, for as long as the test wants.
struct GatedWeCom {
    inner: WeComClient,
    entered: mpsc::UnboundedSender<String>,
    open: watch::Receiver<bool>,
}

impl SopWeCom for GatedWeCom {
    async fn send_reminder(
        &self,
        tenant: &Tenant,
        userid: &str,
        title: &str,
        description: &str,
        url: &str,
    ) -> Result<(), WeComError> {
        let _ = self.entered.send(userid.to_string());
        let mut open = self.open.clone();
        let _ = open.wait_for(|o| *o).await;
        SopWeCom::send_reminder(&self.inner, tenant, userid, title, description, url).await
    }
    async fn add_msg_template(
        &self,
        tenant: &Tenant,
        template: &MsgTemplate,
    ) -> Result<AddMsgTemplateResult, WeComError> {
        SopWeCom::add_msg_template(&self.inner, tenant, template).await
    }
    async fn add_moment_task(
        &self,
        tenant: &Tenant,
        task: &MomentTask,
    ) -> Result<String, WeComError> {
        SopWeCom::add_moment_task(&self.inner, tenant, task).await
    }
    async fn group_messages_created(
        &self,
        tenant: &Tenant,
        chat_type: &str,
        creator: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CreatedOnWeCom>, WeComError> {
        SopWeCom::group_messages_created(&self.inner, tenant, chat_type, creator, from, to).await
    }
    async fn moments_created(
        &self,
        tenant: &Tenant,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CreatedOnWeCom>, WeComError> {
        SopWeCom::moments_created(&self.inner, tenant, from, to).await
    }
    async fn group_message_results(
        &self,
        tenant: &Tenant,
        msgid: &str,
        userid: &str,
    ) -> Result<Vec<GroupMsgSendResult>, WeComError> {
        SopWeCom::group_message_results(&self.inner, tenant, msgid, userid).await
    }
    async fn moment_task_result(
        &self,
        tenant: &Tenant,
        jobid: &str,
    ) -> Result<MomentTaskResult, WeComError> {
        SopWeCom::moment_task_result(&self.inner, tenant, jobid).await
    }
    async fn moment_publications(
        &self,
        tenant: &Tenant,
        moment_id: &str,
    ) -> Result<Vec<MomentPublish>, WeComError> {
        SopWeCom::moment_publications(&self.inner, tenant, moment_id).await
    }
    async fn oauth_identity(
        &self,
        tenant: &Tenant,
        code: &str,
    ) -> Result<OAuthIdentity, WeComError> {
        SopWeCom::oauth_identity(&self.inner, tenant, code).await
    }
}

/// A deadline that passes after the worker has looked at it `n` times: a worker stopped
/// at a chosen step, whatever the machine's speed.
struct PassesAfter {
    looks: AtomicUsize,
    n: usize,
}

impl PassesAfter {
    fn new(n: usize) -> Self {
        Self {
            looks: AtomicUsize::new(0),
            n,
        }
    }
}

impl Deadline for PassesAfter {
    fn passed(&self) -> bool {
        self.looks.fetch_add(1, Ordering::SeqCst) >= self.n
    }
}

/// `n` groups of `owners` (round robin) in the directory, the owners active.
async fn groups(w: &World, prefix: &str, owners: &[&str], n: usize) {
    w.staff(owners);
    for i in 0..n {
        w.group(&format!("{prefix}{i:03}"), owners[i % owners.len()])
            .await;
    }
}

/// Every visible message of the queue (at least `expected`).
async fn receive_all(queue: &SqsQueue, expected: usize) -> Vec<Received> {
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(queue.receive(10, 1).await.expect("receive"));
        if got.len() >= expected {
            break;
        }
    }
    assert!(
        got.len() >= expected,
        "{} of {expected} messages",
        got.len()
    );
    got
}

/// A WeCom client for `w`'s fake with room for a loaded machine: what this test proves is
/// the order of events, which a client timeout would blur.
fn patient_client(w: &World) -> WeComClient {
    let mut cfg = WeComConfig::new(w.fake.base_url());
    cfg.request_timeout = Duration::from_secs(10);
    WeComClient::new(cfg, Arc::new(MemoryTokenCache::new())).expect("client")
}

fn message(m: &Received) -> DispatchMessage {
    serde_json::from_str(&m.body).expect("a dispatch message")
}

#[tokio::test]
async fn a_tenants_large_plan_held_in_wecom_does_not_hold_back_another_tenants_minute() {
    let a = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    let b = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    groups(&a, "wrFa", &["alice", "bob", "carol"], 60).await;
    groups(&b, "wrFb", &["dan"], 1).await;
    let plan_a = a
        .plan(daily_group_plan(&["alice", "bob", "carol"], "08:30"))
        .await;
    let plan_b = b.plan(daily_group_plan(&["dan"], "08:30")).await;
    a.at("2026-03-02T00:30:00Z");
    b.at("2026-03-02T00:30:00Z");

    let queue = new_queue().await;
    let scheduled_a = schedule(&a.dispatcher(), &queue, a.corp()).await;
    let scheduled_b = schedule(&b.dispatcher(), &queue, b.corp()).await;
    // Each tenant: its due plan, and its own message (journeys, retries).
    assert_eq!(scheduled_a["messages"], 2, "{scheduled_a}");
    assert_eq!(scheduled_b["messages"], 2, "{scheduled_b}");
    // The scheduler dispatched nothing itself.
    assert!(a.tasks(&plan_a, "20260302T0030Z").await.is_empty());
    assert!(b.tasks(&plan_b, "20260302T0030Z").await.is_empty());

    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let (open, open_rx) = watch::channel(false);
    let plain = a.dispatcher();
    let worker_a = Dispatcher {
        store: plain.store,
        directory: plain.directory,
        wecom: GatedWeCom {
            inner: patient_client(&a),
            entered: entered_tx,
            open: open_rx,
        },
        tenants: plain.tenants,
        clock: plain.clock,
        signing_key: plain.signing_key,
        public_base_url: plain.public_base_url,
        staff_pages_url: plain.staff_pages_url,
        materials: plain.materials,
        links: plain.links,
    };
    let worker_b = Dispatcher {
        wecom: patient_client(&b),
        ..b.dispatcher()
    };

    // Lambda's poller: each message to a worker of its own, all at once.
    let mut workers_a = Vec::new();
    let mut workers_b = Vec::new();
    let received = receive_all(&queue, 4).await;
    for m in &received {
        let event = sqs_event(std::slice::from_ref(m)).payload;
        if message(m).tenant == a.corp() {
            let d = &worker_a;
            workers_a.push(async move { work_batch(d, &event, &NoDeadline).await });
        } else {
            let d = &worker_b;
            workers_b.push(async move { work_batch(d, &event, &NoDeadline).await });
        }
    }
    let mut all_a = std::pin::pin!(futures::future::join_all(workers_a));
    // Tenant B's whole minute completes, and tenant A's plan reaches WeCom, held there:
    // A's workers cannot finish before the gate opens.
    let (done_b, first) = tokio::select! {
        both = futures::future::join(futures::future::join_all(workers_b), entered.recv()) => both,
        _ = &mut all_a => panic!("tenant A's work finished while held in WeCom"),
    };
    let mut report_b = DispatchReport::default();
    for (answer, r) in done_b {
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
        report_b.add(&r);
    }
    assert_eq!(b.tasks(&plan_b, "20260302T0030Z").await.len(), 1);
    assert_eq!(report_b.sent, 1, "{report_b:?}");
    assert_eq!(b.fake.calls(paths::MESSAGE_SEND), 1, "{report_b:?}");
    // A's plan is in flight: its tasks created, a worker inside WeCom's call, nothing of
    // A's sent yet.
    let first = first.expect("a reminder call");
    assert!(["alice", "bob", "carol"].contains(&first.as_str()));
    assert_eq!(a.tasks(&plan_a, "20260302T0030Z").await.len(), 60);
    assert_eq!(a.fake.calls(paths::MESSAGE_SEND), 0);

    open.send(true).expect("open the gate");
    for (answer, _) in all_a.await {
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    }
    // Each of A's owners reminded once, even with two workers of A about.
    assert_eq!(a.fake.calls(paths::MESSAGE_SEND), 3);
    assert_eq!(b.fake.calls(paths::MESSAGE_SEND), 1);
}

#[tokio::test]
async fn a_worker_stopped_at_its_deadline_is_resumed_by_the_redelivery_exactly_once() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    let owners = ["o1", "o2", "o3", "o4"];
    // More groups than one chunk of task creation (the deadline is looked at between).
    groups(&w, "wrRs", &owners, 450).await;
    let plan = w.plan(daily_group_plan(&owners, "08:30")).await;
    w.at("2026-03-02T00:30:00Z");
    let d = w.dispatcher();
    let queue = new_queue().await;
    schedule(&d, &queue, w.corp()).await;
    let got = receive_all(&queue, 2).await;
    let (plan_msgs, tenant_msgs): (Vec<Received>, Vec<Received>) =
        got.into_iter().partition(|m| message(m).plan.is_some());
    assert_eq!((plan_msgs.len(), tenant_msgs.len()), (1, 1));
    // The tenant's own message: nothing else is due.
    let (answer, _) = work_batch(&d, &sqs_event(&tenant_msgs).payload, &NoDeadline).await;
    assert!(answer.batch_item_failures.is_empty());
    queue.delete(&tenant_msgs[0].receipt_handle).await.unwrap();
    let plan_msg = &plan_msgs[0];

    // First delivery: the deadline comes after the first chunk of tasks.
    let (answer, _) = work_batch(
        &d,
        &sqs_event(std::slice::from_ref(plan_msg)).payload,
        &PassesAfter::new(2),
    )
    .await;
    assert_eq!(answer.batch_item_failures.len(), 1, "left for redelivery");
    assert_eq!(
        answer.batch_item_failures[0].item_identifier,
        plan_msg.message_id
    );
    let stored = w.tasks(&plan, "20260302T0030Z").await.len();
    assert!(
        stored > 0 && stored < 450,
        "stopped mid-plan: {stored} tasks"
    );
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 0);
    // Its visibility timeout over, SQS delivers the same message again.
    queue.release(&plan_msg.receipt_handle, 0).await.unwrap();
    let again = receive_all(&queue, 1).await;
    assert_eq!(again[0].message_id, plan_msg.message_id);

    // Second delivery: every task, then the deadline after two reminders were started.
    let (answer, r) = work_batch(&d, &sqs_event(&again).payload, &PassesAfter::new(6)).await;
    assert_eq!(answer.batch_item_failures.len(), 1, "left for redelivery");
    assert_eq!(
        r,
        DispatchReport::default(),
        "a failed message counts nothing"
    );
    assert_eq!(w.tasks(&plan, "20260302T0030Z").await.len(), 450);
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 2);
    queue.release(&again[0].receipt_handle, 0).await.unwrap();
    let third = receive_all(&queue, 1).await;
    assert_eq!(third[0].message_id, plan_msg.message_id);

    // Third delivery: to the end.
    let (answer, r) = work_batch(&d, &sqs_event(&third).payload, &NoDeadline).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    queue.delete(&third[0].receipt_handle).await.unwrap();
    assert_eq!(r.tasks_created, 0, "{r:?}");
    assert_eq!(r.tasks_existing, 450, "{r:?}");
    assert_eq!(r.sent, 2, "the two reminders not yet sent: {r:?}");

    // Every group has its task once, its quota reserved once; every owner reminded once.
    let tasks = w.tasks(&plan, "20260302T0030Z").await;
    let chats: BTreeSet<String> = tasks
        .iter()
        .map(|t| t.target.chat_id().unwrap().to_string())
        .collect();
    assert_eq!((tasks.len(), chats.len()), (450, 450));
    for i in [0, 199, 200, 449] {
        assert_eq!(w.counter(&format!("G#wrRs{i:03}"), "M2026-03").await, 1);
    }
    let mut reminded: Vec<String> = w
        .fake
        .requests(paths::MESSAGE_SEND)
        .iter()
        .map(|r| r["touser"].as_str().unwrap().to_string())
        .collect();
    reminded.sort();
    assert_eq!(reminded, owners);
    // The plan moved on: the next minute enqueues nothing of it.
    assert!(queue.receive(10, 0).await.unwrap().is_empty());
    let next = schedule(&d, &queue, w.corp()).await;
    assert_eq!(next["messages"], 1, "the tenant's own message only: {next}");
}

#[tokio::test]
async fn a_duplicate_message_does_nothing_twice() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    groups(&w, "wrDu", &["alice", "bob"], 10).await;
    let plan = w.plan(daily_group_plan(&["alice", "bob"], "08:30")).await;
    w.at("2026-03-02T00:30:00Z");
    let d = w.dispatcher();
    let queue = new_queue().await;
    // Two schedulers of the same minute (a re-fired schedule): the plan's message twice.
    schedule(&d, &queue, w.corp()).await;
    schedule(&d, &queue, w.corp()).await;
    let got = receive_all(&queue, 4).await;
    let plan_msgs: Vec<Received> = got
        .iter()
        .filter(|m| message(m).plan.is_some())
        .cloned()
        .collect();
    assert_eq!(plan_msgs.len(), 2);
    assert_eq!(message(&plan_msgs[0]), message(&plan_msgs[1]));

    let (_, first) = work_batch(&d, &sqs_event(&plan_msgs[..1]).payload, &NoDeadline).await;
    assert_eq!((first.tasks_created, first.sent), (10, 2), "{first:?}");
    // The duplicate: the plan has moved on, nothing is created or sent again.
    let (answer, second) = work_batch(&d, &sqs_event(&plan_msgs[1..]).payload, &NoDeadline).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(second, DispatchReport::default(), "{second:?}");
    // Both at once in one batch (two workers racing) change nothing either.
    let (answer, both) = work_batch(&d, &sqs_event(&plan_msgs).payload, &NoDeadline).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(both.tasks_created + both.sent, 0, "{both:?}");
    assert_eq!(w.tasks(&plan, "20260302T0030Z").await.len(), 10);
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 2);
    for i in 0..10 {
        assert_eq!(w.counter(&format!("G#wrDu{i:03}"), "M2026-03").await, 1);
    }
}

#[tokio::test]
async fn tasks_stored_before_sharding_are_read_completed_and_never_made_twice() {
    use scrm_adapters::dynamo::sop::keys;
    use scrm_adapters::dynamo::{AttrMap, ItemExt, Query};
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    groups(&w, "wrLg", &["alice"], 3).await;
    let plan = w.plan(daily_group_plan(&["alice"], "08:30")).await;
    w.at("2026-03-02T00:30:00Z");
    w.dispatch().await;
    // Move the occurrence's tasks where the earlier layout kept them: its own partition.
    let id = PlanId::parse(&plan).unwrap();
    let occ = OccurrenceId::parse("20260302T0030Z").unwrap();
    let table = w.db.tasks();
    let mut moved = 0;
    for shard in 0..keys::TASK_SHARDS {
        let pk = keys::occ_tasks_pk(w.t.id(), &id, &occ, shard);
        for item in table.query_all(Query::partition(pk.clone())).await.unwrap() {
            let sk = item.s("sk").unwrap().to_string();
            let mut old: AttrMap = item.clone();
            old.insert(
                "pk".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(keys::occ_pk(w.t.id(), &id, &occ)),
            );
            table.put(old).await.unwrap();
            table.delete(pk.clone(), sk).await.unwrap();
            moved += 1;
        }
    }
    assert_eq!(moved, 3);
    // Read as before: the occurrence's tasks, one by one.
    let tasks = w.tasks(&plan, "20260302T0030Z").await;
    assert_eq!(tasks.len(), 3);
    // An occurrence begun under the earlier layout and run again (interrupted after its
    // tasks) keeps to it: nothing created twice, nothing reserved twice.
    w.interrupt_after_tasks(&plan, "20260302T0030Z").await;
    let again = w.dispatch().await;
    assert_eq!(again["tasks_created"], 0, "{again}");
    assert_eq!(again["tasks_existing"], 3, "{again}");
    assert_eq!(w.tasks(&plan, "20260302T0030Z").await.len(), 3);
    for i in 0..3 {
        assert_eq!(w.counter(&format!("G#wrLg{i:03}"), "M2026-03").await, 1);
    }
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 1);
    // A task of the earlier layout is completed where it is.
    let store = w.store();
    let key = scrm_core::sop::TaskKey {
        plan_id: id.clone(),
        occurrence_id: occ.clone(),
        target: tasks[0].target.clone(),
        staff: "alice".into(),
    };
    assert!(store
        .complete_task(w.t.id(), &key, scrm_core::sop::DoneBy::Staff, w.clock.now())
        .await
        .unwrap());
    let done = w.tasks(&plan, "20260302T0030Z").await;
    assert_eq!(
        done.iter()
            .filter(|t| t.status == scrm_core::sop::TaskStatus::Done)
            .count(),
        1
    );
}
