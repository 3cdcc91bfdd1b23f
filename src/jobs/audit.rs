//! The audit trail's scheduled jobs (DESIGN.md "Audit trail trust"): signing checkpoints
//! every minute, and the full verification (daily by default). Each runs on one instance at
//! a time under a lease in PostgreSQL, so every instance may start them.

use std::time::Duration;

use actix_web::web;
use rand::Rng as _;

use crate::{ops::trail::signing, state::AppState};

/// Signs checkpoints every minute (jittered), forever.
pub async fn sign_periodically(state: web::Data<AppState>) {
    loop {
        let jitter = rand::rng().random_range(0.9..1.1);
        tokio::time::sleep(Duration::from_secs(60).mul_f64(jitter)).await;
        match signing::sign_due(&state).await {
            Ok(r) if r.signed > 0 => tracing::info!(signed = r.signed, "signed audit checkpoints"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "signing audit checkpoints failed"),
        }
    }
}

/// Verifies the whole trail every `interval` (first run a few minutes after start-up).
pub async fn verify_periodically(state: web::Data<AppState>, interval: Duration) {
    let mut wait = Duration::from_secs(300).min(interval);
    loop {
        let jitter = rand::rng().random_range(0.9..1.1);
        tokio::time::sleep(wait.mul_f64(jitter)).await;
        wait = interval;
        match signing::verify_scheduled(&state, interval).await {
            Ok(Some(r)) => tracing::info!(
                chains = r.chains.len(),
                events = r.verified(),
                problems = r.problems().len(),
                "scheduled audit trail verification"
            ),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "scheduled audit trail verification failed to run")
            }
        }
    }
}

/// Sets this instance's `switchboard_audit_verification_age_seconds` from the database, so
/// every instance reports the age of the last passing full verification, not only the one
/// that ran it.
pub async fn refresh_verification_age(state: &AppState) {
    match signing::last_full_pass(state).await {
        Ok(Some(at)) => state.metrics.set_audit_verified_at(at.timestamp()),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "reading the last audit verification failed"),
    }
}

/// Refreshes the verification age every minute (jittered), forever.
async fn refresh_age_periodically(state: web::Data<AppState>) {
    loop {
        refresh_verification_age(&state).await;
        let jitter = rand::rng().random_range(0.9..1.1);
        tokio::time::sleep(Duration::from_secs(60).mul_f64(jitter)).await;
    }
}

/// Starts the audit jobs of this instance; says once when the trail is unsigned.
pub fn start(state: web::Data<AppState>) {
    if state.config.audit_signer.is_none() {
        tracing::warn!(
            "SWITCHBOARD_AUDIT_SIGNING_KEY is not set: the audit trail is unsigned, so whoever \
             controls the database can rewrite it undetected (generate one with \
             `switchboard keys generate --audit`)"
        );
    } else {
        tokio::spawn(sign_periodically(state.clone()));
    }
    if let Some(interval) = state.config.audit_verify_interval {
        tokio::spawn(refresh_age_periodically(state.clone()));
        tokio::spawn(verify_periodically(state, interval));
    }
}
