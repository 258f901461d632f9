//! What a customer's check-in page shows, in one read: the account's streak and balance,
//! the next streak tier and the next cumulative tier ("N more days to +M points"), and the
//! days of a month checked in. The tier arithmetic is pure (tested here); the use case reads
//! the rules, the account's summary and as many ledger pages as the month needs.
use super::ledger::When;
use super::model::EntryKind;
use super::ports::{Account, HistoryRead, RulesStore};
use super::rules::{CheckInRule, CheckInState, Period, StreakTierMode, Tier};
use super::PointsError;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeSet;

/// Ledger entries read per page while collecting a month's check-ins.
const PAGE: i32 = 100;
/// At most this many pages are read for one month: a month holds at most 31 check-ins, so
/// only an account with hundreds of other entries in that month stops short (its calendar
/// then shows the check-ins of the newest entries read and the current streak).
const MAX_PAGES: usize = 5;

/// The next tier a customer can reach by checking in on consecutive days (streak) or more
/// often in the period (cumulative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextTier {
    /// The tier: consecutive days, or check-ins within the period.
    pub days: u32,
    /// What reaching it pays on top of the base points.
    pub bonus: i64,
    /// Check-ins still needed, the next one included (today's when not checked in yet).
    pub remaining: u32,
}

/// The next streak tier: the first check-in of the streak's future (today's if not
/// checked in yet, else tomorrow's onwards) that reaches a tier under the rule's mode.
/// `None` when the rule has no streak tier, or pays each once and all are behind.
pub fn next_streak_tier(
    rule: &CheckInRule,
    state: &CheckInState,
    today: NaiveDate,
) -> Option<NextTier> {
    let longest = rule.streak_tiers.last()?.days;
    let streak = state.current_streak(today);
    let hit = |day: u32| -> Option<&Tier> { rule.streak_tiers.iter().find(|t| t.days == day) };
    let (n, tier) = match rule.streak_tier_mode {
        StreakTierMode::Cycle if longest > 0 => (1..=longest).find_map(|n| {
            let day = (streak + n - 1) % longest + 1;
            hit(day).map(|t| (n, t))
        })?,
        _ => {
            let t = rule.streak_tiers.iter().find(|t| t.days > streak)?;
            (t.days - streak, t)
        }
    };
    Some(NextTier {
        days: tier.days,
        bonus: tier.bonus,
        remaining: n,
    })
}

/// The last day of the period `day` belongs to.
fn period_end(period: Period, day: NaiveDate) -> NaiveDate {
    match period {
        Period::Week => {
            day + chrono::Days::new(u64::from(6 - day.weekday().num_days_from_monday()))
        }
        Period::Month => {
            let (y, m) = if day.month() == 12 {
                (day.year() + 1, 1)
            } else {
                (day.year(), day.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).map_or(day, |d| d - chrono::Days::new(1))
        }
    }
}

/// The next cumulative tier still reachable in the current period: check-ins counted in
/// this period so far, and the days left in it (today included when not checked in yet)
/// decide. `None` when none is left to reach this period.
pub fn next_cumulative_tier(
    rule: &CheckInRule,
    state: &CheckInState,
    today: NaiveDate,
) -> Option<NextTier> {
    let period = rule.cumulative_period;
    let count = if state.period.as_deref() == Some(period.key(today).as_str()) {
        state.period_count
    } else {
        0
    };
    let checked_today = state.last_day() == Some(today);
    let first = if checked_today {
        today.succ_opt()?
    } else {
        today
    };
    let days_left = if first > period_end(period, today) {
        0
    } else {
        (period_end(period, today) - first).num_days() as u32 + 1
    };
    let t = rule
        .cumulative_tiers
        .iter()
        .find(|t| t.days > count && t.days - count <= days_left)?;
    Some(NextTier {
        days: t.days,
        bonus: t.bonus,
        remaining: t.days - count,
    })
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM` (years 2000 to 2100).
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("month: YYYY-MM, got {s:?}");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if y.len() != 4 || m.len() != 2 || !digits(y) || !digits(m) {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&y) {
            return Err(bad());
        }
        NaiveDate::from_ymd_opt(y, m, 1)
            .map(|first| Month { first })
            .ok_or_else(bad)
    }

    /// The month `day` is in.
    pub fn of(day: NaiveDate) -> Self {
        Month {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    /// Its first day.
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// Its last day.
    pub fn last(&self) -> NaiveDate {
        period_end(Period::Month, self.first)
    }

    /// Whether `day` is in it.
    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.first && day <= self.last()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

/// The days of the current streak (ending on the last check-in), which the state knows
/// without the ledger: a check-in that paid nothing wrote no entry but is in the streak.
pub fn streak_days(state: &CheckInState, today: NaiveDate) -> Vec<NaiveDate> {
    let (Some(last), streak) = (state.last_day(), state.current_streak(today)) else {
        return Vec::new();
    };
    (0..streak)
        .filter_map(|i| last.checked_sub_days(chrono::Days::new(u64::from(i))))
        .collect()
}

/// The check-in page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckInPage {
    /// Today where the tenant is (`YYYY-MM-DD`): the day a check-in now counts for.
    pub today: String,
    /// Whether check-ins are on.
    pub enabled: bool,
    /// Whether the customer checked in today.
    pub checked_in_today: bool,
    /// Consecutive days up to today (or yesterday, when today is not checked in yet).
    pub current_streak: u32,
    /// The longest streak ever.
    pub longest_streak: u32,
    /// Check-ins ever.
    pub total_check_ins: u32,
    /// Points now.
    pub balance: i64,
    /// What a check-in pays at least.
    pub base_points: i64,
    /// The next streak tier, if any.
    pub next_streak_tier: Option<NextTier>,
    /// The next cumulative tier reachable in the period, if any.
    pub next_cumulative_tier: Option<NextTier>,
    /// The period cumulative tiers count in (`week` or `month`).
    pub cumulative_period: Period,
    /// Check-ins in the current cumulative period.
    pub period_check_ins: u32,
    /// The month shown (`YYYY-MM`).
    pub month: String,
    /// The days of `month` checked in, ascending (`YYYY-MM-DD`).
    pub days: Vec<String>,
}

/// Reads the check-in page of `account` for `month` (the current month by default).
pub async fn check_in_page<S>(
    store: &S,
    account: &Account,
    when: When,
    month: Option<Month>,
) -> Result<CheckInPage, PointsError>
where
    S: HistoryRead + RulesStore,
{
    let today = when.today();
    let month = month.unwrap_or_else(|| Month::of(today));
    let (rules, summary) = futures::join!(store.rules(&account.tenant), store.summary(account));
    let rule = rules?.check_in;
    let (balance, state, _) = summary?;
    let state = state.unwrap_or_default();
    let mut days: BTreeSet<NaiveDate> = streak_days(&state, today)
        .into_iter()
        .filter(|d| month.contains(*d))
        .collect();
    // Entries are newest first: read until one is older than the month. A month in the
    // future needs none.
    if month.first() <= today {
        let mut before = None;
        'pages: for _ in 0..MAX_PAGES {
            let page = store.entries(account, before, PAGE).await?;
            for e in &page {
                let Ok(day) = NaiveDate::parse_from_str(&e.local_date, "%Y-%m-%d") else {
                    continue;
                };
                if day < month.first() {
                    break 'pages;
                }
                if e.kind == EntryKind::Earn && e.origin.reason == "check_in" && month.contains(day)
                {
                    days.insert(day);
                }
            }
            match page.last() {
                Some(e) if page.len() == PAGE as usize && e.seq > 1 => before = Some(e.seq),
                _ => break,
            }
        }
    }
    let period_key = rule.cumulative_period.key(today);
    Ok(CheckInPage {
        today: today.format("%Y-%m-%d").to_string(),
        enabled: rule.enabled,
        checked_in_today: state.last_day() == Some(today),
        current_streak: state.current_streak(today),
        longest_streak: state.longest,
        total_check_ins: state.total,
        balance: balance.balance,
        base_points: rule.base_points,
        next_streak_tier: rule
            .enabled
            .then(|| next_streak_tier(&rule, &state, today))
            .flatten(),
        next_cumulative_tier: rule
            .enabled
            .then(|| next_cumulative_tier(&rule, &state, today))
            .flatten(),
        cumulative_period: rule.cumulative_period,
        period_check_ins: if state.period.as_deref() == Some(period_key.as_str()) {
            state.period_count
        } else {
            0
        },
        month: month.to_string(),
        days: days
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rule(mode: StreakTierMode) -> CheckInRule {
        CheckInRule {
            enabled: true,
            base_points: 1,
            streak_tiers: vec![
                Tier { days: 3, bonus: 5 },
                Tier { days: 7, bonus: 10 },
                Tier {
                    days: 15,
                    bonus: 30,
                },
            ],
            streak_tier_mode: mode,
            cumulative_tiers: vec![
                Tier {
                    days: 10,
                    bonus: 20,
                },
                Tier {
                    days: 20,
                    bonus: 50,
                },
            ],
            cumulative_period: Period::Month,
        }
    }

    fn state(last: &str, streak: u32, period: &str, count: u32) -> CheckInState {
        CheckInState {
            last_date: Some(last.into()),
            streak,
            longest: streak,
            total: streak,
            period: Some(period.into()),
            period_count: count,
            result: None,
        }
    }

    #[test]
    fn a_new_customer_is_three_check_ins_from_the_first_tier() {
        let t = next_streak_tier(
            &rule(StreakTierMode::Cycle),
            &CheckInState::default(),
            d("2026-03-10"),
        );
        assert_eq!(
            t,
            Some(NextTier {
                days: 3,
                bonus: 5,
                remaining: 3
            })
        );
    }

    #[test]
    fn todays_check_in_counts_when_not_made_yet() {
        // Checked in yesterday, day 2 of the streak: today's check-in reaches day 3.
        let s = state("2026-03-09", 2, "2026-03", 2);
        let t = next_streak_tier(&rule(StreakTierMode::Cycle), &s, d("2026-03-10"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((3, 1)));
        // Checked in today, day 3: the 7-day tier is four check-ins away.
        let s = state("2026-03-10", 3, "2026-03", 3);
        let t = next_streak_tier(&rule(StreakTierMode::Cycle), &s, d("2026-03-10"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((7, 4)));
    }

    #[test]
    fn a_broken_streak_starts_over() {
        let s = state("2026-03-01", 6, "2026-03", 1);
        let t = next_streak_tier(&rule(StreakTierMode::Cycle), &s, d("2026-03-10"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((3, 3)));
    }

    #[test]
    fn cycling_tiers_come_round_again_and_once_tiers_end() {
        // Day 15 done: the cycle restarts, day 18 pays the 3-day tier again.
        let s = state("2026-03-20", 15, "2026-03", 15);
        let cycle = next_streak_tier(&rule(StreakTierMode::Cycle), &s, d("2026-03-20"));
        assert_eq!(cycle.map(|t| (t.days, t.remaining)), Some((3, 3)));
        assert_eq!(
            next_streak_tier(&rule(StreakTierMode::Once), &s, d("2026-03-20")),
            None
        );
        let s = state("2026-03-20", 5, "2026-03", 5);
        let once = next_streak_tier(&rule(StreakTierMode::Once), &s, d("2026-03-20"));
        assert_eq!(once.map(|t| (t.days, t.remaining)), Some((7, 2)));
    }

    #[test]
    fn no_streak_tiers_no_next_tier() {
        let mut r = rule(StreakTierMode::Cycle);
        r.streak_tiers.clear();
        assert_eq!(
            next_streak_tier(&r, &CheckInState::default(), d("2026-03-10")),
            None
        );
    }

    #[test]
    fn the_cumulative_tier_counts_this_period_and_only_if_reachable() {
        let r = rule(StreakTierMode::Cycle);
        let s = state("2026-03-10", 1, "2026-03", 8);
        let t = next_cumulative_tier(&r, &s, d("2026-03-10"));
        assert_eq!(
            t,
            Some(NextTier {
                days: 10,
                bonus: 20,
                remaining: 2
            })
        );
        // Last month's count does not carry over.
        let s = state("2026-02-28", 1, "2026-02", 19);
        let t = next_cumulative_tier(&r, &s, d("2026-03-01"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((10, 10)));
        // 29 March, checked in, 12 so far: two days left reach neither 20 nor anything.
        let s = state("2026-03-29", 1, "2026-03", 12);
        assert_eq!(next_cumulative_tier(&r, &s, d("2026-03-29")), None);
        // 31 March, not checked in, 9 so far: today's check-in reaches 10.
        let s = state("2026-03-30", 1, "2026-03", 9);
        let t = next_cumulative_tier(&r, &s, d("2026-03-31"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((10, 1)));
    }

    #[test]
    fn a_weekly_period_ends_on_sunday() {
        let mut r = rule(StreakTierMode::Cycle);
        r.cumulative_period = Period::Week;
        r.cumulative_tiers = vec![Tier { days: 5, bonus: 9 }];
        // Thursday 2026-03-12, checked in, 2 this week: Fri..Sun gives 3 more, enough.
        let s = state("2026-03-12", 1, "2026-W11", 2);
        let t = next_cumulative_tier(&r, &s, d("2026-03-12"));
        assert_eq!(t.map(|t| (t.days, t.remaining)), Some((5, 3)));
        // Friday, checked in, 2 this week: Sat and Sun are not enough.
        let s = state("2026-03-13", 1, "2026-W11", 2);
        assert_eq!(next_cumulative_tier(&r, &s, d("2026-03-13")), None);
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(Month::parse("2026-02").unwrap().last(), d("2026-02-28"));
        assert_eq!(Month::parse("2026-12").unwrap().last(), d("2026-12-31"));
        for bad in [
            "2026-13",
            "2026-2",
            "26-02",
            "2026/02",
            "",
            "1999-01",
            "2026-02-01",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_streak_days_end_on_the_last_check_in() {
        let s = state("2026-03-09", 3, "2026-03", 3);
        let days = streak_days(&s, d("2026-03-10"));
        assert_eq!(
            days,
            vec![d("2026-03-09"), d("2026-03-08"), d("2026-03-07")]
        );
        let broken = streak_days(&s, d("2026-03-12"));
        assert!(broken.is_empty());
    }
}
