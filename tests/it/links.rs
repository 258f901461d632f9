//! Tracked links, end to end on DynamoDB Local and the fake WeCom server: a link created
//! through the admin API (idempotent), a staff member's own code minted, clicks through the
//! `link-redirect` handler (302 to the target, counted per link, staff and day), an
//! identified click publishing `CustomerInteracted`, the `link-notify` consumer telling the
//! staff member once per window (clicks coalesced, a redelivery sending nothing, the flush
//! sending what waited, WeCom's 30-a-minute limit never reached), and bad input.
//!
//! Visitors: distinct visitors per day (the customer, else the browser's visitor cookie);
//! an unidentified visitor inside WeChat sent through the tenant's official account's
//! silent OAuth (the fake's `/mp` consent page) and back to `/l/{code}/oauth`, identified
//! through WeCom's unionid mapping; a bad state or code, WeCom's browser, other browsers
//! and tenants with `link_visitor_oauth` off landing on the target without it.
use crate::directory::{admin_call, test_now, world, World};
use crate::growth::admin;
use link_notify_fn::{apply, run_flush, LinkNotify};
use link_redirect_fn::wire::OfficialOAuth;
use link_redirect_fn::{handle as redirect, AppCache, CodeCache, LinkRedirect, OAuthSetup};
use scrm_adapters::bootstrap::{wecom_config, WeComUse};
use scrm_adapters::dynamo::{DynamoDirectory, DynamoGrowth, DynamoTenants};
use scrm_adapters::wecom::fake::{FakeStaff, FakeWeChatUser};
use scrm_adapters::wecom::{DynamoTokenCache, WeChatClient, WeComClient};
use scrm_core::events::{DomainEvent, EventEnvelope, RecordingPublisher};
use scrm_core::links::notify::{NotifyOutcome, Sent};
use scrm_core::links::visitor::{OfficialLinkOAuth, STATE_SECS};
use scrm_core::tenants::TenantSettings;
use scrm_core::tokens::{issue, Claims, TokenKind};
use scrm_tests::*;
use serde_json::{json, Value};
use std::sync::Arc;

type Redirect = LinkRedirect<DynamoGrowth, Arc<RecordingPublisher>>;
type Notify = LinkNotify<DynamoGrowth, WeComClient, DynamoDirectory, DynamoTenants>;

fn redirector(w: &World) -> Redirect {
    LinkRedirect {
        store: DynamoGrowth::new(w.db.clone()),
        publisher: w.recorder.clone(),
        signing_keys: Some(signing_keys()),
        clock: w.clock.clone(),
        cache: CodeCache::default(),
        oauth: None,
    }
}

fn notifier(w: &World) -> Notify {
    LinkNotify {
        store: DynamoGrowth::new(w.db.clone()),
        messenger: w.client.clone(),
        facts: DynamoDirectory::new(w.db.clone()),
        tenants: DynamoTenants::new(w.db.clone()),
        clock: w.clock.clone(),
    }
}

async fn setup(w: &World) -> TestTenant {
    let t = tenant(&w.db).await;
    let corp = t.id().as_str();
    w.fake.set_now(test_now().timestamp());
    w.fake.add_app(corp, "app-secret", Some(1000002));
    w.fake
        .add_staff(corp, FakeStaff::active("zhangsan", "张三"));
    t
}

fn create(t: &TestTenant, key: Option<&str>, body: &Value) -> lambda_http::Request {
    let mut req = json_request("POST", "/v1/links", &t.bearer(), body);
    if let Some(key) = key {
        req.headers_mut()
            .insert("idempotency-key", key.parse().expect("header"));
    }
    req
}

fn customer_token(t: &TestTenant, customer: &str) -> String {
    issue(
        &signing_keys(),
        &Claims {
            tenant: t.id().as_str().to_string(),
            subject: customer.to_string(),
            kind: TokenKind::Customer,
            expires_at: test_now().timestamp() + 3600,
        },
    )
}

/// Follows a short path through the redirect: status and `Location`.
async fn click(r: &Redirect, path: &str) -> (u16, Option<String>) {
    let resp = redirect(r, request("GET", path, &[], None)).await.unwrap();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp.status().as_u16(), location)
}

fn clicks_of(recorder: &RecordingPublisher) -> Vec<EventEnvelope> {
    recorder
        .take()
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::CustomerInteracted { .. }))
        .collect()
}

#[tokio::test]
async fn a_link_redirects_counts_per_link_and_staff_and_tells_the_sender_once_a_window() {
    let w = world().await;
    let t = setup(&w).await;
    let corp = t.id().as_str().to_string();
    let api = admin(&w);
    let target = "https://shop.example.com/sale?utm=scrm";

    // Created once; a retry answers the same link and short path.
    let body = json!({ "url": target, "title": "双十二大促" });
    let (status, link) = admin_call(&api, create(&t, Some("link-1"), &body)).await;
    assert_eq!(status, 201, "{link}");
    let path = link["path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/l/") && path.len() == 13, "{path}");
    let (status, again) = admin_call(&api, create(&t, Some("link-1"), &body)).await;
    assert_eq!((status, &again["path"]), (200, &link["path"]), "{again}");
    let other = json!({ "url": "https://shop.example.com/other" });
    let (status, refused) = admin_call(&api, create(&t, Some("link-1"), &other)).await;
    assert_eq!(status, 409, "{refused}");

    // zhangsan's own code of the link: another code, its clicks his.
    let link_id = link["link_id"].as_str().unwrap();
    let (status, mine) = admin_call(
        &api,
        json_request(
            "POST",
            &format!("/v1/links/{link_id}/codes"),
            &t.bearer(),
            &json!({ "staff": "zhangsan" }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    let staff_path = mine["path"].as_str().unwrap().to_string();
    assert_ne!(staff_path, path);

    // An anonymous click: counted, no event. An identified one: counted and published.
    let r = redirector(&w);
    assert_eq!(click(&r, &path).await, (302, Some(target.to_string())));
    assert!(clicks_of(&w.recorder).is_empty());
    let token = customer_token(&t, "wmCustomerA");
    assert_eq!(
        click(&r, &format!("{staff_path}?ct={token}")).await,
        (302, Some(target.to_string()))
    );
    let events = clicks_of(&w.recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    let DomainEvent::CustomerInteracted {
        external_userid,
        userid,
        link: Some(clicked),
        ..
    } = &events[0].event
    else {
        panic!("{events:?}")
    };
    assert_eq!(external_userid, "wmCustomerA");
    assert_eq!(userid.as_deref(), Some("zhangsan"));
    assert_eq!(clicked.link_id, link_id);
    // Another tenant's token identifies nobody here.
    let stranger = setup(&w).await;
    let foreign = customer_token(&stranger, "wmCustomerA");
    assert_eq!(click(&r, &format!("{path}?ct={foreign}")).await.0, 302);
    assert!(clicks_of(&w.recorder).is_empty());

    // Counted per link, per staff member and day.
    let (status, figures) = admin_call(
        &api,
        get_request(
            "/v1/links/figures?from=2026-03-02&to=2026-03-02",
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(
        figures["total"],
        json!({ "clicks": 3, "identified": 1, "visitors": 3 }),
        "{figures}"
    );
    assert_eq!(figures["by_link"][0]["key"], link_id);
    assert_eq!(
        figures["by_staff"],
        json!([{ "key": "zhangsan", "clicks": 1, "identified": 1, "visitors": 1 }])
    );
    assert_eq!(figures["by_day"][0]["clicks"], 3);
    let (status, list) = admin_call(
        &api,
        get_request("/v1/links?from=2026-03-01&to=2026-03-02", &t.bearer()),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["clicks"], 3, "{list}");

    // The sender is told at once; the redelivered event sends nothing twice.
    let n = notifier(&w);
    let first = apply(&n, &events[0]).await.unwrap();
    assert_eq!(first, NotifyOutcome::Noted(Sent::Message(1)));
    assert_eq!(
        apply(&n, &events[0]).await.unwrap(),
        NotifyOutcome::Duplicate
    );
    let messages = w.fake.delivered_app_messages(&corp);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["touser"], "zhangsan");
    assert!(messages[0]["text"]["content"]
        .as_str()
        .unwrap()
        .contains("双十二大促"));

    // Forty more clicks within the minute wait for the window, however often flushed.
    for i in 0..40 {
        let token = customer_token(&t, &format!("wmBurst{i}"));
        assert_eq!(click(&r, &format!("{staff_path}?ct={token}")).await.0, 302);
    }
    let burst = clicks_of(&w.recorder);
    assert_eq!(burst.len(), 40);
    for e in &burst {
        assert_eq!(
            apply(&n, e).await.unwrap(),
            NotifyOutcome::Noted(Sent::Waiting)
        );
    }
    assert_eq!(run_flush(&n).await.unwrap().messages, 0);
    assert_eq!(w.fake.delivered_app_messages(&corp).len(), 1);

    // The window over, one message lists them all; nothing is left to flush after it.
    w.clock.advance(chrono::Duration::seconds(61));
    let report = run_flush(&n).await.unwrap();
    assert_eq!((report.messages, report.clicks), (1, 40), "{report:?}");
    let messages = w.fake.delivered_app_messages(&corp);
    assert_eq!(messages.len(), 2);
    assert!(messages[1]["text"]["content"]
        .as_str()
        .unwrap()
        .contains("40 次"));
    w.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(run_flush(&n).await.unwrap().messages, 0);
    for e in &burst {
        assert_eq!(apply(&n, e).await.unwrap(), NotifyOutcome::Duplicate);
    }
    assert_eq!(w.fake.delivered_app_messages(&corp).len(), 2);
    assert!(w.fake.dropped_app_messages(&corp).is_empty());
}

#[tokio::test]
async fn bad_links_and_unknown_codes_are_refused_without_writing() {
    let w = world().await;
    let t = setup(&w).await;
    let api = admin(&w);
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for (body, key) in [
        (json!({ "url": "javascript:alert(1)" }), Some("k1")),
        (json!({ "url": "ftp://example.com/file" }), Some("k2")),
        (json!({ "url": long }), Some("k3")),
        (
            json!({ "url": "https://example.com", "title": "" }),
            Some("k4"),
        ),
        (
            json!({ "url": "https://example.com", "extra": 1 }),
            Some("k5"),
        ),
        (json!({ "url": "https://example.com" }), None),
    ] {
        let (status, answer) = admin_call(&api, create(&t, key, &body)).await;
        assert_eq!(status, 400, "{body} {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
    let (status, list) = admin_call(&api, get_request("/v1/links", &t.bearer())).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"], json!([]));
    let (status, _) = admin_call(
        &api,
        get_request(
            "/v1/links/figures?from=2026-03-02&to=2026-01-01",
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = admin_call(
        &api,
        json_request(
            "POST",
            "/v1/links/lk0000000000000000/codes",
            &t.bearer(),
            &json!({ "staff": "zhangsan" }),
        ),
    )
    .await;
    assert_eq!(status, 404);

    let r = redirector(&w);
    for path in [
        "/l/AAAAAAAAAA",
        "/l/short",
        "/l/../../etc",
        "/",
        "/l/AAAAAAAAAA/extra",
    ] {
        let resp = redirect(&r, request("GET", path, &[], None)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        assert!(resp.headers().get("location").is_none());
    }
    let resp = redirect(&r, request("POST", "/l/AAAAAAAAAA", &[], None))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(w.recorder.take().is_empty());
}

const APP: &str = "wxa1b2c3d4e5f6a7b8";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const LINKS_BASE: &str = "https://l.example.com";
const WECHAT_UA: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.49 NetType/WIFI";
const WECOM_UA: &str = "Mozilla/5.0 (iPhone) MicroMessenger/7.0.1 wxwork/4.1.20";
const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36";

type OAuthRedirect = LinkRedirect<DynamoGrowth, Arc<RecordingPublisher>, OfficialOAuth>;

/// The redirect wired as deployed with the official-account OAuth: WeChat is the fake's
/// `/mp`, WeCom's unionid mapping the fake's.
fn oauth_redirector(w: &World) -> OAuthRedirect {
    let wechat = WeChatClient::new(
        wecom_config(&w.fake.wechat_api_base(), WeComUse::PersonWaiting),
        Arc::new(DynamoTokenCache::from_db(&w.db).unwrap()),
    )
    .unwrap();
    LinkRedirect {
        store: DynamoGrowth::new(w.db.clone()),
        publisher: w.recorder.clone(),
        signing_keys: Some(signing_keys()),
        clock: w.clock.clone(),
        cache: CodeCache::default(),
        oauth: Some(OAuthSetup {
            oauth: OfficialLinkOAuth {
                accounts: DynamoTenants::new(w.db.clone()).official_accounts(),
                wechat,
                resolver: w.client.clone(),
                tenants: DynamoTenants::new(w.db.clone()),
                keys: signing_keys(),
            },
            authorize_url: w.fake.wechat_oauth_base(),
            public_base: Some(LINKS_BASE.to_string()),
            apps: AppCache::default(),
        }),
    }
}

fn wechat_user(openid: &str, unionid: &str, subscribed: bool) -> FakeWeChatUser {
    FakeWeChatUser {
        openid: openid.into(),
        unionid: Some(unionid.into()),
        nickname: openid.into(),
        subscribed,
    }
}

/// A tenant with `settings` whose official account is configured through the admin API
/// (when `official`), its WeChat users: `o-fan` (a follower, customer `wmFan`) and
/// `o-nobody` (a follower WeCom does not know), and a link of it: its short path.
async fn oauth_tenant(w: &World, settings: TenantSettings, official: bool) -> (TestTenant, String) {
    let t = tenant_with(&w.db, settings).await;
    let corp = t.id().as_str();
    w.fake.set_now(test_now().timestamp());
    w.fake.add_app(corp, "contact-secret", None);
    w.fake.add_app(corp, "app-secret", Some(1000002));
    w.fake.add_official_account(APP, APP_SECRET);
    w.fake
        .add_wechat_user(APP, wechat_user("o-fan", "u-fan", true));
    w.fake
        .add_wechat_user(APP, wechat_user("o-nobody", "u-nobody", true));
    w.fake.map_unionid(corp, "u-fan", "o-fan", "wmFan");
    let api = admin(w);
    if official {
        let (status, body) = admin_call(
            &api,
            json_request(
                "PUT",
                "/v1/tenant/official-account",
                &t.bearer(),
                &json!({ "app_id": APP, "secret": APP_SECRET }),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, link) = admin_call(
        &api,
        create(
            &t,
            Some("oauth-link"),
            &json!({ "url": "https://shop.example.com/new?x=1" }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    (t, link["path"].as_str().unwrap().to_string())
}

/// One answer of the redirect: status, `Location` and the cookies it sets (`name=value`).
struct Visit {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
}

impl Visit {
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

async fn visit<O: scrm_core::links::LinkOAuth>(
    r: &LinkRedirect<DynamoGrowth, Arc<RecordingPublisher>, O>,
    path: &str,
    ua: &str,
    cookies: &[(&str, &str)],
) -> Visit {
    let jar = cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = vec![("user-agent", ua)];
    if !jar.is_empty() {
        headers.push(("cookie", jar.as_str()));
    }
    let resp = redirect(r, request("GET", path, &headers, None))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    Visit {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        cookies: resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|c| {
                assert!(c.contains("HttpOnly; Secure; SameSite=Lax"), "{c}");
                c.split(';').next().unwrap().to_string()
            })
            .collect(),
    }
}

/// The link's figures of the test day: `total`.
async fn totals(w: &World, t: &TestTenant) -> Value {
    let (status, figures) = admin_call(
        &admin(w),
        get_request(
            "/v1/links/figures?from=2026-03-02&to=2026-03-02",
            &t.bearer(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(figures["by_day"][0]["key"], "2026-03-02", "{figures}");
    assert_eq!(
        figures["by_day"][0]["visitors"],
        figures["total"]["visitors"]
    );
    figures["total"].clone()
}

/// Goes through the fake's consent page of WeChat's authorize URL as `openid`: the path and
/// query WeChat comes back to on the short-link host.
async fn consent(w: &World, authorize: &str, openid: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = page
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains(&format!("openid={openid}")))
        .unwrap_or_else(|| panic!("{page}"))
        .replace("&amp;", "&");
    let confirm = http
        .get(format!("http://{}{href}", w.fake.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status().as_u16(), 302);
    let back = confirm.headers()["location"].to_str().unwrap().to_string();
    back.strip_prefix(LINKS_BASE)
        .unwrap_or_else(|| panic!("{back}"))
        .to_string()
}

#[tokio::test]
async fn a_wechat_visitor_goes_through_the_official_account_once_and_is_counted_as_the_customer() {
    let w = world().await;
    let (t, path) = oauth_tenant(&w, TenantSettings::default(), true).await;
    let corp = t.id().as_str().to_string();
    let target = "https://shop.example.com/new?x=1";
    let r = oauth_redirector(&w);
    let id_cookie = format!("scrm_lv_{corp}");

    // Nobody known inside WeChat: off to the account's silent OAuth, nothing counted yet.
    let first = visit(&r, &path, WECHAT_UA, &[]).await;
    assert_eq!(first.status, 302);
    let authorize = first.location.clone().unwrap();
    let url = url::Url::parse(&authorize).unwrap();
    assert!(
        authorize.starts_with(&w.fake.wechat_oauth_base()),
        "{authorize}"
    );
    assert!(authorize.ends_with("#wechat_redirect"), "{authorize}");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["appid"], APP);
    assert_eq!(q["scope"], "snsapi_base");
    assert_eq!(q["redirect_uri"], format!("{LINKS_BASE}{path}/oauth"));
    assert!(!authorize.contains(APP_SECRET));
    let vid = first.cookie("scrm_vid").expect("visitor cookie");
    assert!(first.cookie(&id_cookie).is_none());
    assert!(clicks_of(&w.recorder).is_empty());
    assert_eq!(totals(&w, &t).await["clicks"], 0);

    // WeChat comes back with the follower's code: identified through WeCom's unionid
    // mapping, on to the target, counted once and published once.
    let back = consent(&w, &authorize, "o-fan").await;
    assert!(back.starts_with(&format!("{path}/oauth?code=")), "{back}");
    let landed = visit(&r, &back, WECHAT_UA, &[("scrm_vid", &vid)]).await;
    assert_eq!(
        (landed.status, landed.location.as_deref()),
        (302, Some(target))
    );
    let identity = landed.cookie(&id_cookie).expect("identity cookie");
    assert!(landed.cookie("scrm_vid").is_none(), "kept, not replaced");
    let events = clicks_of(&w.recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    let DomainEvent::CustomerInteracted {
        external_userid, ..
    } = &events[0].event
    else {
        panic!("{events:?}")
    };
    assert_eq!(external_userid, "wmFan");
    assert_eq!(
        totals(&w, &t).await,
        json!({ "clicks": 1, "identified": 1, "visitors": 1 })
    );

    // The cookie remembers them: the next click goes straight to the target, published once
    // more, the same visitor of the day.
    let again = visit(
        &r,
        &path,
        WECHAT_UA,
        &[("scrm_vid", &vid), (&id_cookie, &identity)],
    )
    .await;
    assert_eq!(
        (again.status, again.location.as_deref()),
        (302, Some(target))
    );
    let events = clicks_of(&w.recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        &events[0].event,
        DomainEvent::CustomerInteracted { external_userid, .. } if external_userid == "wmFan"
    ));
    assert_eq!(
        totals(&w, &t).await,
        json!({ "clicks": 2, "identified": 2, "visitors": 1 })
    );
    // The identity is the tenant's: another tenant's cookie name is not read, and the cookie
    // is no customer token.
    let token_like = visit(
        &r,
        &format!("{path}?ct={identity}"),
        CHROME_UA,
        &[("scrm_vid", &vid)],
    )
    .await;
    assert_eq!(token_like.location.as_deref(), Some(target));
    assert!(clicks_of(&w.recorder).is_empty());

    // The code again (WeChat says used), a forged or expired state, another browser's state,
    // a refusal: all land on the target, anonymous, never an error page.
    let fresh = visit(&r, &path, WECHAT_UA, &[]).await;
    let fresh_vid = fresh.cookie("scrm_vid").unwrap();
    let fresh_back = consent(&w, fresh.location.as_deref().unwrap(), "o-fan").await;
    let state = url::Url::parse(&format!("{LINKS_BASE}{fresh_back}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cases = [
        (back.clone(), vid.clone()),
        (fresh_back.clone(), vid.clone()),
        (
            format!("{path}/oauth?code=c123&state=0000000000{}", "0".repeat(32)),
            fresh_vid.clone(),
        ),
        (format!("{path}/oauth?code=c123"), fresh_vid.clone()),
        (
            format!("{path}/oauth?code=bad%20code&state={state}"),
            fresh_vid.clone(),
        ),
    ];
    for (i, (p, v)) in cases.iter().enumerate() {
        let bad = visit(&r, p, WECHAT_UA, &[("scrm_vid", v)]).await;
        assert_eq!(
            (bad.status, bad.location.as_deref()),
            (302, Some(target)),
            "case {i}: {p}"
        );
        assert!(bad.cookie(&id_cookie).is_none(), "case {i}: {p}");
    }
    assert!(clicks_of(&w.recorder).is_empty());
    // An expired state with a good code: anonymous too.
    w.clock.advance(chrono::Duration::seconds(STATE_SECS + 1));
    let late = visit(&r, &fresh_back, WECHAT_UA, &[("scrm_vid", &fresh_vid)]).await;
    assert_eq!((late.status, late.location.as_deref()), (302, Some(target)));
    assert!(late.cookie(&id_cookie).is_none());
    assert!(clicks_of(&w.recorder).is_empty());
    // Counted all the same: the customer, and each browser while anonymous, once each.
    assert_eq!(
        totals(&w, &t).await,
        json!({ "clicks": 9, "identified": 2, "visitors": 3 })
    );

    // A WeChat user who is no customer: asked once, remembered, counted anonymously.
    let stranger = visit(&r, &path, WECHAT_UA, &[]).await;
    let stranger_vid = stranger.cookie("scrm_vid").unwrap();
    let back = consent(&w, stranger.location.as_deref().unwrap(), "o-nobody").await;
    let landed = visit(&r, &back, WECHAT_UA, &[("scrm_vid", &stranger_vid)]).await;
    assert_eq!(landed.location.as_deref(), Some(target));
    let asked = landed.cookie(&id_cookie).expect("remembered");
    let next = visit(
        &r,
        &path,
        WECHAT_UA,
        &[("scrm_vid", &stranger_vid), (&id_cookie, &asked)],
    )
    .await;
    assert_eq!(next.location.as_deref(), Some(target));
    assert!(clicks_of(&w.recorder).is_empty());
    assert_eq!(
        totals(&w, &t).await,
        json!({ "clicks": 11, "identified": 2, "visitors": 4 })
    );
}

#[tokio::test]
async fn tokens_other_browsers_and_tenants_without_it_never_go_through_wechat() {
    let w = world().await;
    let (t, path) = oauth_tenant(&w, TenantSettings::default(), true).await;
    let target = "https://shop.example.com/new?x=1";
    let r = oauth_redirector(&w);

    // A customer token identifies the visitor inside WeChat without the OAuth.
    let token = customer_token(&t, "wmTokened");
    let v = visit(&r, &format!("{path}?ct={token}"), WECHAT_UA, &[]).await;
    assert_eq!((v.status, v.location.as_deref()), (302, Some(target)));
    let events = clicks_of(&w.recorder);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        &events[0].event,
        DomainEvent::CustomerInteracted { external_userid, .. } if external_userid == "wmTokened"
    ));
    // Outside WeChat (a browser, WeCom's own): straight to the target, anonymous; the same
    // browser twice is one visitor.
    let chrome = visit(&r, &path, CHROME_UA, &[]).await;
    assert_eq!(chrome.location.as_deref(), Some(target));
    let chrome_vid = chrome.cookie("scrm_vid").unwrap();
    let twice = visit(&r, &path, CHROME_UA, &[("scrm_vid", &chrome_vid)]).await;
    assert_eq!(twice.location.as_deref(), Some(target));
    assert!(twice.cookie("scrm_vid").is_none());
    let wecom = visit(&r, &path, WECOM_UA, &[]).await;
    assert_eq!(wecom.location.as_deref(), Some(target));
    // A visitor cookie that is not one of ours is replaced.
    let forged = visit(&r, &path, CHROME_UA, &[("scrm_vid", "../../x")]).await;
    assert_eq!(forged.location.as_deref(), Some(target));
    assert!(forged.cookie("scrm_vid").is_some());
    assert!(clicks_of(&w.recorder).is_empty());
    assert_eq!(
        totals(&w, &t).await,
        json!({ "clicks": 5, "identified": 1, "visitors": 4 })
    );

    // A tenant that turned it off, and one without an official account: no OAuth.
    let off = TenantSettings {
        link_visitor_oauth: false,
        ..TenantSettings::default()
    };
    let (t_off, path_off) = oauth_tenant(&w, off, true).await;
    let (t_none, path_none) = oauth_tenant(&w, TenantSettings::default(), false).await;
    for (t, p) in [(&t_off, &path_off), (&t_none, &path_none)] {
        let v = visit(&r, p, WECHAT_UA, &[]).await;
        assert_eq!(
            (v.status, v.location.as_deref()),
            (302, Some(target)),
            "{p}"
        );
        assert_eq!(
            totals(&w, t).await,
            json!({ "clicks": 1, "identified": 0, "visitors": 1 })
        );
    }
    // Its callback, reached anyway, lands on the target without asking WeChat.
    let before = w.fake.calls("mp/sns/oauth2/access_token");
    let v = visit(
        &r,
        &format!("{path_off}/oauth?code=c1&state=x"),
        WECHAT_UA,
        &[],
    )
    .await;
    assert_eq!(v.location.as_deref(), Some(target));
    assert_eq!(w.fake.calls("mp/sns/oauth2/access_token"), before);
    assert!(clicks_of(&w.recorder).is_empty());
    // The setting reads back through the admin API.
    let (status, tenant) = admin_call(&admin(&w), get_request("/v1/tenant", &t_off.bearer())).await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["settings"]["link_visitor_oauth"], false, "{tenant}");
}
