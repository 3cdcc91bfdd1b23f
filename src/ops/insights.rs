//! Proactive AI Insights: read the switch, and turn it on or off with optimistic locking.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{
    models::{
        ai_settings::{self, OrgAiSettings},
        org::Org,
        user,
    },
    state::AppState,
};

/// The switch as a page or the API shows it.
#[derive(Debug, Clone)]
pub struct InsightsStatus {
    pub enabled: bool,
    pub lock_version: i32,
    /// Who changed it last (name or email); `None` while the default applies.
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// Reads the switch (scope `settings:get`).
pub async fn get_insights(state: &AppState, caller: &Caller) -> OpResult<InsightsStatus> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    let (settings, updater) = ai_settings::with_updater(&mut conn, org.id).await?;
    Ok(InsightsStatus {
        enabled: settings.insights_enabled,
        lock_version: settings.lock_version,
        changed_by: updater.map(|(name, email)| user::label(&name, &email).to_owned()),
        changed_at: settings.updated_at,
    })
}

/// The change an admin asks for, against the version they saw.
#[derive(Debug, Clone, Copy)]
pub struct SetInsights {
    pub enabled: bool,
    pub lock_version: i32,
}

/// What [`set_insights`] did.
#[derive(Debug, Clone)]
pub enum InsightsChange {
    /// Written, with its audit event; the new state.
    Saved(InsightsStatus),
    /// The switch was already in that position: nothing written.
    Unchanged,
}

/// Sets the switch and writes `insights.enabled|disabled` in one transaction (scope
/// `settings:update`). A stale `lock_version` is a conflict, never an overwrite.
pub async fn set_insights(
    state: &AppState,
    caller: &Caller,
    input: SetInsights,
) -> OpResult<InsightsChange> {
    let org = caller.require(Scope::SettingsUpdate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        set_insights_in(conn, caller, org, input, now).await
    })
    .await
}

/// [`set_insights`] inside the caller's transaction (scope checked by the caller).
pub(super) async fn set_insights_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    input: SetInsights,
    now: DateTime<Utc>,
) -> OpResult<InsightsChange> {
    let saved = write_insights(conn, caller, org, input, now).await?;
    let Some(saved) = saved else {
        // Nothing written: tell a stale form from a switch already in that position.
        let (current, _) = ai_settings::with_updater(conn, org.id).await?;
        return if current.lock_version == input.lock_version {
            Ok(InsightsChange::Unchanged)
        } else {
            Err(stale())
        };
    };
    Ok(InsightsChange::Saved(InsightsStatus {
        enabled: saved.insights_enabled,
        lock_version: saved.lock_version,
        changed_by: Some(caller.actor.label().to_owned()),
        changed_at: saved.updated_at,
    }))
}

/// The conflict of a stale `lock_version`.
pub(super) fn stale() -> OpError {
    OpError::Conflict(
        "Someone else changed this setting while you were looking. Here is the current state; try again if you still want to change it.".to_owned(),
    )
}

/// Sets the switch if the row is still at `input.lock_version` and the switch is the other
/// way, with its audit event, inside the caller's transaction. `None`: nothing written.
pub(super) async fn write_insights(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    input: SetInsights,
    now: DateTime<Utc>,
) -> OpResult<Option<OrgAiSettings>> {
    let saved = ai_settings::set_insights_if(
        conn,
        org.id,
        input.lock_version,
        input.enabled,
        caller.user_id(),
        now,
    )
    .await?;
    if saved.is_some() {
        let action = match input.enabled {
            true => Action::InsightsEnabled,
            false => Action::InsightsDisabled,
        };
        // The update only matched a row whose switch was the other way.
        let value = |on| Some(Change::new().flag("insightsEnabled", on));
        audit::record(
            conn,
            caller,
            action,
            Target::Org(org.slug.clone()),
            value(!input.enabled),
            value(input.enabled),
        )
        .await?;
    }
    Ok(saved)
}
