//! A fake of WeCom's server API on loopback, for the tests, the benchmarks and the local
//! stack. It speaks WeCom's JSON and errcodes (HTTP 200 with `errcode`), checks tokens on
//! every call, and serves the same paths as [`scrm_core::wecom::api::paths`] under `/cgi-bin`,
//! and the web scan-login page at `/wwlogin/sso/login` (see `login`); the in-app OAuth of
//! the staff pages at `/connect/oauth2/authorize` (see `oauth`); the jsapi tickets of
//! the JS-SDK (see `jsapi`); and a WeChat official account under `/mp` (see `official`).
//!
//! WeCom is an external service, so its state lives in memory here: seed it with members,
//! customers, groups and tags; inject faults (expired tokens, errcodes, delays, and calls
//! that take effect but answer too late); enforce per-API frequency limits (off unless set);
//! fix its clock; and read back what was called and sent (app messages as delivered, after
//! `enable_duplicate_check`).
mod contact_way;
mod demo;
mod handlers;
mod inspect;
mod join_way;
mod jsapi;
mod limits;
mod login;
mod media;
mod model;
mod oauth;
mod official;

pub use contact_way::{FakeAdd, FakeContactWay};
pub use demo::{DEMO_AGENT_ID, DEMO_APP_SECRET, DEMO_CONTACT_SECRET, DEMO_CORP_ID};
pub use join_way::{FakeGroupChange, FakeJoinWay, GROUP_MEMBER_LIMIT};
pub use media::FakeMedia;
pub use model::{
    FakeCustomer, FakeFollow, FakeGroup, FakeMember, FakeStaff, FakeStaffStatus, FakeTag,
    FakeTagGroup,
};
pub use official::{FakeWeChatUser, DEMO_OFFICIAL_APP_ID, DEMO_OFFICIAL_SECRET};

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use model::{App, OAuthCode, State, UnionMapping, UnionTarget};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Shared = Arc<Mutex<State>>;

/// A running fake WeCom server. Dropping it stops the server.
pub struct FakeWeCom {
    base_url: String,
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeWeCom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWeCom")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeWeCom {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/cgi-bin/{*path}", any(dispatch))
        .route(login::SSO_LOGIN, get(login::page))
        .route(login::SSO_CONFIRM, get(login::confirm))
        .route(oauth::AUTHORIZE, get(oauth::authorize))
        .route("/mp/{*path}", get(official::dispatch))
        .route(inspect::APP_MESSAGES, get(inspect::app_messages))
        .route(inspect::WELCOME_MESSAGES, get(inspect::welcome_messages))
        .route(contact_way::QR_PICTURE, get(contact_way::qr_picture))
        .route(media::PICTURE, get(media::picture))
        .route(inspect::SCAN, axum::routing::post(inspect::scan))
        .with_state(state)
}

/// Serves the fake with the demo data on `addr` until the process ends: what
/// `scrm fake-wecom --port N` runs for the local stack.
pub async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let state: Shared = Arc::new(Mutex::new(State::new()));
    demo::seed(&mut lock(&state));
    lock(&state).public_base = format!("http://{local}");
    tracing::info!(
        base_url = %format!("http://{local}/cgi-bin"),
        corp_id = DEMO_CORP_ID,
        agent_id = DEMO_AGENT_ID,
        "fake WeCom listening with demo data (secrets: fake::DEMO_CONTACT_SECRET, fake::DEMO_APP_SECRET)"
    );
    axum::serve(listener, router(state)).await
}

impl FakeWeCom {
    /// Starts an empty fake on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts an empty fake on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(State::new()));
        lock(&state).public_base = format!("http://{addr}");
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake WeCom server stopped");
            }
        });
        Ok(Self {
            base_url: format!("http://{addr}/cgi-bin"),
            addr,
            state,
            task,
        })
    }

    /// The API base to give the client (`http://127.0.0.1:PORT/cgi-bin`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.state))
    }

    // ----- seeding -----------------------------------------------------------------

    /// Seeds the demo corp ([`DEMO_CORP_ID`]): members, customers, groups, the four tag
    /// families, reusable OAuth codes `demo-code-{userid}` and a unionid mapping.
    pub fn seed_demo(&self) {
        self.with(demo::seed);
    }

    /// Registers an app whose secret `gettoken` accepts (a corp may have several: the
    /// customer-contact secret and a self-built app with its agent id).
    pub fn add_app(&self, corp_id: &str, secret: &str, agent_id: Option<i64>) {
        self.with(|s| {
            s.apps.push(App {
                corp_id: corp_id.into(),
                secret: secret.into(),
                agent_id,
            });
            s.corp(corp_id);
        });
    }

    /// Adds or replaces a member.
    pub fn add_staff(&self, corp_id: &str, staff: FakeStaff) {
        self.with(|s| {
            s.corp(corp_id).staff.insert(staff.userid.clone(), staff);
        });
    }

    /// Adds or replaces a customer.
    pub fn add_customer(&self, corp_id: &str, customer: FakeCustomer) {
        self.with(|s| {
            s.corp(corp_id)
                .customers
                .insert(customer.external_userid.clone(), customer);
        });
    }

    /// Adds or replaces a group.
    pub fn add_group(&self, corp_id: &str, group: FakeGroup) {
        self.with(|s| {
            s.corp(corp_id).groups.insert(group.chat_id.clone(), group);
        });
    }

    /// Adds a corp tag group.
    pub fn add_tag_group(&self, corp_id: &str, group: FakeTagGroup) {
        self.with(|s| s.corp(corp_id).tag_groups.push(group));
    }

    /// Changes a member (for example its status); `false` if unknown.
    pub fn update_staff(
        &self,
        corp_id: &str,
        userid: &str,
        f: impl FnOnce(&mut FakeStaff),
    ) -> bool {
        self.with(|s| s.corp(corp_id).staff.get_mut(userid).map(f).is_some())
    }

    /// Changes a customer; `false` if unknown.
    pub fn update_customer(
        &self,
        corp_id: &str,
        external_userid: &str,
        f: impl FnOnce(&mut FakeCustomer),
    ) -> bool {
        self.with(|s| {
            s.corp(corp_id)
                .customers
                .get_mut(external_userid)
                .map(f)
                .is_some()
        })
    }

    /// Changes a group and moves its `member_version` on, as WeCom does on any change;
    /// `false` if unknown.
    pub fn update_group(
        &self,
        corp_id: &str,
        chat_id: &str,
        f: impl FnOnce(&mut FakeGroup),
    ) -> bool {
        self.with(|s| {
            let seq = s.next_seq();
            match s.corp(corp_id).groups.get_mut(chat_id) {
                Some(group) => {
                    f(group);
                    group.member_version = format!("v{seq}");
                    true
                }
                None => false,
            }
        })
    }

    /// Removes a customer; `false` if unknown.
    pub fn remove_customer(&self, corp_id: &str, external_userid: &str) -> bool {
        self.with(|s| s.corp(corp_id).customers.remove(external_userid).is_some())
    }

    /// Removes (dismisses) a group; `false` if unknown.
    pub fn remove_group(&self, corp_id: &str, chat_id: &str) -> bool {
        self.with(|s| s.corp(corp_id).groups.remove(chat_id).is_some())
    }

    /// A welcome code `send_welcome_msg` accepts once.
    pub fn add_welcome_code(&self, corp_id: &str, code: &str) {
        self.with(|s| {
            s.corp(corp_id).welcome_codes.insert(code.into(), false);
        });
    }

    /// A welcome code issued now (server time) that `send_welcome_msg` accepts once within
    /// 20 s, as WeCom's; 41050 after.
    pub fn issue_welcome_code(&self, corp_id: &str, code: &str) {
        self.with(|s| {
            let now = s.now_secs();
            let corp = s.corp(corp_id);
            corp.welcome_codes.insert(code.into(), false);
            corp.welcome_issued.insert(code.into(), now);
        });
    }

    /// The welcome messages WeCom accepted for the corp (`send_welcome_msg` bodies, oldest
    /// first).
    pub fn welcome_messages(&self, corp_id: &str) -> Vec<Value> {
        self.with(|s| s.corp(corp_id).welcomes.clone())
    }

    /// The 「联系我」 code with `state`, as the fake holds it.
    pub fn contact_way_by_state(&self, corp_id: &str, state: &str) -> Option<FakeContactWay> {
        self.with(|s| {
            s.corp(corp_id)
                .contact_ways
                .values()
                .find(|w| w.state == state)
                .cloned()
        })
    }

    /// The corp's 「联系我」 codes.
    pub fn contact_ways(&self, corp_id: &str) -> Vec<FakeContactWay> {
        self.with(|s| s.corp(corp_id).contact_ways.values().cloned().collect())
    }

    /// The corp's 「加入群聊」 join ways.
    pub fn join_ways(&self, corp_id: &str) -> Vec<FakeJoinWay> {
        self.with(|s| s.corp(corp_id).join_ways.values().cloned().collect())
    }

    /// The join way with `state`, as the fake holds it.
    pub fn join_way_by_state(&self, corp_id: &str, state: &str) -> Option<FakeJoinWay> {
        self.with(|s| {
            s.corp(corp_id)
                .join_ways
                .values()
                .find(|w| w.state == state)
                .cloned()
        })
    }

    /// A customer scans the code with `state`: the add lands in the corp's data (the code's
    /// members in turn), a welcome code is issued (20 s, single use) and the callback WeCom
    /// would send is answered, for the test to deliver to the callback function. `None`
    /// when no code has the state.
    pub fn scan_contact_way(
        &self,
        corp_id: &str,
        state: &str,
        external_userid: &str,
        name: &str,
    ) -> Option<FakeAdd> {
        self.with(|s| contact_way::scan(s, corp_id, state, external_userid, name))
    }

    /// A customer scans the 「加入群聊」 code with `state`: they join its first group with room
    /// (listed by `groupchat/get` with the code's state), and the `add_member` callback WeCom
    /// would send is answered, for the test to deliver. `None` when no code has the state or
    /// every group is full.
    pub fn scan_join_way(
        &self,
        corp_id: &str,
        state: &str,
        external_userid: &str,
        name: &str,
    ) -> Option<FakeGroupChange> {
        self.with(|s| join_way::scan(s, corp_id, state, external_userid, name))
    }

    /// A customer leaves a group by themselves: the `del_member` callback WeCom would send is
    /// answered. `None` when they are not in it.
    pub fn leave_group(
        &self,
        corp_id: &str,
        chat_id: &str,
        external_userid: &str,
    ) -> Option<FakeGroupChange> {
        self.with(|s| join_way::leave(s, corp_id, chat_id, external_userid))
    }

    /// A single-use OAuth code that `auth/getuserinfo` maps to `userid`.
    pub fn add_oauth_code(&self, corp_id: &str, code: &str, userid: &str) {
        self.with(|s| {
            s.corp(corp_id)
                .oauth_codes
                .insert(code.into(), OAuthCode::member(userid));
        });
    }

    /// A single-use OAuth code of someone outside the corp: `auth/getuserinfo` answers
    /// `{openid, external_userid}` (the latter for a customer of a member).
    pub fn add_visitor_oauth_code(
        &self,
        corp_id: &str,
        code: &str,
        openid: &str,
        external_userid: Option<&str>,
    ) {
        self.with(|s| {
            s.corp(corp_id)
                .oauth_codes
                .insert(code.into(), OAuthCode::visitor(openid, external_userid));
        });
    }

    /// Every code of a corp that expires is past its 5 minutes from now on.
    pub fn expire_oauth_codes(&self, corp_id: &str) {
        self.with(|s| {
            let past = Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now);
            for code in s.corp(corp_id).oauth_codes.values_mut() {
                if code.expires_at.is_some() {
                    code.expires_at = Some(past);
                }
            }
        });
    }

    /// The scan-login host (`http://127.0.0.1:PORT`): what `WECOM_LOGIN_BASE` names, so
    /// that the scan-login page is `{login_base}/wwlogin/sso/login`.
    pub fn login_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// WeCom's in-app OAuth page of the staff pages (`open.weixin.qq.com`'s
    /// `/connect/oauth2/authorize` on WeCom).
    pub fn oauth_authorize_url(&self) -> String {
        format!("http://{}/connect/oauth2/authorize", self.addr)
    }

    /// The corp's trusted domains (hosts): the in-app OAuth redirects only to them. None
    /// set: any host.
    pub fn set_trusted_domains(&self, corp_id: &str, hosts: &[&str]) {
        self.with(|s| {
            s.corp(corp_id).trusted_domains = hosts.iter().map(|h| h.to_string()).collect();
        });
    }

    /// Maps `unionid` + `openid` to a customer for `unionid_to_external_userid`.
    pub fn map_unionid(&self, corp_id: &str, unionid: &str, openid: &str, external_userid: &str) {
        self.map_union(
            corp_id,
            unionid,
            openid,
            UnionTarget::Customer(external_userid.into()),
        );
    }

    /// Maps `unionid` + `openid` to a pending id (not a customer yet).
    pub fn map_unionid_pending(
        &self,
        corp_id: &str,
        unionid: &str,
        openid: &str,
        pending_id: &str,
    ) {
        self.map_union(
            corp_id,
            unionid,
            openid,
            UnionTarget::Pending(pending_id.into()),
        );
    }

    fn map_union(&self, corp_id: &str, unionid: &str, openid: &str, target: UnionTarget) {
        self.with(|s| {
            s.corp(corp_id).unionids.insert(
                unionid.into(),
                UnionMapping {
                    openid: openid.into(),
                    target,
                },
            );
        });
    }

    /// How many followers `externalcontact/get` returns per page (WeCom: 500).
    pub fn set_follow_user_page_size(&self, size: usize) {
        self.with(|s| s.follow_page_size = size.max(1));
    }

    // ----- mass-message results ----------------------------------------------------

    /// The msgids `add_msg_template` created for a corp, oldest first.
    pub fn groupmsg_ids(&self, corp_id: &str) -> Vec<String> {
        self.with(|s| {
            let mut ids: Vec<(u64, String)> = s
                .corp(corp_id)
                .msg_tasks
                .iter()
                .map(|(id, task)| (task.created, id.clone()))
                .collect();
            ids.sort();
            ids.into_iter().map(|(_, id)| id).collect()
        })
    }

    /// Sets the delivery status of one target (external_userid or chat_id) of a mass
    /// message: 0 not sent, 1 sent (stamps `send_time`), 2 not a friend, 3 quota reached.
    /// `false` if there is no such record.
    pub fn set_groupmsg_send_status(
        &self,
        msgid: &str,
        userid: &str,
        target: &str,
        status: i64,
    ) -> bool {
        self.with(|s| {
            let now = chrono::Utc::now().timestamp();
            s.corps
                .values_mut()
                .filter_map(|c| c.msg_tasks.get_mut(msgid))
                .flat_map(|t| t.results.iter_mut())
                .filter(|r| r.userid == userid && r.target == target)
                .map(|r| {
                    r.status = status;
                    r.send_time = (status == 1).then_some(now);
                })
                .count()
                > 0
        })
    }

    /// Sets a member's status in `get_groupmsg_task` (0 not sent, 2 sent). `false` if
    /// there is no such member on the task.
    pub fn set_groupmsg_task_status(&self, msgid: &str, userid: &str, status: i64) -> bool {
        self.with(|s| {
            let now = chrono::Utc::now().timestamp();
            s.corps
                .values_mut()
                .filter_map(|c| c.msg_tasks.get_mut(msgid))
                .filter_map(|t| t.senders.get_mut(userid))
                .map(|entry| *entry = (status, (status == 2).then_some(now)))
                .count()
                > 0
        })
    }

    // ----- moments -------------------------------------------------------------------

    /// The moment_ids `add_moment_task` created for a corp, oldest first.
    pub fn moment_ids(&self, corp_id: &str) -> Vec<String> {
        self.with(|s| {
            let mut ids: Vec<(u64, String)> = s
                .corp(corp_id)
                .moments
                .iter()
                .map(|(id, m)| (m.created, id.clone()))
                .collect();
            ids.sort();
            ids.into_iter().map(|(_, id)| id).collect()
        })
    }

    /// Sets a member's publication status of a Moments post in `get_moment_task` (0 not
    /// published, 1 published). `false` if the member was not asked to publish it.
    pub fn set_moment_publish_status(&self, moment_id: &str, userid: &str, status: i64) -> bool {
        self.with(|s| {
            s.corps
                .values_mut()
                .filter_map(|c| c.moments.get_mut(moment_id))
                .filter_map(|m| m.publish.get_mut(userid))
                .map(|entry| *entry = status)
                .count()
                > 0
        })
    }

    // ----- fault injection ---------------------------------------------------------

    /// Every issued token answers 42001 (expired) from now on.
    pub fn expire_all_tokens(&self) {
        self.with(|s| {
            let past = Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now);
            for t in s.tokens.values_mut() {
                t.expires_at = past;
            }
        });
    }

    /// Every issued token answers 40014 (invalid) from now on.
    pub fn invalidate_all_tokens(&self) {
        self.with(|s| s.tokens.clear());
    }

    /// The next `times` calls of `path` (e.g. [`scrm_core::wecom::api::paths::GROUPCHAT_LIST`],
    /// or `gettoken`) answer `errcode` (-1, 45009, 60020, 40014, …) instead of being served.
    pub fn fail_next(&self, path: &str, times: usize, errcode: i64) {
        self.with(|s| {
            let queue = s.faults.entry(path.to_string()).or_default();
            queue.extend(std::iter::repeat_n(errcode, times));
        });
    }

    /// Every call of `path` waits `delay` before answering (to provoke client timeouts).
    pub fn set_delay(&self, path: &str, delay: Duration) {
        self.with(|s| {
            s.delays.insert(path.to_string(), delay);
        });
    }

    /// Every call of `path` takes effect, then waits `delay` before answering: a client that
    /// times out sees no answer although WeCom did what it asked.
    pub fn set_delay_after_effect(&self, path: &str, delay: Duration) {
        self.with(|s| {
            s.delays_after.insert(path.to_string(), delay);
        });
    }

    /// Enforces WeCom's frequency limit on `path` from now on: each corp may call it at most
    /// `calls` times in any `window`; a call over it answers 45009 "api freq out of limit"
    /// (without taking effect) and the corp's `path` stays blocked for `window`, as WeCom
    /// blocks a minute's limit for 60 s. Off by default.
    pub fn set_frequency_limit(&self, path: &str, calls: usize, window: Duration) {
        self.with(|s| s.limits.set(path, calls, window));
    }

    /// Removes every frequency limit and forgets what they counted.
    pub fn clear_frequency_limits(&self) {
        self.with(|s| s.limits.clear());
    }

    /// How many calls of `path` its frequency limit answered 45009 (injected faults are not
    /// counted).
    pub fn frequency_limited(&self, path: &str) -> usize {
        self.with(|s| s.limits.refused(path))
    }

    /// The most calls of `path` one corp had served within one window of its frequency
    /// limit (0 without a limit).
    pub fn peak_calls_per_window(&self, path: &str) -> usize {
        self.with(|s| s.limits.peak(path))
    }

    /// Fixes the server's clock (epoch seconds): the creation times it records and the time
    /// windows it filters by follow it instead of the system clock.
    pub fn set_now(&self, epoch_secs: i64) {
        self.with(|s| s.now_override = Some(epoch_secs));
    }

    /// Every call waits `delay` before answering.
    pub fn set_delay_all(&self, delay: Duration) {
        self.with(|s| s.delay_all = Some(delay));
    }

    /// Removes all delays and pending injected errcodes.
    pub fn clear_faults(&self) {
        self.with(|s| {
            s.delays.clear();
            s.delays_after.clear();
            s.delay_all = None;
            s.faults.clear();
        });
    }

    // ----- observation -------------------------------------------------------------

    /// How many calls `path` received (including those answered with an injected errcode
    /// or a token error).
    pub fn calls(&self, path: &str) -> usize {
        self.with(|s| s.calls.get(path).copied().unwrap_or(0))
    }

    /// The bodies received on `path` (POST), or the query parameters without the token
    /// (GET, as a JSON object), oldest first. `gettoken` is not recorded.
    pub fn requests(&self, path: &str) -> Vec<Value> {
        self.with(|s| s.requests.get(path).cloned().unwrap_or_default())
    }

    /// The app messages members received (`message/send` bodies), oldest first: a message
    /// WeCom's `enable_duplicate_check` dropped is not among them.
    pub fn delivered_app_messages(&self, corp_id: &str) -> Vec<Value> {
        self.with(|s| s.corp(corp_id).app_messages.clone())
    }

    /// The members whose app message WeCom's 30-a-minute limit dropped (one entry per
    /// dropped delivery): what a notifier must never cause.
    pub fn dropped_app_messages(&self, corp_id: &str) -> Vec<String> {
        self.with(|s| s.corp(corp_id).app_messages_dropped.clone())
    }

    /// Forgets call counts and recorded requests.
    pub fn reset_counters(&self) {
        self.with(|s| {
            s.calls.clear();
            s.requests.clear();
        });
    }

    /// A temporary medium as uploaded (`media/upload`, `media/upload_attachment`).
    pub fn media(&self, media_id: &str) -> Option<FakeMedia> {
        self.with(|s| s.media.get(media_id).cloned())
    }

    /// Seeds a temporary medium uploaded now (the fake's clock): `attachment` for a
    /// moments attachment (`media/upload_attachment`), else `media/upload`.
    pub fn add_media(&self, corp_id: &str, media_id: &str, kind: &str, attachment: bool) {
        self.with(|s| {
            let created_at = s.now_secs();
            s.media.insert(
                media_id.to_string(),
                FakeMedia {
                    corp_id: corp_id.to_string(),
                    kind: kind.to_string(),
                    attachment,
                    created_at,
                    size: 1024,
                },
            );
        });
    }

    /// A customer as the fake now holds it (to assert `mark_tag` effects).
    pub fn customer(&self, corp_id: &str, external_userid: &str) -> Option<FakeCustomer> {
        self.with(|s| s.corp(corp_id).customers.get(external_userid).cloned())
    }
}

fn reply(code: i64, msg: &str, seq: u64) -> Response {
    Json(json!({"errcode": code, "errmsg": handlers::errmsg(code, msg, seq)})).into_response()
}

async fn dispatch(
    AxumState(state): AxumState<Shared>,
    method: Method,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if media::is_media_path(&path) {
        return media_upload(&state, &path, &query, &headers, &body);
    }
    let Some(expected) = handlers::method_of(&path) else {
        return (StatusCode::NOT_FOUND, "no such API").into_response();
    };
    let parsed: Result<Value, _> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body)
    };
    let (delay, fault, seq) = {
        let mut s = lock(&state);
        *s.calls.entry(path.clone()).or_default() += 1;
        if path != scrm_core::wecom::api::paths::GETTOKEN {
            let record = match (&parsed, method == Method::POST) {
                (Ok(v), true) => v.clone(),
                (Err(_), true) => Value::String(String::from_utf8_lossy(&body).into_owned()),
                (_, false) => json!(query
                    .iter()
                    .filter(|(k, _)| k.as_str() != "access_token")
                    .collect::<HashMap<_, _>>()),
            };
            s.requests.entry(path.clone()).or_default().push(record);
        }
        let delay = s.delays.get(&path).copied().or(s.delay_all);
        let mut fault = s.faults.get_mut(&path).and_then(|q| q.pop_front());
        if fault.is_none() {
            // Limits count per corp, known from the token (an unknown token fails later).
            let corp = query
                .get("access_token")
                .and_then(|t| s.tokens.get(t))
                .map(|t| t.corp_id.clone());
            if let Some(corp) = corp {
                if !s.limits.admit(&corp, &path, Instant::now()) {
                    fault = Some(scrm_core::wecom::api::FREQUENCY_ERRCODE);
                }
            }
        }
        (delay, fault, s.next_seq())
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = fault {
        return reply(code, handlers::fault_message(code), seq);
    }
    if method.as_str() != expected {
        return reply(40058, "http method not allowed for this api", seq);
    }
    let Ok(body) = parsed else {
        return reply(47001, "data format error", seq);
    };
    let (result, delay_after) = {
        let mut s = lock(&state);
        let result = if path == scrm_core::wecom::api::paths::GETTOKEN {
            s.gettoken(&query)
        } else {
            match s.authenticate(&query) {
                Ok(token) => s.route(&path, &token, &query, &body),
                Err(e) => Err(e),
            }
        };
        (result, s.delays_after.get(&path).copied())
    };
    if let Some(delay) = delay_after {
        tokio::time::sleep(delay).await;
    }
    match result {
        Ok(Value::Object(mut fields)) => {
            fields.insert("errcode".into(), json!(0));
            fields.insert("errmsg".into(), json!("ok"));
            Json(Value::Object(fields)).into_response()
        }
        Ok(other) => Json(json!({"errcode": 0, "errmsg": "ok", "data": other})).into_response(),
        Err((code, msg)) => reply(code, &msg, seq),
    }
}

/// A multipart media upload (`media/*`): counted and recorded (the file's size, not its
/// bytes), authenticated, then answered as WeCom does.
fn media_upload(
    state: &Shared,
    path: &str,
    query: &HashMap<String, String>,
    headers: &axum::http::HeaderMap,
    body: &Bytes,
) -> Response {
    let mut s = lock(state);
    *s.calls.entry(path.to_string()).or_default() += 1;
    let mut record: serde_json::Map<String, Value> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "access_token")
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    record.insert("body_bytes".into(), json!(body.len()));
    s.requests
        .entry(path.to_string())
        .or_default()
        .push(Value::Object(record));
    let seq = s.next_seq();
    let result = match s.authenticate(query) {
        Ok(token) => s.media_upload(&token.corp_id, path, query, headers, body),
        Err(e) => Err(e),
    };
    match result {
        Ok(Value::Object(mut fields)) => {
            fields.insert("errcode".into(), json!(0));
            fields.insert("errmsg".into(), json!("ok"));
            Json(Value::Object(fields)).into_response()
        }
        Ok(_) => reply(-1, "system error", seq),
        Err((code, msg)) => reply(code, &msg, seq),
    }
}
