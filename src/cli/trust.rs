//! The audit-trust commands: `audit verify` (the hash walk, then every signed checkpoint
//! against the recomputed chains), `audit mark-restore`, `audit public-key` and
//! `keys generate --audit`.

use std::path::PathBuf;

use secrecy::ExposeSecret as _;

use super::plumbing::{StateCommand, line, org_by_slug};
use crate::{
    config::Config,
    crypto::signing::{AuditPublicKey, AuditSigner},
    ops::{Caller, trail},
};

/// `audit verify [--org S] [--checkpoints DIR…] [--public-key id:base64…]`: exit non-zero
/// naming the first broken link, or every problem the checkpoints reveal.
pub(super) fn verify(
    org: Option<String>,
    checkpoints: Vec<PathBuf>,
    public_keys: Vec<String>,
) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let keys = public_keys
                .iter()
                .map(|k| {
                    AuditPublicKey::parse(k).map_err(|e| anyhow::anyhow!("--public-key {k}: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let org = match org {
                Some(slug) => Some(org_by_slug(state, &slug).await?),
                None => None,
            };
            let operator = Caller::operator(None);
            let report = trail::verify(state, &operator, org.as_ref())
                .await
                .map_err(line)?;
            if let Some((slug, broken)) = report.broken {
                let chain = slug.map_or("events without an org".to_owned(), |s| format!("org {s}"));
                let event = broken
                    .event_id
                    .map_or("after the last stored event".to_owned(), |id| {
                        format!("at event {id}")
                    });
                anyhow::bail!(
                    "audit chain of {chain} is broken {event}: {} ({} events verified before it)",
                    broken.reason,
                    report.verified
                );
            }
            let trust = trail::signing::verify_trust(state, &operator, &checkpoints, &keys)
                .await
                .map_err(line)?;
            let wanted = |chain: i64| org.as_ref().is_none_or(|o| o.id == chain);
            let mut problems = trust.checkpoint_problems.clone();
            problems.extend(
                trust
                    .chains
                    .iter()
                    .filter(|c| wanted(c.chain))
                    .filter_map(|c| c.problem.clone()),
            );
            for ack in &trust.acknowledged {
                eprintln!("acknowledged: {ack}");
            }
            for note in &trust.incomplete {
                eprintln!("incomplete write: {note}");
            }
            if !problems.is_empty() {
                anyhow::bail!(
                    "the audit trail does not match its signed checkpoints:\n{}",
                    problems.join("\n")
                );
            }
            let against = if trust.external {
                let dirs: Vec<String> = checkpoints
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                format!("the external checkpoint store ({})", dirs.join(", "))
            } else {
                "the database's copy only (pass --checkpoints DIR to check the external store)"
                    .to_owned()
            };
            let unsigned = if state.config.audit_signer.is_none() && keys.is_empty() {
                " The trail is unsigned: SWITCHBOARD_AUDIT_SIGNING_KEY is not set, so no signature was checked."
            } else {
                ""
            };
            Ok(format!(
                "verified {} audit events in {} chain{}: every hash matches; {} signed checkpoint{} match, checked against {against}.{unsigned}",
                report.verified,
                report.chains,
                if report.chains == 1 { "" } else { "s" },
                trust.checkpoints,
                if trust.checkpoints == 1 { "" } else { "s" },
            ))
        })
    })
}

/// `audit mark-restore`: signs a restore marker at every chain's current head.
pub(super) fn mark_restore() -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let marked = trail::signing::mark_restore(state, &Caller::operator(None))
                .await
                .map_err(line)?;
            let lines: Vec<String> = marked
                .iter()
                .map(|(label, seq)| format!("{label} at #{seq}"))
                .collect();
            Ok(format!(
                "marked a restore for {} chain{}: {}. Verification now reports the rollback as acknowledged.",
                marked.len(),
                if marked.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ))
        })
    })
}

/// `audit public-key`: the configured signing key's public half (no database needed).
pub(super) fn public_key(config: &Config) -> anyhow::Result<()> {
    let signer = config.audit_signer.as_ref().ok_or_else(|| {
        anyhow::anyhow!("SWITCHBOARD_AUDIT_SIGNING_KEY is not set: there is no audit signing key")
    })?;
    println!("{}", signer.public());
    Ok(())
}

/// `keys generate --audit`: a new audit signing key on stdout, its public key on stderr.
pub(super) fn generate(id: Option<String>) -> anyhow::Result<()> {
    let id = id.unwrap_or_else(|| format!("a{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")));
    let entry =
        AuditSigner::generate_entry(&id).map_err(|e| anyhow::anyhow!("key id '{id}': {e}"))?;
    let public = AuditSigner::parse(&entry)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .public();
    println!("{}", entry.expose_secret());
    eprintln!(
        "New audit signing key '{id}'. Set SWITCHBOARD_AUDIT_SIGNING_KEY=<it> on the Switchboard \
         instances (never store it on the database host) and keep the public key for \
         verification: {public}"
    );
    Ok(())
}
