//! What a customer would earn under a rules document, item by item: the earning rules'
//! own computations ([`super::rules::check_in`] and the fixed rules) run over a scenario,
//! with no store involved. The rules editor shows it before the rules are saved.
use super::rules::{check_in, CheckInState, PointsRules};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// The longest run of check-in days a preview computes.
pub const MAX_CHECK_IN_DAYS: u32 = 366;

/// A customer's story to price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Checks in on this many consecutive days (0 to [`MAX_CHECK_IN_DAYS`]).
    pub check_in_days: u32,
    /// The first of those days (default: the tenant's today); it decides where the
    /// cumulative period (week or month) starts counting.
    pub start_date: Option<NaiveDate>,
    /// Is a newcomer (added as a contact, or joins a group, as the rule's triggers say).
    pub newcomer: bool,
    /// Fills every profile field the rule asks for.
    pub profile_complete: bool,
    /// Follows the official account.
    pub follows_official_account: bool,
    /// Follows the video channel.
    pub follows_video_channel: bool,
}

/// One item of what would be earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewItem {
    /// The rule: `newcomer`, `check_in`, `profile`, `follow_official_account`,
    /// `follow_video_channel`.
    pub rule: &'static str,
    /// The day, for check-ins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Base points (check-ins) or the rule's points.
    pub base: i64,
    /// The streak tier's bonus reached that day (check-ins).
    pub streak_bonus: i64,
    /// The cumulative tier's bonus reached that day (check-ins).
    pub cumulative_bonus: i64,
    /// The streak that day (check-ins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streak: Option<u32>,
    /// Check-ins within the cumulative period that day (check-ins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_count: Option<u32>,
    /// All points of the item.
    pub points: i64,
    /// When the item's points would expire (first day no longer valid), if they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
}

/// The whole preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// Items in the order they would be paid.
    pub items: Vec<PreviewItem>,
    /// Sum of the items.
    pub total: i64,
    /// Of the total, from check-ins.
    pub check_in_total: i64,
}

/// Why a scenario cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("check_in_days must be from 0 to {MAX_CHECK_IN_DAYS}")]
pub struct BadScenario;

fn fixed(rule: &'static str, points: i64, expires_on: Option<NaiveDate>) -> PreviewItem {
    PreviewItem {
        rule,
        date: None,
        base: points,
        streak_bonus: 0,
        cumulative_bonus: 0,
        streak: None,
        period_count: None,
        points,
        expires_on,
    }
}

/// Prices `scenario` under `rules` (already validated) for a customer starting on
/// `today` with no history. Rules that are off pay nothing and list no item.
pub fn preview(
    rules: &PointsRules,
    scenario: &Scenario,
    today: NaiveDate,
) -> Result<Preview, BadScenario> {
    if scenario.check_in_days > MAX_CHECK_IN_DAYS {
        return Err(BadScenario);
    }
    let start = scenario.start_date.unwrap_or(today);
    let mut items = Vec::new();
    let newcomer = &rules.newcomer;
    if scenario.newcomer
        && newcomer.enabled
        && (newcomer.on_contact_added || newcomer.on_group_join)
    {
        items.push(fixed("newcomer", newcomer.points, rules.expiry_for(start)));
    }
    let mut state = CheckInState::default();
    let mut check_in_total = 0;
    for i in 0..scenario.check_in_days {
        let Some(day) = start.checked_add_days(Days::new(u64::from(i))) else {
            break;
        };
        let Ok(award) = check_in(&rules.check_in, &state, day) else {
            break; // Check-ins are off: nothing pays on any day.
        };
        check_in_total += award.total;
        items.push(PreviewItem {
            rule: "check_in",
            date: Some(award.date.clone()),
            base: award.base,
            streak_bonus: award.streak_bonus,
            cumulative_bonus: award.cumulative_bonus,
            streak: Some(award.state.streak),
            period_count: Some(award.state.period_count),
            points: award.total,
            expires_on: rules.expiry_for(day),
        });
        state = award.state;
    }
    if scenario.profile_complete && rules.profile.enabled {
        items.push(fixed(
            "profile",
            rules.profile.points,
            rules.expiry_for(start),
        ));
    }
    for (asked, rule, name) in [
        (
            scenario.follows_official_account,
            &rules.follow_official_account,
            "follow_official_account",
        ),
        (
            scenario.follows_video_channel,
            &rules.follow_video_channel,
            "follow_video_channel",
        ),
    ] {
        if asked && rule.enabled {
            items.push(fixed(name, rule.points, rules.expiry_for(start)));
        }
    }
    let total = items.iter().map(|i| i.points).sum();
    Ok(Preview {
        items,
        total,
        check_in_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::rules::{CheckInRule, FixedRule, NewcomerRule, Period, Tier};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rules() -> PointsRules {
        PointsRules {
            newcomer: NewcomerRule {
                enabled: true,
                points: 50,
                on_contact_added: true,
                on_group_join: false,
            },
            check_in: CheckInRule {
                enabled: true,
                base_points: 1,
                streak_tiers: vec![Tier { days: 3, bonus: 5 }, Tier { days: 7, bonus: 20 }],
                cumulative_tiers: vec![Tier {
                    days: 10,
                    bonus: 30,
                }],
                cumulative_period: Period::Month,
                ..Default::default()
            },
            follow_official_account: FixedRule {
                enabled: true,
                points: 8,
            },
            validity_days: Some(30),
            ..Default::default()
        }
    }

    #[test]
    fn a_ten_day_streak_pays_base_tiers_and_the_cumulative_bonus() {
        let s = Scenario {
            check_in_days: 10,
            start_date: Some(day("2026-03-01")),
            newcomer: true,
            follows_official_account: true,
            ..Default::default()
        };
        let p = preview(&rules(), &s, day("2026-01-01")).unwrap();
        // 10 base + day 3 (5) + day 7 (20) + day 10, the cycle's day 3 again (5), and
        // the month's 10th check-in (30).
        assert_eq!(p.check_in_total, 10 + 5 + 20 + 5 + 30);
        assert_eq!(p.total, p.check_in_total + 50 + 8);
        assert_eq!(p.items[0].rule, "newcomer");
        assert_eq!(p.items[0].expires_on, Some(day("2026-03-31")));
        let third = &p.items[3];
        assert_eq!((third.streak, third.streak_bonus), (Some(3), 5));
        assert_eq!(p.items.last().unwrap().rule, "follow_official_account");
    }

    #[test]
    fn rules_that_are_off_pay_nothing_and_bad_scenarios_are_refused() {
        let s = Scenario {
            check_in_days: 5,
            profile_complete: true,
            ..Default::default()
        };
        let p = preview(&PointsRules::default(), &s, day("2026-03-01")).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.total, 0);
        let too_long = Scenario {
            check_in_days: MAX_CHECK_IN_DAYS + 1,
            ..Default::default()
        };
        assert_eq!(
            preview(&rules(), &too_long, day("2026-03-01")),
            Err(BadScenario)
        );
    }
}
