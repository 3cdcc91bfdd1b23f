//! Provider records (DESIGN.md rules 1–5 and 8): list, create, update, test, activate,
//! deactivate, remove the key, delete. Keys are sealed into `secrets` and shared by
//! reference; a live check runs before anything is saved or activated, outside any
//! transaction; every change and its typed audit event are one transaction. Lock order is
//! always the org's settings row, then the provider row, so activations, key removals and
//! deletions can't deadlock.

mod activation;
pub mod drafts;
pub mod extra_headers;
mod guards;
mod input;
mod keys;
pub mod models;
mod patch;
mod recheck;
pub mod relay;
pub mod release;
mod route_choice;
mod routes;
mod view;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

pub(crate) use activation::{activate_in, check_activation, deactivate_in};
pub use activation::{activate_provider, deactivate};
pub use extra_headers::HeadersInput;
pub use input::{KeyInput, MAX_NAME_CHARS, ProviderInput};
pub use patch::{ProviderPatch, patch_provider};
pub use recheck::{RecheckReport, Rechecked, recheck_due, recheck_now};
pub use route_choice::{FeatureRouteView, MAX_MODEL_CHARS, RouteChoice};
pub(crate) use routes::platform_routed;
pub use routes::{RouteChange, SetRoute, clear_feature_route, set_feature_route};
pub use view::{KeyDisplay, LastCheck, ProviderHealth, ProviderList, ProviderView};

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit, health};
use crate::{
    crypto::secret::KeyPreview,
    models::{
        org::Org,
        provider::{self, CheckStatus, NewProvider, Provider, ProviderChanges},
        secret,
    },
    providers::check::CheckOutcome,
    routing::Policy,
    state::AppState,
};
use activation::revert_to_platform;
use input::Fields;
use keys::{for_check, resolve_key, store, verify};
use view::view_of;

/// The org's providers, oldest first, and which one is active (scope `aiProviders:list`).
pub async fn list_providers(state: &AppState, caller: &Caller) -> OpResult<ProviderList> {
    let org = caller.require(Scope::AiProvidersList)?;
    let mut conn = state.pool.get().await?;
    list_of(&mut conn, caller, org, state.clock.now()).await
}

/// The org's providers and settings as `caller` sees them, without a scope check: for
/// operations that checked their own (the AI settings read).
pub(crate) async fn list_of(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<ProviderList> {
    let rows =
        provider::list_with_routes(conn, org.id, now - crate::models::provider_health::WINDOW)
            .await?
            .ok_or(OpError::NotFound)?;
    Ok(list_from(caller, &rows))
}

/// [`list_providers`] for the REST API, MCP and the seed surfaces, which show no 24 h usage.
/// For an API token judged at the org's epoch `E` (`Caller::epoch`), the list this instance
/// read at `E` answers without a statement (`models::route_cache`); otherwise the list is
/// read, and remembered at the epoch its statement saw.
pub async fn list_providers_for_api(state: &AppState, caller: &Caller) -> OpResult<ProviderList> {
    let org = caller.require(Scope::AiProvidersList)?;
    let cache = &state.route_cache;
    if let Some(rows) = caller.epoch.and_then(|epoch| cache.list(org.id, epoch)) {
        return Ok(list_from(caller, &rows));
    }
    let mut conn = state.pool.get().await?;
    let now = state.clock.now();
    let mut rows = provider::list_with_routes(
        &mut conn,
        org.id,
        now - crate::models::provider_health::WINDOW,
    )
    .await?
    .ok_or(OpError::NotFound)?;
    drop(conn);
    // No API shows the usage, and it changes without the epoch: none is remembered.
    rows.usage.iter_mut().for_each(|u| *u = Default::default());
    let rows = std::sync::Arc::new(rows);
    if let Some(epoch) = rows.epoch {
        cache.put_list(org.id, epoch, rows.clone());
    }
    Ok(list_from(caller, &rows))
}

/// The list `caller` sees of the rows read.
fn list_from(caller: &Caller, rows: &provider::OrgProviders) -> ProviderList {
    let settings = &rows.settings;
    let active = settings.active_provider_id.clone();
    let others: Vec<_> = rows
        .providers
        .iter()
        .map(|(p, _)| (p.id.clone(), p.name.clone(), p.secret_id.clone()))
        .collect();
    let providers: Vec<_> = rows
        .providers
        .iter()
        .zip(&rows.usage)
        .map(|((p, preview), usage)| {
            let mut v = view::view(caller, p, preview.as_deref(), active.as_deref(), &others);
            v.health.usage = usage.clone();
            v
        })
        .collect();
    let routes = view::route_views(&rows.routes, &providers);
    ProviderList {
        routes,
        active,
        providers,
        // A CHECK constraint admits only the two policies; were it ever another, fail closed.
        policy: settings.routing_policy.parse().unwrap_or(Policy::Strict),
        insights_enabled: settings.insights_enabled,
        settings_lock_version: settings.lock_version,
    }
}

/// The org's providers for previewing the activation of `id` (scope
/// `aiProviders:activate`): compare `routing()` with `routing_with_active(id)`.
pub async fn activation_preview(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<ProviderList> {
    caller.require(Scope::AiProvidersActivate)?;
    let list = list_providers(state, caller).await?;
    if list.providers.iter().any(|p| p.id == id) {
        Ok(list)
    } else {
        Err(OpError::NotFound)
    }
}

/// The org's providers and routes, for previewing a feature routed to `choice` (the
/// scopes of the change itself): compare `routing()` with `routing_with_route(…)`. A
/// provider of another org is a 404.
pub async fn route_preview(
    state: &AppState,
    caller: &Caller,
    choice: &RouteChoice,
) -> OpResult<ProviderList> {
    routes::require(caller, choice)?;
    let list = list_providers(state, caller).await?;
    if let RouteChoice::Provider { id, .. } = choice
        && !list.providers.iter().any(|p| &p.id == id)
    {
        return Err(OpError::NotFound);
    }
    Ok(list)
}

/// Whether the caller may open the form for a new provider (scope `aiProviders:create`):
/// the console asks before showing the form.
pub fn may_create(caller: &Caller) -> OpResult<()> {
    caller.require(Scope::AiProvidersCreate).map(drop)
}

/// Provider `id` for its edit form (scopes `aiProviders:update` and `aiProviders:get`).
pub async fn provider_to_edit(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<ProviderView> {
    caller.require(Scope::AiProvidersUpdate)?;
    get_provider(state, caller, id).await
}

/// One provider (scope `aiProviders:get`).
pub async fn get_provider(state: &AppState, caller: &Caller, id: &str) -> OpResult<ProviderView> {
    let org = caller.require(Scope::AiProvidersGet)?;
    let mut conn = state.pool.get().await?;
    view_of(&mut conn, caller, org, id).await
}

/// The audited description of a provider's settings (no key: only its masked preview).
fn described(fields: &Fields, preview: Option<&KeyPreview>) -> Change {
    Change::new()
        .text("name", &fields.name)
        .text("kind", fields.kind.as_str())
        .text("defaultModel", &fields.default_model)
        .opt_text("baseUrl", fields.base_url.as_deref())
        .settings("config", &fields.config)
        .masked("key", preview)
}

fn stored_preview(p: &Provider, preview: Option<&str>) -> Option<KeyPreview> {
    p.secret_id
        .as_ref()
        .and(preview)
        .map(|v| KeyPreview::from_stored(v.to_owned()))
}

/// Maps a unique-name violation to a 409 on `name`, as for skills.
fn name_taken(e: DieselError, name: &str) -> OpError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => OpError::Taken {
            field: "name",
            message: format!("Another provider of this org is already called {name}."),
        },
        other => other.into(),
    }
}

/// Adds a provider (scope `aiProviders:create`): prefix check, then a live check (unless
/// `save_unverified`); on failure nothing is written.
pub async fn create_provider(
    state: &AppState,
    caller: &Caller,
    input: ProviderInput,
) -> OpResult<ProviderView> {
    let org = caller.require(Scope::AiProvidersCreate)?;
    let mut fields = input::check_fields(&input)?;
    let mut conn = state.pool.get().await?;
    let key = resolve_key(&mut conn, state, org, &fields, None, input.key).await?;
    let headers =
        extra_headers::resolve(&mut conn, state, org, &fields, None, input.extra_headers).await?;
    drop(conn);
    extra_headers::record_names(&mut fields.config, &headers);
    fields.extra_headers = headers.headers.clone();
    let verdict = verify(state, &fields, &key, input.save_unverified).await?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let id = conn
        .transaction::<_, OpError, _>(async |conn| {
            let (secret_id, preview) = store(conn, state, caller, org, &fields, &key).await?;
            let id = provider::new_id();
            NewProvider {
                id: &id,
                org_id: org.id,
                name: &fields.name,
                kind: fields.kind.as_str(),
                default_model: &fields.default_model,
                base_url: fields.base_url.as_deref(),
                config: &fields.config,
                secret_id: secret_id.as_deref(),
                check_status: verdict.status,
                check_code: verdict.code.as_deref(),
                check_message: verdict.message.as_deref(),
                checked_at: Some(now),
                created_at: now,
                created_by: caller.user_id(),
            }
            .insert(conn)
            .await
            .map_err(|e| name_taken(e, &fields.name))?;
            extra_headers::store(conn, state, caller, org, &id, None, &headers).await?;
            let after =
                described(&fields, preview.as_ref()).text("checkStatus", verdict.status.as_str());
            audit::record(
                conn,
                caller,
                Action::ProviderCreated,
                Target::Provider(id.clone()),
                None,
                Some(after),
            )
            .await?;
            Ok(id)
        })
        .await?;
    view_of(&mut conn, caller, org, &id).await
}

/// Edits a provider seen at `lock_version` (scope `aiProviders:update`). A blank key keeps
/// the stored one, unless the kind or base URL changes (then the key must be entered
/// again); a stale `lock_version` is a conflict.
pub async fn update_provider(
    state: &AppState,
    caller: &Caller,
    id: &str,
    lock_version: i32,
    input: ProviderInput,
) -> OpResult<ProviderView> {
    let org = caller.require(Scope::AiProvidersUpdate)?;
    let mut fields = input::check_fields(&input)?;
    let mut conn = state.pool.get().await?;
    let (current, current_preview) = provider::find(&mut conn, org.id, id)
        .await?
        .ok_or(OpError::NotFound)?;
    if current.lock_version != lock_version {
        return Err(stale(&current.name));
    }
    if input.save_unverified {
        guards::refuse_unverified_active(&mut conn, org.id, id, &current.name, false).await?;
        routes::refuse_unverified_routed(&mut conn, org.id, id, &current.name).await?;
    }
    let key = resolve_key(&mut conn, state, org, &fields, Some(&current), input.key).await?;
    let headers = extra_headers::resolve(
        &mut conn,
        state,
        org,
        &fields,
        Some(&current),
        input.extra_headers,
    )
    .await?;
    drop(conn);
    extra_headers::record_names(&mut fields.config, &headers);
    fields.extra_headers = headers.headers.clone();
    let verdict = verify(state, &fields, &key, input.save_unverified).await?;
    let before = described(
        &Fields::of(&current)?,
        stored_preview(&current, current_preview.as_deref()).as_ref(),
    );
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        if verdict.status == CheckStatus::Unverified {
            // Lock order as everywhere: the settings row first. It may have become active
            // since the first look.
            guards::refuse_unverified_active(conn, org.id, id, &current.name, true).await?;
            routes::refuse_unverified_routed(conn, org.id, id, &current.name).await?;
        }
        let (secret_id, preview) = store(conn, state, caller, org, &fields, &key).await?;
        let mut changes = ProviderChanges::new(caller.user_id(), now);
        changes.name = Some(&fields.name);
        changes.kind = Some(fields.kind.as_str());
        changes.default_model = Some(&fields.default_model);
        changes.base_url = Some(fields.base_url.as_deref());
        changes.config = Some(&fields.config);
        changes.secret_id = Some(secret_id.as_deref());
        provider::update_if(conn, org.id, id, lock_version, &changes)
            .await
            .map_err(|e| name_taken(e, &fields.name))?
            .ok_or_else(|| stale(&current.name))?;
        let old_headers = current.headers_secret_id.as_deref();
        extra_headers::store(conn, state, caller, org, id, old_headers, &headers).await?;
        provider::set_check(
            conn,
            org.id,
            id,
            verdict.status,
            verdict.code.as_deref(),
            verdict.message.as_deref(),
            now,
        )
        .await?;
        if let Some(old) = current.secret_id.as_deref()
            && secret_id.as_deref() != Some(old)
        {
            secret::delete_if_unused(conn, org.id, old).await?;
        }
        let after =
            described(&fields, preview.as_ref()).text("checkStatus", verdict.status.as_str());
        audit::record(
            conn,
            caller,
            Action::ProviderUpdated,
            Target::Provider(id.to_owned()),
            Some(before),
            Some(after),
        )
        .await?;
        if verdict.status == CheckStatus::Ok {
            // Saved after a passing check with the new settings.
            health::attention::clear_in(conn, caller, org.id, id).await?;
        }
        Ok(())
    })
    .await?;
    view_of(&mut conn, caller, org, id).await
}

fn stale(name: &str) -> OpError {
    OpError::Conflict(format!(
        "Someone else changed {name} while you were editing it. Here is the current state; make your change again if you still want it."
    ))
}

/// Runs the live check of saved provider `id` with its stored key, outside any transaction:
/// the provider as read, the outcome and the status to record.
async fn check_saved(
    state: &AppState,
    org: &Org,
    id: &str,
) -> OpResult<(Provider, CheckOutcome, CheckStatus)> {
    let (p, fields, key) = for_check(state, org, id).await?;
    let outcome = state
        .checker
        .check(&fields.check_request(key.value()))
        .await;
    let status = match outcome.ok {
        true => CheckStatus::Ok,
        false => CheckStatus::Failed,
    };
    Ok((p, outcome, status))
}

/// Runs a live check of a saved provider and records the result on it (scope
/// `aiProviders:test`). A failed check is a result here, not an error.
pub async fn test_provider(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<(ProviderView, CheckOutcome)> {
    let org = caller.require(Scope::AiProvidersTest)?;
    let (_, outcome, status) = check_saved(state, org, id).await?;
    let code = outcome.code.filter(|_| !outcome.ok).map(|c| c.as_str());
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let checked =
            provider::set_check(conn, org.id, id, status, code, Some(&outcome.message), now)
                .await?
                .ok_or(OpError::NotFound)?;
        let after = Change::new()
            .text("name", &checked.name)
            .text("checkStatus", status.as_str())
            .opt_text("code", code);
        audit::record(
            conn,
            caller,
            Action::ProviderTested,
            Target::Provider(id.to_owned()),
            None,
            Some(after),
        )
        .await?;
        if outcome.ok {
            health::attention::clear_in(conn, caller, org.id, id).await?;
        }
        Ok(())
    })
    .await?;
    let view = view_of(&mut conn, caller, org, id).await?;
    Ok((view, outcome))
}

/// Removes a provider's key (scope `aiProviders:update`); the secret is deleted when no
/// other provider uses it. On the active provider this reverts the org to the platform
/// default in the same transaction. Returns the provider and whether the org went back to
/// the platform default.
pub async fn remove_key(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> OpResult<(ProviderView, bool)> {
    let org = caller.require(Scope::AiProvidersUpdate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let reverted = conn
        .transaction::<_, OpError, _>(async |conn| {
            let settings = provider::lock_settings(conn, org.id).await?;
            let p = provider::lock(conn, org.id, id)
                .await?
                .ok_or(OpError::NotFound)?;
            let Some(secret_id) = p.secret_id.clone() else {
                return Ok(false);
            };
            let preview = secret::find(conn, org.id, &secret_id)
                .await?
                .map(|s| KeyPreview::from_stored(s.preview));
            provider::set_secret(conn, org.id, id, None, caller.user_id(), now).await?;
            // The last check spoke of the key just removed: "ok — key accepted" must not
            // stay beside "No key" (issue 17).
            provider::set_check(
                conn,
                org.id,
                id,
                CheckStatus::Unverified,
                None,
                Some("The key was removed; enter a key and test again."),
                now,
            )
            .await?;
            secret::delete_if_unused(conn, org.id, &secret_id).await?;
            let was_active = settings.active_provider_id.as_deref() == Some(id);
            audit::record(
                conn,
                caller,
                Action::ProviderKeyRemoved,
                Target::Provider(id.to_owned()),
                Some(
                    Change::new()
                        .text("name", &p.name)
                        .masked("key", preview.as_ref()),
                ),
                Some(
                    Change::new()
                        .text("name", &p.name)
                        .masked("key", None)
                        .flag("revertedToPlatform", was_active),
                ),
            )
            .await?;
            if was_active {
                revert_to_platform(conn, caller, org, id, now, "key removed").await?;
            }
            routes::revert_routes_of(conn, caller, org, id, &p.name, "key removed").await?;
            Ok(was_active)
        })
        .await?;
    Ok((view_of(&mut conn, caller, org, id).await?, reverted))
}

/// Deletes a provider (scope `aiProviders:delete`): refused while it is active; its secret
/// goes when no other provider uses it.
pub async fn delete_provider(state: &AppState, caller: &Caller, id: &str) -> OpResult<()> {
    let org = caller.require(Scope::AiProvidersDelete)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let settings = provider::lock_settings(conn, org.id).await?;
        let p = provider::lock(conn, org.id, id).await?.ok_or(OpError::NotFound)?;
        if settings.active_provider_id.as_deref() == Some(id) {
            return Err(OpError::Conflict(format!(
                "{} is the active provider: deactivate it (or activate another) before deleting it.",
                p.name
            )));
        }
        routes::refuse_delete_while_routed(conn, org.id, id, &p.name).await?;
        provider::delete(conn, org.id, id).await?;
        if let Some(secret_id) = p.secret_id.as_deref() {
            secret::delete_if_unused(conn, org.id, secret_id).await?;
        }
        extra_headers::drop_secret(conn, org, p.headers_secret_id.as_deref()).await?;
        let before = described(&Fields::of(&p)?, None);
        audit::record(conn, caller, Action::ProviderDeleted, Target::Provider(id.to_owned()), Some(before), None)
            .await?;
        Ok(())
    })
    .await
}

/// The platform default's kind and model (`SWITCHBOARD_PLATFORM_PROVIDER`).
pub fn platform_default(state: &AppState) -> (String, String) {
    let (kind, model) = state
        .config
        .platform_provider
        .split_once(':')
        .unwrap_or(("anthropic", "claude-sonnet-4-5"));
    (kind.to_owned(), model.to_owned())
}
