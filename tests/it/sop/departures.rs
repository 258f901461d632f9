//! Staff who leave the corp: the directory re-sync records them departed and publishes
//! `StaffDeparted` once per departure; `sop-on-event` fails their pending tasks; dispatch
//! assigns nothing new to them.
use super::*;
use directory_resync_fn::{handle as resync_handle, ResyncSettings, Resyncer};
use scrm_adapters::dynamo::DynamoTags;
use scrm_adapters::wecom::fake::FakeStaffStatus;
use scrm_core::contacts::{DirectoryRead, StaffState};
use scrm_core::events::{EventPublisher, RecordingPublisher};
use scrm_core::sop::TaskStatus;
use scrm_core::wecom::api::paths;

impl World {
    /// The `directory-resync` function, publishing into `recorder`.
    fn resyncer(
        &self,
        recorder: &Arc<RecordingPublisher>,
    ) -> Resyncer<DynamoTenants, WeComClient, Arc<RecordingPublisher>> {
        Resyncer {
            tenants: DynamoTenants::new(self.db.clone()),
            dir: DynamoDirectory::new(self.db.clone()),
            points: scrm_adapters::dynamo::DynamoPoints::new(self.db.clone()),
            tags: DynamoTags::new(self.db.clone()),
            source: self.wecom.clone(),
            publisher: recorder.clone(),
            clock: self.clock.clone(),
            settings: ResyncSettings::default(),
        }
    }

    /// Starts a re-sync through the admin API and runs it to the end through the
    /// function's handler; the events it published.
    async fn resync(&self) -> Vec<EventEnvelope> {
        let (status, body) = self
            .admin("POST", "/v1/directory/resync", Some(json!({})))
            .await;
        assert_eq!(status, 202, "{body}");
        let job = body["job"]["job_id"].as_str().unwrap().to_string();
        let recorder = Arc::new(RecordingPublisher::new());
        let out = resync_handle(
            &self.resyncer(&recorder),
            crate::directory::resync_event(self.t.id(), &job),
        )
        .await
        .expect("re-sync");
        assert_eq!(out["outcome"], "done", "{out}");
        recorder.take()
    }

    async fn staff_state(&self, userid: &str) -> Option<StaffState> {
        DynamoDirectory::new(self.db.clone())
            .staff_member(self.t.id(), userid)
            .await
            .unwrap()
            .and_then(|m| m.status)
    }

    fn resign(&self, userid: &str) {
        assert!(self.fake.update_staff(self.corp(), userid, |s| {
            s.status = FakeStaffStatus::Resigned;
        }));
    }
}

fn departures(events: &[EventEnvelope]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::StaffDeparted { userid } => Some((e.event_id.clone(), userid.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_resignation_between_two_resyncs_departs_once_and_fails_the_pending_task() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.group("wrDepA", "alice").await;
    w.group("wrDepB", "bob").await;
    // GIVEN a first re-sync that sees both active
    let first = w.resync().await;
    assert_eq!(departures(&first), vec![]);
    assert_eq!(w.staff_state("bob").await, Some(StaffState::Active));
    // AND a pending task for each
    let plan = w.plan(daily_group_plan(&["alice", "bob"], "08:30")).await;
    w.at("2026-03-02T00:30:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["tasks_created"], 2, "{report}");

    // WHEN bob resigns and the directory is re-synced
    w.resign("bob");
    w.at("2026-03-02T01:00:00Z");
    let second = w.resync().await;

    // THEN exactly one StaffDeparted, with the departure's deterministic id
    let departed_at = utc("2026-03-02T01:00:00Z").timestamp();
    let expected_id = format!("staff-departed:{}:bob:{departed_at}", w.corp());
    assert_eq!(
        departures(&second),
        vec![(expected_id.clone(), "bob".into())]
    );
    assert_eq!(w.staff_state("bob").await, Some(StaffState::Departed));
    assert_eq!(w.staff_state("alice").await, Some(StaffState::Active));
    // AND re-running the re-sync publishes nothing new
    w.at("2026-03-02T02:00:00Z");
    let third = w.resync().await;
    assert_eq!(departures(&third), vec![]);
    assert_eq!(w.staff_state("bob").await, Some(StaffState::Departed));

    // WHEN the event reaches sop-on-event (twice, as EventBridge may deliver it)
    let out = w
        .on_event(
            &expected_id,
            DomainEvent::StaffDeparted {
                userid: "bob".into(),
            },
        )
        .await;
    assert_eq!(out["tasks_failed"], 1, "{out}");
    let again = w
        .on_event(
            &expected_id,
            DomainEvent::StaffDeparted {
                userid: "bob".into(),
            },
        )
        .await;
    assert_eq!(again["tasks_failed"], 0, "{again}");

    // THEN bob's task failed with staff_left, alice's is still pending
    let tasks = w.tasks(&plan, "20260302T0030Z").await;
    let of = |staff: &str| tasks.iter().find(|t| t.staff == staff).unwrap().clone();
    assert_eq!(of("bob").status, TaskStatus::Failed);
    assert_eq!(of("bob").failure.unwrap().code, "staff_left");
    assert_eq!(of("alice").status, TaskStatus::Pending);
}

#[tokio::test]
async fn dispatch_fails_up_front_the_task_of_an_owner_who_left_and_reminds_only_the_others() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.group("wrLeftA", "alice").await;
    w.group("wrLeftB", "bob").await;
    let plan = w.plan(daily_group_plan(&["alice", "bob"], "08:30")).await;
    // bob is known, then leaves; the re-sync records it before the plan is due.
    w.resync().await;
    w.resign("bob");
    w.at("2026-03-02T00:10:00Z");
    let events = w.resync().await;
    assert_eq!(departures(&events).len(), 1);

    w.at("2026-03-02T00:30:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["tasks_created"], 1, "{report}");
    assert_eq!(report["tasks_failed"], 1, "{report}");
    let tasks = w.tasks(&plan, "20260302T0030Z").await;
    let bob = tasks.iter().find(|t| t.staff == "bob").unwrap();
    assert_eq!(bob.status, TaskStatus::Failed);
    assert_eq!(bob.failure.as_ref().unwrap().code, "staff_left");
    let alice = tasks.iter().find(|t| t.staff == "alice").unwrap();
    assert_eq!(alice.status, TaskStatus::Pending);
    // Only alice is reminded; nothing was reserved for bob's group.
    let to: Vec<String> = w
        .fake
        .requests(paths::MESSAGE_SEND)
        .iter()
        .map(|r| r["touser"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(to, vec!["alice".to_string()]);
    let (_, figures) = w
        .admin(
            "GET",
            &format!("/v1/sop/plans/{plan}/occurrences/20260302T0030Z/figures"),
            None,
        )
        .await;
    assert_eq!(figures["figures"]["failed_tasks"], 1, "{figures}");
    assert_eq!(
        figures["figures"]["failed_by_reason"]["staff_left"], 1,
        "{figures}"
    );
    // Re-fired: nothing new, still no reminder for bob.
    let again = w.dispatch().await;
    assert_eq!(again["tasks_created"], 0, "{again}");
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 1);
}

#[tokio::test]
async fn moments_senders_who_left_get_a_failed_task_and_are_not_asked_to_publish() {
    let settings = TenantSettings {
        create_wecom_moment_tasks: true,
        ..TenantSettings::default()
    };
    let w = World::new(settings, "2026-05-01T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.resync().await;
    w.resign("bob");
    w.at("2026-05-01T01:00:00Z");
    w.resync().await;
    let id = w
        .plan(json!({
            "name": "周末朋友圈",
            "kind": "moments",
            "senders": ["alice", "bob"],
            "schedule": {"kind": "weekly", "weekdays": ["sat"], "time": "20:00"},
            "content": {"text": "周末上新"}
        }))
        .await;
    w.at("2026-05-02T12:00:00Z");
    let report = w.dispatch().await;
    assert_eq!(report["tasks_created"], 1, "{report}");
    assert_eq!(report["tasks_failed"], 1, "{report}");
    let tasks = w.tasks(&id, "20260502T1200Z").await;
    let bob = tasks.iter().find(|t| t.staff == "bob").unwrap();
    assert_eq!(bob.failure.as_ref().unwrap().code, "staff_left");
    let created = w.fake.requests(paths::ADD_MOMENT_TASK);
    assert_eq!(
        created[0]["visible_range"]["sender_list"]["user_list"],
        json!(["alice"])
    );
    assert_eq!(w.fake.calls(paths::MESSAGE_SEND), 1);
}

/// A publisher whose first `publish` fails (the bus unreachable), then records.
struct FailFirst {
    failed: std::sync::atomic::AtomicBool,
    inner: Arc<RecordingPublisher>,
}

impl EventPublisher for FailFirst {
    async fn publish(
        &self,
        events: &[EventEnvelope],
    ) -> Result<(), scrm_core::events::PublishError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(scrm_core::events::PublishError::Transport(
                "bus down".into(),
            ));
        }
        self.inner.publish(events).await
    }
}

#[tokio::test]
async fn a_departure_whose_publication_failed_is_published_by_the_retry_with_the_same_id() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.resync().await;
    w.resign("bob");
    w.at("2026-03-02T01:00:00Z");
    let (status, body) = w
        .admin("POST", "/v1/directory/resync", Some(json!({})))
        .await;
    assert_eq!(status, 202, "{body}");
    let job = body["job"]["job_id"].as_str().unwrap().to_string();
    let recorder = Arc::new(RecordingPublisher::new());
    let base = w.resyncer(&recorder);
    let r = Resyncer {
        tenants: base.tenants,
        dir: base.dir,
        points: base.points,
        tags: base.tags,
        source: base.source,
        publisher: FailFirst {
            failed: std::sync::atomic::AtomicBool::new(false),
            inner: recorder.clone(),
        },
        clock: base.clock,
        settings: base.settings,
    };
    // The run records the departure, fails to publish, and fails as retryable.
    let err = resync_handle(&r, crate::directory::resync_event(w.t.id(), &job))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            scrm_core::contacts::resync_run::ResyncRunError::Retryable(_)
        ),
        "{err}"
    );
    assert_eq!(w.staff_state("bob").await, Some(StaffState::Departed));
    assert!(recorder.take().is_empty());
    // Lambda's retry publishes it, with the departure's id, once.
    let out = resync_handle(&r, crate::directory::resync_event(w.t.id(), &job))
        .await
        .unwrap();
    assert_eq!(out["outcome"], "done", "{out}");
    let departed_at = utc("2026-03-02T01:00:00Z").timestamp();
    assert_eq!(
        departures(&recorder.take()),
        vec![(
            format!("staff-departed:{}:bob:{departed_at}", w.corp()),
            "bob".to_string()
        )]
    );
    w.at("2026-03-02T02:00:00Z");
    assert_eq!(departures(&w.resync().await), vec![]);
}

#[tokio::test]
async fn a_member_who_comes_back_is_active_again() {
    let w = World::new(TenantSettings::default(), "2026-03-02T00:00:00Z").await;
    w.staff(&["alice", "bob"]);
    w.resync().await;
    w.resign("bob");
    w.at("2026-03-02T01:00:00Z");
    assert_eq!(departures(&w.resync().await).len(), 1);
    // Re-hired with the same userid: active again, so dispatch assigns him tasks.
    assert!(w.fake.update_staff(w.corp(), "bob", |s| {
        s.status = FakeStaffStatus::Active;
    }));
    w.at("2026-03-02T02:00:00Z");
    assert_eq!(departures(&w.resync().await), vec![]);
    assert_eq!(w.staff_state("bob").await, Some(StaffState::Active));
    // Leaving again is a new departure, with a new id.
    w.resign("bob");
    w.at("2026-03-02T03:00:00Z");
    let again = departures(&w.resync().await);
    let departed_at = utc("2026-03-02T03:00:00Z").timestamp();
    assert_eq!(
        again,
        vec![(
            format!("staff-departed:{}:bob:{departed_at}", w.corp()),
            "bob".to_string()
        )]
    );
}
