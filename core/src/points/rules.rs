//! A tenant's earning rules and the pure computations they drive: what a check-in is worth
//! on a given tenant-local day, when a lot expires, whether a profile is complete.
use super::model::MAX_POINTS;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// At most three tiers per kind of check-in reward, as merchants configure them.
pub const MAX_TIERS: usize = 3;
/// The longest validity a tenant may set (ten years).
pub const MAX_VALIDITY_DAYS: u32 = 3650;

/// A tenant's earning rules. Every rule is off until the tenant turns it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PointsRules {
    /// Newcomer points (新人积分): once per customer ever.
    pub newcomer: NewcomerRule,
    /// Daily check-in (签到).
    pub check_in: CheckInRule,
    /// Profile completion (完善资料).
    pub profile: ProfileRule,
    /// Following the official account (关注公众号): pays once.
    pub follow_official_account: FixedRule,
    /// Following the video channel (关注视频号): pays once.
    pub follow_video_channel: FixedRule,
    /// Leaving zeroes the customer's points (退群清零).
    pub zero_on_leave: bool,
    /// What counts as leaving for [`Self::zero_on_leave`].
    pub zero_on_leave_scope: LeaveScope,
    /// Days points stay valid (有效期); `None`: they never expire.
    pub validity_days: Option<u32>,
}

/// What counts as leaving for zero-on-leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LeaveScope {
    /// Leaving the tenant's community: the customer has no active membership left in the
    /// tenant's groups. Leaving one group while still in another keeps the points.
    #[default]
    Community,
    /// Leaving any one group, even while still in others.
    AnyGroup,
}

/// How streak tiers pay along a long streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StreakTierMode {
    /// The tiers are one cycle as long as the longest tier (3/7/15 days: a 15-day cycle),
    /// repeated while the streak lasts: day 18 of a streak pays the 3-day tier again.
    #[default]
    Cycle,
    /// Each tier pays once per streak, on the day the streak reaches it.
    Once,
}

/// Newcomer points and the events that pay them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NewcomerRule {
    /// On or off.
    pub enabled: bool,
    /// Points paid.
    pub points: i64,
    /// Pay when a staff member first adds the customer as a contact.
    pub on_contact_added: bool,
    /// Pay when the customer first joins a group.
    pub on_group_join: bool,
}

/// A rule that pays a fixed amount once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FixedRule {
    /// On or off.
    pub enabled: bool,
    /// Points paid.
    pub points: i64,
}

/// One tier: reaching `days` (consecutive or cumulative) pays `bonus` on top of the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Consecutive days (streak tiers) or check-ins within the period (cumulative tiers).
    pub days: u32,
    /// Extra points paid on the check-in that reaches `days`.
    pub bonus: i64,
}

/// The period cumulative check-ins are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    #[default]
    Month,
}

impl Period {
    /// The period a tenant-local day belongs to (`2026-W05`, `2026-02`).
    pub fn key(&self, day: NaiveDate) -> String {
        match self {
            Period::Week => {
                let w = day.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => format!("{}-{:02}", day.year(), day.month()),
        }
    }
}

/// Daily check-in: base points, consecutive-streak tiers and cumulative tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CheckInRule {
    /// On or off.
    pub enabled: bool,
    /// Points per check-in.
    pub base_points: i64,
    /// Up to three consecutive-day tiers (e.g. 3, 7, 15 days), increasing.
    pub streak_tiers: Vec<Tier>,
    /// Whether the streak tiers repeat after the longest one (default) or pay once.
    pub streak_tier_mode: StreakTierMode,
    /// Up to three tiers of check-ins within `cumulative_period`, increasing.
    pub cumulative_tiers: Vec<Tier>,
    /// The period cumulative tiers count in.
    pub cumulative_period: Period,
}

/// A profile field a tenant may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    /// Name.
    Name,
    /// Mobile number.
    Mobile,
    /// WeChat id.
    WechatId,
    /// Postal address.
    Address,
}

/// Profile completion: pays once when every chosen field is filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileRule {
    /// On or off.
    pub enabled: bool,
    /// Points paid.
    pub points: i64,
    /// The fields that must all be filled (any non-empty subset).
    pub fields: Vec<ProfileField>,
}

/// A rule that is not acceptable, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidRules {
    /// The JSON path of the field.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> InvalidRules {
    InvalidRules {
        field: field.into(),
        problem: problem.into(),
    }
}

fn amount(field: &str, value: i64, enabled: bool) -> Result<(), InvalidRules> {
    if !(0..=MAX_POINTS).contains(&value) {
        return Err(bad(field, format!("must be from 0 to {MAX_POINTS}")));
    }
    if enabled && value == 0 && !field.ends_with("base_points") {
        return Err(bad(field, "an enabled rule must pay at least 1 point"));
    }
    Ok(())
}

fn tiers(field: &str, tiers: &[Tier]) -> Result<(), InvalidRules> {
    if tiers.len() > MAX_TIERS {
        return Err(bad(field, format!("at most {MAX_TIERS} tiers")));
    }
    let mut last = 0;
    for (i, t) in tiers.iter().enumerate() {
        if t.days < 2 || t.days > 366 {
            return Err(bad(&format!("{field}[{i}].days"), "must be from 2 to 366"));
        }
        if t.days <= last {
            return Err(bad(
                &format!("{field}[{i}].days"),
                "tiers must be in increasing order of days",
            ));
        }
        last = t.days;
        if !(1..=MAX_POINTS).contains(&t.bonus) {
            return Err(bad(
                &format!("{field}[{i}].bonus"),
                format!("must be from 1 to {MAX_POINTS}"),
            ));
        }
    }
    Ok(())
}

impl PointsRules {
    /// Checks every rule; the first problem is returned with its field.
    pub fn validate(&self) -> Result<(), InvalidRules> {
        let n = &self.newcomer;
        amount("newcomer.points", n.points, n.enabled)?;
        if n.enabled && !n.on_contact_added && !n.on_group_join {
            return Err(bad(
                "newcomer",
                "choose on_contact_added and/or on_group_join",
            ));
        }
        let c = &self.check_in;
        amount("check_in.base_points", c.base_points, c.enabled)?;
        tiers("check_in.streak_tiers", &c.streak_tiers)?;
        tiers("check_in.cumulative_tiers", &c.cumulative_tiers)?;
        if c.enabled
            && c.base_points == 0
            && c.streak_tiers.is_empty()
            && c.cumulative_tiers.is_empty()
        {
            return Err(bad("check_in", "an enabled check-in must pay something"));
        }
        if c.cumulative_period == Period::Week && c.cumulative_tiers.iter().any(|t| t.days > 7) {
            return Err(bad(
                "check_in.cumulative_tiers",
                "a weekly period has at most 7 check-ins",
            ));
        }
        if c.cumulative_tiers.iter().any(|t| t.days > 31) {
            return Err(bad(
                "check_in.cumulative_tiers",
                "a monthly period has at most 31 check-ins",
            ));
        }
        let p = &self.profile;
        amount("profile.points", p.points, p.enabled)?;
        if p.enabled && p.fields.is_empty() {
            return Err(bad("profile.fields", "choose at least one field"));
        }
        let mut seen = p.fields.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != p.fields.len() {
            return Err(bad("profile.fields", "a field is listed twice"));
        }
        amount(
            "follow_official_account.points",
            self.follow_official_account.points,
            self.follow_official_account.enabled,
        )?;
        amount(
            "follow_video_channel.points",
            self.follow_video_channel.points,
            self.follow_video_channel.enabled,
        )?;
        if let Some(days) = self.validity_days {
            if !(1..=MAX_VALIDITY_DAYS).contains(&days) {
                return Err(bad(
                    "validity_days",
                    format!("must be from 1 to {MAX_VALIDITY_DAYS}, or null for no expiry"),
                ));
            }
        }
        Ok(())
    }

    /// The first tenant-local date on which points earned on `earned_on` are no longer
    /// valid, or `None` when points do not expire.
    pub fn expiry_for(&self, earned_on: NaiveDate) -> Option<NaiveDate> {
        self.validity_days
            .and_then(|d| earned_on.checked_add_days(chrono::Days::new(u64::from(d))))
    }
}

/// A customer's check-in history as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CheckInState {
    /// The last tenant-local day checked in (`YYYY-MM-DD`).
    pub last_date: Option<String>,
    /// Consecutive days ending on `last_date`.
    pub streak: u32,
    /// The longest streak ever.
    pub longest: u32,
    /// Check-ins ever.
    pub total: u32,
    /// The period `period_count` counts in.
    pub period: Option<String>,
    /// Check-ins within `period`.
    pub period_count: u32,
    /// The answer of the check-in on `last_date`, stored with the state: a same-day retry
    /// answers it, so a check-in needs no idempotency record of its own. `None` for a
    /// state written before it was stored (that day's answer is in the idempotency record).
    #[serde(skip)]
    pub result: Option<super::model::Applied>,
}

impl CheckInState {
    /// The last check-in date, parsed.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.last_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }

    /// The streak as of `today`: still alive if the last check-in was today or yesterday,
    /// broken (0) after a missed day.
    pub fn current_streak(&self, today: NaiveDate) -> u32 {
        match self.last_day() {
            Some(last) if last == today || Some(last) == today.pred_opt() => self.streak,
            _ => 0,
        }
    }
}

/// What one check-in pays and the state after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInAward {
    /// The day checked in.
    pub date: String,
    /// Base points.
    pub base: i64,
    /// Streak tier reached today, if any.
    pub streak_bonus: i64,
    /// Cumulative tier reached today, if any.
    pub cumulative_bonus: i64,
    /// Total paid.
    pub total: i64,
    /// The state after the check-in.
    pub state: CheckInState,
}

/// Why a check-in cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckInRefused {
    /// The tenant has not enabled check-ins.
    #[error("check-in is not enabled")]
    Disabled,
    /// Already checked in on this day (a retry answers the first result instead).
    #[error("already checked in today")]
    AlreadyToday,
}

/// The streak tier a check-in on day `streak` of a streak reaches, if any.
fn streak_tier_bonus(rule: &CheckInRule, streak: u32) -> i64 {
    let day = match (rule.streak_tier_mode, rule.streak_tiers.last()) {
        (_, None) => return 0,
        (StreakTierMode::Cycle, Some(longest)) if longest.days > 0 => {
            (streak - 1) % longest.days + 1
        }
        _ => streak,
    };
    rule.streak_tiers
        .iter()
        .find(|t| t.days == day)
        .map(|t| t.bonus)
        .unwrap_or(0)
}

/// Computes a check-in on tenant-local day `today` from the state before it. A missed
/// day restarts the streak at 1; the period count restarts with each new period.
pub fn check_in(
    rule: &CheckInRule,
    before: &CheckInState,
    today: NaiveDate,
) -> Result<CheckInAward, CheckInRefused> {
    if !rule.enabled {
        return Err(CheckInRefused::Disabled);
    }
    let last = before.last_day();
    if let Some(last) = last {
        if last >= today {
            return Err(CheckInRefused::AlreadyToday);
        }
    }
    let streak = match last {
        Some(last) if Some(last) == today.pred_opt() => before.streak + 1,
        _ => 1,
    };
    let period = rule.cumulative_period.key(today);
    let period_count = if before.period.as_deref() == Some(period.as_str()) {
        before.period_count + 1
    } else {
        1
    };
    let streak_bonus = streak_tier_bonus(rule, streak);
    let cumulative_bonus = rule
        .cumulative_tiers
        .iter()
        .find(|t| t.days == period_count)
        .map(|t| t.bonus)
        .unwrap_or(0);
    let state = CheckInState {
        last_date: Some(today.format("%Y-%m-%d").to_string()),
        streak,
        longest: before.longest.max(streak),
        total: before.total + 1,
        period: Some(period),
        period_count,
        result: None,
    };
    Ok(CheckInAward {
        date: today.format("%Y-%m-%d").to_string(),
        base: rule.base_points,
        streak_bonus,
        cumulative_bonus,
        total: rule.base_points + streak_bonus + cumulative_bonus,
        state,
    })
}

/// The profile fields a customer has filled (what the customer API stores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerProfile {
    /// Name.
    pub name: Option<String>,
    /// Mobile number (mainland China: 11 digits starting with 1).
    pub mobile: Option<String>,
    /// WeChat id.
    pub wechat_id: Option<String>,
    /// Postal address.
    pub address: Option<String>,
}

impl CustomerProfile {
    /// Whether a field is filled.
    pub fn has(&self, field: ProfileField) -> bool {
        let v = match field {
            ProfileField::Name => &self.name,
            ProfileField::Mobile => &self.mobile,
            ProfileField::WechatId => &self.wechat_id,
            ProfileField::Address => &self.address,
        };
        v.as_deref().map(|s| !s.trim().is_empty()).unwrap_or(false)
    }

    /// Whether every field the rule chose is filled.
    pub fn completes(&self, rule: &ProfileRule) -> bool {
        !rule.fields.is_empty() && rule.fields.iter().all(|f| self.has(*f))
    }

    /// Overlays the fields given in `update` (absent fields are kept).
    pub fn merged(&self, update: &CustomerProfile) -> CustomerProfile {
        let pick = |new: &Option<String>, old: &Option<String>| {
            new.as_ref()
                .map(|s| s.trim().to_string())
                .or_else(|| old.clone())
        };
        CustomerProfile {
            name: pick(&update.name, &self.name),
            mobile: pick(&update.mobile, &self.mobile),
            wechat_id: pick(&update.wechat_id, &self.wechat_id),
            address: pick(&update.address, &self.address),
        }
    }

    /// Checks the fields given: a field is either absent or a valid value.
    pub fn validate(&self) -> Result<(), InvalidRules> {
        if let Some(name) = &self.name {
            let n = name.trim().chars().count();
            if !(1..=50).contains(&n) {
                return Err(bad("name", "1 to 50 characters"));
            }
        }
        if let Some(mobile) = &self.mobile {
            let m = mobile.trim();
            let ok = m.len() == 11
                && m.bytes().all(|b| b.is_ascii_digit())
                && m.starts_with('1')
                && (b'3'..=b'9').contains(&m.as_bytes()[1]);
            if !ok {
                return Err(bad("mobile", "an 11-digit mainland mobile number"));
            }
        }
        if let Some(id) = &self.wechat_id {
            let w = id.trim();
            let ok = (6..=20).contains(&w.len())
                && w.as_bytes()[0].is_ascii_alphabetic()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(bad(
                    "wechat_id",
                    "6 to 20 letters, digits, `_` or `-`, starting with a letter",
                ));
            }
        }
        if let Some(address) = &self.address {
            let n = address.trim().chars().count();
            if !(1..=200).contains(&n) {
                return Err(bad("address", "1 to 200 characters"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rule() -> CheckInRule {
        CheckInRule {
            enabled: true,
            base_points: 10,
            streak_tiers: vec![
                Tier { days: 3, bonus: 5 },
                Tier { days: 7, bonus: 20 },
                Tier {
                    days: 15,
                    bonus: 50,
                },
            ],
            cumulative_tiers: vec![
                Tier { days: 5, bonus: 7 },
                Tier {
                    days: 10,
                    bonus: 15,
                },
                Tier {
                    days: 20,
                    bonus: 40,
                },
            ],
            cumulative_period: Period::Month,
            streak_tier_mode: StreakTierMode::Cycle,
        }
    }

    #[test]
    fn streak_tiers_repeat_as_one_cycle_unless_set_to_pay_once() {
        let streak_bonuses = |r: &CheckInRule| {
            let mut state = CheckInState::default();
            let mut paid = Vec::new();
            let start = d("2026-03-01");
            for i in 0..33u64 {
                let a = check_in(r, &state, start + chrono::Days::new(i)).unwrap();
                if a.streak_bonus > 0 {
                    paid.push((a.state.streak, a.streak_bonus));
                }
                state = a.state;
            }
            paid
        };
        assert_eq!(
            streak_bonuses(&rule()),
            vec![
                (3, 5),
                (7, 20),
                (15, 50),
                (18, 5),
                (22, 20),
                (30, 50),
                (33, 5)
            ]
        );
        let once = CheckInRule {
            streak_tier_mode: StreakTierMode::Once,
            ..rule()
        };
        assert_eq!(streak_bonuses(&once), vec![(3, 5), (7, 20), (15, 50)]);
    }

    #[test]
    fn a_streak_pays_its_tiers_and_breaks_on_a_missed_day() {
        let r = rule();
        let mut state = CheckInState::default();
        let mut paid = Vec::new();
        for day in ["2026-01-01", "2026-01-02", "2026-01-03"] {
            let a = check_in(&r, &state, d(day)).unwrap();
            paid.push(a.total);
            state = a.state;
        }
        assert_eq!(paid, vec![10, 10, 15]);
        assert_eq!(state.streak, 3);
        // 2026-01-04 missed.
        assert_eq!(state.current_streak(d("2026-01-04")), 3);
        assert_eq!(state.current_streak(d("2026-01-05")), 0);
        let a = check_in(&r, &state, d("2026-01-05")).unwrap();
        assert_eq!(a.state.streak, 1);
        assert_eq!(a.state.longest, 3);
        assert_eq!(a.state.total, 4);
        assert_eq!(a.streak_bonus, 0);
    }

    #[test]
    fn cumulative_tiers_count_within_the_period_only() {
        let r = rule();
        let mut state = CheckInState::default();
        // Every other day: no streak, but 5 check-ins within January.
        let mut last = None;
        for day in [1, 3, 5, 7, 9] {
            let a = check_in(&r, &state, d(&format!("2026-01-{day:02}"))).unwrap();
            last = Some(a.clone());
            state = a.state;
        }
        let last = last.unwrap();
        assert_eq!(last.cumulative_bonus, 7);
        assert_eq!(last.total, 17);
        let feb = check_in(&r, &state, d("2026-02-01")).unwrap();
        assert_eq!(feb.state.period_count, 1);
        assert_eq!(feb.state.period.as_deref(), Some("2026-02"));
    }

    #[test]
    fn one_check_in_per_day() {
        let r = rule();
        let a = check_in(&r, &CheckInState::default(), d("2026-01-01")).unwrap();
        assert_eq!(
            check_in(&r, &a.state, d("2026-01-01")),
            Err(CheckInRefused::AlreadyToday)
        );
        let off = CheckInRule::default();
        assert_eq!(
            check_in(&off, &CheckInState::default(), d("2026-01-01")),
            Err(CheckInRefused::Disabled)
        );
    }

    #[test]
    fn rules_are_validated_with_the_field_at_fault() {
        let mut r = PointsRules::default();
        assert!(r.validate().is_ok());
        r.check_in = rule();
        assert!(r.validate().is_ok());
        r.check_in.streak_tiers[1].days = 3;
        assert_eq!(
            r.validate().unwrap_err().field,
            "check_in.streak_tiers[1].days"
        );
        r.check_in = rule();
        r.check_in.streak_tiers.push(Tier { days: 30, bonus: 1 });
        assert_eq!(r.validate().unwrap_err().field, "check_in.streak_tiers");
        r.check_in = rule();
        r.validity_days = Some(0);
        assert_eq!(r.validate().unwrap_err().field, "validity_days");
        r.validity_days = Some(30);
        r.profile = ProfileRule {
            enabled: true,
            points: 5,
            fields: vec![],
        };
        assert_eq!(r.validate().unwrap_err().field, "profile.fields");
        r.profile.fields = vec![ProfileField::Mobile, ProfileField::Mobile];
        assert!(r.validate().is_err());
        r.profile.fields = vec![ProfileField::Mobile];
        r.newcomer = NewcomerRule {
            enabled: true,
            points: 5,
            on_contact_added: false,
            on_group_join: false,
        };
        assert_eq!(r.validate().unwrap_err().field, "newcomer");
        r.newcomer.on_group_join = true;
        r.newcomer.points = -1;
        assert_eq!(r.validate().unwrap_err().field, "newcomer.points");
    }

    #[test]
    fn expiry_counts_whole_local_days() {
        let r = PointsRules {
            validity_days: Some(30),
            ..Default::default()
        };
        assert_eq!(r.expiry_for(d("2026-01-31")), Some(d("2026-03-02")));
        assert_eq!(PointsRules::default().expiry_for(d("2026-01-31")), None);
    }

    #[test]
    fn profiles_complete_when_every_chosen_field_is_filled() {
        let rule = ProfileRule {
            enabled: true,
            points: 5,
            fields: vec![ProfileField::Name, ProfileField::Mobile],
        };
        let p = CustomerProfile {
            name: Some("李雷".into()),
            ..Default::default()
        };
        assert!(!p.completes(&rule));
        let p = p.merged(&CustomerProfile {
            mobile: Some("13800138000".into()),
            ..Default::default()
        });
        assert!(p.completes(&rule));
        assert!(p.validate().is_ok());
        let bad = CustomerProfile {
            mobile: Some("12345".into()),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "mobile");
    }
}
