//! Master keys: re-wrapping every stored secret under the primary master key (`switchboard
//! keys rotate`) and the start-up check that every master key a secret names is configured.
//!
//! Rotation is resumable by construction: each secret is re-wrapped in a transaction of its
//! own (the new envelope and its `secret.rotated` event), and each batch is read afresh as
//! "secrets not under the primary". A crash or an error between rows loses nothing; running
//! the command again picks up the rows still under an old key.

use std::collections::{HashMap, HashSet};

use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{Action, Caller, Change, OpError, OpResult, Target, audit};
use crate::{
    crypto::{
        keyring::Keyring,
        secret::{self, SecretError},
    },
    models::{org::Org, secret as secrets},
    state::AppState,
};

/// Where a rotation stands, reported after every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateProgress {
    /// Secrets re-wrapped so far.
    pub rotated: u64,
    /// Secrets skipped because they changed while being re-wrapped.
    pub skipped: u64,
    /// Secrets that were not under the primary key when the rotation started.
    pub total: u64,
}

impl RotateProgress {
    /// Rows handled so far (rotated or skipped).
    pub fn done(&self) -> u64 {
        self.rotated + self.skipped
    }
}

/// What a finished rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateReport {
    /// The primary key every secret is now sealed under.
    pub key_id: String,
    /// Secrets re-wrapped under the primary key.
    pub rotated: u64,
    /// Secrets that changed while being re-wrapped (left as they are; run again to retry).
    pub skipped: u64,
    /// Secrets already under the primary key when the rotation started.
    pub already: u64,
}

/// Re-wraps every secret not sealed under the primary master key, `batch` rows per query
/// (operators only). The value ciphertext is kept; only the data key is wrapped anew. Each
/// row commits on its own with its `secret.rotated` event, so an interrupted rotation
/// resumes where it stopped. A secret under a master key that is not configured, or one
/// that does not decrypt, stops the rotation with an error naming it (rows done stay done).
pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    batch: i64,
    mut progress: impl FnMut(RotateProgress),
) -> OpResult<RotateReport> {
    caller.require_operator()?;
    if batch < 1 {
        return Err(OpError::invalid(
            "batch",
            "the batch size must be at least 1",
        ));
    }
    let ring = &state.keyring;
    let primary = ring.primary().id.clone();
    let mut conn = state.pool.get().await?;
    let counts = secrets::count_by_key(&mut conn).await?;
    let count_of = |under_primary: bool| -> u64 {
        let n: i64 = counts
            .iter()
            .filter(|(key_id, _)| (*key_id == primary) == under_primary)
            .map(|(_, n)| n)
            .sum();
        n.unsigned_abs()
    };
    let mut at = RotateProgress {
        rotated: 0,
        skipped: 0,
        total: count_of(false),
    };
    let already = count_of(true);
    // Rows that changed under us are not retried in this run (they would come back in every
    // batch if they are still under an old key); a later run picks them up.
    let mut skipped: HashSet<String> = HashSet::new();
    let mut orgs: HashMap<i64, Org> = HashMap::new();
    loop {
        let limit = batch.saturating_add(i64::try_from(skipped.len()).unwrap_or(i64::MAX));
        let rows = secrets::ids_not_under(&mut conn, &primary, limit).await?;
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|s| !skipped.contains(&s.id))
            .collect();
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let (new_key_id, envelope) = secret::rewrap(
                ring,
                row.org_id,
                &row.id,
                &row.key_id,
                row.version,
                &row.envelope,
            )
            .map_err(|e| stopped(e, &at))?;
            let org = match orgs.get(&row.org_id) {
                Some(org) => org.clone(),
                None => {
                    let org = Org::find(&mut conn, row.org_id).await?.ok_or_else(|| {
                        OpError::Internal(anyhow::anyhow!(
                            "secret {} belongs to org {}, which does not exist",
                            row.id,
                            row.org_id
                        ))
                    })?;
                    orgs.insert(row.org_id, org.clone());
                    org
                }
            };
            let in_org = Caller {
                org: Some(org),
                ..caller.clone()
            };
            let done = rewrap_row(
                &mut conn,
                &in_org,
                &row.id,
                &row.key_id,
                &new_key_id,
                &envelope,
            )
            .await?;
            if done {
                at.rotated += 1;
            } else {
                at.skipped += 1;
                skipped.insert(row.id);
            }
            progress(at);
        }
    }
    Ok(RotateReport {
        key_id: primary,
        rotated: at.rotated,
        skipped: at.skipped,
        already,
    })
}

/// Stores the re-wrapped envelope if the row is still under `old_key_id`, with its
/// `secret.rotated` event, in one transaction. `false` when the row changed meanwhile.
async fn rewrap_row(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: &str,
    old_key_id: &str,
    new_key_id: &str,
    envelope: &[u8],
) -> OpResult<bool> {
    conn.transaction::<_, OpError, _>(async |conn| {
        if !secrets::rewrap_if(conn, id, old_key_id, new_key_id, envelope).await? {
            return Ok(false);
        }
        audit::record(
            conn,
            caller,
            Action::SecretRotated,
            Target::Secret(id.to_owned()),
            Some(Change::new().text("keyId", old_key_id)),
            Some(Change::new().text("keyId", new_key_id)),
        )
        .await?;
        Ok(true)
    })
    .await
}

/// The error that stops a rotation at a row that cannot be re-wrapped.
fn stopped(e: SecretError, at: &RotateProgress) -> OpError {
    let hint = match &e {
        SecretError::UnknownKeyId { .. } => {
            "; add that key to SWITCHBOARD_MASTER_KEYS (after the primary) and run keys rotate again"
        }
        _ => "",
    };
    OpError::Unprocessable {
        field: None,
        message: format!(
            "rotation stopped: {e}{hint} ({} rotated and {} skipped before it stay done)",
            at.rotated, at.skipped
        ),
    }
}

/// Checks that every master key a stored secret is sealed under is configured in `ring`.
/// The error names each missing key id and how many secrets it seals, so start-up can
/// refuse with one clear line instead of failing later, secret by secret.
pub async fn check_key_ids(conn: &mut AsyncPgConnection, ring: &Keyring) -> anyhow::Result<()> {
    let missing: Vec<String> = secrets::count_by_key(conn)
        .await?
        .into_iter()
        .filter(|(key_id, _)| ring.get(key_id).is_none())
        .map(|(key_id, n)| {
            let noun = if n == 1 { "secret" } else { "secrets" };
            format!("'{key_id}' ({n} {noun})")
        })
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "stored secrets are sealed under master keys that are not configured: {}; add them to \
         SWITCHBOARD_MASTER_KEYS (after the primary key), then run `switchboard keys rotate`",
        missing.join(", ")
    );
    Ok(())
}

/// [`check_key_ids`] over a pooled connection of `state`: start-up (the server and every CLI
/// command) refuses to run while a stored secret names a master key that is not configured.
pub async fn check_configured(state: &AppState) -> anyhow::Result<()> {
    let mut conn = state
        .pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("database: {e}"))?;
    check_key_ids(&mut conn, &state.keyring).await
}
