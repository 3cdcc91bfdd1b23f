//! The org's AI settings beyond the active provider and Insights: the routing policy that
//! decides what the platform may serve while the org's own provider is active
//! (DESIGN.md rule 6), and the Advanced tab's read of the prompt in use (rule 7). Also the
//! settings as one record for the API and MCP: read them all, or change several at once
//! through the operations that own each.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{
    Action, Caller, Change, OpError, OpResult, Scope, Target, audit,
    insights::{self, SetInsights},
    providers::{self, ProviderList},
};
use crate::{
    models::{
        ai_settings::{self, OrgAiSettings},
        org::Org,
        provider,
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
        let Some(saved) = write_policy(conn, caller, org, input, now).await? else {
            let (current, _) = ai_settings::with_updater(conn, org.id).await?;
            return if current.lock_version == input.lock_version {
                Ok(PolicyChange::Unchanged)
            } else {
                Err(OpError::Conflict(
                    "Someone else changed these settings while you were looking. Here is the current state; try again if you still want to change the policy.".to_owned(),
                ))
            };
        };
        Ok(PolicyChange::Saved {
            lock_version: saved.lock_version,
        })
    })
    .await
}

/// Sets the policy if the row is still at `input.lock_version` and the policy differs, with
/// its audit event, inside the caller's transaction. `None`: nothing written.
async fn write_policy(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    input: SetPolicy,
    now: DateTime<Utc>,
) -> OpResult<Option<OrgAiSettings>> {
    let saved = ai_settings::set_policy_if(
        conn,
        org.id,
        input.lock_version,
        input.policy.as_str(),
        caller.user_id(),
        now,
    )
    .await?;
    if saved.is_some() {
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
    }
    Ok(saved)
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

/// The org's AI settings as one record (the API's `ai-settings`, MCP's `get-ai-settings`):
/// the providers (for the active one and what runs where), the routing policy, Insights and
/// the prompt variant in use.
#[derive(Debug, Clone)]
pub struct AiSettings {
    /// The org's providers as the caller sees them, with the policy, Insights switch and
    /// the settings row's version; `routing()` is what runs where.
    pub providers: ProviderList,
    pub variant: Variant,
}

impl AiSettings {
    /// The settings row's version (its `ETag`).
    pub fn lock_version(&self) -> i32 {
        self.providers.settings_lock_version
    }
}

/// Reads the org's AI settings (scope `settings:get`).
pub async fn ai_settings(state: &AppState, caller: &Caller) -> OpResult<AiSettings> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    let providers = providers::list_of(&mut conn, caller, org).await?;
    let variant = Variant::for_kind(providers.active_provider().map(|p| p.kind));
    Ok(AiSettings { providers, variant })
}

/// Several settings changed at once, against the settings version the caller saw. `None`
/// leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateSettings {
    /// The version the caller saw; `None` changes whatever is current.
    pub lock_version: Option<i32>,
    /// `Some(Some(id))`: make `id` the active provider; `Some(None)`: back to the platform
    /// default.
    pub active_provider: Option<Option<String>>,
    pub policy: Option<Policy>,
    pub insights_enabled: Option<bool>,
}

/// Changes several AI settings, each through the operation that owns it (so each writes
/// its own audit event): the active provider first, because its live check is the step
/// that can fail on its merits and a 422 then leaves everything as it was; then the policy,
/// then Insights. Every scope the change needs (`settings:get` for the answer,
/// `settings:update` for policy and Insights, `aiProviders:activate` for the active
/// provider) is checked before anything is done. A setting already as asked is left alone
/// (no re-activation, no audit event). A stale `lock_version`, at the start or between two
/// steps because someone else changed the settings meanwhile, is a conflict; steps done
/// before it stay done.
pub async fn update_settings(
    state: &AppState,
    caller: &Caller,
    input: UpdateSettings,
) -> OpResult<AiSettings> {
    // The write scopes first: a refusal names what the change itself needs.
    if input.policy.is_some() || input.insights_enabled.is_some() {
        caller.require(Scope::SettingsUpdate)?;
    }
    if input.active_provider.is_some() {
        caller.require(Scope::AiProvidersActivate)?;
    }
    let org = caller.require(Scope::SettingsGet)?;
    let stale = || {
        OpError::Conflict(
            "Someone else changed these settings meanwhile. Fetch them again and make your change again if you still want it.".to_owned(),
        )
    };
    let mut conn = state.pool.get().await?;
    let (current, _) = ai_settings::with_updater(&mut conn, org.id).await?;
    drop(conn);
    if input
        .lock_version
        .is_some_and(|v| v != current.lock_version)
    {
        return Err(stale());
    }
    let mut version = current.lock_version;
    match input.active_provider {
        Some(Some(id)) if current.active_provider_id.as_deref() != Some(id.as_str()) => {
            providers::activate_provider(state, caller, &id)
                .await
                .map_err(|e| match e {
                    OpError::NotFound => OpError::invalid(
                        "active_provider_id",
                        "There is no such provider in this org.",
                    ),
                    other => other,
                })?;
            // Activation bumps the version once; a change by someone else in between makes
            // the next step's version stale, which it reports as a conflict.
            version += 1;
        }
        Some(None) if providers::deactivate(state, caller).await? => version += 1,
        _ => {}
    }
    if let Some(policy) = input.policy {
        let change = set_routing_policy(
            state,
            caller,
            SetPolicy {
                policy,
                lock_version: version,
            },
        )
        .await?;
        if let PolicyChange::Saved { lock_version } = change {
            version = lock_version;
        }
    }
    if let Some(enabled) = input.insights_enabled {
        insights::set_insights(
            state,
            caller,
            SetInsights {
                enabled,
                lock_version: version,
            },
        )
        .await?;
    }
    ai_settings(state, caller).await
}
