//! Which provider serves the org: activation behind a passing live check, and the way back
//! to the platform default. Both lock the org's settings row first.

use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{
    keys::{Key, for_check},
    view::{ProviderView, view_of},
};
use crate::{
    models::{
        ai_settings::OrgAiSettings,
        org::Org,
        provider::{self, CheckStatus},
    },
    ops::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit},
    state::AppState,
};

/// A provider whose live check passed, ready to be made active inside a transaction
/// ([`activate_in`]).
#[derive(Debug, Clone)]
pub(crate) struct CheckedActivation {
    id: String,
    /// The passing check's message, stored as the provider's last check.
    message: String,
}

/// The part of activation that runs outside any transaction: the provider needs a key
/// where its kind does, and a live check must pass.
pub(crate) async fn check_activation(
    state: &AppState,
    org: &Org,
    id: &str,
) -> OpResult<CheckedActivation> {
    let (p, fields, key) = for_check(state, org, id).await?;
    if matches!(key, Key::None) && fields.kind.entry().key.required {
        return Err(OpError::Unprocessable {
            field: Some("api_key"),
            message: format!("{} has no key: add one before activating it.", p.name),
        });
    }
    let outcome = state
        .checker
        .check(&fields.check_request(key.value()))
        .await;
    if !outcome.ok {
        return Err(OpError::CheckFailed(outcome));
    }
    Ok(CheckedActivation {
        id: id.to_owned(),
        message: outcome.message,
    })
}

/// Makes the checked provider active with its audit event, inside the caller's
/// transaction, over the settings row `settings` the caller locked
/// ([`provider::lock_settings`]). Returns the settings as written.
pub(crate) async fn activate_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    settings: &OrgAiSettings,
    checked: &CheckedActivation,
    now: DateTime<Utc>,
) -> OpResult<OrgAiSettings> {
    let id = checked.id.as_str();
    let saved = provider::set_active(conn, org.id, Some(id), caller.user_id(), now)
        .await
        .map_err(|e| match e {
            // Deleted since the check: the foreign key refuses a dangling id.
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                OpError::NotFound
            }
            other => other.into(),
        })?;
    let checked_row = provider::set_check(
        conn,
        org.id,
        id,
        CheckStatus::Ok,
        None,
        Some(&checked.message),
        now,
    )
    .await?;
    // The name it has now, kept in the event: the trail names it so after a rename or
    // deletion too (issue 17).
    let name = checked_row.map(|p| p.name).unwrap_or_default();
    audit::record(
        conn,
        caller,
        Action::ProviderActivated,
        Target::Provider(id.to_owned()),
        Some(
            Change::new()
                .text("name", &name)
                .opt_text("activeProvider", settings.active_provider_id.as_deref()),
        ),
        Some(Change::new().text("name", &name).text("activeProvider", id)),
    )
    .await?;
    Ok(saved)
}

/// Makes a provider the org's active one (scope `aiProviders:activate`): it needs a key
/// where its kind does, and a live check must pass; otherwise nothing changes. Concurrent
/// activations serialise on the settings row: exactly one provider ends up active.
pub async fn activate_provider(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<ProviderView> {
    let org = caller.require(Scope::AiProvidersActivate)?;
    let checked = check_activation(state, org, id).await?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let settings = provider::lock_settings(conn, org.id).await?;
        activate_in(conn, caller, org, &settings, &checked, now).await?;
        Ok(())
    })
    .await?;
    view_of(&mut conn, caller, org, id).await
}

/// Back to the platform default (scope `aiProviders:activate`); records are kept. Returns
/// whether anything changed.
pub async fn deactivate(state: &AppState, caller: &Caller) -> OpResult<bool> {
    let org = caller.require(Scope::AiProvidersActivate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let settings = provider::lock_settings(conn, org.id).await?;
        deactivate_in(conn, caller, org, &settings, now).await
    })
    .await
}

/// Back to the platform default inside the caller's transaction, over the settings row
/// `settings` the caller locked; `false` when the platform default already serves.
pub(crate) async fn deactivate_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    settings: &OrgAiSettings,
    now: DateTime<Utc>,
) -> OpResult<bool> {
    let Some(active) = settings.active_provider_id.as_deref() else {
        return Ok(false);
    };
    revert_to_platform(conn, caller, org, active, now, "deactivated").await?;
    Ok(true)
}

/// Clears the active provider and records `provider.deactivated` with the reason.
pub(super) async fn revert_to_platform(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    active: &str,
    now: DateTime<Utc>,
    reason: &str,
) -> OpResult<()> {
    provider::set_active(conn, org.id, None, caller.user_id(), now).await?;
    let name = provider::find(conn, org.id, active)
        .await?
        .map(|(p, _)| p.name)
        .unwrap_or_default();
    audit::record(
        conn,
        caller,
        Action::ProviderDeactivated,
        Target::Provider(active.to_owned()),
        Some(
            Change::new()
                .text("name", &name)
                .text("activeProvider", active),
        ),
        Some(
            Change::new()
                .text("name", &name)
                .opt_text("activeProvider", None)
                .text("reason", reason),
        ),
    )
    .await?;
    Ok(())
}
