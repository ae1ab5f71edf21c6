//! `ExecutorFunction`: the four priority queues → the executor use case.
pub mod handler;
