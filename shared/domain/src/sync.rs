//! The one lock helper: a poisoned mutex (a panic while it was held) still yields its data —
//! every structure guarded here stays consistent between statements.

use std::sync::{Mutex, MutexGuard};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
