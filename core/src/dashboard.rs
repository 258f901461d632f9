//! The console's dashboard: today and the last days at a glance, per tenant-local day.
//! Everything is read from what is recorded per day, never by counting customers:
//! - points issued / spent / expired: the ledger's day index ([`DayTotals`], cached once a
//!   day is closed);
//! - check-ins, members joining and leaving groups, contacts added, customers gained and
//!   lost: the sharded daily counters ([`crate::points::stats`]), counted once per check-in
//!   or event;
//! - customers now: a sharded counter moved by the customers gained and lost, corrected by
//!   every full directory re-sync ([`recount_customers`]);
//! - SOP execution: the occurrences dispatched per day and their tasks
//!   ([`crate::sop::calendar::executed`], bounded);
//! - groups now: the directory's group index (one item per group, not per customer).
//!
//! Every source is read at once, and each in a few requests whatever the window's length.
use crate::contacts::{DirectoryRead, RelationStatus};
use crate::points::ports::{ActivityStore, HistoryRead, Memberships};
use crate::points::views::DayTotals;
use crate::ports::StoreError;
use crate::sop::calendar::{executed, CalendarError, Executed};
use crate::sop::ports::{PlanStore, TaskStore};
use crate::tenants::TenantId;
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

/// The longest window, in days.
pub const MAX_DAYS: u32 = 90;

/// The window's days, oldest first, ending on `today`; `days` from 1 to [`MAX_DAYS`].
pub fn window(today: NaiveDate, days: u32) -> Option<Vec<NaiveDate>> {
    if !(1..=MAX_DAYS).contains(&days) {
        return None;
    }
    Some(
        (0..i64::from(days))
            .rev()
            .map(|back| today - Duration::days(back))
            .collect(),
    )
}

/// One day of the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DashboardDay {
    /// The tenant-local day.
    pub date: String,
    /// Contacts added (staff and customer becoming contacts).
    pub contacts_added: i64,
    /// Customers gained (their first active relation with the tenant's staff).
    pub customers_added: i64,
    /// Customers lost (their last relation removed).
    pub customers_lost: i64,
    /// Members who joined the tenant's groups.
    pub members_joined: i64,
    /// Members who left them.
    pub members_left: i64,
    /// Customers who checked in.
    pub check_ins: i64,
    /// Points issued (earned and imported).
    pub points_issued: i64,
    /// Points spent on rewards.
    pub points_spent: i64,
    /// Points expired.
    pub points_expired: i64,
    /// Points removed by operators or by leaving (deduct, clear, zero on leave).
    pub points_removed: i64,
    /// SOP occurrences dispatched for the day.
    pub sop_occurrences: usize,
    /// Their tasks.
    pub sop_tasks: usize,
    /// Of them, done.
    pub sop_tasks_done: usize,
    /// Failed.
    pub sop_tasks_failed: usize,
    /// Still pending.
    pub sop_tasks_pending: usize,
}

/// The dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// The tenant's today.
    pub date: String,
    /// The tenant's timezone.
    pub timezone: String,
    /// Customers now (with at least one active relation with the tenant's staff).
    pub customers: i64,
    /// Groups now (not dismissed).
    pub groups: usize,
    /// Today's figures (the last day of `series`).
    pub today: DashboardDay,
    /// Sums over the window.
    pub window: DashboardDay,
    /// One entry per day, oldest first.
    pub series: Vec<DashboardDay>,
    /// The SOP figures cover only part of the window's occurrences (very many plans or
    /// occurrences).
    pub sop_truncated: bool,
}

/// Combines the day figures (pure).
pub fn assemble(
    dates: &[NaiveDate],
    counted: &[crate::points::stats::DayFigures],
    totals: &[DayTotals],
    sop: &Executed,
) -> (Vec<DashboardDay>, DashboardDay) {
    let mut sum = DashboardDay {
        date: String::new(),
        ..Default::default()
    };
    let series: Vec<DashboardDay> = dates
        .iter()
        .enumerate()
        .map(|(i, date)| {
            let c = counted.get(i).cloned().unwrap_or_default();
            let p = totals.get(i).cloned().unwrap_or_default();
            let s = sop.days.get(date).cloned().unwrap_or_default();
            DashboardDay {
                date: date.format("%Y-%m-%d").to_string(),
                contacts_added: c.contacts_added,
                customers_added: c.customers_added,
                customers_lost: c.customers_lost,
                members_joined: c.members_joined,
                members_left: c.members_left,
                check_ins: c.check_ins,
                points_issued: p.issued,
                points_spent: p.spent,
                points_expired: p.expired,
                points_removed: p.removed,
                sop_occurrences: s.occurrences,
                sop_tasks: s.tasks.total,
                sop_tasks_done: s.tasks.done,
                sop_tasks_failed: s.tasks.failed,
                sop_tasks_pending: s.tasks.pending,
            }
        })
        .collect();
    for d in &series {
        sum.contacts_added += d.contacts_added;
        sum.customers_added += d.customers_added;
        sum.customers_lost += d.customers_lost;
        sum.members_joined += d.members_joined;
        sum.members_left += d.members_left;
        sum.check_ins += d.check_ins;
        sum.points_issued += d.points_issued;
        sum.points_spent += d.points_spent;
        sum.points_expired += d.points_expired;
        sum.points_removed += d.points_removed;
        sum.sop_occurrences += d.sop_occurrences;
        sum.sop_tasks += d.sop_tasks;
        sum.sop_tasks_done += d.sop_tasks_done;
        sum.sop_tasks_failed += d.sop_tasks_failed;
        sum.sop_tasks_pending += d.sop_tasks_pending;
    }
    (series, sum)
}

/// Why the dashboard could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// `days` out of bounds.
    #[error("days must be from 1 to {MAX_DAYS}")]
    BadDays,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CalendarError> for DashboardError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Store(s) => DashboardError::Store(s),
            other => DashboardError::Store(StoreError::Corrupt(other.to_string())),
        }
    }
}

impl From<DashboardError> for crate::http::ApiError {
    fn from(e: DashboardError) -> Self {
        match e {
            DashboardError::BadDays => crate::http::ApiError::validation(e.to_string()),
            DashboardError::Store(s) => s.into(),
        }
    }
}

/// The dashboard of the `days` days ending on tenant-local `today`.
pub async fn dashboard<P, M, S>(
    points: &P,
    directory: &M,
    sop: &S,
    t: &TenantId,
    today: NaiveDate,
    days: u32,
    tz: Tz,
) -> Result<Dashboard, DashboardError>
where
    P: HistoryRead + ActivityStore,
    M: Memberships,
    S: PlanStore + TaskStore,
{
    let dates = window(today, days).ok_or(DashboardError::BadDays)?;
    let names: Vec<String> = dates
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    // A day is cached once it is two days old (see `points::admin::day_closed`).
    let closed_through = today
        .checked_sub_days(chrono::Days::new(2))
        .map(|d| d.format("%Y-%m-%d").to_string());
    let totals = async {
        Ok::<_, DashboardError>(
            points
                .days_totals(t, &names, closed_through.as_deref())
                .await?,
        )
    };
    let counted = async { Ok::<_, DashboardError>(points.day_figures(t, &names).await?) };
    let customers = async { Ok::<_, DashboardError>(points.customers_total(t).await?) };
    let groups = async { Ok::<_, DashboardError>(directory.groups(t).await?) };
    let first = dates.first().copied().unwrap_or(today);
    let executed = async { Ok::<_, DashboardError>(executed(sop, t, first, today, tz).await?) };
    let (totals, counted, customers, groups, executed) =
        futures::try_join!(totals, counted, customers, groups, executed)?;
    let (series, window) = assemble(&dates, &counted, &totals, &executed);
    Ok(Dashboard {
        date: today.format("%Y-%m-%d").to_string(),
        timezone: tz.name().to_string(),
        // Never below zero, whatever drift the next re-sync will correct.
        customers: customers.max(0),
        groups: groups.len(),
        today: series.last().cloned().unwrap_or_default(),
        window,
        series,
        sop_truncated: executed.truncated,
    })
}

/// Counts the customers the directory holds with at least one active relation and sets the
/// dashboard's number of customers to it (after a full re-sync, when the directory is as
/// WeCom says). Returns the count.
pub async fn recount_customers<D, A>(dir: &D, counters: &A, t: &TenantId) -> Result<i64, StoreError>
where
    D: DirectoryRead,
    A: ActivityStore,
{
    let mut count = 0i64;
    let mut after: Option<String> = None;
    loop {
        let page = dir.customers(t, after.as_deref(), 500).await?;
        count += page
            .items
            .iter()
            .filter(|c| {
                c.follow_users
                    .iter()
                    .any(|f| f.status == RelationStatus::Active)
            })
            .count() as i64;
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let delta = counters.correct_customers_total(t, count).await?;
    if delta != 0 {
        tracing::info!(count, delta, "number of customers corrected by the re-sync");
    }
    Ok(count)
}

/// One day of a group's page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStatsDay {
    /// The tenant-local day.
    pub date: String,
    /// Members who joined.
    pub joined: usize,
    /// Members who left.
    pub left: usize,
    /// Customers who checked in while members.
    pub checked_in: usize,
    /// `checked_in / customers_now` (0 for a group without customers).
    pub check_in_rate: f64,
}

/// A group's page: members now, and joins, leaves and check-ins by day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// The group.
    pub chat_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Members now (customers and staff).
    pub members_now: i64,
    /// Customers now: the rate's denominator on every day (memberships are not kept per
    /// day).
    pub customers_now: i64,
    /// One entry per day, oldest first.
    pub days: Vec<GroupStatsDay>,
}

/// A group's days, from its group-day records (one partition per group and day).
pub async fn group_days<A: ActivityStore>(
    store: &A,
    t: &TenantId,
    chat_id: &str,
    dates: &[NaiveDate],
    customers_now: i64,
) -> Result<Vec<GroupStatsDay>, StoreError> {
    stream::iter(dates.iter().copied())
        .map(|date| async move {
            let name = date.format("%Y-%m-%d").to_string();
            let day = store.group_day(t, chat_id, &name).await?;
            let checked_in = day.checked_in.len();
            Ok::<_, StoreError>(GroupStatsDay {
                date: name,
                joined: day.joined.len(),
                left: day.left.len(),
                checked_in,
                check_in_rate: crate::points::views::rate(checked_in as i64, customers_now),
            })
        })
        .buffered(8)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::stats::DayFigures;
    use crate::sop::calendar::{ExecutedDay, TaskCounts};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_window_ends_today_and_is_bounded() {
        let w = window(d("2026-03-02"), 3).unwrap();
        assert_eq!(w, [d("2026-02-28"), d("2026-03-01"), d("2026-03-02")]);
        assert!(window(d("2026-03-02"), 0).is_none());
        assert!(window(d("2026-03-02"), 91).is_none());
        assert_eq!(window(d("2026-03-02"), 90).unwrap().len(), 90);
    }

    #[test]
    fn days_combine_every_source_and_sum() {
        let dates = window(d("2026-03-02"), 2).unwrap();
        let counted = vec![
            DayFigures {
                date: "2026-03-01".into(),
                check_ins: 4,
                ..Default::default()
            },
            DayFigures {
                date: "2026-03-02".into(),
                check_ins: 1,
                members_joined: 2,
                ..Default::default()
            },
        ];
        let totals = vec![
            DayTotals {
                issued: 10,
                ..Default::default()
            },
            DayTotals {
                spent: 3,
                ..Default::default()
            },
        ];
        let mut sop = Executed::default();
        sop.days.insert(
            d("2026-03-02"),
            ExecutedDay {
                occurrences: 1,
                tasks: TaskCounts {
                    total: 5,
                    done: 3,
                    failed: 1,
                    pending: 1,
                },
            },
        );
        let (series, sum) = assemble(&dates, &counted, &totals, &sop);
        assert_eq!(series[1].date, "2026-03-02");
        assert_eq!((series[1].check_ins, series[1].points_spent), (1, 3));
        assert_eq!((series[1].sop_tasks, series[1].sop_tasks_done), (5, 3));
        assert_eq!(
            (sum.check_ins, sum.points_issued, sum.members_joined),
            (5, 10, 2)
        );
    }
}
