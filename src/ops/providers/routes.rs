//! Per-feature routes (DESIGN.md rule 6, issue 20): each AI feature is `inherit` (no row:
//! the active provider and the policy decide), `provider` (one of the org's providers,
//! optionally with its own model), `platform` or `off`.
//!
//! - Setting `provider` needs `aiProviders:activate` besides `settings:update`; the provider
//!   must be the org's (404 otherwise), have its key where its kind needs one, serve tools
//!   when the feature uses them, and pass its live check **with the route's model** (422,
//!   nothing changes). The check runs outside any transaction, like activation's.
//! - Under `strict` a `platform` route is a 422 (strict means the platform never sees the
//!   org's data); `settings::set_policy_in` refuses the switch to strict while platform
//!   routes exist (409 naming them).
//! - Every route has its own version ("v0": no row yet); a stale one is a 409. Every write
//!   locks the org's settings row first (the lock order of `ops::providers`), so route
//!   changes, policy changes, key removals and deletions serialise per org.
//! - Each change and its `feature_route.set` / `feature_route.cleared` event are one
//!   transaction; a change to what already is writes nothing.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{
    keys::{Key, for_check},
    route_choice::RouteChoice,
};
use crate::{
    models::{
        feature_route::{self, FeatureRoute, RouteWrite},
        org::Org,
        provider,
    },
    ops::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit},
    routing::{Active, Feature, Policy},
    state::AppState,
};

/// A route to set, against the route version the caller saw (0: no route).
#[derive(Debug, Clone)]
pub struct SetRoute {
    pub feature: Feature,
    pub choice: RouteChoice,
    pub lock_version: i32,
}

/// What [`set_feature_route`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// Written with its audit event; the route's new version (0: back to `inherit`).
    Saved { lock_version: i32 },
    /// The feature already was routed so: nothing written.
    Unchanged,
}

/// The scopes a change to `choice` needs: `settings:update`, plus `aiProviders:activate`
/// for a provider route (it changes who serves).
pub(super) fn require<'c>(caller: &'c Caller, choice: &RouteChoice) -> OpResult<&'c Org> {
    let org = caller.require(Scope::SettingsUpdate)?;
    if matches!(choice, RouteChoice::Provider { .. }) {
        caller.require(Scope::AiProvidersActivate)?;
    }
    Ok(org)
}

/// A provider route whose live check passed, ready to be written.
struct CheckedRoute {
    provider_id: String,
    provider_name: String,
    provider_version: i32,
}

/// The part of a provider route that runs outside any transaction: the provider is the
/// org's, has its key where its kind needs one, serves tools when the feature uses them,
/// and its live check passes with the route's model.
async fn check_route(
    state: &AppState,
    org: &Org,
    feature: Feature,
    id: &str,
    model: Option<&str>,
) -> OpResult<CheckedRoute> {
    let (p, mut fields, key) = for_check(state, org, id).await?;
    if matches!(key, Key::None) && fields.kind.entry().key.required {
        return Err(OpError::Unprocessable {
            field: Some("provider_id"),
            message: format!(
                "{} has no key: add one before routing a feature to it.",
                p.name
            ),
        });
    }
    let serving = Active {
        id: &p.id,
        name: &p.name,
        kind: fields.kind,
        model: &p.default_model,
        supports_tools: fields
            .config
            .get("supports_tools")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    };
    if feature.needs_tools() && !serving.can_use_tools() {
        return Err(OpError::Unprocessable {
            field: Some("provider_id"),
            message: format!(
                "{} uses tools, and {} doesn't support tool calling: choose a provider that does (or tick its tool-calling setting if the endpoint supports it).",
                feature.label(),
                p.name
            ),
        });
    }
    if let Some(m) = model {
        fields.default_model = m.to_owned();
    }
    let outcome = state
        .checker
        .check(&fields.check_request(key.value()))
        .await;
    if !outcome.ok {
        return Err(OpError::CheckFailed(outcome));
    }
    Ok(CheckedRoute {
        provider_id: p.id,
        provider_name: p.name,
        provider_version: p.lock_version,
    })
}

/// Routes `feature` to `choice` (scope `settings:update`, plus `aiProviders:activate` for
/// a provider route), against the route version the caller saw. `Inherit` clears the route.
pub async fn set_feature_route(
    state: &AppState,
    caller: &Caller,
    input: SetRoute,
) -> OpResult<RouteChange> {
    let org = require(caller, &input.choice)?;
    let checked = match &input.choice {
        RouteChoice::Provider { id, model } => {
            Some(check_route(state, org, input.feature, id, model.as_deref()).await?)
        }
        _ => None,
    };
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        write_route(conn, caller, org, &input, checked.as_ref(), now).await
    })
    .await
}

/// Clears `feature`'s route (back to `inherit`; scope `settings:update`), against the
/// version the caller saw.
pub async fn clear_feature_route(
    state: &AppState,
    caller: &Caller,
    feature: Feature,
    lock_version: i32,
) -> OpResult<RouteChange> {
    set_feature_route(
        state,
        caller,
        SetRoute {
            feature,
            choice: RouteChoice::Inherit,
            lock_version,
        },
    )
    .await
}

fn stale(feature: Feature) -> OpError {
    OpError::Conflict(format!(
        "Someone else changed the route of {} meanwhile. Here is the current state; make your change again if you still want it.",
        feature.label()
    ))
}

async fn write_route(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    input: &SetRoute,
    checked: Option<&CheckedRoute>,
    now: DateTime<Utc>,
) -> OpResult<RouteChange> {
    let feature = input.feature;
    let settings = provider::lock_settings(conn, org.id).await?;
    let current = feature_route::find(conn, org.id, feature.id()).await?;
    if current.as_ref().map_or(0, |r| r.lock_version) != input.lock_version {
        return Err(stale(feature));
    }
    let before = current
        .as_ref()
        .map(RouteChoice::of)
        .unwrap_or(RouteChoice::Inherit);
    if before == input.choice {
        return Ok(RouteChange::Unchanged);
    }
    if input.choice == RouteChoice::Platform
        && settings
            .routing_policy
            .parse::<Policy>()
            .unwrap_or(Policy::Strict)
            == Policy::Strict
    {
        return Err(OpError::Unprocessable {
            field: Some("mode"),
            message: format!(
                "The routing policy is strict, which means the platform never sees this org's data: {} can't be routed to the platform. Switch the policy to fallback first if you want that.",
                feature.label()
            ),
        });
    }
    let before_name = match &before {
        RouteChoice::Provider { id, .. } => {
            provider::find(conn, org.id, id).await?.map(|(p, _)| p.name)
        }
        _ => None,
    };
    let mut after_name = None;
    if let Some(checked) = checked {
        // Locked until commit: a deletion or key removal waits, then sees the route.
        let p = provider::lock(conn, org.id, &checked.provider_id)
            .await?
            .ok_or(OpError::NotFound)?;
        if p.lock_version != checked.provider_version {
            return Err(OpError::Conflict(format!(
                "{} was changed while its live check ran; try again.",
                checked.provider_name
            )));
        }
        after_name = Some(p.name);
    }
    let (action, version) = match &input.choice {
        RouteChoice::Inherit => {
            feature_route::delete(conn, org.id, feature.id()).await?;
            (Action::FeatureRouteCleared, 0)
        }
        choice => {
            let (provider_id, model) = match choice {
                RouteChoice::Provider { id, model } => (Some(id.as_str()), model.as_deref()),
                _ => (None, None),
            };
            let row = feature_route::upsert(
                conn,
                RouteWrite {
                    org_id: org.id,
                    feature: feature.id(),
                    mode: choice.mode(),
                    provider_id,
                    model,
                    by: caller.user_id(),
                    at: now,
                },
            )
            .await?;
            (Action::FeatureRouteSet, row.lock_version)
        }
    };
    audit::record(
        conn,
        caller,
        action,
        Target::Feature(feature.id().to_owned()),
        Some(described(feature, &before, before_name.as_deref(), None)),
        Some(described(
            feature,
            &input.choice,
            after_name.as_deref(),
            None,
        )),
    )
    .await?;
    Ok(RouteChange::Saved {
        lock_version: version,
    })
}

/// A route as the audit trail records it.
fn described(
    feature: Feature,
    choice: &RouteChoice,
    provider_name: Option<&str>,
    reason: Option<&str>,
) -> Change {
    let mut change = Change::new()
        .text("feature", feature.id())
        .text("route", choice.mode());
    if let RouteChoice::Provider { id, model } = choice {
        change = change
            .text("provider", id)
            .opt_text("providerName", provider_name)
            .opt_text("model", model.as_deref());
    }
    if let Some(reason) = reason {
        change = change.text("reason", reason);
    }
    change
}

/// Refuses (409) deleting a provider a route names, naming the features. Inside the
/// deletion's transaction, after the settings row is locked.
pub(super) async fn refuse_delete_while_routed(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    name: &str,
) -> OpResult<()> {
    let routed = feature_route::naming_provider(conn, org_id, id).await?;
    if routed.is_empty() {
        return Ok(());
    }
    Err(OpError::Conflict(format!(
        "{name} serves {} through feature routes: route {} elsewhere (or back to inherit) before deleting it.",
        labels(&routed),
        if routed.len() == 1 {
            "that feature"
        } else {
            "those features"
        }
    )))
}

/// Refuses (422) saving without a passing live check a provider a route names: the routed
/// features would run on settings nobody checked. Call after the settings row is locked
/// (or once before the check, for an early answer).
pub(super) async fn refuse_unverified_routed(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    name: &str,
) -> OpResult<()> {
    let routed = feature_route::naming_provider(conn, org_id, id).await?;
    if routed.is_empty() {
        return Ok(());
    }
    Err(OpError::Unprocessable {
        field: Some("save_unverified"),
        message: format!(
            "{name} serves {} through feature routes, so its changes must pass the live check before they are saved: saving unverified would run those features on settings nobody checked. Save with the check, or route those features elsewhere first.",
            labels(&routed)
        ),
    })
}

/// Turns the routes naming provider `id` back to `inherit` (its key was removed), each
/// with its `feature_route.cleared` event. Inside the caller's transaction, after the
/// settings row is locked. Returns the features.
pub(super) async fn revert_routes_of(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    id: &str,
    name: &str,
    reason: &str,
) -> OpResult<Vec<Feature>> {
    let removed = feature_route::delete_naming_provider(conn, org.id, id).await?;
    let mut features = Vec::new();
    for row in &removed {
        let Ok(feature) = row.feature.parse::<Feature>() else {
            continue;
        };
        audit::record(
            conn,
            caller,
            Action::FeatureRouteCleared,
            Target::Feature(row.feature.clone()),
            Some(described(feature, &RouteChoice::of(row), Some(name), None)),
            Some(described(
                feature,
                &RouteChoice::Inherit,
                None,
                Some(reason),
            )),
        )
        .await?;
        features.push(feature);
    }
    Ok(features)
}

/// The features' names, in a list people read.
fn labels(rows: &[FeatureRoute]) -> String {
    let names: Vec<&str> = rows
        .iter()
        .map(|r| {
            r.feature
                .parse::<Feature>()
                .map_or(r.feature.as_str(), |f| f.label())
        })
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

/// The features routed to the platform, named, for the refusal of a switch to strict.
pub(crate) async fn platform_routed(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> OpResult<Option<String>> {
    let features = feature_route::platform_features(conn, org_id).await?;
    if features.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = features
        .iter()
        .map(|f| f.parse::<Feature>().map_or(f.as_str(), |f| f.label()))
        .collect();
    Ok(Some(names.join(", ")))
}
