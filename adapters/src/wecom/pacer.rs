//! Paces this container's WeCom calls per corp and per API below the corp's frequency
//! limits ([`WeComRateLimits`], a tenant setting), so that a burst (a join campaign's
//! callbacks, a large plan's sends) waits its turn here instead of tripping WeCom's 45009,
//! which blocks the corp's API for the whole window.
//!
//! Each rule (`calls` per `window`) is a sliding window of counters: this container's share
//! of the rule is `budget = calls × headroom / containers`, the window is cut into 10 slots
//! (of at least 100 ms), and a call counts from its slot's start until a whole window after
//! its slot's end, so that no window of the rule's length, wherever it starts, holds more
//! than `budget` calls even when calls reach WeCom up to a slot late, and a burst may use
//! the whole budget at once (as WeCom's windows allow). A call waits (asynchronously) for the first time every rule of its API
//! has room; when that is later than the caller can wait ([`PacingPolicy::max_wait`], or
//! past the call's deadline), the call is not sent and answers [`WeComError::RetryLater`]
//! with the wait. After WeCom answered 45009 the API stays blocked here for WeCom's block,
//! so the container does not hammer it.
use scrm_core::wecom::api::{
    CorpCredentials, FrequencyRule, WeComError, WeComRateLimits, FREQUENCY_ERRCODE,
};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How this container shares the corps' limits and how long a call may wait its turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacingPolicy {
    /// The most containers that call one API of one corp at once: each paces itself to
    /// this share of the corp's limit (1: a tool or test alone).
    pub containers: u32,
    /// The percentage of the limit used: the rest absorbs the difference between when a
    /// call leaves here and when WeCom counts it.
    pub headroom_percent: u32,
    /// The longest a call waits for its turn; a later turn is [`WeComError::RetryLater`].
    pub max_wait: Duration,
}

impl Default for PacingPolicy {
    fn default() -> Self {
        Self {
            containers: 1,
            headroom_percent: 90,
            max_wait: Duration::from_secs(5),
        }
    }
}

impl PacingPolicy {
    /// The defaults, with `containers` from `WECOM_PACING_CONTAINERS` (1 if unset or
    /// not a positive integer).
    pub fn from_env() -> Self {
        let containers = std::env::var("WECOM_PACING_CONTAINERS")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(1);
        Self {
            containers,
            ..Self::default()
        }
    }

    /// This container's share of a rule's calls in one window (at least 1).
    fn budget(&self, rule: FrequencyRule) -> u32 {
        let share = u64::from(rule.calls) * u64::from(self.headroom_percent.clamp(1, 100))
            / 100
            / u64::from(self.containers.max(1));
        u32::try_from(share.max(1)).unwrap_or(u32::MAX)
    }

    /// One rule as this container paces it.
    fn window(&self, rule: FrequencyRule) -> Window {
        let window_ms = u64::from(rule.window_secs.max(1)) * 1_000;
        let slots = (window_ms / 100).clamp(1, SLOTS_PER_WINDOW);
        Window {
            budget: self.budget(rule),
            // Rounded up: `slots` slots never cover less than the window.
            slot_nanos: (window_ms * 1_000_000).div_ceil(slots),
            slots,
            base: 0,
            counts: VecDeque::new(),
        }
    }
}

/// Slots a window is cut into: a call counts for up to a slot longer than the window, so
/// a slot is the lag between leaving here and reaching WeCom that pacing absorbs (6 s of a
/// minute), at the price of up to a tenth of the window's throughput.
const SLOTS_PER_WINDOW: u64 = 10;

/// One rule's sliding window: calls counted per slot.
#[derive(Debug)]
struct Window {
    budget: u32,
    slot_nanos: u64,
    /// Slots per window.
    slots: u64,
    /// The slot index of `counts[0]` (slots numbered from the pacer's epoch).
    base: u64,
    counts: VecDeque<u32>,
}

impl Window {
    fn slot_of(&self, since_epoch: Duration) -> u64 {
        u64::try_from(since_epoch.as_nanos() / u128::from(self.slot_nanos)).unwrap_or(u64::MAX)
    }

    fn slot_start(&self, slot: u64) -> Duration {
        Duration::from_nanos(slot.saturating_mul(self.slot_nanos))
    }

    fn count(&self, slot: u64) -> u32 {
        slot.checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.counts.get(i).copied())
            .unwrap_or(0)
    }

    /// Forgets the slots that no longer count at slot `now` (older than a window).
    fn forget_before(&mut self, now: u64) {
        let keep_from = now.saturating_sub(self.slots);
        while self.base < keep_from && !self.counts.is_empty() {
            self.counts.pop_front();
            self.base += 1;
        }
        if self.counts.is_empty() {
            self.base = keep_from;
        }
    }

    /// The first slot at or after `from` with room: the calls of that slot and of the
    /// `slots` slots before it (those that still count during it) are below the budget.
    fn first_free(&self, from: u64) -> u64 {
        let mut slot = from;
        let mut counted: u64 = (from.saturating_sub(self.slots)..=from)
            .map(|s| u64::from(self.count(s)))
            .sum();
        let last = self.base + self.counts.len() as u64;
        while counted >= u64::from(self.budget) && slot <= last + self.slots {
            slot += 1;
            counted += u64::from(self.count(slot));
            if let Some(gone) = slot.checked_sub(self.slots + 1) {
                counted -= u64::from(self.count(gone));
            }
        }
        slot
    }

    fn record(&mut self, slot: u64) {
        if self.counts.is_empty() {
            self.base = slot;
        }
        let i = usize::try_from(slot - self.base).unwrap_or(usize::MAX);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }

    fn idle(&self) -> bool {
        self.counts.iter().all(|c| *c == 0)
    }
}

/// One corp's one API.
#[derive(Debug)]
struct Lane {
    /// The limits the windows were built from (rebuilt when the tenant changes them).
    limits: Arc<WeComRateLimits>,
    windows: Vec<Window>,
    /// Turns are handed out in time order, so that a call recorded in a slot never adds
    /// to a later slot that was already checked.
    last_turn: Instant,
    /// WeCom answered 45009: nothing is sent until then.
    blocked_until: Option<Instant>,
}

/// Corps kept before idle lanes are forgotten.
const MAX_LANES: usize = 5_000;
/// Rounds of "this rule's next free slot" before a turn is given up as too far.
const MAX_ROUNDS: usize = 64;

/// The per-corp, per-API pacer of one client.
#[derive(Debug)]
pub(crate) struct Pacer {
    policy: PacingPolicy,
    /// Slots are numbered from here.
    epoch: Instant,
    /// corp id → API path → lane.
    lanes: Mutex<HashMap<String, HashMap<&'static str, Lane>>>,
}

impl Pacer {
    pub(crate) fn new(policy: PacingPolicy) -> Self {
        Self {
            policy,
            epoch: Instant::now(),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this call's turn, or answers [`WeComError::RetryLater`] when the turn is
    /// later than `deadline` or [`PacingPolicy::max_wait`] from now (nothing is reserved
    /// then).
    pub(crate) async fn acquire(
        &self,
        creds: &CorpCredentials,
        path: &'static str,
        deadline: Instant,
    ) -> Result<(), WeComError> {
        let now = Instant::now();
        let latest = (now + self.policy.max_wait).min(deadline);
        let turn = self.reserve(creds, path, now, latest)?;
        if turn > now {
            tracing::debug!(
                corp_id = %creds.corp_id,
                path,
                wait_ms = (turn - now).as_millis() as u64,
                "pacing WeCom call"
            );
            tokio::time::sleep_until(turn).await;
        }
        Ok(())
    }

    /// Reserves the earliest turn at or after `now` that every rule allows, if it is not
    /// later than `latest`.
    fn reserve(
        &self,
        creds: &CorpCredentials,
        path: &'static str,
        now: Instant,
        latest: Instant,
    ) -> Result<Instant, WeComError> {
        self.with_lane(creds, path, now, |lane| {
            if let Some(until) = lane.blocked_until {
                if until > now {
                    return Err(WeComError::RetryLater {
                        errcode: Some(FREQUENCY_ERRCODE),
                        retry_after: until - now,
                    });
                }
                lane.blocked_until = None;
            }
            let epoch = self.epoch;
            let since = |t: Instant| t.saturating_duration_since(epoch);
            for w in &mut lane.windows {
                let slot = w.slot_of(since(now));
                w.forget_before(slot);
            }
            // The first time every rule has room: each rule may push the turn to its next
            // free slot, until none does.
            let mut turn = lane.last_turn.max(now);
            let mut settled = false;
            for _ in 0..MAX_ROUNDS {
                settled = true;
                for w in &lane.windows {
                    let slot = w.slot_of(since(turn));
                    let free = w.first_free(slot);
                    if free > slot {
                        turn = turn.max(epoch + w.slot_start(free));
                        settled = false;
                    }
                }
                if settled || turn > latest {
                    break;
                }
            }
            if !settled || turn > latest {
                return Err(WeComError::RetryLater {
                    errcode: None,
                    retry_after: turn - now,
                });
            }
            for w in &mut lane.windows {
                let slot = w.slot_of(since(turn));
                w.record(slot);
            }
            lane.last_turn = turn;
            Ok(turn)
        })
    }

    /// WeCom answered 45009 for `path`: nothing more is sent to it from here for `block`.
    pub(crate) fn block(&self, creds: &CorpCredentials, path: &'static str, block: Duration) {
        let now = Instant::now();
        self.with_lane(creds, path, now, |lane| {
            let until = now + block;
            lane.blocked_until = Some(lane.blocked_until.map_or(until, |b| b.max(until)));
        });
    }

    fn with_lane<R>(
        &self,
        creds: &CorpCredentials,
        path: &'static str,
        now: Instant,
        f: impl FnOnce(&mut Lane) -> R,
    ) -> R {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        if !lanes.contains_key(creds.corp_id.as_str()) && lanes.len() >= MAX_LANES {
            forget_idle(&mut lanes, now);
        }
        let corp = match lanes.get_mut(creds.corp_id.as_str()) {
            Some(corp) => corp,
            None => lanes.entry(creds.corp_id.clone()).or_default(),
        };
        let limits = &creds.rate_limits;
        let lane = corp
            .entry(path)
            .or_insert_with(|| self.lane(limits, path, now));
        let changed = !Arc::ptr_eq(&lane.limits, limits) && *lane.limits != **limits;
        if changed {
            let blocked_until = lane.blocked_until;
            *lane = self.lane(limits, path, now);
            lane.blocked_until = blocked_until;
        } else if !Arc::ptr_eq(&lane.limits, limits) {
            // Equal limits read again with the tenant: keep the newest copy, free the old.
            lane.limits = Arc::clone(limits);
        }
        f(lane)
    }

    fn lane(&self, limits: &Arc<WeComRateLimits>, path: &str, now: Instant) -> Lane {
        Lane {
            limits: Arc::clone(limits),
            windows: limits
                .rules_for(path)
                .iter()
                .map(|rule| self.policy.window(*rule))
                .collect(),
            last_turn: now,
            blocked_until: None,
        }
    }
}

/// Drops the lanes whose every rule has fully recovered (a new lane would behave the same).
fn forget_idle(lanes: &mut HashMap<String, HashMap<&'static str, Lane>>, now: Instant) {
    for corp in lanes.values_mut() {
        corp.retain(|_, lane| {
            lane.blocked_until.is_some_and(|b| b > now)
                || lane.last_turn > now
                || !lane.windows.iter().all(Window::idle)
        });
    }
    lanes.retain(|_, corp| !corp.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use scrm_core::wecom::api::paths;

    fn creds(rules: Vec<FrequencyRule>) -> CorpCredentials {
        let limits = WeComRateLimits {
            per_api: rules,
            ..WeComRateLimits::default()
        };
        CorpCredentials::new("wwpacer", "s", None).with_rate_limits(&Arc::new(limits))
    }

    /// The most turns inside any closed window of `window` (turns sorted).
    fn most_in_window(turns: &[Instant], window: Duration) -> usize {
        let mut most = 0;
        let mut start = 0;
        for (end, t) in turns.iter().enumerate() {
            while *t - turns[start] > window {
                start += 1;
            }
            most = most.max(end - start + 1);
        }
        most
    }

    #[test]
    fn no_window_holds_more_than_the_share_and_a_burst_may_use_it_at_once() {
        let pacer = Pacer::new(PacingPolicy {
            containers: 4,
            ..PacingPolicy::default()
        });
        // 1,000 a minute and 3,000 an hour; this container's share: 225 and 675.
        let creds = creds(vec![
            FrequencyRule::new(1_000, 60),
            FrequencyRule::new(3_000, 3_600),
        ]);
        let now = Instant::now();
        let far = now + Duration::from_secs(10 * 3_600);
        let turns: Vec<Instant> = (0..2_000)
            .map(|_| {
                pacer
                    .reserve(&creds, paths::GROUPCHAT_GET, now, far)
                    .unwrap()
            })
            .collect();
        assert!(turns.windows(2).all(|w| w[0] <= w[1]), "turns in order");
        assert!(most_in_window(&turns, Duration::from_secs(60)) <= 225);
        assert!(most_in_window(&turns, Duration::from_secs(3_600)) <= 675);
        // The minute's whole share goes at once, as WeCom's window allows.
        assert_eq!(turns.iter().filter(|t| **t == now).count(), 225);
        // And the hour's share is used within the hour: 675 calls in well under two.
        assert!(turns[674] - now < Duration::from_secs(3_600));
    }

    #[test]
    fn a_turn_past_what_the_caller_can_wait_is_retry_later_and_reserves_nothing() {
        let pacer = Pacer::new(PacingPolicy::default());
        // 10 a second: 9 for this container.
        let creds = creds(vec![FrequencyRule::new(10, 1)]);
        let now = Instant::now();
        let soon = now + Duration::from_millis(100);
        let mut granted = 0;
        let err = loop {
            match pacer.reserve(&creds, paths::GROUPCHAT_GET, now, soon) {
                Ok(_) => granted += 1,
                Err(e) => break e,
            }
        };
        let WeComError::RetryLater {
            errcode: None,
            retry_after,
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!(granted, 9);
        assert!(retry_after >= Duration::from_millis(900), "{retry_after:?}");
        // Refusing reserved nothing: the same wait is offered again.
        let again = pacer
            .reserve(&creds, paths::GROUPCHAT_GET, now, soon)
            .unwrap_err();
        assert_eq!(again.retry_after(), Some(retry_after));
        // Another API of the corp has its own lane.
        assert!(pacer
            .reserve(&creds, paths::EXTERNAL_CONTACT_GET, now, soon)
            .is_ok());
    }

    #[test]
    fn a_blocked_api_answers_retry_later_until_the_block_ends() {
        let pacer = Pacer::new(PacingPolicy::default());
        let creds = creds(vec![FrequencyRule::new(1_000, 60)]);
        pacer.block(&creds, paths::GROUPCHAT_GET, Duration::from_secs(60));
        let now = Instant::now();
        let err = pacer
            .reserve(
                &creds,
                paths::GROUPCHAT_GET,
                now,
                now + Duration::from_secs(5),
            )
            .unwrap_err();
        assert_eq!(err.errcode(), Some(45009));
        assert!(err.retry_after().unwrap() > Duration::from_secs(55));
        let later = now + Duration::from_secs(61);
        assert!(pacer
            .reserve(&creds, paths::GROUPCHAT_GET, later, later)
            .is_ok());
    }

    #[test]
    fn changed_limits_take_effect_on_the_next_call() {
        let pacer = Pacer::new(PacingPolicy::default());
        let now = Instant::now();
        let strict = creds(vec![FrequencyRule::new(1, 60)]);
        assert!(pacer.reserve(&strict, paths::MARK_TAG, now, now).is_ok());
        assert!(pacer.reserve(&strict, paths::MARK_TAG, now, now).is_err());
        let loose = creds(vec![FrequencyRule::new(10_000, 60)]);
        assert!(pacer.reserve(&loose, paths::MARK_TAG, now, now).is_ok());
    }

    #[test]
    fn each_container_paces_to_its_share_of_the_limit() {
        let policy = PacingPolicy {
            containers: 20,
            ..PacingPolicy::default()
        };
        // 10,000 × 90% / 20.
        assert_eq!(policy.budget(FrequencyRule::new(10_000, 60)), 450);
        assert_eq!(policy.budget(FrequencyRule::new(10, 60)), 1, "never none");
        let minute = policy.window(FrequencyRule::new(10_000, 60));
        assert_eq!((minute.slots, minute.slot_nanos), (10, 6_000_000_000));
        let second = policy.window(FrequencyRule::new(10, 1));
        assert_eq!((second.slots, second.slot_nanos), (10, 100_000_000));
    }
}
