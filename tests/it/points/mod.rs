//! Community points through the real handlers against DynamoDB Local (and the fake WeCom
//! server for customer sessions minted through the admin API): the ledger's invariants (property tests, concurrency,
//! transaction limits), the earning rules, the customer and admin endpoints, the domain
//! events, bulk jobs, imports and the expiry sweep.
mod admin;
mod budget;
mod console;
mod customer;
mod events;
mod ledger;
mod ranking;
mod sessions;
mod sweep;

use admin_api_fn::AdminApi;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use customer_api_fn::CustomerApi;
use scrm_adapters::dynamo::points::keys;
use scrm_adapters::dynamo::DynamoDirectory;
use scrm_adapters::dynamo::DynamoPoints;
use scrm_adapters::dynamo::{Db, ItemExt};
use scrm_adapters::events::AnyPublisher;
use scrm_adapters::wecom::fake::FakeWeCom;
use scrm_core::clock::{Clock, FixedClock};
use scrm_core::contacts::{DirectoryWrite, MemberWrite};
use scrm_core::events::RecordingPublisher;
use scrm_core::points::{Account, CustomerId, When};
use scrm_core::tenants::{TenantId, TenantSettings};
use scrm_core::tokens::{self, Claims, TokenKind};
use scrm_tests::*;
use serde_json::Value;
use std::sync::Arc;

/// 2026-03-10 10:00 in Asia/Shanghai.
pub fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    TenantSettings::default()
        .tz()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid local time")
        .with_timezone(&Utc)
}

/// One isolated tenant with every points handler wired to DynamoDB Local.
pub struct World {
    pub db: Db,
    pub t: TestTenant,
    pub clock: Arc<FixedClock>,
    pub points: DynamoPoints,
    pub dir: DynamoDirectory,
    pub admin: Arc<AdminApi>,
    pub customer: Arc<CustomerApi>,
    pub recorder: Arc<RecordingPublisher>,
    pub fake: FakeWeCom,
}

impl World {
    pub async fn new() -> Self {
        Self::at(shanghai(2026, 3, 10, 10, 0)).await
    }

    pub async fn at(now: DateTime<Utc>) -> Self {
        let db = db().await;
        let t = tenant(&db).await;
        let clock = Arc::new(FixedClock::new(now));
        let recorder = Arc::new(RecordingPublisher::new());
        let fake = FakeWeCom::start().await.expect("start fake WeCom");
        fake.add_app(t.id().as_str(), "contact-secret", None);
        let admin = admin_api(
            &db,
            AnyPublisher::Recording(recorder.clone()),
            fake.base_url(),
            clock.clone(),
        );
        let customer = Arc::new(CustomerApi {
            points: DynamoPoints::new(db.clone()),
            forms: customer_api_fn::forms::Forms::unpublished(&db),
            fission: None,
            directory: DynamoDirectory::new(db.clone()),
            // As deployed: customer-api has no key service, so no tenant secrets.
            tenants: scrm_adapters::dynamo::DynamoTenants::new(db_without_secret_keys().await),
            clock: clock.clone(),
            signing_key: scrm_tests::signing_keys(),
            official: None,
        });
        World {
            points: DynamoPoints::new(db.clone()),
            dir: DynamoDirectory::new(db.clone()),
            db,
            t,
            clock,
            admin,
            customer,
            recorder,
            fake,
        }
    }

    pub fn tenant(&self) -> &TenantId {
        self.t.id()
    }

    pub fn when(&self) -> When {
        When::new(self.clock.now(), TenantSettings::default().tz())
    }

    pub fn acct(&self, ext: &str) -> Account {
        Account::new(self.tenant().clone(), CustomerId::parse(ext).unwrap())
    }

    pub async fn admin_call(&self, req: lambda_http::Request) -> (u16, Value) {
        let resp = admin_api_fn::handle(&self.admin, req).await.unwrap();
        response_json(&resp)
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.admin_call(get_request(path, &self.t.bearer())).await
    }

    pub async fn admin_json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.admin_call(json_request(method, path, &self.t.bearer(), body))
            .await
    }

    /// Replaces the tenant's rules through the admin API.
    pub async fn set_rules(&self, rules: Value) {
        let (status, body) = self.admin_json("PUT", "/v1/points/rules", &rules).await;
        assert_eq!(status, 200, "{body}");
    }

    pub fn token(&self, ext: &str) -> String {
        tokens::issue(
            &scrm_tests::signing_keys(),
            &Claims {
                tenant: self.tenant().to_string(),
                subject: ext.to_string(),
                kind: TokenKind::Customer,
                expires_at: (self.clock.now() + chrono::Duration::hours(1)).timestamp(),
            },
        )
    }

    pub async fn customer_call(&self, req: lambda_http::Request) -> (u16, Value) {
        let resp = customer_api_fn::handle(&self.customer, req).await.unwrap();
        response_json(&resp)
    }

    /// A customer request with the customer's token.
    pub async fn as_customer(
        &self,
        ext: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let bearer = format!("Bearer {}", self.token(ext));
        let req = match body {
            Some(b) => json_request(method, path, &bearer, b),
            None => request(method, path, &[("authorization", &bearer)], None),
        };
        self.customer_call(req).await
    }

    /// Makes customers known to the directory.
    pub async fn known(&self, ids: &[&str]) {
        for id in ids {
            self.dir
                .touch_customer(self.tenant(), id, false, 1)
                .await
                .unwrap();
        }
    }

    /// Puts a customer in a group (directory).
    pub async fn join(&self, chat: &str, ext: &str) {
        self.dir
            .touch_group(self.tenant(), chat, false, 1)
            .await
            .unwrap();
        self.dir
            .member_joined(
                self.tenant(),
                chat,
                &MemberWrite {
                    member_id: ext.into(),
                    is_customer: true,
                    join_time: Some(1),
                    join_scene: Some(3),
                    invitor: None,
                    group_nickname: None,
                    name: None,
                    state: None,
                },
                2,
            )
            .await
            .unwrap();
    }

    /// Reads the account straight from the table and checks the ledger's invariants:
    /// entries numbered 1..n without gaps, never a negative balance after an entry,
    /// balance == Σ entries == Σ lots, no debt left, each idempotency key on at most one
    /// entry. Returns the balance.
    pub async fn invariants(&self, ext: &str) -> i64 {
        check_invariants(&self.db, &self.acct(ext)).await
    }
}

pub async fn check_invariants(db: &Db, account: &Account) -> i64 {
    let pk = keys::account_pk(&account.tenant, &account.customer);
    let items: Vec<_> = db
        .client
        .query()
        .table_name(&db.tables.ledger)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let mut balance = None;
    let mut debt = 0;
    let mut entries = Vec::new();
    let mut lots = 0;
    for item in &items {
        let sk = item.s(scrm_adapters::dynamo::schema::SK).unwrap();
        if sk == "BAL" {
            balance = Some(item.n("balance").unwrap());
            debt = item.n_opt("lot_debt").unwrap().unwrap_or(0);
        } else if sk.starts_with("TX#") {
            entries.push((
                item.n("seq").unwrap(),
                item.n("amount").unwrap(),
                item.n("balance_after").unwrap(),
                item.s("idempotency_key").unwrap().to_string(),
            ));
        } else if sk.starts_with("LOT#") {
            lots += item.n("remaining").unwrap();
            assert!(item.n("remaining").unwrap() >= 0, "negative lot {item:?}");
        }
    }
    entries.sort();
    let mut running = 0;
    let mut keys_seen = std::collections::HashSet::new();
    for (i, (seq, amount, after, key)) in entries.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "entries must be numbered without gaps");
        running += amount;
        assert_eq!(
            running, *after,
            "entry {seq}: balance_after must follow the sum"
        );
        assert!(*after >= 0, "entry {seq}: negative balance");
        assert!(keys_seen.insert(key.clone()), "key {key} paid twice");
    }
    let balance = balance.unwrap_or(0);
    assert_eq!(debt, 0, "lot debt left unsettled");
    assert_eq!(balance, running, "balance item == Σ entries");
    assert_eq!(balance, lots, "balance == Σ remaining lots");
    assert!(balance >= 0);
    balance
}
