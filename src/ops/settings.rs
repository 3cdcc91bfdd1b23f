//! The org's AI settings beyond the active provider and Insights: the routing policy that
//! decides what the platform may serve while the org's own provider is active
//! (DESIGN.md rule 6).

use diesel_async::AsyncConnection as _;

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{models::ai_settings, routing::Policy, state::AppState};

/// The change an admin asks for, against the settings version they saw.
#[derive(Debug, Clone, Copy)]
pub struct SetPolicy {
    pub policy: Policy,
    pub lock_version: i32,
}

/// What [`set_routing_policy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyChange {
    /// Written with its audit event; the settings' new version.
    Saved { lock_version: i32 },
    /// The policy already was that: nothing written.
    Unchanged,
}

/// Sets the routing policy and writes `routing_policy.changed` in one transaction (scope
/// `settings:update`). A stale `lock_version` is a conflict, never an overwrite.
pub async fn set_routing_policy(
    state: &AppState,
    caller: &Caller,
    input: SetPolicy,
) -> OpResult<PolicyChange> {
    let org = caller.require(Scope::SettingsUpdate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let saved = ai_settings::set_policy_if(
            conn,
            org.id,
            input.lock_version,
            input.policy.as_str(),
            caller.user_id(),
            now,
        )
        .await?;
        let Some(saved) = saved else {
            let (current, _) = ai_settings::with_updater(conn, org.id).await?;
            return if current.lock_version == input.lock_version {
                Ok(PolicyChange::Unchanged)
            } else {
                Err(OpError::Conflict(
                    "Someone else changed these settings while you were looking. Here is the current state; try again if you still want to change the policy.".to_owned(),
                ))
            };
        };
        // The update only matched a row with the other policy.
        let other = match input.policy {
            Policy::Fallback => Policy::Strict,
            Policy::Strict => Policy::Fallback,
        };
        let value = |p: Policy| Some(Change::new().text("routingPolicy", p.as_str()));
        audit::record(
            conn,
            caller,
            Action::RoutingPolicyChanged,
            Target::Org(org.slug.clone()),
            value(other),
            value(input.policy),
        )
        .await?;
        Ok(PolicyChange::Saved {
            lock_version: saved.lock_version,
        })
    })
    .await
}
