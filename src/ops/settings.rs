//! The org's AI settings beyond the active provider and Insights: the routing policy that
//! decides what the platform may serve while the org's own provider is active
//! (DESIGN.md rule 6), and the Advanced tab's read of the prompt in use (rule 7).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{
    Action, Caller, Change, OpError, OpResult, Scope, Target, audit,
    insights::{self, SetInsights},
};
use crate::{
    models::{
        ai_settings::{self, OrgAiSettings},
        org::Org,
        provider::{self, Provider},
        skill::{self, Skill},
    },
    prompts::Variant,
    providers::ProviderKind,
    routing::{self, Policy},
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

/// The org's active provider, as the AI settings show it.
#[derive(Debug, Clone)]
pub struct ActiveProvider {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub model: String,
    pub supports_tools: bool,
}

/// The org's AI settings as the API and MCP show them: the active provider, the routing
/// policy, the Insights switch and the settings' version; what runs where and the prompt
/// variant follow from them.
#[derive(Debug, Clone)]
pub struct AiSettings {
    /// `None`: the platform default serves the org.
    pub active: Option<ActiveProvider>,
    pub policy: Policy,
    pub insights_enabled: bool,
    pub lock_version: i32,
    pub updated_at: DateTime<Utc>,
}

impl AiSettings {
    /// What routing needs to know, borrowed from these settings.
    pub fn routing(&self) -> routing::Settings<'_> {
        routing::Settings {
            policy: self.policy,
            insights_enabled: self.insights_enabled,
            active: self.active.as_ref().map(|a| routing::Active {
                id: &a.id,
                name: &a.name,
                kind: a.kind,
                model: &a.model,
                supports_tools: a.supports_tools,
            }),
        }
    }

    /// The system-prompt variant in use.
    pub fn variant(&self) -> Variant {
        Variant::for_kind(self.active.as_ref().map(|a| a.kind))
    }

    fn of(settings: OrgAiSettings, providers: &[(Provider, Option<String>)]) -> Self {
        let active = settings.active_provider_id.as_deref().and_then(|id| {
            providers
                .iter()
                .find(|(p, _)| p.id == id)
                .map(|(p, _)| ActiveProvider {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    // The kind column's CHECK admits only catalog slugs.
                    kind: p.kind.parse().unwrap_or(ProviderKind::Custom),
                    model: p.default_model.clone(),
                    supports_tools: p
                        .config
                        .get("supports_tools")
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false),
                })
        });
        Self {
            active,
            // A CHECK constraint admits only the two policies; were it another, fail closed.
            policy: settings.routing_policy.parse().unwrap_or(Policy::Strict),
            insights_enabled: settings.insights_enabled,
            lock_version: settings.lock_version,
            updated_at: settings.updated_at,
        }
    }
}

async fn read_ai_settings(conn: &mut AsyncPgConnection, org: &Org) -> OpResult<AiSettings> {
    let (settings, providers) = provider::list_for_org(conn, org.id)
        .await?
        .ok_or(OpError::NotFound)?;
    Ok(AiSettings::of(settings, &providers))
}

/// Reads the org's AI settings (scope `settings:get`).
pub async fn ai_settings(state: &AppState, caller: &Caller) -> OpResult<AiSettings> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    read_ai_settings(&mut conn, org).await
}

/// A change to the AI settings: each field left `None` stays as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct AiSettingsPatch {
    pub policy: Option<Policy>,
    pub insights_enabled: Option<bool>,
    /// The version the caller saw; `None` changes whatever is current.
    pub lock_version: Option<i32>,
}

/// Changes the routing policy and/or the Insights switch in one transaction, each change
/// with its audit event (scope `settings:update`); a value already in place writes nothing.
/// A stale `lock_version` is a conflict and changes nothing.
pub async fn update_ai_settings(
    state: &AppState,
    caller: &Caller,
    patch: AiSettingsPatch,
) -> OpResult<AiSettings> {
    let org = caller.require(Scope::SettingsUpdate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        // Locked, so each write below only skips a value already in place.
        let current = provider::lock_settings(conn, org.id).await?;
        let mut version = patch.lock_version.unwrap_or(current.lock_version);
        if version != current.lock_version {
            return Err(insights::stale());
        }
        if let Some(policy) = patch.policy {
            let input = SetPolicy {
                policy,
                lock_version: version,
            };
            if let Some(saved) = write_policy(conn, caller, org, input, now).await? {
                version = saved.lock_version;
            }
        }
        if let Some(enabled) = patch.insights_enabled {
            let input = SetInsights {
                enabled,
                lock_version: version,
            };
            insights::write_insights(conn, caller, org, input, now).await?;
        }
        read_ai_settings(conn, org).await
    })
    .await
}
