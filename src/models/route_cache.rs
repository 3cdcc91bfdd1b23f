//! What this instance last read for a presented token: its row, its creator and role, and
//! the routing inputs of each feature asked about, with the org's epoch read in the same
//! statement (`release::token_and_routing_inputs`). Route answers and relayed calls use them
//! again after one primary-key read shows the org's epoch unchanged (`release::org_epoch`):
//! the database raises the epoch in every transaction that changes any of these rows
//! (migration `2026-12-06-000002_org_epochs`), so an entry is never used after a change
//! committed — a revoked token is refused at once, on every instance.
//!
//! The API's token callers use the token's rows the same way (`tokens::authenticate`), and
//! the providers list of an org as read at an epoch (`ops::providers::list_providers_for_api`)
//! answers a caller whose token was judged at that same epoch.
//!
//! Keys are SHA-256 hashes of presented tokens, never tokens. The sealed secret is kept as
//! it was read (still sealed); nothing opened is kept. Bounded: at [`CAPACITY`] tokens the
//! map starts again empty (a cache, not a record: the next call reads the database).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};

use crate::models::{api_token::Presented, provider::OrgProviders, release::RoutingInputs};

/// Tokens remembered at most (each with the features asked about).
pub const CAPACITY: usize = 10_000;

/// One token's rows as last read, at the org's `epoch`.
#[derive(Debug, Clone)]
struct Entry {
    org_id: i64,
    epoch: i64,
    presented: Presented,
    /// Per feature id: the routing inputs read with the token (`None`: no settings row).
    features: HashMap<&'static str, Option<RoutingInputs>>,
}

/// A remembered read: the token's rows and the feature's inputs, valid while the org's
/// epoch is still `epoch`.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub org_id: i64,
    pub epoch: i64,
    pub presented: Presented,
    pub inputs: Option<RoutingInputs>,
}

/// The per-process maps (see the module's documentation).
#[derive(Debug, Default)]
pub struct RouteCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Per org: its providers list as read at an epoch (without the 24 h usage).
    lists: Mutex<HashMap<i64, (i64, Arc<OrgProviders>)>>,
}

impl RouteCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock leaves only a cache: use it as it is.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What was last read for the token hashed `hash` and `feature`, if anything.
    pub fn get(&self, hash: &[u8; 32], feature: &'static str) -> Option<Remembered> {
        let entries = self.entries();
        let entry = entries.get(hash)?;
        let inputs = entry.features.get(feature)?.clone();
        Some(Remembered {
            org_id: entry.org_id,
            epoch: entry.epoch,
            presented: entry.presented.clone(),
            inputs,
        })
    }

    /// Remembers a read made at the org's `epoch`. A read at another epoch than the
    /// token's entry replaces the entry (its other features were read before a change).
    pub fn put(
        &self,
        hash: [u8; 32],
        feature: &'static str,
        epoch: i64,
        presented: Presented,
        inputs: Option<RoutingInputs>,
    ) {
        self.remember(hash, epoch, presented, Some((feature, inputs)));
    }

    /// The one way an entry is written: the token's rows at `epoch`, with a feature's
    /// inputs when the read had them.
    fn remember(
        &self,
        hash: [u8; 32],
        epoch: i64,
        presented: Presented,
        feature: Option<(&'static str, Option<RoutingInputs>)>,
    ) {
        let mut entries = self.entries();
        if let Some(entry) = entries.get_mut(&hash)
            && entry.epoch == epoch
        {
            entry.presented = presented;
            entry.features.extend(feature);
            return;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(&hash) {
            entries.clear();
        }
        let org_id = presented.1.id;
        entries.insert(
            hash,
            Entry {
                org_id,
                epoch,
                presented,
                features: feature.into_iter().collect(),
            },
        );
    }

    /// The token hashed `hash` as last read: its org, the epoch, its rows.
    pub fn token(&self, hash: &[u8; 32]) -> Option<(i64, i64, Presented)> {
        let entries = self.entries();
        let entry = entries.get(hash)?;
        Some((entry.org_id, entry.epoch, entry.presented.clone()))
    }

    /// Remembers a token read without routing inputs at the org's `epoch`.
    pub fn put_token(&self, hash: [u8; 32], epoch: i64, presented: Presented) {
        self.remember(hash, epoch, presented, None);
    }

    /// The org's providers list as read at `epoch`, if that is the one remembered.
    pub fn list(&self, org_id: i64, epoch: i64) -> Option<Arc<OrgProviders>> {
        let lists = self
            .lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lists
            .get(&org_id)
            .filter(|(at, _)| *at == epoch)
            .map(|(_, list)| list.clone())
    }

    /// Remembers the org's providers list as read at `epoch`.
    pub fn put_list(&self, org_id: i64, epoch: i64, list: Arc<OrgProviders>) {
        let mut lists = self
            .lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lists.len() >= CAPACITY && !lists.contains_key(&org_id) {
            lists.clear();
        }
        lists.insert(org_id, (epoch, list));
    }

    /// Forgets the token hashed `hash` (its org's epoch moved on).
    pub fn forget(&self, hash: &[u8; 32]) {
        self.entries().remove(hash);
    }

    /// Notes that the token's use was stamped at `at` (`last_used_at`, which raises no
    /// epoch), so the next uses within the minute don't stamp it again.
    pub fn used(&self, hash: &[u8; 32], at: DateTime<Utc>) {
        if let Some(entry) = self.entries().get_mut(hash) {
            entry.presented.0.last_used_at = Some(at);
        }
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
