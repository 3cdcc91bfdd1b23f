//! The jobs and operator commands of audit trail trust: signing checkpoints (after verifying
//! each chain from its previous checkpoint — never over a mismatch), the scheduled full
//! verification, marking a restore, and what the Audit tab shows about all of it.

use std::{path::PathBuf, sync::OnceLock};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

use super::{
    chain::{self, GENESIS},
    checkpoint::{self as cp, SignedCheckpoint, chain_label},
    trust::{self, TrustReport},
};
use crate::{
    db::{prelude::*, schema::audit_verifications as av},
    models::lease,
    ops::{Caller, OpError, OpResult},
    state::AppState,
};

/// How long the signing job's lease lasts (it runs every minute).
const SIGNING_LEASE: TimeDelta = TimeDelta::seconds(55);

/// This process's name in `job_leases`.
fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| format!("{}-{}", std::process::id(), crate::crypto::random_token(9)))
}

/// Time as checkpoints carry it (microseconds).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// What one signing pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SignReport {
    /// Another instance holds the job.
    pub elsewhere: bool,
    /// Checkpoints signed.
    pub signed: usize,
    /// Chains not signed because they do not match their previous checkpoint.
    pub alerts: Vec<String>,
}

#[derive(diesel::QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    chain_id: i64,
}

/// Records the result of a scheduled check of `chain` (`signing` or `full`).
#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut AsyncPgConnection,
    chain: i64,
    kind: &str,
    at: DateTime<Utc>,
    through: i64,
    external_at: Option<DateTime<Utc>>,
    problem: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(av::table)
        .values((
            av::chain_id.eq(chain),
            av::check_kind.eq(kind),
            av::checked_at.eq(at),
            av::ok.eq(problem.is_none()),
            av::through_seq.eq(through),
            av::external_at.eq(external_at),
            av::problem.eq(problem),
        ))
        .on_conflict((av::chain_id, av::check_kind))
        .do_update()
        .set((
            av::checked_at.eq(at),
            av::ok.eq(problem.is_none()),
            av::through_seq.eq(through),
            av::external_at.eq(external_at),
            av::problem.eq(problem),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Verifies `chain` from its previous checkpoint: the checkpoint's signature, that the
/// stored event it names still has the hash it signed, every link after it, and the head.
/// `Ok((seq, hash))` is what may be signed now; `Err` says why nothing may be.
async fn check_from_previous(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    chain: i64,
    label: &str,
) -> OpResult<Result<(i64, Vec<u8>), String>> {
    let keys: Vec<_> = state
        .config
        .audit_signer
        .iter()
        .map(|s| s.public())
        .collect();
    let start = match cp::latest_of(conn, chain).await? {
        None => (0, GENESIS.to_vec()),
        Some(prev) => {
            let signed = prev.to_signed();
            match signed.check(&keys) {
                Ok(()) | Err(cp::Invalid::UnknownKey(_)) => {}
                Err(e) => {
                    return Ok(Err(format!(
                        "{label}: its latest checkpoint in the database (#{}, {}) {e}",
                        prev.seq, signed.signed_at
                    )));
                }
            }
            if prev.seq > 0 {
                match trust::event_at(conn, chain, prev.seq).await? {
                    None => {
                        return Ok(Err(format!(
                            "{label}: event #{} is missing: the checkpoint of {} signed the chain up to it (events were removed)",
                            prev.seq, signed.signed_at
                        )));
                    }
                    Some((id, hash)) if hash != prev.head_hash => {
                        return Ok(Err(format!(
                            "{label}: the chain up to event {id} (#{}) no longer matches the checkpoint of {}: events at or before it were rewritten",
                            prev.seq, signed.signed_at
                        )));
                    }
                    Some(_) => {}
                }
            }
            (prev.seq, prev.head_hash)
        }
    };
    let walked = chain::walk(conn, (chain != 0).then_some(chain), start.clone(), u64::MAX).await?;
    if let Some(b) = walked.broken {
        return Ok(Err(format!("{label}: {}", b.reason)));
    }
    let last = walked.last.map_or(start, |(_, s, h)| (s, h));
    let head = chain::head(conn, (chain != 0).then_some(chain)).await?;
    if let Some((head_seq, head_hash)) = head
        && (head_seq < last.0 || (head_seq == last.0 && head_hash != last.1))
    {
        return Ok(Err(format!(
            "{label}: the chain's head (#{head_seq}) does not match its stored events (which end at #{})",
            last.0
        )));
    }
    Ok(Ok(last))
}

/// Signs a checkpoint for every chain with events since its last one, after verifying it
/// from that checkpoint; a chain that does not verify is not signed: an ERROR line is
/// logged and the failure recorded for the Audit tab. One instance at a time (a lease).
/// Without a signing key, does nothing.
pub async fn sign_due(state: &AppState) -> OpResult<SignReport> {
    let Some(signer) = state.config.audit_signer.as_ref() else {
        return Ok(SignReport::default());
    };
    let now = micros(state.clock.now());
    let mut conn = state.pool.get().await?;
    let mut report = SignReport::default();
    if !lease::take(
        &mut conn,
        "audit.checkpoint",
        holder(),
        now,
        now + SIGNING_LEASE,
        true,
    )
    .await?
    {
        report.elsewhere = true;
        return Ok(report);
    }
    let due: Vec<Due> = diesel::sql_query(
        "SELECT h.chain_id FROM audit_chain_heads h LEFT JOIN LATERAL ( \
             SELECT seq, head_hash FROM audit_signed_checkpoints c WHERE c.chain_id = h.chain_id \
             ORDER BY id DESC LIMIT 1) c ON true \
         WHERE c.seq IS NULL OR c.seq <> h.seq OR c.head_hash <> h.hash ORDER BY h.chain_id",
    )
    .load(&mut conn)
    .await?;
    let slugs = trust::slugs(&mut conn).await?;
    for Due { chain_id: chain } in due {
        let label = chain_label(chain, &slugs);
        let (seq, head) = match check_from_previous(&mut conn, state, chain, &label).await? {
            Ok(last) => last,
            Err(problem) => {
                tracing::error!(
                    chain,
                    problem = %problem,
                    "audit trail does not match its last signed checkpoint: NOT signing it; \
                     run `switchboard audit verify --checkpoints DIR` and investigate"
                );
                let through = cp::latest_of(&mut conn, chain).await?.map_or(0, |r| r.seq);
                record(
                    &mut conn,
                    chain,
                    "signing",
                    now,
                    through,
                    None,
                    Some(&problem),
                )
                .await?;
                report.alerts.push(problem);
                continue;
            }
        };
        let prev = cp::latest(&mut conn)
            .await?
            .map_or(GENESIS.to_vec(), |r| r.hash);
        let signed = SignedCheckpoint::sign(signer, "checkpoint", chain, (seq, &head), now, &prev);
        store(&mut conn, state.config.audit_checkpoints.clone(), &[signed]).await?;
        record(&mut conn, chain, "signing", now, seq, None, None).await?;
        report.signed += 1;
    }
    Ok(report)
}

/// Stores checkpoints in the database and appends them to the external store, in one
/// transaction: a checkpoint the file did not take is not kept.
async fn store(
    conn: &mut AsyncPgConnection,
    dir: Option<PathBuf>,
    signed: &[SignedCheckpoint],
) -> OpResult<()> {
    conn.transaction::<_, OpError, _>(async |conn| {
        for c in signed {
            cp::insert(conn, c).await?;
        }
        if let Some(dir) = &dir {
            cp::append(dir, signed).map_err(|e| {
                tracing::error!(dir = %dir.display(), error = %e, "SWITCHBOARD_AUDIT_CHECKPOINTS: appending signed checkpoints failed");
                OpError::Internal(anyhow::anyhow!("appending to {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    })
    .await
}

/// The public keys checkpoints are checked with: the configured signing key's, and any
/// given on the command line.
pub fn public_keys(
    state: &AppState,
    extra: &[crate::crypto::signing::AuditPublicKey],
) -> Vec<crate::crypto::signing::AuditPublicKey> {
    let mut keys: Vec<_> = state
        .config
        .audit_signer
        .iter()
        .map(|s| s.public())
        .collect();
    keys.extend(extra.iter().cloned());
    keys
}

/// `switchboard audit verify [--checkpoints DIR…]` (operators only): every hash, every
/// checkpoint's signature and link, every head against the recomputed chain.
pub async fn verify_trust(
    state: &AppState,
    caller: &Caller,
    dirs: &[PathBuf],
    extra_keys: &[crate::crypto::signing::AuditPublicKey],
) -> OpResult<TrustReport> {
    caller.require_operator()?;
    let store = (!dirs.is_empty()).then_some(trust::Store {
        dirs,
        complete: true,
    });
    let mut conn = state.pool.get().await?;
    trust::verify(&mut conn, &public_keys(state, extra_keys), store).await
}

/// The scheduled full verification: the whole trail against the database's checkpoints and
/// (when configured) this instance's external store; each chain's result recorded for the
/// Audit tab, failures logged as ERROR. One instance per `interval` (a lease).
pub async fn verify_scheduled(
    state: &AppState,
    interval: std::time::Duration,
) -> OpResult<Option<TrustReport>> {
    let now = micros(state.clock.now());
    // Just short of the interval, so the next turn finds it free: 30 s short, or a tenth
    // of a short interval (a 1-minute interval would otherwise let another instance run
    // again 30 s later).
    let interval = TimeDelta::from_std(interval).unwrap_or(TimeDelta::days(1));
    let lease_for = interval - (interval / 10).min(TimeDelta::seconds(30));
    let mut conn = state.pool.get().await?;
    if !lease::take(
        &mut conn,
        "audit.verify",
        holder(),
        now,
        now + lease_for,
        false,
    )
    .await?
    {
        return Ok(None);
    }
    // This instance's directory holds only what it signed: the others' checkpoints are
    // in their own directories, not missing.
    let own: Vec<PathBuf> = state
        .config
        .audit_checkpoints
        .iter()
        .filter(|dir| dir.is_dir())
        .cloned()
        .collect();
    let store = (!own.is_empty()).then_some(trust::Store {
        dirs: &own,
        complete: false,
    });
    let report = trust::verify(&mut conn, &public_keys(state, &[]), store).await?;
    for note in &report.incomplete {
        tracing::warn!(note = %note, "audit checkpoint store");
    }
    let general = <[String]>::first(&report.checkpoint_problems).cloned();
    for c in &report.chains {
        let problem = c.problem.clone().or_else(|| general.clone());
        if let Some(p) = &problem {
            tracing::error!(chain = c.chain, problem = %p, "scheduled audit trail verification failed");
        }
        let through = i64::try_from(c.verified).unwrap_or(i64::MAX);
        record(
            &mut conn,
            c.chain,
            "full",
            now,
            through,
            c.external_at,
            problem.as_deref(),
        )
        .await?;
    }
    Ok(Some(report))
}

/// When the whole trail last passed the scheduled full verification, whichever instance ran
/// it: the oldest chain's latest full verification, if every chain's latest one passed.
pub async fn last_full_pass(state: &AppState) -> OpResult<Option<DateTime<Utc>>> {
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    let mut conn = state.pool.get().await?;
    let rows: Vec<(DateTime<Utc>, bool)> = av::table
        .filter(av::check_kind.eq("full"))
        .select((av::checked_at, av::ok))
        .load(&mut conn)
        .await?;
    Ok(match rows.iter().all(|(_, ok)| *ok) {
        true => rows.iter().map(|(at, _)| *at).min(),
        false => None,
    })
}

/// `switchboard audit mark-restore` (operators only): after a legitimate restore from
/// backup, signs a restore marker for every chain at its current head, so verification
/// reports the rollback as acknowledged. Refused while a chain is itself broken. Returns
/// (chain label, seq) of each marker.
pub async fn mark_restore(state: &AppState, caller: &Caller) -> OpResult<Vec<(String, i64)>> {
    caller.require_operator()?;
    let signer = state.config.audit_signer.as_ref().ok_or_else(|| {
        OpError::bad("SWITCHBOARD_AUDIT_SIGNING_KEY is not set: a restore marker must be signed.")
    })?;
    let now = micros(state.clock.now());
    let mut conn = state.pool.get().await?;
    let slugs = trust::slugs(&mut conn).await?;
    let mut prev = cp::latest(&mut conn)
        .await?
        .map_or(GENESIS.to_vec(), |r| r.hash);
    let mut markers = Vec::new();
    let mut done = Vec::new();
    for id in chain::all_chains(&mut conn).await? {
        let key = id.unwrap_or(0);
        let label = chain_label(key, &slugs);
        let walked = chain::walk(&mut conn, id, (0, GENESIS.to_vec()), u64::MAX).await?;
        if let Some(b) = walked.broken {
            return Err(OpError::bad(format!(
                "The restored trail of {label} is itself broken ({}): a restore marker would sign over it.",
                b.reason
            )));
        }
        let (seq, head) = walked
            .last
            .map_or((0, GENESIS.to_vec()), |(_, s, h)| (s, h));
        let marker = SignedCheckpoint::sign(signer, "restore", key, (seq, &head), now, &prev);
        prev = cp::unhex(&marker.hash).unwrap_or_default();
        markers.push(marker);
        done.push((label, seq));
    }
    store(&mut conn, state.config.audit_checkpoints.clone(), &markers).await?;
    Ok(done)
}

/// A recorded check, as the Audit tab shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Recorded {
    pub checked_at: DateTime<Utc>,
    pub ok: bool,
    pub through_seq: i64,
    pub external_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
}

/// What the Audit tab can say about a chain beyond its own page-view check.
#[derive(Debug, Clone)]
pub struct TrustStatus {
    /// Whether a signing key is configured.
    pub signing: bool,
    /// The newest signed checkpoint: (seq, when).
    pub last_checkpoint: Option<(i64, DateTime<Utc>)>,
    /// The signing job's latest verification.
    pub signing_check: Option<Recorded>,
    /// The scheduled full verification's latest result.
    pub full_check: Option<Recorded>,
}

/// The trust status of `chain`.
pub async fn status(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    chain: i64,
) -> QueryResult<TrustStatus> {
    let recorded = |kind: &'static str| {
        av::table
            .filter(av::chain_id.eq(chain).and(av::check_kind.eq(kind)))
            .select((
                av::checked_at,
                av::ok,
                av::through_seq,
                av::external_at,
                av::problem,
            ))
    };
    let signing_check = recorded("signing").first(conn).await.optional()?;
    let full_check = recorded("full").first(conn).await.optional()?;
    let last_checkpoint = cp::latest_of(conn, chain)
        .await?
        .map(|r| (r.seq, r.signed_at));
    Ok(TrustStatus {
        signing: state.config.audit_signer.is_some(),
        last_checkpoint,
        signing_check,
        full_check,
    })
}
