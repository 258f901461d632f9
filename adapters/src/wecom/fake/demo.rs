//! The demo corp the local stack runs against: a few members, customers and groups, and the
//! four tag families the product ships with.
use super::model::*;

/// The demo corp id.
pub const DEMO_CORP_ID: &str = "wwdemocorp000001";
/// The demo corp's customer-contact (客户联系) secret.
pub const DEMO_CONTACT_SECRET: &str = "demo-contact-secret";
/// The demo reminder app's secret.
pub const DEMO_APP_SECRET: &str = "demo-app-secret";
/// The demo reminder app's agent id.
pub const DEMO_AGENT_ID: i64 = 1_000_002;

pub(super) fn seed(state: &mut State) {
    state.apps.push(App {
        corp_id: DEMO_CORP_ID.into(),
        secret: DEMO_CONTACT_SECRET.into(),
        agent_id: None,
    });
    state.apps.push(App {
        corp_id: DEMO_CORP_ID.into(),
        secret: DEMO_APP_SECRET.into(),
        agent_id: Some(DEMO_AGENT_ID),
    });
    let corp = state.corp(DEMO_CORP_ID);
    // The local stack's pages: its in-app OAuth returns only there.
    corp.trusted_domains = ["127.0.0.1", "localhost"].map(String::from).into();

    for staff in [
        FakeStaff::active("zhangsan", "张三"),
        FakeStaff::active("lisi", "李四"),
        FakeStaff::resigned("wangwu", "王五"),
        // Active, without a console role: the console's "no role" answer, and the member
        // a test can record as departed.
        FakeStaff::active("zhaoliu", "赵六"),
    ] {
        corp.staff.insert(staff.userid.clone(), staff);
    }

    corp.tag_groups = vec![
        FakeTagGroup::new(
            "etdemogroupbasic",
            "基础信息",
            &[
                ("etdemotagmale", "男"),
                ("etdemotagfemale", "女"),
                ("etdemotagage1825", "18-25岁"),
                ("etdemotagage2635", "26-35岁"),
                ("etdemotagshanghai", "上海"),
            ],
        ),
        FakeTagGroup::new(
            "etdemogroupspend",
            "消费",
            &[
                ("etdemotaghighvalue", "高价值"),
                ("etdemotagmidvalue", "中价值"),
                ("etdemotaglowvalue", "低价值"),
            ],
        ),
        FakeTagGroup::new(
            "etdemogroupinteract",
            "互动",
            &[
                ("etdemotagreplied", "回复过"),
                ("etdemotagactivity", "参与活动"),
            ],
        ),
        FakeTagGroup::new(
            "etdemogroupvalue",
            "客户价值",
            &[
                ("etdemotagcore", "核心"),
                ("etdemotagimportant", "重要"),
                ("etdemotaggeneral", "一般"),
                ("etdemotagpotential", "潜在"),
            ],
        ),
    ];

    let customers = [
        (
            "wmdemo001",
            "小明",
            "zhangsan",
            &["etdemotagmale", "etdemotaghighvalue"][..],
            Some("ch01"),
        ),
        (
            "wmdemo002",
            "小红",
            "zhangsan",
            &["etdemotagfemale", "etdemotagreplied"][..],
            Some("ch01"),
        ),
        (
            "wmdemo003",
            "小刚",
            "lisi",
            &["etdemotagmale"][..],
            Some("ch02"),
        ),
        (
            "wmdemo004",
            "小丽",
            "lisi",
            &["etdemotagfemale", "etdemotagpotential"][..],
            None,
        ),
        ("wmdemo005", "小强", "wangwu", &[][..], None),
    ];
    for (id, name, follower, tags, state) in customers {
        let mut follow = FakeFollow::new(follower).with_tags(tags);
        follow.state = state.map(str::to_string);
        let mut customer = FakeCustomer::new(id, name).followed_by(follow);
        customer.unionid = Some(format!("unionid-{id}"));
        corp.customers.insert(id.into(), customer);
    }
    // More customers than one page of the console's list (20), so that a search finds a
    // customer the first page does not show: the last in id order has a Latin name.
    for n in 1..=24 {
        let id = format!("wmdemo{:03}", 100 + n);
        let name = if n == 24 {
            "Zed Searchable".to_string()
        } else {
            format!("演示客户{n:02}")
        };
        let customer = FakeCustomer::new(&id, &name).followed_by(FakeFollow::new("lisi"));
        corp.customers.insert(id, customer);
    }
    // One customer followed by two members.
    if let Some(c) = corp.customers.get_mut("wmdemo001") {
        c.follows.push(FakeFollow::new("lisi"));
    }

    let groups = [
        FakeGroup::new("wrdemo001", "会员福利群", "zhangsan")
            .with_member(FakeMember::customer("wmdemo001", "小明"))
            .with_member(FakeMember::customer("wmdemo002", "小红")),
        FakeGroup::new("wrdemo002", "新人群", "lisi")
            .with_member(FakeMember::customer("wmdemo003", "小刚"))
            .with_member(FakeMember::customer("wmdemo004", "小丽")),
        {
            let mut g = FakeGroup::new("wrdemo003", "老客户群", "wangwu")
                .with_member(FakeMember::customer("wmdemo005", "小强"));
            g.status = 1;
            g
        },
    ];
    for group in groups {
        corp.groups.insert(group.chat_id.clone(), group);
    }

    for userid in ["zhangsan", "lisi"] {
        corp.oauth_codes
            .insert(format!("demo-code-{userid}"), OAuthCode::reusable(userid));
    }
    corp.unionids.insert(
        "unionid-wmdemo001".into(),
        UnionMapping {
            openid: "openid-wmdemo001".into(),
            target: UnionTarget::Customer("wmdemo001".into()),
        },
    );
    corp.welcome_codes.insert("demo-welcome-code".into(), false);
    super::official::seed_demo(state);
}
