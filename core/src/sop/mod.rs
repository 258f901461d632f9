//! SOP plans and the task center (SOP计划 / 任务中心): plans become due tasks, staff are
//! reminded, execution is measured.
//!
//! - [`schedule`], [`plan`], [`content`]: what a plan is, when it fires, and validation
//!   with clear errors (pure).
//! - [`task`], [`occurrence`]: tasks and their state machine, occurrences, journey runs and
//!   the outbox of WeCom calls with its retry rules (pure).
//! - [`quota`]: WeCom's receive limits, per tenant (pure).
//! - [`figures`]: the execution figures (pure).
//! - [`reminder`]: the reminder text and the signed link to a staff member's list (pure).
//! - [`ports`]: the narrow traits the use cases take; `scrm-adapters` implements them over
//!   DynamoDB, the directory and the WeCom client.
//!
//! The flows are use cases here, generic over those ports; each function only parses its
//! trigger, calls one and maps the result:
//! - [`dispatch`] (`sop-dispatch` enqueues the minute's work, `sop-dispatch-worker` does it):
//!   expands due occurrences into tasks and sends reminders and the WeCom tasks through the
//!   outbox, with its retries.
//! - [`on_event`] (`sop-on-event`): starts journeys and fails tasks whose group or staff
//!   member went away.
//! - [`result_sync`] (`sop-result-sync`): reads WeCom's send results and settles tasks.
//!
//! `staff-api` is the task center; `admin-api` manages plans and shows the figures.
pub mod admin;
pub mod calendar;
pub mod content;
pub mod dispatch;
pub mod figures;
pub mod occurrence;
pub mod on_event;
pub mod plan;
pub mod ports;
pub mod quota;
pub mod reminder;
pub mod result_sync;
pub mod schedule;
pub mod targets;
pub mod task;
pub mod task_center;

pub use content::{Attachment, Content};
pub use figures::Figures;
pub use occurrence::{Branch, JourneyRun, Occurrence, OutboxItem, OutboxKind, OutboxState};
pub use plan::{Plan, PlanId, PlanInput, PlanKind, PlanSpec, PlanStatus, Problem};
pub use ports::{
    Created, DispatchQueue, DueEntry, GroupDirectory, GroupInfo, GroupTagStore, NewTask,
    OutboxStore, PlanStore, SopWeCom, TaskStore,
};
pub use schedule::{LocalDateTime, LocalTime, Schedule};
pub use task::{DoneBy, Failure, OccurrenceId, Target, Task, TaskKey, TaskStatus};
