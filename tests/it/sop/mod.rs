//! The SOP engine and task center, through the real handlers, against DynamoDB Local and
//! the fake WeCom server: schedules across boundaries, exactly-once dispatch under
//! re-firing and overlap, outage catch-up, reminder retries, receive quotas, events that
//! fail tasks, execution figures, the staff task center and the plans API.
mod admin;
mod calendar;
mod departures;
mod dispatch;
mod events;
mod fanout;
mod figures;
mod isolation;
mod quota;
mod races;
mod reconcile;
mod reruns;
mod schedules;
mod staff;

use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use scrm_adapters::dynamo::Db;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoSop;
use scrm_adapters::dynamo::DynamoTenants;
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::queue::{sqs_client, Received, SqsEvent, SqsQueue, SqsRecord};
use scrm_adapters::wecom::fake::{FakeStaff, FakeWeCom};
use scrm_adapters::wecom::MemoryTokenCache;
use scrm_adapters::wecom::RetryPolicy;
use scrm_adapters::wecom::WeComClient;
use scrm_adapters::wecom::WeComConfig;
use scrm_core::clock::{Clock, FixedClock};
use scrm_core::contacts::{DirectoryWrite, FollowWrite, RelationStatus};
use scrm_core::events::{DomainEvent, EventEnvelope};
use scrm_core::sop::dispatch::{DispatchReport, Dispatcher, Scheduler};
use scrm_core::sop::on_event::OnEvent;
use scrm_core::sop::result_sync::ResultSync;
use scrm_core::sop::{OccurrenceId, PlanId, Task, TaskStore};
use scrm_core::tenants::TenantSettings;
use scrm_core::wecom::api::GroupChat;
use scrm_tests::*;
use serde_json::{json, Value};
use staff_api_fn::StaffApi;
use std::sync::Arc;
use std::time::Duration;

/// An RFC 3339 instant.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

/// One isolated tenant with its fake WeCom, its clock and the SOP functions.
pub struct World {
    pub db: Db,
    pub t: TestTenant,
    pub fake: FakeWeCom,
    pub clock: Arc<FixedClock>,
    pub wecom: WeComClient,
}

impl World {
    /// A fresh tenant with `settings`, its clock at `at`.
    pub async fn new(settings: TenantSettings, at: &str) -> Self {
        let db = db().await;
        let t = tenant_with(&db, settings).await;
        let fake = FakeWeCom::start().await.expect("fake WeCom");
        let corp = t.id().as_str().to_string();
        fake.add_app(&corp, "contact-secret", None);
        fake.add_app(&corp, "app-secret", Some(1000002));
        let mut cfg = WeComConfig::new(fake.base_url());
        cfg.request_timeout = Duration::from_millis(400);
        cfg.retry = RetryPolicy {
            busy_retries: 1,
            rate_limit_attempts: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            budget: Duration::from_secs(3),
        };
        let wecom = WeComClient::new(cfg, Arc::new(MemoryTokenCache::new())).expect("client");
        fake.set_now(utc(at).timestamp());
        Self {
            db,
            t,
            fake,
            clock: Arc::new(FixedClock::new(utc(at))),
            wecom,
        }
    }

    /// The corp id.
    pub fn corp(&self) -> &str {
        self.t.id().as_str()
    }

    /// Moves the clock (ours and the fake WeCom's).
    pub fn at(&self, s: &str) {
        self.clock.set(utc(s));
        self.fake.set_now(utc(s).timestamp());
    }

    /// A receive-quota counter (`counter` is `G#{chat}` or `C#{customer}`), 0 if absent.
    pub async fn counter(&self, counter: &str, period: &str) -> i64 {
        use scrm_adapters::dynamo::ItemExt;
        self.db
            .tasks()
            .get_consistent(
                scrm_adapters::dynamo::sop::keys::quota_pk(self.t.id(), counter),
                period,
            )
            .await
            .expect("get counter")
            .map(|item| item.n("count").expect("count"))
            .unwrap_or(0)
    }

    /// Leaves an occurrence as a run that stopped right after creating its tasks would:
    /// the plan still due at it, no outbox entries; WeCom's call log is cleared.
    pub async fn interrupt_after_tasks(&self, plan: &str, occ: &str) {
        use scrm_core::sop::{OutboxStore, PlanStore};
        let store = self.store();
        let id = PlanId::parse(plan).unwrap();
        let occ_id = OccurrenceId::parse(occ).unwrap();
        for e in store
            .occurrence_outbox(self.t.id(), &id, &occ_id)
            .await
            .expect("outbox")
        {
            self.db
                .tasks()
                .delete(
                    scrm_adapters::dynamo::sop::keys::occ_pk(self.t.id(), &id, &occ_id),
                    format!("OUT#{}", e.kind.key()),
                )
                .await
                .expect("delete outbox entry");
        }
        let occurrence = store
            .occurrence(self.t.id(), &id, &occ_id)
            .await
            .expect("occurrence")
            .expect("stored occurrence");
        let current = store.plan(self.t.id(), &id).await.unwrap().unwrap();
        let rewound = scrm_core::sop::Plan {
            next_due: Some(occurrence.scheduled_at),
            ..current.clone()
        };
        assert!(store
            .replace_plan(self.t.id(), &rewound, &current)
            .await
            .expect("rewind"));
        self.fake.reset_counters();
    }

    /// The tasks table adapter.
    pub fn store(&self) -> DynamoSop {
        DynamoSop::new(self.db.clone())
    }

    /// Active staff members in the fake WeCom.
    pub fn staff(&self, ids: &[&str]) {
        for u in ids {
            self.fake.add_staff(self.corp(), FakeStaff::active(*u, *u));
        }
    }

    /// A group in the directory (and in the fake WeCom).
    pub async fn group(&self, chat: &str, owner: &str) {
        let g = GroupChat {
            chat_id: chat.into(),
            name: format!("群{chat}"),
            owner: owner.into(),
            ..Default::default()
        };
        DynamoDirectory::new(self.db.clone())
            .put_group_detail(self.t.id(), &g, Some(0), 1)
            .await
            .expect("put group");
        self.fake.add_group(
            self.corp(),
            scrm_adapters::wecom::fake::FakeGroup::new(chat, format!("群{chat}"), owner),
        );
    }

    /// A customer followed by `staff` in the directory.
    pub async fn follower(&self, customer: &str, staff: &str, added_at: i64) {
        let dir = DynamoDirectory::new(self.db.clone());
        dir.touch_customer(self.t.id(), customer, false, added_at)
            .await
            .expect("touch customer");
        dir.put_follow(
            self.t.id(),
            customer,
            staff,
            &FollowWrite::from_callback(RelationStatus::Active, None, added_at),
            added_at,
        )
        .await
        .expect("put follow");
    }

    /// The dispatcher as the function wires it.
    pub fn dispatcher(&self) -> Dispatcher<DynamoSop, DynamoDirectory, WeComClient, DynamoTenants> {
        Dispatcher {
            store: self.store(),
            directory: DynamoDirectory::new(self.db.clone()),
            wecom: self.wecom.clone(),
            tenants: DynamoTenants::new(self.db.clone()),
            clock: self.clock.clone(),
            signing_key: scrm_tests::signing_keys(),
            public_base_url: "https://staff.example.com".into(),
            staff_pages_url: None,
            materials: Arc::new(scrm_core::content::NoMaterials),
            links: Arc::new(scrm_core::links::NoTracking),
        }
    }

    /// One `sop-dispatch` invocation for this tenant; its report.
    pub async fn dispatch(&self) -> Value {
        run_dispatch(&self.dispatcher(), self.corp()).await
    }

    /// One `sop-result-sync` invocation.
    pub async fn sync(&self) -> Value {
        let h = ResultSync {
            store: self.store(),
            wecom: self.wecom.clone(),
            tenants: DynamoTenants::new(self.db.clone()),
            clock: self.clock.clone(),
        };
        sop_result_sync_fn::handle(&h, event(json!({ "tenant": self.corp() })))
            .await
            .expect("sync")
    }

    /// Delivers a domain event to `sop-on-event` as EventBridge would.
    pub async fn on_event(&self, id: &str, e: DomainEvent) -> Value {
        let h = OnEvent {
            store: self.store(),
            tenants: DynamoTenants::new(self.db.clone()),
            clock: self.clock.clone(),
        };
        let env = EventEnvelope::new(id, self.corp(), self.clock.now(), e);
        sop_on_event_fn::handle(&h, event(env.to_eventbridge_json()))
            .await
            .expect("on event")
    }

    /// An admin API call.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let api = admin_api(
            &self.db,
            AnyPublisher::Discard,
            self.fake.base_url(),
            self.clock.clone(),
        );
        let bearer = self.t.bearer();
        let req = match body {
            Some(b) => json_request(method, path, &bearer, &b),
            None => request(method, path, &[("authorization", &bearer)], None),
        };
        response_json(&admin_api_fn::handle(&api, req).await.expect("infallible"))
    }

    /// Creates a plan through the admin API; its id.
    pub async fn plan(&self, body: Value) -> String {
        let (status, body) = self.admin("POST", "/v1/sop/plans", Some(body)).await;
        assert_eq!(status, 201, "{body}");
        body["plan_id"].as_str().expect("plan_id").to_string()
    }

    /// A staff API call.
    pub async fn staff_call(&self, req: lambda_http::Request) -> (u16, Value) {
        self.staff_call_with(req, Arc::new(scrm_core::links::NoTracking))
            .await
    }

    /// A staff API call whose task center mints tracked links with `links`.
    pub async fn staff_call_with(
        &self,
        req: lambda_http::Request,
        links: Arc<dyn scrm_core::links::LinkTracker>,
    ) -> (u16, Value) {
        self.staff_call_using(req, links, Arc::new(scrm_core::content::NoMaterials))
            .await
    }

    /// A staff API call whose task center mints tracked links with `links` and resolves
    /// materials with `materials`.
    pub async fn staff_call_using(
        &self,
        req: lambda_http::Request,
        links: Arc<dyn scrm_core::links::LinkTracker>,
        materials: Arc<dyn scrm_core::content::MaterialResolver>,
    ) -> (u16, Value) {
        let api = Arc::new(StaffApi {
            store: self.store(),
            wecom: self.wecom.clone(),
            tenants: DynamoTenants::new(self.db.clone()),
            directory: DynamoDirectory::new(self.db.clone()),
            refused_codes: Default::default(),
            clock: self.clock.clone(),
            signing_key: scrm_tests::signing_keys(),
            web_origins: Default::default(),
            sidebar: staff_api_fn::SidebarStores::new(self.db.clone()),
            links,
            materials,
        });
        response_json(&staff_api_fn::handle(&api, req).await.expect("infallible"))
    }

    /// The tasks of an occurrence.
    pub async fn tasks(&self, plan: &str, occ: &str) -> Vec<Task> {
        self.store()
            .occurrence_tasks(
                self.t.id(),
                &PlanId::parse(plan).unwrap(),
                &OccurrenceId::parse(occ).unwrap(),
            )
            .await
            .expect("tasks")
    }

    /// The occurrence ids of a plan, oldest first.
    pub async fn occurrence_ids(&self, plan: &str) -> Vec<String> {
        let (status, body) = self
            .admin(
                "GET",
                &format!("/v1/sop/plans/{plan}/occurrences?limit=100"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut ids: Vec<String> = body["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["occurrence_id"].as_str().unwrap().to_string())
            .collect();
        ids.reverse();
        ids
    }
}

/// A Lambda event with a default context.
pub fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

/// A fresh dispatch queue on the local SQS server (moto, started by scripts/test.sh).
pub async fn new_queue() -> SqsQueue {
    let sdk = scrm_adapters::bootstrap::aws_sdk_config()
        .expect("AWS_REGION and test credentials are exported by scripts/test.sh");
    assert!(
        std::env::var("AWS_ENDPOINT_URL_SQS").is_ok_and(|v| !v.is_empty()),
        "AWS_ENDPOINT_URL_SQS (the local SQS server) is exported by scripts/test.sh"
    );
    let client = sqs_client(&sdk);
    let name = format!(
        "sop-dispatch-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let url = SqsQueue::create(&client, &name, 30)
        .await
        .expect("create a queue on the local SQS server");
    SqsQueue::new(client, url)
}

/// The minute's scheduler (`sop-dispatch`) for one tenant, enqueuing on `queue`; its report.
pub async fn schedule(
    d: &Dispatcher<DynamoSop, DynamoDirectory, WeComClient, DynamoTenants>,
    queue: &SqsQueue,
    corp: &str,
) -> Value {
    let scheduler = Scheduler {
        store: d.store.clone(),
        // Ids and settings only, as the function is wired.
        tenants: DynamoTenants::new(db_without_secret_keys().await),
        queue: queue.clone(),
        clock: d.clock.clone(),
    };
    sop_dispatch_fn::handle(&scheduler, event(json!({ "tenant": corp })))
        .await
        .expect("schedule")
}

/// Lambda's SQS event of received messages.
pub fn sqs_event(messages: &[Received]) -> LambdaEvent<SqsEvent> {
    let records = messages
        .iter()
        .map(|m| SqsRecord {
            message_id: m.message_id.clone(),
            body: m.body.clone(),
            receipt_handle: m.receipt_handle.clone(),
        })
        .collect();
    event_of(SqsEvent { records })
}

/// A Lambda event of any payload with a default context (no deadline).
pub fn event_of<T>(payload: T) -> LambdaEvent<T> {
    LambdaEvent::new(payload, Context::default())
}

/// What Lambda's event source mapping does: the queue's messages, in batches, to the
/// worker (`sop-dispatch-worker`'s handler) until the queue is empty; the messages it
/// answers failed are made visible again at once (their visibility timeout cut short) and
/// delivered again, at most 5 times (the queue's redrive policy), then set aside as the
/// dead-letter queue would. The sum of the workers' reports.
pub async fn drain(
    d: &Dispatcher<DynamoSop, DynamoDirectory, WeComClient, DynamoTenants>,
    queue: &SqsQueue,
) -> DispatchReport {
    let mut report = DispatchReport::default();
    let mut deliveries: std::collections::HashMap<String, usize> = Default::default();
    loop {
        let got = queue.receive(10, 0).await.expect("receive");
        if got.is_empty() {
            return report;
        }
        let (answer, r) = sop_dispatch_worker_fn::work_batch(
            d,
            &sqs_event(&got).payload,
            &scrm_core::sop::dispatch::NoDeadline,
        )
        .await;
        // The handler itself answers the same (its report only logged).
        report.add(&r);
        let failed: Vec<&str> = answer
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for m in &got {
            let n = deliveries.entry(m.message_id.clone()).or_default();
            *n += 1;
            if failed.contains(&m.message_id.as_str()) && *n < 5 {
                queue.release(&m.receipt_handle, 0).await.expect("release");
            } else {
                queue.delete(&m.receipt_handle).await.expect("delete");
            }
        }
    }
}

/// One dispatch minute for a tenant as deployed: `sop-dispatch` enqueues on a queue of its
/// own, the workers take every message; the sum of the workers' reports.
pub async fn run_dispatch(
    d: &Dispatcher<DynamoSop, DynamoDirectory, WeComClient, DynamoTenants>,
    corp: &str,
) -> Value {
    let queue = new_queue().await;
    schedule(d, &queue, corp).await;
    serde_json::to_value(drain(d, &queue).await).expect("report")
}

/// A daily group plan on owners.
pub fn daily_group_plan(owners: &[&str], time: &str) -> Value {
    json!({
        "name": "每日早安",
        "kind": "group",
        "targets": {"owners": owners},
        "schedule": {"kind": "daily", "time": time},
        "content": {"text": "早上好！今天的活动：", "attachments": [
            {"kind": "link", "title": "活动", "url": "https://shop.example.com/a"}
        ]}
    })
}
