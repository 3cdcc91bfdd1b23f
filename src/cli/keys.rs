//! `keys generate|rotate` (master keys) and `audit verify` (the trail's hash chains).

use clap::Subcommand;
use secrecy::ExposeSecret as _;

use super::plumbing::{StateCommand, line};
use crate::{
    crypto::keyring::Keyring,
    ops::{Caller, master_keys},
};

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk every event's hash chain (or one org's) from its first event; exit non-zero
    /// naming the first broken link.
    Verify {
        /// Only this org's chain (its slug).
        #[arg(long)]
        org: Option<String>,
        /// Directories of signed checkpoints (JSON Lines) from the external store.
        #[arg(long, num_args = 1..)]
        checkpoints: Vec<std::path::PathBuf>,
        /// More public keys (`id:base64`) to check signatures with.
        #[arg(long)]
        public_key: Vec<String>,
    },
    /// Record a legitimate restore from backup: a signed marker at every chain's head.
    MarkRestore,
    /// Print the audit signing key's public key (`id:base64`).
    PublicKey,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print a new master key entry `id:base64key` (for SWITCHBOARD_MASTER_KEYS).
    Generate {
        /// The key id (letters, digits, `-`, `_`); default `k` + the UTC date and time.
        #[arg(long)]
        id: Option<String>,
        /// An audit signing key (for SWITCHBOARD_AUDIT_SIGNING_KEY) instead of a master key.
        #[arg(long)]
        audit: bool,
    },
    /// Re-wrap every stored secret under the primary (first) master key. Resumable: each
    /// secret commits on its own, so running it again continues where it stopped.
    Rotate {
        /// Secrets read per query.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
}

/// Prints a new master key entry on stdout (the only place the key appears) and how to use
/// it on stderr. Needs no database.
pub(super) fn generate_key(id: Option<String>) -> anyhow::Result<()> {
    let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")));
    anyhow::ensure!(
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "key id '{id}' must be letters, digits, '-' or '_'"
    );
    let entry = Keyring::generate_entry(&id);
    println!("{}", entry.expose_secret());
    eprintln!(
        "New master key '{id}'. Prepend it to SWITCHBOARD_MASTER_KEYS (SWITCHBOARD_MASTER_KEYS=<it>,<current keys>), \
         restart Switchboard, run `switchboard keys rotate`, then remove the old keys."
    );
    Ok(())
}

/// `keys rotate`: progress on stderr every 100 secrets and at the end, the count on stdout.
pub(super) fn rotate_keys(batch: i64) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let report = master_keys::rotate(state, &Caller::operator(None), batch, |at| {
                if at.done() % 100 == 0 || at.done() == at.total {
                    let skipped = match at.skipped {
                        0 => String::new(),
                        n => format!(" ({n} skipped)"),
                    };
                    eprintln!("rotated {}/{}{skipped}", at.rotated, at.total);
                }
            })
            .await
            .map_err(line)?;
            Ok(format!(
                "rotated {} secrets to master key '{}' ({} skipped because they changed meanwhile, \
                 {} already under it)",
                report.rotated, report.key_id, report.skipped, report.already
            ))
        })
    })
}
