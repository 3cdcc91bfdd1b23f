//! Tamper evidence: every event's `hash` is SHA-256(canonical event ‖ previous hash of its
//! chain). The database's chain trigger computes it at insert (migration
//! `2026-11-25-000003_audit_chain`); this module recomputes it independently to verify a
//! chain, fully (`switchboard audit verify`) or incrementally from a stored checkpoint (the
//! Audit tab). The canonical form is documented in docs/DECISIONS.md "Audit trail".

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use sha2::{Digest as _, Sha256};

use crate::{
    db::prelude::*,
    db::schema::{audit_chain_checkpoints, audit_chain_heads},
};

/// The previous hash of a chain's first event.
pub const GENESIS: [u8; 32] = [0; 32];
const VERSION: &str = "switchboard-audit-v1";

/// One link as stored, with before/after in PostgreSQL's canonical jsonb text.
#[derive(diesel::QueryableByName, Debug)]
pub struct Link {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub org_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub actor_kind: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub actor_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub actor_label: String,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Text)]
    pub target: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub before: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub after: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub request_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub ip: Option<String>,
    #[diesel(sql_type = Bytea)]
    pub hash: Vec<u8>,
}

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.extend_from_slice(&[0xff; 4]),
        Some(s) => {
            let len = u32::try_from(s.len()).expect("audit fields are far below 4 GiB");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

impl Link {
    /// The canonical bytes: each field as a 4-byte big-endian length and its UTF-8 bytes
    /// (`ff ff ff ff` for NULL), in this order.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        field(&mut out, Some(VERSION));
        field(&mut out, self.org_id.map(|v| v.to_string()).as_deref());
        field(&mut out, Some(&self.seq.to_string()));
        field(
            &mut out,
            Some(&self.occurred_at.timestamp_micros().to_string()),
        );
        field(&mut out, Some(&self.actor_kind));
        field(&mut out, self.actor_id.map(|v| v.to_string()).as_deref());
        field(&mut out, Some(&self.actor_label));
        field(&mut out, Some(&self.action));
        field(&mut out, Some(&self.target));
        field(&mut out, self.before.as_deref());
        field(&mut out, self.after.as_deref());
        field(&mut out, self.request_id.as_deref());
        field(&mut out, self.ip.as_deref());
        out
    }

    /// The hash this link must carry after `prev`.
    pub fn expected_hash(&self, prev: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.canonical());
        h.update(prev);
        h.finalize().into()
    }
}

/// A chain: an org's events, or (`None`) the events without an org.
pub type ChainId = Option<i64>;

fn chain_key(chain: ChainId) -> i64 {
    chain.unwrap_or(0)
}

/// Where a chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub event_id: Option<i64>,
    pub seq: i64,
    pub reason: String,
}

/// How far a walk got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// The last verified link: (event id, seq, hash); `None` if nothing was verified.
    pub last: Option<(i64, i64, Vec<u8>)>,
    pub verified: u64,
    pub broken: Option<Broken>,
}

async fn links_after(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<Link>> {
    const COLUMNS: &str = "SELECT id, org_id, seq, occurred_at, actor_kind, actor_id, actor_label, \
         action, target, before::text AS before, after::text AS after, request_id, ip, hash \
         FROM audit_events WHERE";
    match chain {
        Some(org) => {
            diesel::sql_query(format!(
                "{COLUMNS} org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ))
            .bind::<BigInt, _>(org)
            .bind::<BigInt, _>(after_seq)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
        }
        None => {
            diesel::sql_query(format!(
                "{COLUMNS} org_id IS NULL AND seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind::<BigInt, _>(after_seq)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await
        }
    }
}

/// Verifies up to `budget` links of `chain` after (`seq`, `hash`), stopping at the first
/// broken one: a wrong hash, or a gap or repeat in the sequence.
pub async fn walk(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
    start: (i64, Vec<u8>),
    budget: u64,
) -> QueryResult<Walked> {
    const BATCH: i64 = 2_000;
    let (mut seq, mut prev) = start;
    let mut walked = Walked {
        last: None,
        verified: 0,
        broken: None,
    };
    while walked.verified < budget {
        let want = BATCH.min(i64::try_from(budget - walked.verified).unwrap_or(BATCH));
        let links = links_after(conn, chain, seq, want).await?;
        let n = links.len();
        for link in links {
            let broken = |reason: String| Broken {
                event_id: Some(link.id),
                seq: link.seq,
                reason,
            };
            if link.seq != seq + 1 {
                walked.broken = Some(Broken {
                    event_id: Some(link.id),
                    seq: seq + 1,
                    reason: format!(
                        "event {} has sequence number {} where {} was expected (events missing or duplicated)",
                        link.id,
                        link.seq,
                        seq + 1
                    ),
                });
                return Ok(walked);
            }
            if link.expected_hash(&prev)[..] != link.hash[..] {
                walked.broken = Some(broken(format!(
                    "event {} (#{} of its chain) does not match its hash: it was changed after it was written",
                    link.id, link.seq
                )));
                return Ok(walked);
            }
            seq = link.seq;
            prev = link.hash;
            walked.verified += 1;
            walked.last = Some((link.id, seq, prev.clone()));
        }
        if n < usize::try_from(want).unwrap_or(0) {
            break;
        }
    }
    Ok(walked)
}

/// The stored head of a chain: (seq, hash).
pub async fn head(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
) -> QueryResult<Option<(i64, Vec<u8>)>> {
    audit_chain_heads::table
        .find(chain_key(chain))
        .select((audit_chain_heads::seq, audit_chain_heads::hash))
        .first(conn)
        .await
        .optional()
}

/// The stored checkpoint of a chain: (event id, seq, hash).
pub async fn checkpoint(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
) -> QueryResult<Option<(i64, i64, Vec<u8>)>> {
    audit_chain_checkpoints::table
        .find(chain_key(chain))
        .select((
            audit_chain_checkpoints::event_id,
            audit_chain_checkpoints::seq,
            audit_chain_checkpoints::hash,
        ))
        .first(conn)
        .await
        .optional()
}

/// Moves a chain's checkpoint forward to (event id, seq, hash); never backwards.
pub async fn store_checkpoint(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
    (event_id, seq, hash): (i64, i64, Vec<u8>),
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO audit_chain_checkpoints (chain_id, seq, event_id, hash) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, \
         hash = excluded.hash, verified_at = now() WHERE audit_chain_checkpoints.seq < excluded.seq",
    )
    .bind::<BigInt, _>(chain_key(chain))
    .bind::<BigInt, _>(seq)
    .bind::<BigInt, _>(event_id)
    .bind::<Bytea, _>(hash)
    .execute(conn)
    .await
    .map(drop)
}

/// The result of verifying a whole chain from its first event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub verified: u64,
    pub broken: Option<Broken>,
}

/// Verifies a whole chain from its first event, then checks that the stored head names
/// its last event (events removed from the end break the chain too), both in one
/// repeatable-read snapshot so events written meanwhile are neither seen nor missed. A chain
/// that verifies moves its checkpoint to the head (after the snapshot).
pub async fn verify_chain(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
) -> QueryResult<ChainReport> {
    // One snapshot for the walk and the head: events committed while the walk runs would
    // otherwise move the head past the walk's end (a false "events are missing").
    let (walked, stored_head) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let walked = walk(conn, chain, (0, GENESIS.to_vec()), u64::MAX).await?;
            let stored_head = head(conn, chain).await?;
            QueryResult::Ok((walked, stored_head))
        })
        .await?;
    if walked.broken.is_some() {
        return Ok(ChainReport {
            verified: walked.verified,
            broken: walked.broken,
        });
    }
    let (last_seq, last_hash) = walked
        .last
        .as_ref()
        .map_or((0, GENESIS.to_vec()), |(_, s, h)| (*s, h.clone()));
    if let Some((head_seq, head_hash)) = stored_head
        && (head_seq != last_seq || head_hash != last_hash)
    {
        return Ok(ChainReport {
            verified: walked.verified,
            broken: Some(Broken {
                event_id: walked.last.as_ref().map(|(id, _, _)| *id),
                seq: last_seq + 1,
                reason: format!(
                    "the chain's head is event #{head_seq} but the stored events end at #{last_seq}: events after it are missing or altered"
                ),
            }),
        });
    }
    if let Some(last) = walked.last {
        store_checkpoint(conn, chain, last).await?;
    }
    Ok(ChainReport {
        verified: walked.verified,
        broken: None,
    })
}

/// Every chain that has events: each org with a head, and the global chain (`None`).
pub async fn all_chains(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ChainId>> {
    let keys: Vec<i64> = audit_chain_heads::table
        .select(audit_chain_heads::chain_id)
        .order(audit_chain_heads::chain_id)
        .load(conn)
        .await?;
    Ok(keys
        .into_iter()
        .map(|k| if k == 0 { None } else { Some(k) })
        .collect())
}

/// Checks the links from `lo` to `hi` (a page's window, plus the event after it) against the
/// stored hash of the event before `lo`: an event shown on a page and edited after the
/// checkpoint passed it still fails here.
pub async fn check_window(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
    lo: i64,
    hi: i64,
) -> QueryResult<Option<Broken>> {
    let prev = if lo <= 1 {
        GENESIS.to_vec()
    } else {
        match links_after(conn, chain, lo - 2, 1).await?.pop() {
            Some(link) => link.hash,
            None => return Ok(None),
        }
    };
    let span = u64::try_from(hi - lo + 2).unwrap_or(0);
    Ok(walk(conn, chain, (lo - 1, prev), span).await?.broken)
}

/// How far the Audit tab can vouch for a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    /// The newest verified event: (event id, seq).
    pub verified_through: Option<(i64, i64)>,
    /// The chain's newest seq.
    pub head_seq: i64,
    pub broken: Option<Broken>,
}

/// Verifies at most `budget` links after the stored checkpoint and moves it forward: the
/// cost of a page view is bounded by the events written since the last one (docs/DECISIONS.md).
pub async fn advance(
    conn: &mut AsyncPgConnection,
    chain: ChainId,
    budget: u64,
) -> QueryResult<ChainStatus> {
    let cp = checkpoint(conn, chain).await?;
    let head_seq = head(conn, chain).await?.map_or(0, |(s, _)| s);
    let start = cp
        .as_ref()
        .map_or((0, GENESIS.to_vec()), |(_, s, h)| (*s, h.clone()));
    let mut through = cp.as_ref().map(|(id, s, _)| (*id, *s));
    if start.0 >= head_seq {
        return Ok(ChainStatus {
            verified_through: through,
            head_seq,
            broken: None,
        });
    }
    let walked = walk(conn, chain, start, budget).await?;
    if let Some(last) = walked.last {
        through = Some((last.0, last.1));
        store_checkpoint(conn, chain, last).await?;
    }
    Ok(ChainStatus {
        verified_through: through,
        head_seq,
        broken: walked.broken,
    })
}
