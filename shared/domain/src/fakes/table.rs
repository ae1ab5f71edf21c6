//! A versioned table in memory: insert if new, get, replace if still at a version — the
//! conditions every versioned store keeps — with every successful write recorded.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::approval::Approval;
use crate::error::StoreError;
use crate::sync::lock;
use crate::workflow::Workflow;

/// An item kept under its id, written pinned to its version.
pub trait Versioned: Clone {
    fn key(&self) -> &str;
    fn version(&self) -> u64;
}

impl Versioned for Approval {
    fn key(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
}

impl Versioned for Workflow {
    fn key(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
}

pub struct MemoryTable<T> {
    items: Mutex<HashMap<String, T>>,
    /// Every successful write, in order: (old, new).
    pub writes: Mutex<Vec<(Option<T>, T)>>,
}

impl<T> Default for MemoryTable<T> {
    fn default() -> Self {
        Self { items: Mutex::new(HashMap::new()), writes: Mutex::new(Vec::new()) }
    }
}

impl<T: Versioned> MemoryTable<T> {
    pub fn insert(&self, item: &T) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        if items.contains_key(item.key()) {
            return Err(StoreError::AlreadyExists);
        }
        items.insert(item.key().to_owned(), item.clone());
        lock(&self.writes).push((None, item.clone()));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<T> {
        lock(&self.items).get(id).cloned()
    }

    pub fn replace(&self, old: &T, new: &T) -> Result<(), StoreError> {
        let mut items = lock(&self.items);
        match items.get(old.key()) {
            Some(current) if current.version() == old.version() => {
                items.insert(new.key().to_owned(), new.clone());
                lock(&self.writes).push((Some(old.clone()), new.clone()));
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    pub fn all(&self) -> Vec<T> {
        lock(&self.items).values().cloned().collect()
    }
}
