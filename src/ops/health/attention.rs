//! A provider's "needs attention" state: set by a failed immediate re-check, cleared by any
//! passing check (Test, scheduled, immediate, a save that checks). Each change of state is
//! one audit event, in the transaction of the check that caused it; a repeat is no event.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::{
    models::provider_health,
    ops::{Action, Caller, Change, OpResult, Target, audit},
};

/// Marks provider `id` as needing attention (inside the caller's transaction) and records
/// `provider.needs_attention` when it did not before. `true` when it changed.
pub async fn mark_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org_id: i64,
    id: &str,
    code: Option<&str>,
    message: &str,
    at: DateTime<Utc>,
) -> OpResult<bool> {
    let Some(name) = provider_health::mark_attention(conn, org_id, id, at).await? else {
        return Ok(false);
    };
    audit::record(
        conn,
        caller,
        Action::ProviderNeedsAttention,
        Target::Provider(id.to_owned()),
        Some(
            Change::new()
                .text("name", &name)
                .flag("needsAttention", false),
        ),
        Some(
            Change::new()
                .text("name", &name)
                .flag("needsAttention", true)
                .opt_text("code", code)
                .text("message", message),
        ),
    )
    .await?;
    Ok(true)
}

/// Clears provider `id`'s "needs attention" after a passing check (inside the check's
/// transaction) and records `provider.attention_cleared` when it was set. `true` when it
/// changed.
pub async fn clear_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org_id: i64,
    id: &str,
) -> OpResult<bool> {
    let Some(name) = provider_health::clear_attention(conn, org_id, id).await? else {
        return Ok(false);
    };
    audit::record(
        conn,
        caller,
        Action::ProviderAttentionCleared,
        Target::Provider(id.to_owned()),
        Some(
            Change::new()
                .text("name", &name)
                .flag("needsAttention", true),
        ),
        Some(
            Change::new()
                .text("name", &name)
                .flag("needsAttention", false),
        ),
    )
    .await?;
    Ok(true)
}
