//! The relay's two limits: a global budget of request bytes in flight (a call reserves its
//! Content-Length before its body is read, and gives it back once the upstream has
//! answered), and the calls one token may have open at once (held until the answer's
//! last byte, so a stream counts for as long as it is open). Both refuse at once rather
//! than queue: a caller is told to come back (`Retry-After`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits of one process.
pub struct Limits {
    budget: Arc<Semaphore>,
    per_token: u32,
    open: Mutex<HashMap<i64, u32>>,
}

/// A call's place in its token's allowance; given back on drop.
pub struct TokenSlot {
    limits: Arc<Limits>,
    token: i64,
}

/// Bytes reserved from the budget; given back on drop.
pub struct Reserved(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Limits {
    pub fn new(budget_bytes: usize, per_token: u32) -> Arc<Self> {
        Arc::new(Self {
            budget: Arc::new(Semaphore::new(budget_bytes.min(Semaphore::MAX_PERMITS))),
            per_token,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `token`, or `None` when it has `per_token` calls open already.
    pub fn enter(self: &Arc<Self>, token: i64) -> Option<TokenSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(token).or_insert(0);
        if *n >= self.per_token {
            return None;
        }
        *n += 1;
        Some(TokenSlot {
            limits: self.clone(),
            token,
        })
    }

    /// Reserves `bytes` of the budget, or `None` when that many are not free now.
    pub fn reserve(&self, bytes: usize) -> Option<Reserved> {
        if bytes == 0 {
            return Some(Reserved(None));
        }
        let n = u32::try_from(bytes).ok()?;
        self.budget
            .clone()
            .try_acquire_many_owned(n)
            .ok()
            .map(|p| Reserved(Some(p)))
    }
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_bytes_come_back_on_drop() {
        let limits = Limits::new(100, 2);
        let a = limits.enter(7).unwrap();
        let _b = limits.enter(7).unwrap();
        assert!(limits.enter(7).is_none());
        assert!(
            limits.enter(8).is_some(),
            "another token has its own allowance"
        );
        drop(a);
        assert!(limits.enter(7).is_some());
        let r = limits.reserve(80).unwrap();
        assert!(limits.reserve(30).is_none());
        drop(r);
        assert!(limits.reserve(100).is_some());
        assert!(limits.reserve(0).is_some());
    }
}
