//! The rota's choice: who a code adds to at a local time, given each member's adds of the
//! day through the code. Pure; the callers apply it to WeCom (`update_contact_way`) when it
//! differs from the code's current members.
use super::model::{minutes_of, CodeKind, Rota};
use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;
use std::collections::HashMap;

/// Why these members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// On shift and under the cap.
    Scheduled,
    /// Nobody on shift is available (capped or off hours): the backup members.
    Backup,
    /// Nobody on shift is available and there is no backup: the members on shift although
    /// capped, or everyone on the rota off hours (a code must always name someone).
    Fallback,
}

/// The rota's choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The members, in rota order (one for a single-member code).
    pub members: Vec<String>,
    /// Why.
    pub duty: Duty,
}

/// The members on shift at `local` (distinct, in rota order), capped or not.
pub fn on_shift(rota: &Rota, local: NaiveDateTime) -> Vec<String> {
    let day = local.weekday().number_from_monday() as u8;
    let minute = local.hour() * 60 + local.minute();
    let mut out: Vec<String> = Vec::new();
    for s in &rota.shifts {
        let (Some(a), Some(b)) = (minutes_of(&s.start), minutes_of(&s.end)) else {
            continue;
        };
        if s.weekdays.contains(&day) && a <= minute && minute < b && !out.contains(&s.userid) {
            out.push(s.userid.clone());
        }
    }
    out
}

/// The next local minute after `after` at which [`on_shift`] changes: a shift's start or
/// end on one of its weekdays where the members on shift differ from the minute before.
/// `None` when no such minute comes in a week (the rota repeats weekly): no shifts, or
/// shifts that cover every minute.
pub fn next_boundary(rota: &Rota, after: NaiveDateTime) -> Option<NaiveDateTime> {
    let minute_of = |t: NaiveDateTime| t.hour() * 60 + t.minute();
    let start =
        after.date().and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minute_of(after)));
    // A shift's start or end on one of its weekdays, as (day offset from `after`'s day,
    // minute of that day); a 24:00 end is the next day's 00:00.
    let mut points: Vec<(i64, u32)> = Vec::new();
    for offset in 0..=8i64 {
        let day = (after.date() + Duration::days(offset))
            .weekday()
            .number_from_monday() as u8;
        let yesterday = (after.date() + Duration::days(offset - 1))
            .weekday()
            .number_from_monday() as u8;
        for s in &rota.shifts {
            let (Some(a), Some(b)) = (minutes_of(&s.start), minutes_of(&s.end)) else {
                continue;
            };
            if s.weekdays.contains(&day) {
                points.push((offset, a));
                if b < 1440 {
                    points.push((offset, b));
                }
            }
            if b == 1440 && s.weekdays.contains(&yesterday) {
                points.push((offset, 0));
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    points
        .into_iter()
        .map(|(offset, minute)| {
            after.date().and_time(NaiveTime::MIN)
                + Duration::days(offset)
                + Duration::minutes(i64::from(minute))
        })
        .filter(|t| *t > start && *t <= start + Duration::days(7))
        .find(|t| on_shift(rota, *t) != on_shift(rota, *t - Duration::minutes(1)))
}

/// The next local minute after `after` at which the rota's choice can change by itself:
/// [`next_boundary`], or for a capped rota the next local midnight (the day's adds start
/// again at zero), whichever comes first.
pub fn next_change(rota: &Rota, after: NaiveDateTime) -> Option<NaiveDateTime> {
    let boundary = next_boundary(rota, after);
    let midnight = rota
        .daily_cap
        .map(|_| (after.date() + Duration::days(1)).and_time(NaiveTime::MIN));
    match (boundary, midnight) {
        (Some(b), Some(m)) => Some(b.min(m)),
        (b, m) => b.or(m),
    }
}

/// Who the code adds to at `local`, given each member's adds today through it.
pub fn choose(
    rota: &Rota,
    kind: CodeKind,
    local: NaiveDateTime,
    adds_today: &HashMap<String, u32>,
) -> Choice {
    let shift = on_shift(rota, local);
    let under_cap: Vec<String> = shift
        .iter()
        .filter(|u| {
            rota.daily_cap
                .is_none_or(|cap| adds_today.get(*u).copied().unwrap_or(0) < cap)
        })
        .cloned()
        .collect();
    let (mut members, duty) = if !under_cap.is_empty() {
        (under_cap, Duty::Scheduled)
    } else if !rota.backup.is_empty() {
        let mut b: Vec<String> = Vec::new();
        for u in &rota.backup {
            if !b.contains(u) {
                b.push(u.clone());
            }
        }
        (b, Duty::Backup)
    } else if !shift.is_empty() {
        (shift, Duty::Fallback)
    } else {
        (rota.members(), Duty::Fallback)
    };
    if kind == CodeKind::Single {
        members.truncate(1);
    }
    Choice { members, duty }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::model::Shift;
    use chrono::NaiveDate;

    fn shift(u: &str, days: &[u8], start: &str, end: &str) -> Shift {
        Shift {
            userid: u.into(),
            weekdays: days.to_vec(),
            start: start.into(),
            end: end.into(),
        }
    }

    fn rota(cap: Option<u32>, backup: &[&str]) -> Rota {
        Rota {
            shifts: vec![
                shift("amy", &[1, 2, 3, 4, 5], "09:00", "18:00"),
                shift("bob", &[1, 2, 3, 4, 5], "13:00", "24:00"),
                shift("cat", &[6, 7], "10:00", "16:00"),
            ],
            daily_cap: cap,
            backup: backup.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// 2026-03-02 is a Monday.
    fn at(day: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn none() -> HashMap<String, u32> {
        HashMap::new()
    }

    #[test]
    fn members_on_shift_by_weekday_and_hour() {
        let r = rota(None, &["zed"]);
        let c = |t| choose(&r, CodeKind::Multi, t, &none());
        assert_eq!(c(at(2, 9, 0)).members, ["amy"]);
        assert_eq!(c(at(2, 13, 0)).members, ["amy", "bob"]);
        assert_eq!(c(at(2, 17, 59)).members, ["amy", "bob"]);
        // The end is exclusive; 24:00 covers the day's last minute.
        assert_eq!(c(at(2, 18, 0)).members, ["bob"]);
        assert_eq!(c(at(2, 23, 59)).members, ["bob"]);
        // Saturday: cat only.
        assert_eq!(c(at(7, 12, 0)).members, ["cat"]);
        assert_eq!(c(at(7, 12, 0)).duty, Duty::Scheduled);
    }

    #[test]
    fn off_hours_go_to_the_backup_members() {
        let r = rota(None, &["zed", "yan"]);
        let c = choose(&r, CodeKind::Multi, at(2, 8, 59), &none());
        assert_eq!(
            (c.members, c.duty),
            (vec!["zed".into(), "yan".into()], Duty::Backup)
        );
    }

    #[test]
    fn capped_members_leave_the_rota_for_the_day() {
        let r = rota(Some(3), &["zed"]);
        let adds: HashMap<String, u32> = [("amy".to_string(), 3), ("bob".to_string(), 2)].into();
        let c = choose(&r, CodeKind::Multi, at(2, 14, 0), &adds);
        assert_eq!(
            (c.members, c.duty),
            (vec!["bob".to_string()], Duty::Scheduled)
        );
        let adds: HashMap<String, u32> = [("amy".to_string(), 3), ("bob".to_string(), 3)].into();
        let c = choose(&r, CodeKind::Multi, at(2, 14, 0), &adds);
        assert_eq!((c.members, c.duty), (vec!["zed".to_string()], Duty::Backup));
    }

    #[test]
    fn without_backup_a_code_still_names_someone() {
        let r = rota(Some(1), &[]);
        let adds: HashMap<String, u32> = [("amy".to_string(), 1)].into();
        let c = choose(&r, CodeKind::Multi, at(2, 10, 0), &adds);
        assert_eq!(
            (c.members, c.duty),
            (vec!["amy".to_string()], Duty::Fallback)
        );
        let c = choose(&r, CodeKind::Multi, at(2, 3, 0), &none());
        assert_eq!(c.members, ["amy", "bob", "cat"]);
        assert_eq!(c.duty, Duty::Fallback);
    }

    #[test]
    fn a_single_member_code_takes_the_first_choice() {
        let r = rota(None, &["zed"]);
        let c = choose(&r, CodeKind::Single, at(2, 14, 0), &none());
        assert_eq!(c.members, ["amy"]);
        let c = choose(&r, CodeKind::Single, at(2, 2, 0), &none());
        assert_eq!(c.members, ["zed"]);
    }

    fn one(shifts: Vec<Shift>) -> Rota {
        Rota {
            shifts,
            daily_cap: None,
            backup: Vec::new(),
        }
    }

    #[test]
    fn the_next_boundary_is_a_shift_start_or_end_that_changes_who_is_on() {
        let r = rota(None, &[]);
        // Monday 08:00 → amy starts at 09:00; 09:00 itself is past → bob at 13:00.
        assert_eq!(next_boundary(&r, at(2, 8, 0)), Some(at(2, 9, 0)));
        assert_eq!(next_boundary(&r, at(2, 9, 0)), Some(at(2, 13, 0)));
        assert_eq!(
            next_boundary(&r, at(2, 9, 0) + Duration::seconds(59)),
            Some(at(2, 13, 0))
        );
        // Overlapping shifts: amy leaves at 18:00 while bob stays.
        assert_eq!(next_boundary(&r, at(2, 13, 0)), Some(at(2, 18, 0)));
        // bob's 24:00 end is Tuesday's 00:00.
        assert_eq!(next_boundary(&r, at(2, 18, 0)), Some(at(3, 0, 0)));
        // Friday's 24:00, then Saturday's cat at 10:00.
        assert_eq!(next_boundary(&r, at(6, 20, 0)), Some(at(7, 0, 0)));
        assert_eq!(next_boundary(&r, at(7, 0, 0)), Some(at(7, 10, 0)));
        // Sunday 16:00 → the week wraps to Monday 09:00.
        assert_eq!(next_boundary(&r, at(8, 16, 0)), Some(at(9, 9, 0)));
    }

    #[test]
    fn minutes_where_nobody_changes_are_no_boundary() {
        // Every minute covered, by one shift or two back to back.
        let all = [1, 2, 3, 4, 5, 6, 7];
        let r = one(vec![shift("amy", &all, "00:00", "24:00")]);
        assert_eq!(next_boundary(&r, at(2, 8, 0)), None);
        let r = one(vec![
            shift("amy", &all, "00:00", "12:00"),
            shift("amy", &all, "12:00", "24:00"),
        ]);
        assert_eq!(next_boundary(&r, at(2, 8, 0)), None);
        // The same member's overlapping shifts: only the outer edges move anyone.
        let r = one(vec![
            shift("amy", &[1], "09:00", "12:00"),
            shift("amy", &[1], "11:00", "14:00"),
        ]);
        assert_eq!(next_boundary(&r, at(2, 10, 0)), Some(at(2, 14, 0)));
        assert_eq!(next_boundary(&r, at(2, 14, 0)), Some(at(9, 9, 0)));
        assert_eq!(next_boundary(&one(Vec::new()), at(2, 8, 0)), None);
    }

    #[test]
    fn a_capped_rota_also_changes_at_midnight() {
        let r = one(vec![shift("amy", &[1, 2, 3, 4, 5, 6, 7], "00:00", "24:00")]);
        assert_eq!(next_change(&r, at(2, 8, 0)), None);
        let capped = Rota {
            daily_cap: Some(5),
            ..r
        };
        assert_eq!(next_change(&capped, at(2, 8, 0)), Some(at(3, 0, 0)));
        let r = Rota {
            daily_cap: Some(5),
            ..rota(None, &[])
        };
        assert_eq!(next_change(&r, at(2, 8, 0)), Some(at(2, 9, 0)));
        assert_eq!(next_change(&r, at(2, 18, 0)), Some(at(3, 0, 0)));
    }
}
