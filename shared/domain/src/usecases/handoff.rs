//! `Handoff`: the priorities whose newly accepted actions the actions table's stream queues.
//!
//! On the serverless path a submission's `SendMessage` is a billable request per action; the
//! stream function sees every accepted action anyway, and one `SendMessageBatch` there carries
//! ten. The submitter leaves the first delivery of those priorities to the stream (a little
//! later: the stream's delay), and keeps queueing the others itself (`critical` and `high` by
//! default, at once). The local runtime has no stream and hands off nothing.

use crate::model::{Action, Priority, Status, WorkItem};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handoff([bool; 4]);

impl Handoff {
    /// Nothing handed off: the submitter queues every action itself.
    pub const NONE: Handoff = Handoff([false; 4]);

    pub fn of(priorities: &[Priority]) -> Self {
        let mut on = [false; 4];
        for p in priorities {
            on[p.index()] = true;
        }
        Self(on)
    }

    /// A comma-separated list of priorities (`normal,low`); empty or `none` for none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(Self::NONE);
        }
        let mut priorities = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            priorities.push(
                Priority::parse(part)
                    .ok_or_else(|| format!("{part:?} is not a priority (critical, high, normal, low; or none)"))?,
            );
        }
        Ok(Self::of(&priorities))
    }

    pub fn covers(&self, priority: Priority) -> bool {
        self.0[priority.index()]
    }

    /// The work item the stream queues for this change: an action just accepted (inserted,
    /// queued) of a priority handed off.
    pub fn wants(&self, old: Option<&Action>, new: &Action) -> Option<WorkItem> {
        (old.is_none() && new.status == Status::Queued && self.covers(new.priority)).then(|| WorkItem::of(new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_named_in_a_list() {
        let h = Handoff::parse(" normal, low ").expect("parse");
        assert_eq!(h, Handoff::of(&[Priority::Normal, Priority::Low]));
        assert!(h.covers(Priority::Low) && !h.covers(Priority::Critical));
        assert_eq!(Handoff::parse("").expect("empty"), Handoff::NONE);
        assert_eq!(Handoff::parse("none").expect("none"), Handoff::NONE);
        assert!(Handoff::parse("normal,urgent").expect_err("unknown").contains("\"urgent\""));
    }
}
