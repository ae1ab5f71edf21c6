//! `SchedulerFunction`: the EventBridge schedule.
pub mod handler;
