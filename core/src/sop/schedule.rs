//! When plans fire: wall-clock times in the tenant's timezone, recurring daily, on chosen
//! weekdays or on chosen days of the month, and dated one-off times (the group calendar).
//!
//! Everything here is pure. The one question the dispatcher asks is "the first occurrence
//! strictly after this instant" ([`Schedule::next_after`]); it is answered by walking local
//! calendar days, so day, week, month and year boundaries, month lengths and leap years
//! need no special cases, and it works in any IANA timezone:
//! - a configured day of the month that a month does not have (the 31st in April, the
//!   30th in February) fires on that month's last day, once;
//! - a local time that a DST change skips (02:30 on a spring-forward night) fires at the
//!   same distance after the gap opened (03:30), and a local time that happens twice (a
//!   fall-back night) fires the first time.
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A wall-clock time of day, `HH:MM` (00:00–23:59), minutes being the dispatcher's grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    hour: u8,
    minute: u8,
}

impl LocalTime {
    /// Parses `HH:MM`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("invalid time `{raw}`: use HH:MM from 00:00 to 23:59");
        let (h, m) = raw.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(Self { hour, minute })
    }

    /// A time from hour and minute, if valid.
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour <= 23 && minute <= 59).then_some(Self { hour, minute })
    }

    /// As a chrono time.
    pub fn naive(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(u32::from(self.hour), u32::from(self.minute), 0)
            .unwrap_or(NaiveTime::MIN)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        LocalTime::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The last second before the minute of `now` began: the occurrences strictly after it
/// are those from `now`'s minute on. Minutes are the dispatcher's grain (it runs once a
/// minute and dispatches whatever is due), so a plan saved during one of its minutes fires
/// in that minute, as one saved a little earlier would; only earlier minutes are past.
pub fn before_minute_of(now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = now.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(60) - 1, 0).unwrap_or(now)
}

/// A wall-clock date and time, `YYYY-MM-DDTHH:MM` (seconds, if given, must be zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime(NaiveDateTime);

impl LocalDateTime {
    /// Parses `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:00`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("invalid local date-time `{raw}`: use YYYY-MM-DDTHH:MM");
        let (date, time) = raw.split_once('T').ok_or_else(bad)?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let time = match time.len() {
            5 => LocalTime::parse(time).map_err(|_| bad())?,
            8 if time.ends_with(":00") => LocalTime::parse(&time[..5]).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        Ok(Self(date.and_time(time.naive())))
    }

    /// From a date and a time.
    pub fn new(date: NaiveDate, time: LocalTime) -> Self {
        Self(date.and_time(time.naive()))
    }

    /// The naive value.
    pub fn naive(&self) -> NaiveDateTime {
        self.0
    }

    /// The instant it denotes in `tz` (see the module docs for DST gaps and overlaps).
    pub fn in_tz(&self, tz: Tz) -> DateTime<Utc> {
        resolve_local(tz, self.0)
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M"))
    }
}

impl Serialize for LocalDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        LocalDateTime::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A weekday on the wire: `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Day(pub Weekday);

impl Day {
    fn name(&self) -> &'static str {
        match self.0 {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let day = match raw.to_ascii_lowercase().as_str() {
            "mon" | "monday" => Weekday::Mon,
            "tue" | "tuesday" => Weekday::Tue,
            "wed" | "wednesday" => Weekday::Wed,
            "thu" | "thursday" => Weekday::Thu,
            "fri" | "friday" => Weekday::Fri,
            "sat" | "saturday" => Weekday::Sat,
            "sun" | "sunday" => Weekday::Sun,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "invalid weekday `{raw}`: use mon, tue, wed, thu, fri, sat or sun"
                )))
            }
        };
        Ok(Day(day))
    }
}

/// A recurring schedule of a group or moments plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Every day at `time`.
    Daily {
        /// Time of day.
        time: LocalTime,
    },
    /// On each of `weekdays` at `time`.
    Weekly {
        /// The weekdays (at least one).
        weekdays: Vec<Day>,
        /// Time of day.
        time: LocalTime,
    },
    /// On each of `days` of the month (1–31; a day the month lacks fires on its last day).
    Monthly {
        /// Days of the month (at least one).
        days: Vec<u8>,
        /// Time of day.
        time: LocalTime,
    },
}

/// How far ahead the day walk looks: more than a year plus a month, so that any valid
/// schedule finds its next day.
const MAX_DAYS_AHEAD: i64 = 400;

impl Schedule {
    /// Problems with the schedule, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self {
            Schedule::Daily { .. } => {}
            Schedule::Weekly { weekdays, .. } => {
                if weekdays.is_empty() {
                    out.push((
                        "schedule.weekdays".into(),
                        "choose at least one weekday".into(),
                    ));
                }
            }
            Schedule::Monthly { days, .. } => {
                if days.is_empty() {
                    out.push((
                        "schedule.days".into(),
                        "choose at least one day of the month".into(),
                    ));
                }
                for d in days {
                    if !(1..=31).contains(d) {
                        out.push((
                            "schedule.days".into(),
                            format!("day of the month {d} is not between 1 and 31"),
                        ));
                    }
                }
            }
        }
        out
    }

    fn time(&self) -> LocalTime {
        match self {
            Schedule::Daily { time }
            | Schedule::Weekly { time, .. }
            | Schedule::Monthly { time, .. } => *time,
        }
    }

    /// Whether the schedule fires on local `date`.
    pub fn fires_on(&self, date: NaiveDate) -> bool {
        match self {
            Schedule::Daily { .. } => true,
            Schedule::Weekly { weekdays, .. } => weekdays.iter().any(|d| d.0 == date.weekday()),
            Schedule::Monthly { days, .. } => {
                let last = last_day_of_month(date);
                let day = date.day();
                days.iter().any(|&d| {
                    let d = u32::from(d);
                    d == day || (day == last && d > last)
                })
            }
        }
    }

    /// The first occurrence strictly after `after`, in `tz`; `None` for a schedule that
    /// never fires (an invalid one).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let time = self.time();
        let start = after.with_timezone(&tz).date_naive() - Duration::days(1);
        (0..MAX_DAYS_AHEAD)
            .map(|i| start + Duration::days(i))
            .filter(|d| self.fires_on(*d))
            .map(|d| resolve_local(tz, d.and_time(time.naive())))
            .find(|at| *at > after)
    }
}

/// The last day (28–31) of `date`'s month.
pub fn last_day_of_month(date: NaiveDate) -> u32 {
    days_in_month(date.year(), date.month())
}

/// How many days a month has.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(31)
}

/// The instant a wall-clock time denotes in `tz`: the earlier instant when it happens twice,
/// and, inside a DST gap, the instant as far after the gap opened as the time is after the
/// gap's start (the offset before the gap applied).
pub fn resolve_local(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // The offset in force just before the gap (gaps are at most a few hours).
            let probe = naive - Duration::hours(6);
            let offset = match tz.from_local_datetime(&probe) {
                LocalResult::Single(t) => t.offset().fix(),
                LocalResult::Ambiguous(a, _) => a.offset().fix(),
                LocalResult::None => Utc.fix(),
            };
            let utc = naive - Duration::seconds(i64::from(offset.local_minus_utc()));
            Utc.from_utc_datetime(&utc)
        }
    }
}

/// The local date of an instant in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe};

    fn t(s: &str) -> LocalTime {
        LocalTime::parse(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn chain(s: &Schedule, from: &str, tz: Tz, n: usize) -> Vec<String> {
        let mut at = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = s.next_after(at, tz).unwrap();
            out.push(
                at.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M %a")
                    .to_string(),
            );
        }
        out
    }

    #[test]
    fn times_are_validated() {
        assert!(LocalTime::parse("09:00").is_ok());
        assert!(LocalTime::parse("23:59").is_ok());
        for bad in ["24:00", "9:00", "09:60", "0900", "ab:cd", "", "09:00:00"] {
            let e = LocalTime::parse(bad).unwrap_err();
            assert!(e.contains("HH:MM"), "{bad}: {e}");
        }
        assert!(LocalDateTime::parse("2025-02-29T10:00").is_err());
        assert!(LocalDateTime::parse("2024-02-29T10:00").is_ok());
        assert!(LocalDateTime::parse("2024-02-29T10:00:30").is_err());
    }

    #[test]
    fn daily_crosses_midnight_month_and_year() {
        let s = Schedule::Daily { time: t("09:00") };
        // 2025-12-31 09:00 Shanghai = 01:00Z; just after it, next is Jan 1 09:00 local.
        assert_eq!(
            chain(&s, "2025-12-31T01:00:00Z", Asia::Shanghai, 2),
            ["2026-01-01 09:00 Thu", "2026-01-02 09:00 Fri"]
        );
        // Just before: same day.
        assert_eq!(
            chain(&s, "2025-12-31T00:59:00Z", Asia::Shanghai, 1),
            ["2025-12-31 09:00 Wed"]
        );
        // Late in the UTC day is already the next local day in Shanghai.
        assert_eq!(
            chain(&s, "2025-06-30T20:00:00Z", Asia::Shanghai, 1),
            ["2025-07-01 09:00 Tue"]
        );
    }

    #[test]
    fn weekly_crosses_week_and_year_boundaries() {
        let s = Schedule::Weekly {
            weekdays: vec![Day(Weekday::Mon), Day(Weekday::Fri)],
            time: t("15:00"),
        };
        assert_eq!(
            chain(&s, "2025-12-26T08:00:00Z", Asia::Shanghai, 4),
            [
                "2025-12-29 15:00 Mon",
                "2026-01-02 15:00 Fri",
                "2026-01-05 15:00 Mon",
                "2026-01-09 15:00 Fri"
            ]
        );
    }

    #[test]
    fn monthly_month_end_days_fire_on_the_last_day_once() {
        let s = Schedule::Monthly {
            days: vec![29, 30, 31],
            time: t("18:00"),
        };
        assert_eq!(
            chain(&s, "2025-01-31T12:00:00Z", Asia::Shanghai, 5),
            [
                "2025-02-28 18:00 Fri",
                "2025-03-29 18:00 Sat",
                "2025-03-30 18:00 Sun",
                "2025-03-31 18:00 Mon",
                "2025-04-29 18:00 Tue"
            ]
        );
        let only31 = Schedule::Monthly {
            days: vec![31],
            time: t("18:00"),
        };
        assert_eq!(
            chain(&only31, "2024-01-31T12:00:00Z", Asia::Shanghai, 4),
            [
                "2024-02-29 18:00 Thu",
                "2024-03-31 18:00 Sun",
                "2024-04-30 18:00 Tue",
                "2024-05-31 18:00 Fri"
            ]
        );
        let first = Schedule::Monthly {
            days: vec![1],
            time: t("18:00"),
        };
        assert_eq!(
            chain(&first, "2025-12-01T10:00:00Z", Asia::Shanghai, 2),
            ["2026-01-01 18:00 Thu", "2026-02-01 18:00 Sun"]
        );
    }

    #[test]
    fn dst_gaps_and_overlaps_in_other_timezones() {
        // New York springs forward on 2025-03-09 02:00 → 03:00.
        let s = Schedule::Daily { time: t("02:30") };
        let at = s
            .next_after(utc("2025-03-08T12:00:00Z"), America::New_York)
            .unwrap();
        assert_eq!(at, utc("2025-03-09T07:30:00Z")); // 03:30 EDT
        let next = s.next_after(at, America::New_York).unwrap();
        assert_eq!(next, utc("2025-03-10T06:30:00Z")); // 02:30 EDT

        // Falls back on 2025-11-02 02:00 → 01:00: 01:30 happens twice, fire the first.
        let s = Schedule::Daily { time: t("01:30") };
        let at = s
            .next_after(utc("2025-11-01T12:00:00Z"), America::New_York)
            .unwrap();
        assert_eq!(at, utc("2025-11-02T05:30:00Z")); // 01:30 EDT
        let next = s.next_after(at, America::New_York).unwrap();
        assert_eq!(next, utc("2025-11-03T06:30:00Z")); // 01:30 EST, not 06:30Z the same day
                                                       // Berlin across the year boundary.
        let s = Schedule::Daily { time: t("00:00") };
        assert_eq!(
            chain(&s, "2025-12-31T12:00:00Z", Europe::Berlin, 1),
            ["2026-01-01 00:00 Thu"]
        );
    }

    #[test]
    fn problems_name_the_field() {
        let s = Schedule::Monthly {
            days: vec![0, 32],
            time: t("10:00"),
        };
        let p = s.problems();
        assert_eq!(p.len(), 2);
        assert!(p[0].1.contains("between 1 and 31"));
        let s = Schedule::Weekly {
            weekdays: vec![],
            time: t("10:00"),
        };
        assert_eq!(s.problems()[0].0, "schedule.weekdays");
    }

    #[test]
    fn schedules_parse_from_json_with_clear_errors() {
        let s: Schedule =
            serde_json::from_str(r#"{"kind":"weekly","weekdays":["mon","Fri"],"time":"15:00"}"#)
                .unwrap();
        assert!(matches!(s, Schedule::Weekly { .. }));
        let e = serde_json::from_str::<Schedule>(r#"{"kind":"daily","time":"25:00"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid time `25:00`"), "{e}");
        let e = serde_json::from_str::<Schedule>(
            r#"{"kind":"weekly","weekdays":["someday"],"time":"10:00"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("invalid weekday"), "{e}");
    }
}
