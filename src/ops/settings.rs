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
    routing::{Feature, Policy},
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
        set_policy_in(conn, caller, org, input, now).await
    })
    .await
}

/// [`set_routing_policy`] inside the caller's transaction (scope checked by the caller).
async fn set_policy_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    input: SetPolicy,
    now: DateTime<Utc>,
) -> OpResult<PolicyChange> {
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
    if saved.is_some() && input.policy == Policy::Strict {
        // Under the settings row's lock (the update took it): a route write waits for us.
        if let Some(features) = providers::platform_routed(conn, org.id).await? {
            return Err(OpError::Conflict(format!(
                "Strict means the platform never sees this org's data, but these features are routed to the platform: {features}. Route them elsewhere (or back to inherit) before switching to strict."
            )));
        }
    }
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
    /// The features whose route uses another prompt variant than `variant` (a provider of
    /// another protocol, or the platform), in [`Feature::ALL`] order.
    pub feature_variants: Vec<(Feature, Variant)>,
}

/// Reads the prompt variant in use, the policy and the enabled skills (scope
/// `settings:get`).
pub async fn advanced(state: &AppState, caller: &Caller) -> OpResult<Advanced> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    let provider::OrgProviders {
        settings,
        providers,
        routes,
        ..
    } = provider::list_with_routes(&mut conn, org.id, state.clock.now())
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
    let variant = Variant::for_kind(active.as_ref().map(|(_, k, _)| *k));
    let mut feature_variants: Vec<(Feature, Variant)> = routes
        .iter()
        .filter_map(|r| {
            let feature = r.feature.parse::<Feature>().ok()?;
            let routed = match (r.mode.as_str(), r.provider_id.as_deref()) {
                ("platform", _) => Variant::Platform,
                ("provider", Some(id)) => {
                    let (p, _) = providers.iter().find(|(p, _)| p.id == id)?;
                    Variant::for_kind(Some(p.kind.parse().unwrap_or(ProviderKind::Custom)))
                }
                _ => return None,
            };
            (routed != variant).then_some((feature, routed))
        })
        .collect();
    feature_variants.sort_by_key(|(f, _)| f.index());
    Ok(Advanced {
        feature_variants,
        variant,
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
    let providers = providers::list_of(&mut conn, caller, org, state.clock.now()).await?;
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

/// Changes several AI settings in one transaction, each part through the rules of the
/// operation that owns it (so each writes its own audit event). Every scope the change
/// needs (`settings:get` for the answer, `settings:update` for policy and Insights,
/// `aiProviders:activate` for the active provider) is checked before anything is done.
/// The live check of a provider to activate runs first, outside any transaction (a 422
/// leaves everything as it was); then one transaction re-reads the settings row under a
/// lock when the active provider changes, and applies the active provider, the policy
/// and Insights in that order. A setting already as asked is left alone (no re-activation,
/// no audit event). A stale `lock_version`, or a change by someone else since the settings
/// were read, is a conflict; whatever fails, nothing of the change is applied.
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
    let mut conn = state.pool.get().await?;
    let (current, _) = ai_settings::with_updater(&mut conn, org.id).await?;
    if input
        .lock_version
        .is_some_and(|v| v != current.lock_version)
    {
        return Err(stale());
    }
    // What the active provider part does, decided on the settings read above.
    let activation = match &input.active_provider {
        Some(Some(id)) if current.active_provider_id.as_deref() != Some(id.as_str()) => {
            // The live check, outside any transaction (it waits on the provider).
            drop(conn);
            let checked = providers::check_activation(state, org, id)
                .await
                .map_err(unknown_provider)?;
            conn = state.pool.get().await?;
            Some(Some(checked))
        }
        Some(None) if current.active_provider_id.is_some() => Some(None),
        _ => None,
    };
    let now = state.clock.now();
    conn.transaction::<_, OpError, _>(async |conn| {
        let mut version = current.lock_version;
        if let Some(activation) = &activation {
            // The active provider part depends on the row as read: re-read it locked.
            let settings = provider::lock_settings(conn, org.id).await?;
            if settings.lock_version != version {
                return Err(stale());
            }
            let changed = match activation {
                Some(checked) => {
                    let saved = providers::activate_in(conn, caller, org, &settings, checked, now)
                        .await
                        .map_err(unknown_provider)?;
                    Some(saved.lock_version)
                }
                None => providers::deactivate_in(conn, caller, org, &settings, now)
                    .await?
                    .then_some(version + 1),
            };
            if let Some(v) = changed {
                version = v;
            }
        }
        // Policy and Insights write only over the version this transaction expects (a
        // conditional update), so a change by someone else is a conflict, not an overwrite.
        if let Some(policy) = input.policy {
            let input = SetPolicy {
                policy,
                lock_version: version,
            };
            if let PolicyChange::Saved { lock_version } =
                set_policy_in(conn, caller, org, input, now).await?
            {
                version = lock_version;
            }
        }
        if let Some(enabled) = input.insights_enabled {
            let input = SetInsights {
                enabled,
                lock_version: version,
            };
            insights::set_insights_in(conn, caller, org, input, now).await?;
        }
        Ok(())
    })
    .await?;
    drop(conn);
    ai_settings(state, caller).await
}

/// The conflict of a stale version.
fn stale() -> OpError {
    OpError::Conflict(
        "Someone else changed these settings meanwhile. Fetch them again and make your change again if you still want it.".to_owned(),
    )
}

/// An unknown provider named as the active one is a well-formed request the org's state
/// refuses (422, like a failed check), not a missing page: the settings exist.
fn unknown_provider(e: OpError) -> OpError {
    match e {
        OpError::NotFound => OpError::Unprocessable {
            field: Some("active_provider_id"),
            message: "There is no such provider in this org.".to_owned(),
        },
        other => other,
    }
}
