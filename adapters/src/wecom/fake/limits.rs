//! WeCom's per-corp, per-API frequency limits, enforced when a test sets one (off by
//! default): a call over the limit answers 45009 "api freq out of limit", and the corp's API
//! stays blocked for the window, as WeCom blocks a minute's limit for 60 s.
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The limits set and what they saw.
#[derive(Debug, Default)]
pub(super) struct FrequencyLimits {
    /// API path → (calls, window).
    rules: HashMap<String, (usize, Duration)>,
    /// (corp, path) → the calls served within the last window, and the block.
    lanes: HashMap<(String, String), Lane>,
    /// path → how many calls the limit answered 45009.
    refused: HashMap<String, usize>,
    /// path → the most calls of one corp served within one window.
    peak: HashMap<String, usize>,
}

#[derive(Debug, Default)]
struct Lane {
    served: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl FrequencyLimits {
    /// At most `calls` calls of `path` per corp in any `window`.
    pub fn set(&mut self, path: &str, calls: usize, window: Duration) {
        self.rules.insert(path.to_string(), (calls, window));
    }

    /// No limits any more; what they saw is forgotten.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether `corp` may call `path` at `now` (counted when it may); `false` answers 45009.
    pub fn admit(&mut self, corp: &str, path: &str, now: Instant) -> bool {
        let Some(&(calls, window)) = self.rules.get(path) else {
            return true;
        };
        let lane = self
            .lanes
            .entry((corp.to_string(), path.to_string()))
            .or_default();
        if lane.blocked_until.is_some_and(|until| until > now) {
            *self.refused.entry(path.to_string()).or_default() += 1;
            return false;
        }
        while lane
            .served
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            lane.served.pop_front();
        }
        if lane.served.len() >= calls {
            lane.blocked_until = Some(now + window);
            *self.refused.entry(path.to_string()).or_default() += 1;
            return false;
        }
        lane.served.push_back(now);
        let peak = self.peak.entry(path.to_string()).or_default();
        *peak = (*peak).max(lane.served.len());
        true
    }

    /// How many calls of `path` the limit answered 45009.
    pub fn refused(&self, path: &str) -> usize {
        self.refused.get(path).copied().unwrap_or(0)
    }

    /// The most calls of `path` one corp had served within one window.
    pub fn peak(&self, path: &str) -> usize {
        self.peak.get(path).copied().unwrap_or(0)
    }
}
