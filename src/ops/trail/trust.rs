//! Verifying the trail against its signed checkpoints (DESIGN.md "Audit trail trust"): every
//! checkpoint's hash and signature, its link to the checkpoint before it, and the head it
//! signed against the recomputed chain. The first event (or range of events) that differs
//! from what a checkpoint signed is named; a rollback behind a later restore marker is
//! reported as acknowledged instead. Used by `switchboard audit verify` and the scheduled
//! full verification.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    path::PathBuf,
};

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};

use super::{
    chain::{self, GENESIS},
    checkpoint::{self as cp, ExternalLine, SignedCheckpoint, chain_label, unhex},
};
use crate::{
    crypto::signing::AuditPublicKey,
    db::prelude::*,
    ops::{OpError, OpResult},
};

/// What one chain's verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOutcome {
    /// Org id; 0 for the events without an org.
    pub chain: i64,
    /// Events whose hashes were recomputed and matched.
    pub verified: u64,
    /// The first problem, if any.
    pub problem: Option<String>,
    /// The newest external checkpoint this chain matched.
    pub external_at: Option<DateTime<Utc>>,
}

/// What a verification found, over every chain.
#[derive(Debug, Clone, Default)]
pub struct TrustReport {
    pub chains: Vec<ChainOutcome>,
    /// Signed checkpoints whose heads were compared with the recomputed chains.
    pub checkpoints: usize,
    /// Whether an external checkpoint store was read.
    pub external: bool,
    /// Problems with the checkpoints themselves (edited, forged, missing lines).
    pub checkpoint_problems: Vec<String>,
    /// Rollbacks covered by a later restore marker.
    pub acknowledged: Vec<String>,
    /// Lines of the external store cut short (an append interrupted by a crash or a kill, or
    /// in progress while it was read): not checkpoints, and not problems by themselves.
    pub incomplete: Vec<String>,
}

impl TrustReport {
    /// Every problem: the checkpoints' first, then each chain's.
    pub fn problems(&self) -> Vec<String> {
        let mut all = self.checkpoint_problems.clone();
        all.extend(self.chains.iter().filter_map(|c| c.problem.clone()));
        all
    }

    /// Events verified over all chains.
    pub fn verified(&self) -> u64 {
        self.chains.iter().map(|c| c.verified).sum()
    }
}

#[derive(diesel::QueryableByName)]
struct EventAt {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Bytea)]
    hash: Vec<u8>,
}

/// The stored event `seq` of `chain`: (id, hash).
pub async fn event_at(
    conn: &mut AsyncPgConnection,
    chain: i64,
    seq: i64,
) -> QueryResult<Option<(i64, Vec<u8>)>> {
    let sql = if chain == 0 {
        "SELECT id, hash FROM audit_events WHERE org_id IS NULL AND seq = $2 AND $1 = 0"
    } else {
        "SELECT id, hash FROM audit_events WHERE org_id = $1 AND seq = $2"
    };
    let row: Option<EventAt> = diesel::sql_query(sql)
        .bind::<BigInt, _>(chain)
        .bind::<BigInt, _>(seq)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|r| (r.id, r.hash)))
}

/// Org slugs by id, for messages.
pub async fn slugs(conn: &mut AsyncPgConnection) -> QueryResult<HashMap<i64, String>> {
    use crate::db::schema::orgs;
    let rows: Vec<(i64, String)> = orgs::table
        .select((orgs::id, orgs::slug))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

fn chain_id(key: i64) -> chain::ChainId {
    (key != 0).then_some(key)
}

/// A checkpoint accepted as genuine, and where it came from.
struct Trusted {
    cp: SignedCheckpoint,
    at: DateTime<Utc>,
    external: bool,
}

/// The external checkpoint store a verification reads.
#[derive(Debug, Clone, Copy)]
pub struct Store<'a> {
    /// Directories of `*.jsonl` files.
    pub dirs: &'a [PathBuf],
    /// They hold every instance's files (`audit verify --checkpoints DIR…`), so a database
    /// checkpoint in none of them is a problem; one instance's own directory holds only what
    /// that instance signed (the scheduled verification), so it is not.
    pub complete: bool,
}

/// Checks every checkpoint of the database and (when given) of the external store, then
/// every chain against them. With no `keys`, signatures cannot be checked: checkpoints are
/// then only compared by hash (the report's caller says the trail is unsigned).
///
/// The trail may be written and signed while this runs (docs/DECISIONS.md "Checkpoints after
/// a killed instance"), so the reads come in an order that makes that invisible: first the
/// database's checkpoints (each was appended to its file before it committed), then the
/// files, then everything else — checkpoints again, chains, heads — in one repeatable-read
/// snapshot taken after the files were read (every event a line covers was committed before
/// the line was written). Only the checkpoints of the first read must be in a file.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    keys: &[AuditPublicKey],
    store: Option<Store<'_>>,
) -> OpResult<TrustReport> {
    let complete = store.is_some_and(|s| s.complete);
    let before = cp::all(conn).await?;
    let external = store
        .map(|s| cp::read_external(s.dirs))
        .transpose()
        .map_err(|e| OpError::bad(format!("The checkpoint store can't be read: {e}")))?;
    let report = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| in_snapshot(conn, keys, before, external, complete).await)
        .await?;
    Ok(report)
}

/// [`verify`] inside its snapshot: `before` are the database's checkpoints read before the
/// files.
async fn in_snapshot(
    conn: &mut AsyncPgConnection,
    keys: &[AuditPublicKey],
    before: Vec<cp::Row>,
    external: Option<Vec<ExternalLine>>,
    complete: bool,
) -> QueryResult<TrustReport> {
    let slugs = slugs(conn).await?;
    let mut report = TrustReport {
        external: external.is_some(),
        ..TrustReport::default()
    };
    let describe = |c: &SignedCheckpoint| {
        format!(
            "the {} of {} at #{} signed {}",
            if c.kind == "restore" {
                "restore marker"
            } else {
                "checkpoint"
            },
            chain_label(c.chain, &slugs),
            c.seq,
            c.signed_at
        )
    };
    // The snapshot's checkpoints, and any of the first read since deleted.
    let mut rows = cp::all(conn).await?;
    let ids: HashSet<i64> = rows.iter().map(|r| r.id).collect();
    let must_ship: HashSet<String> = before.iter().map(|r| cp::hex(&r.hash)).collect();
    rows.extend(before.into_iter().filter(|r| !ids.contains(&r.id)));
    let mut sources: Vec<(String, SignedCheckpoint, bool)> = rows
        .iter()
        .map(|r| {
            (
                format!("database checkpoint {}", r.id),
                r.to_signed(),
                false,
            )
        })
        .collect();
    for line in external.iter().flatten() {
        match &line.checkpoint {
            Ok(c) => sources.push((line.place.clone(), c.clone(), true)),
            Err(cp::LineError::Incomplete(e)) => report.incomplete.push(format!(
                "{}: an incomplete write, not a checkpoint ({e}); ignored",
                line.place
            )),
            Err(cp::LineError::Invalid(e)) => report
                .checkpoint_problems
                .push(format!("{}: not a checkpoint line ({e})", line.place)),
        }
    }
    let mut trusted: Vec<Trusted> = Vec::new();
    for (place, c, is_external) in &sources {
        let checked = if keys.is_empty() {
            // Unsigned trail: the hash alone (catches edits, not forgeries).
            c.canonical().and_then(|b| {
                (unhex(&c.hash) == Some(crate::crypto::sha256(&b).to_vec()))
                    .then_some(())
                    .ok_or(cp::Invalid::Edited)
            })
        } else {
            c.check(keys)
        };
        match checked.and_then(|()| c.time()) {
            Ok(at) => trusted.push(Trusted {
                cp: c.clone(),
                at,
                external: *is_external,
            }),
            Err(e) => report
                .checkpoint_problems
                .push(format!("{place}: {} {e}", describe(c))),
        }
    }
    // Links: each checkpoint follows one that exists (or is the first).
    let known: HashSet<&str> = trusted.iter().map(|t| t.cp.hash.as_str()).collect();
    let genesis = cp::hex(&cp::GENESIS);
    for (place, c, _) in &sources {
        if known.contains(c.hash.as_str()) && c.prev != genesis && !known.contains(c.prev.as_str())
        {
            report.checkpoint_problems.push(format!(
                "{place}: {} follows checkpoint {}…, which {}: a checkpoint is missing",
                describe(c),
                &c.prev[..12.min(c.prev.len())],
                if report.external {
                    "neither the checkpoint files nor the database hold"
                } else {
                    "the database no longer holds"
                }
            ));
        }
    }
    if report.external && complete {
        let shipped: HashSet<&str> = trusted
            .iter()
            .filter(|t| t.external)
            .map(|t| t.cp.hash.as_str())
            .collect();
        // A checkpoint committed after the files were read may not be in them yet.
        for t in trusted
            .iter()
            .filter(|t| !t.external && must_ship.contains(&t.cp.hash))
        {
            if !shipped.contains(t.cp.hash.as_str()) {
                report.checkpoint_problems.push(format!(
                    "{} is in no checkpoint file: a line is missing from the external store (or was never shipped)",
                    describe(&t.cp)
                ));
            }
        }
    }
    // One entry per distinct checkpoint, external copy preferred.
    let mut by_hash: HashMap<String, Trusted> = HashMap::new();
    for t in trusted {
        match by_hash.get(&t.cp.hash) {
            Some(old) if old.external || !t.external => {}
            _ => {
                by_hash.insert(t.cp.hash.clone(), t);
            }
        }
    }
    let mut per_chain: HashMap<i64, Vec<Trusted>> = HashMap::new();
    for t in by_hash.into_values() {
        per_chain.entry(t.cp.chain).or_default().push(t);
    }
    let mut chains: BTreeSet<i64> = chain::all_chains(conn)
        .await?
        .into_iter()
        .map(|c| c.unwrap_or(0))
        .collect();
    chains.extend(per_chain.keys().copied());
    for chain in chains {
        let mut cps = per_chain.remove(&chain).unwrap_or_default();
        cps.sort_by_key(|t| (t.cp.seq, t.at));
        report.checkpoints += cps.len();
        let outcome = check_chain(conn, chain, &cps, &slugs, &mut report.acknowledged).await?;
        report.chains.push(outcome);
    }
    Ok(report)
}

/// Recomputes `chain` whole, then compares each checkpoint's head with it.
async fn check_chain(
    conn: &mut AsyncPgConnection,
    chain: i64,
    cps: &[Trusted],
    slugs: &HashMap<i64, String>,
    acknowledged: &mut Vec<String>,
) -> QueryResult<ChainOutcome> {
    let label = chain_label(chain, slugs);
    let mut outcome = ChainOutcome {
        chain,
        verified: 0,
        problem: None,
        external_at: None,
    };
    // Walk to each checkpointed seq in turn, keeping the recomputed hash there.
    let wanted: BTreeSet<i64> = cps.iter().map(|t| t.cp.seq).collect();
    let mut at: HashMap<i64, Vec<u8>> = HashMap::from([(0, GENESIS.to_vec())]);
    let mut cur = (0i64, GENESIS.to_vec());
    let mut ended = false;
    let mut walk_broken = false;
    for seq in wanted.iter().copied().chain([i64::MAX]) {
        if ended || seq <= cur.0 {
            continue;
        }
        let budget = u64::try_from(seq - cur.0).unwrap_or(u64::MAX);
        let walked = chain::walk(conn, chain_id(chain), cur.clone(), budget).await?;
        outcome.verified += walked.verified;
        if let Some((_, s, h)) = &walked.last {
            cur = (*s, h.clone());
            at.insert(*s, h.clone());
        }
        if let Some(b) = walked.broken {
            outcome.problem = Some(format!("{label}: {}", b.reason));
            ended = true;
            walk_broken = true;
        } else if cur.0 < seq {
            ended = true;
        }
    }
    if outcome.problem.is_none()
        && let Some((head_seq, head_hash)) = chain::head(conn, chain_id(chain)).await?
        && (head_seq != cur.0 || head_hash != cur.1)
    {
        outcome.problem = Some(format!(
            "{label}: the chain's head is #{head_seq} but the stored events end at #{}: events after it are missing or altered",
            cur.0
        ));
    }
    let restores: Vec<&Trusted> = cps.iter().filter(|t| t.cp.kind == "restore").collect();
    let mut matched_below = 0i64;
    for t in cps {
        let head = unhex(&t.cp.head);
        if head.is_some() && at.get(&t.cp.seq) == head.as_ref() {
            matched_below = matched_below.max(t.cp.seq);
            if t.external {
                outcome.external_at = outcome.external_at.max(Some(t.at));
            }
            continue;
        }
        if let Some(r) = restores.iter().find(|r| r.at > t.at) {
            acknowledged.push(format!(
                "{label}: rolled back from #{} (checkpoint of {}) to #{}: a restore marked at {}",
                t.cp.seq, t.cp.signed_at, r.cp.seq, r.cp.signed_at
            ));
            continue;
        }
        if walk_broken {
            // The walk named the exact event already.
            break;
        }
        let problem = if t.cp.seq > cur.0 {
            format!(
                "{label}: events #{}–#{} are missing: the checkpoint of {} signed the chain up to #{}, but it now ends at #{}",
                cur.0 + 1,
                t.cp.seq,
                t.cp.signed_at,
                t.cp.seq,
                cur.0
            )
        } else {
            let lo = matched_below + 1;
            let ids = (
                event_at(conn, chain, lo).await?.map(|e| e.0),
                event_at(conn, chain, t.cp.seq).await?.map(|e| e.0),
            );
            let name = |id: Option<i64>| id.map_or("?".to_owned(), |i| i.to_string());
            if lo == t.cp.seq {
                format!(
                    "{label}: event {} (#{}) differs from what the checkpoint of {} signed: the trail was rewritten",
                    name(ids.1),
                    t.cp.seq,
                    t.cp.signed_at
                )
            } else {
                format!(
                    "{label}: the first differing event is among #{lo}–#{} (events {}–{}): the chain no longer matches the checkpoint of {}: the trail was rewritten",
                    t.cp.seq,
                    name(ids.0),
                    name(ids.1),
                    t.cp.signed_at
                )
            }
        };
        outcome.problem = Some(problem);
        break;
    }
    Ok(outcome)
}
