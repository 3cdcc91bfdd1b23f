//! A short-lived, per-process cache of the model lists endpoints answered (see
//! docs/DECISIONS.md "Live model lists"). A model list is not secret and is cheap to fetch
//! again, so each instance keeps its own: another instance behind the balancer fetches the
//! list once more, which is the whole cost of being stateless here.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};

/// How long a listing is served from the cache.
pub const MODEL_LIST_TTL: Duration = Duration::from_secs(5 * 60);

/// The most listings one process keeps (the oldest go first beyond that).
const MAX_ENTRIES: usize = 1000;

/// A list of model ids and when the endpoint answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelList {
    pub models: Vec<String>,
    pub fetched_at: DateTime<Utc>,
}

/// Listings by key (the caller chooses one that changes whenever the provider's kind,
/// address or key does). Clones share the one map.
#[derive(Debug, Clone, Default)]
pub struct ModelListCache {
    entries: Arc<Mutex<HashMap<String, ModelList>>>,
}

impl ModelListCache {
    /// The listing under `key`, while younger than [`MODEL_LIST_TTL`] at `now`.
    pub fn get(&self, key: &str, now: DateTime<Utc>) -> Option<ModelList> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(list) if fresh(list, now) => Some(list.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `list` under `key`; stale entries are dropped first, and the oldest when full.
    pub fn put(&self, key: String, list: ModelList, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, l| fresh(l, now));
        if entries.len() >= MAX_ENTRIES
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, l)| l.fetched_at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, list);
    }
}

fn fresh(list: &ModelList, now: DateTime<Utc>) -> bool {
    let ttl = TimeDelta::from_std(MODEL_LIST_TTL).unwrap_or(TimeDelta::MAX);
    now < list.fetched_at + ttl && now >= list.fetched_at - TimeDelta::minutes(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_expires_after_the_ttl() {
        let cache = ModelListCache::default();
        let t0 = Utc::now();
        let list = ModelList {
            models: vec!["m1".to_owned()],
            fetched_at: t0,
        };
        cache.put("p".to_owned(), list.clone(), t0);
        assert_eq!(cache.get("p", t0 + TimeDelta::minutes(4)), Some(list));
        assert_eq!(cache.get("p", t0 + TimeDelta::minutes(5)), None);
        assert_eq!(cache.get("p", t0), None, "an expired entry is gone");
    }
}
