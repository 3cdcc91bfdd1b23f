//! The org's AI settings beyond the active provider and Insights: the routing policy that
//! decides what the platform may serve while the org's own provider is active
//! (DESIGN.md rule 6), and the Advanced tab's read of the prompt in use (rule 7).

use diesel_async::AsyncConnection as _;

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{
    models::{
        ai_settings, provider,
        skill::{self, Skill},
    },
    prompts::Variant,
    providers::ProviderKind,
    routing::Policy,
    state::AppState,
};

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

/// What the Advanced tab shows: the prompt in use and what decides it.
#[derive(Debug, Clone)]
pub struct Advanced {
    pub variant: Variant,
    /// The active provider's name, kind and model; `None`: the platform default.
    pub active: Option<(String, ProviderKind, String)>,
    pub policy: Policy,
    pub insights_enabled: bool,
    /// The enabled skills, appended to the prompt in this order.
    pub skills: Vec<Skill>,
}

/// Reads the prompt variant in use, the policy and the enabled skills (scope
/// `settings:get`).
pub async fn advanced(state: &AppState, caller: &Caller) -> OpResult<Advanced> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    let (settings, providers) = provider::list_for_org(&mut conn, org.id)
        .await?
        .ok_or(OpError::NotFound)?;
    let active = settings.active_provider_id.as_deref().and_then(|id| {
        providers.iter().find(|(p, _)| p.id == id).map(|(p, _)| {
            // The kind column's CHECK admits only catalog slugs.
            let kind = p.kind.parse().unwrap_or(ProviderKind::Custom);
            (p.name.clone(), kind, p.default_model.clone())
        })
    });
    let skills = skill::enabled_for_org(&mut conn, org.id).await?;
    Ok(Advanced {
        variant: Variant::for_kind(active.as_ref().map(|(_, k, _)| *k)),
        active,
        // A CHECK constraint admits only the two policies; were it another, fail closed.
        policy: settings.routing_policy.parse().unwrap_or(Policy::Strict),
        insights_enabled: settings.insights_enabled,
        skills,
    })
}
