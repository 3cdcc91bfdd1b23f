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
        org::Org,
        provider::{self, CheckStatus},
    },
    ops::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit},
    state::AppState,
};

/// Makes a provider the org's active one (scope `aiProviders:activate`): it needs a key
/// where its kind does, and a live check must pass; otherwise nothing changes. Concurrent
/// activations serialise on the settings row: exactly one provider ends up active.
pub async fn activate_provider(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<ProviderView> {
    let org = caller.require(Scope::AiProvidersActivate)?;
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
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let settings = provider::lock_settings(conn, org.id).await?;
        provider::set_active(conn, org.id, Some(id), caller.user_id(), now)
            .await
            .map_err(|e| match e {
                // Deleted since the check: the foreign key refuses a dangling id.
                DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                    OpError::NotFound
                }
                other => other.into(),
            })?;
        provider::set_check(
            conn,
            org.id,
            id,
            CheckStatus::Ok,
            None,
            Some(&outcome.message),
            now,
        )
        .await?;
        audit::record(
            conn,
            caller,
            Action::ProviderActivated,
            Target::Provider(id.to_owned()),
            Some(Change::new().opt_text("activeProvider", settings.active_provider_id.as_deref())),
            Some(Change::new().text("activeProvider", id)),
        )
        .await?;
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
        let Some(active) = settings.active_provider_id else {
            return Ok(false);
        };
        revert_to_platform(conn, caller, org, &active, now, "deactivated").await?;
        Ok(true)
    })
    .await
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
    audit::record(
        conn,
        caller,
        Action::ProviderDeactivated,
        Target::Provider(active.to_owned()),
        Some(Change::new().text("activeProvider", active)),
        Some(
            Change::new()
                .opt_text("activeProvider", None)
                .text("reason", reason),
        ),
    )
    .await?;
    Ok(())
}
