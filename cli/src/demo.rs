//! `scrm demo seed`: a little activity for the demo tenant, so that the console's
//! dashboard and lists show something on a fresh local stack: earning rules, 30 days of
//! customers added and lost and of group joins and leaves, check-ins of the demo customers
//! over the past two weeks, a welcome award, a reward and a redemption, and a daily
//! check-in reminder plan for the demo groups.
//!
//! Everything goes through the use cases the functions run (a callback's change applied
//! to the directory and its events handled by the points rules, rules, check-ins, ledger
//! writes, the catalogue, plans), so the data is what real traffic would leave, indexes and
//! counters included. Every step is idempotent (a change by its callback key and events by
//! their ids, check-ins by day, awards and the redemption by their keys, the reward by its
//! idempotency key, the plan by its name), so running it again changes nothing.
use crate::ops;
use anyhow::Context;
use chrono::{Duration, Utc};
use clap::Subcommand;
use scrm_adapters::dynamo::{DynamoDirectory, DynamoPoints, DynamoSop, DynamoTags, DynamoTenants};
use scrm_adapters::wecom::WeComClient;
use scrm_core::clock::SystemClock;
use scrm_core::contacts::apply::{Applier, Change};
use scrm_core::events::{EventEnvelope, RemovedBy};
use scrm_core::points::admin::{create_reward, replace_rules, when_for};
use scrm_core::points::earn::check_in_customer;
use scrm_core::points::ledger::{apply, redeem, Operation};
use scrm_core::points::on_event::on_event;
use scrm_core::points::rewards::NewReward;
use scrm_core::points::{
    Account, CustomerId, EntryKind, IdempotencyKey, Origin, Points, PointsRules, When,
};
use scrm_core::sop::admin::create_plan;
use scrm_core::sop::{PlanInput, PlanStore};
use scrm_core::tenants::TenantId;

/// Demo data.
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Seed the demo tenant with a little activity (idempotent).
    Seed {
        /// The tenant (the fake WeCom server's demo corp).
        #[arg(long, default_value = "wwdemocorp000001")]
        corp_id: String,
        /// Table name prefix (ignored when the *_TABLE variables are set).
        #[arg(long, default_value = "scrm")]
        prefix: String,
    },
}

/// The demo corp's customers (see the fake WeCom server's demo corp), and on how many of
/// the last 14 days each checked in (a streak ending today).
const CHECK_INS: [(&str, i64); 5] = [
    ("wmdemo001", 14),
    ("wmdemo002", 9),
    ("wmdemo003", 5),
    ("wmdemo004", 3),
    ("wmdemo005", 1),
];

const PLAN_NAME: &str = "每日签到提醒";

/// Runs a demo command.
pub async fn run(cmd: DemoCommand) -> anyhow::Result<()> {
    let DemoCommand::Seed { corp_id, prefix } = cmd;
    let t = TenantId::parse(&corp_id).context("--corp-id")?;
    let db = ops::plain_db(&prefix).await;
    let (tenants, points) = (
        DynamoTenants::new(db.clone()),
        DynamoPoints::new(db.clone()),
    );
    let (directory, sop) = (DynamoDirectory::new(db.clone()), DynamoSop::new(db.clone()));
    let now = Utc::now();
    let when = when_for(&tenants, &t, now).await.context("tenant")?;
    let tz = when.tz;

    let rules: PointsRules = serde_json::from_value(serde_json::json!({
        "newcomer": {"enabled": true, "points": 20, "on_contact_added": true, "on_group_join": true},
        "check_in": {"enabled": true, "base_points": 2,
            "streak_tiers": [{"days": 3, "bonus": 5}, {"days": 7, "bonus": 15}],
            "cumulative_tiers": [{"days": 10, "bonus": 20}], "cumulative_period": "month"},
        "profile": {"enabled": true, "points": 10, "fields": ["name", "mobile"]},
        "validity_days": 365
    }))?;
    replace_rules(&points, &tenants, &t, &rules, "demo-seed", now).await?;
    println!("rules: check-in, newcomer, profile, 365 days validity");

    let tags = DynamoTags::new(db.clone());
    let (added, lost) = history(&directory, &tags, &points, &tenants, &t, now).await?;
    println!("customers: {added} added and {lost} lost over the last 30 days, with their group joins and leaves");

    let mut check_ins = 0;
    for (ext, days) in CHECK_INS {
        let account = Account::new(t.clone(), CustomerId::parse(ext)?);
        for back in (0..days).rev() {
            // Dated on that past day, written now: as a late event would be.
            let day = When::dated(now - Duration::days(back), now, tz);
            check_in_customer(&points, &directory, &account, day).await?;
            check_ins += 1;
        }
        let welcome = Operation::credit(
            IdempotencyKey::system("bulk:demo-welcome"),
            EntryKind::Earn,
            Points::new(100)?,
            rules.expiry_for(when.today()),
            Origin::new("welcome gift", "scrm demo seed", "demo-seed"),
        );
        apply(&points, &account, &welcome, when).await?;
    }
    println!("check-ins: {check_ins} over the last 14 days; a welcome gift of 100 points each");

    let reward = create_reward(
        &points,
        &t,
        &NewReward {
            name: "定制帆布袋".into(),
            description: Some("会员专享".into()),
            cost: 50,
            stock: 100,
            active: true,
        },
        Some(IdempotencyKey::system("demo-seed-reward")),
        "demo-seed",
        now,
    )
    .await?;
    let buyer = Account::new(t.clone(), CustomerId::parse("wmdemo001")?);
    redeem(
        &points,
        &buyer,
        &reward.reward_id,
        IdempotencyKey::system("redeem:demo-seed"),
        Origin::new("redeem", "scrm demo seed", "customer:wmdemo001"),
        when,
    )
    .await?;
    println!(
        "reward: {} ({}), redeemed once",
        reward.name, reward.reward_id
    );

    let plans = sop.plans(&t, None, 200).await?;
    if plans.items.iter().any(|p| p.name == PLAN_NAME) {
        println!("plan: {PLAN_NAME} exists");
    } else {
        let input: PlanInput = serde_json::from_value(serde_json::json!({
            "name": PLAN_NAME,
            "kind": "group",
            "targets": {"chat_ids": ["wrdemo001", "wrdemo002"]},
            "schedule": {"kind": "daily", "time": "09:00"},
            "content": {"text": "今天签到了吗？连续签到 3 天、7 天有额外积分。"}
        }))?;
        let plan = create_plan(&sop, &tenants, &t, input, now).await?;
        println!("plan: {PLAN_NAME} ({})", plan.plan_id);
    }
    Ok(())
}

/// The demo corp's staff who add the seeded customers, in turn.
const STAFF: [&str; 3] = ["zhangsan", "lisi", "wangwu"];

/// 30 days of customers: each day one to four new ones (added by a member, the first of
/// them joining a demo group), and every third day one of those added two days before
/// deleting the member and leaving the group. Each change is applied as its callback would
/// be (at that past time, under a callback key of its own) and its events are handled by
/// the points rules, which count the dashboard's figures and pay newcomer points.
async fn history(
    directory: &DynamoDirectory,
    tags: &DynamoTags,
    points: &DynamoPoints,
    tenants: &DynamoTenants,
    t: &TenantId,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<(usize, usize)> {
    let applier: Applier<'_, _, _, WeComClient> = Applier {
        dir: directory,
        tags,
        source: None,
        fetch_budget: std::time::Duration::from_secs(1),
        tenant: t,
    };
    let customer = |back: i64, k: i64| format!("wmseed{back:02}{k}");
    let group = |back: i64| format!("wrdemo00{}", 1 + back % 3);
    let (mut added, mut lost) = (0, 0);
    for back in (1..=30i64).rev() {
        let day = now - Duration::days(back);
        let mut changes = Vec::new();
        for k in 0..1 + (back * 7) % 4 {
            let ext = customer(back, k);
            changes.push(Change::ContactAdded {
                userid: STAFF[(k % 3) as usize].to_string(),
                external_userid: ext.clone(),
                state: Some("demo".into()),
                half: false,
                welcome_code: None,
            });
            if k == 0 {
                changes.push(joined_or_left(&group(back), &ext, true));
            }
            added += 1;
        }
        if back % 3 == 0 && back <= 28 {
            let ext = customer(back + 2, 0);
            changes.push(Change::ContactRemoved {
                userid: STAFF[0].to_string(),
                external_userid: ext.clone(),
                by: RemovedBy::Customer,
                source: None,
            });
            changes.push(joined_or_left(&group(back + 2), &ext, false));
            lost += 1;
        }
        for (n, change) in changes.iter().enumerate() {
            let at = day + Duration::minutes(n as i64);
            let by = format!("demo-seed:{}:{n}", day.format("%Y-%m-%d"));
            for produced in applier.apply(change, at.timestamp(), &by).await? {
                let env =
                    EventEnvelope::new(produced.event_id(&by), t.as_str(), at, produced.event);
                on_event(points, directory, tenants, &SystemClock, &env).await?;
            }
        }
    }
    Ok((added, lost))
}

/// A member joining or leaving a group, as `change_external_chat` says it.
fn joined_or_left(chat_id: &str, member: &str, joined: bool) -> Change {
    Change::GroupUpdated {
        chat_id: chat_id.to_string(),
        detail: if joined { "add_member" } else { "del_member" }.to_string(),
        join_scene: joined.then_some(3),
        quit_scene: (!joined).then_some(0),
        members: vec![member.to_string()],
        cur_mem_ver: None,
    }
}
