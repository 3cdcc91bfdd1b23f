//! Route resolution's two statements (`ops::providers::release`): everything a routing
//! decision and a credential release need in one read, and the `credential.released` event
//! appended only while that read still holds.

use crate::db::prelude::*;
use diesel::{
    IntoSql as _,
    dsl::{exists, sql},
    sql_types::{self, Nullable},
};
use diesel_async::AsyncPgConnection;

use crate::db::schema::{audit_events, feature_routes, org_ai_settings, providers, secrets};
use crate::models::{
    ai_settings::OrgAiSettings, audit::NewAuditEvent, feature_route::FeatureRoute,
    provider::Provider, secret::Secret,
};

/// An org's AI settings, the feature's route (if it has one), the provider that would serve
/// it (the route's provider, else the active one; if any) and that provider's secret (if it
/// has a key): one statement. `None` for an org without a settings row.
pub type RoutingInputs = (
    OrgAiSettings,
    Option<FeatureRoute>,
    Option<Provider>,
    Option<Secret>,
);

/// Reads [`RoutingInputs`] for `feature` of `org_id` in one statement.
pub async fn routing_inputs(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    feature: &str,
) -> QueryResult<Option<RoutingInputs>> {
    org_ai_settings::table
        .left_join(
            feature_routes::table.on(feature_routes::org_id
                .eq(org_ai_settings::org_id)
                .and(feature_routes::feature.eq(feature.to_owned()))),
        )
        .left_join(
            providers::table.on(providers::id
                .nullable()
                .eq(sql::<Nullable<sql_types::Text>>(
                    "coalesce(feature_routes.provider_id, org_ai_settings.active_provider_id)",
                ))
                .and(providers::org_id.eq(org_ai_settings::org_id))),
        )
        .left_join(
            secrets::table.on(secrets::id
                .nullable()
                .eq(providers::secret_id)
                .and(secrets::org_id.eq(org_ai_settings::org_id))),
        )
        .filter(org_ai_settings::org_id.eq(org_id))
        .select((
            OrgAiSettings::as_select(),
            Option::<FeatureRoute>::as_select(),
            Option::<Provider>::as_select(),
            Option::<Secret>::as_select(),
        ))
        .first(conn)
        .await
        .optional()
}

/// What a release was decided on: the settings row's version, the feature's route version
/// (`None`: no route), and the serving provider's id and version, as [`routing_inputs`]
/// read them.
#[derive(Debug, Clone, Copy)]
pub struct ReadAt<'a> {
    pub org_id: i64,
    pub settings_version: i32,
    pub feature: &'a str,
    pub route_version: Option<i32>,
    pub provider_id: &'a str,
    pub provider_version: i32,
}

/// Appends `event` only if the org's settings, the feature's route and the serving provider
/// are still at the versions of `read` (one `INSERT … SELECT … WHERE`): a release decided on settings an
/// admin has changed since (deactivated, switched, re-keyed, made strict) writes nothing and
/// returns `false`, and the caller hands out nothing. One statement, so no `BEGIN`/`COMMIT`:
/// PostgreSQL evaluates the condition and appends the event atomically.
pub async fn insert_if_unchanged(
    conn: &mut AsyncPgConnection,
    event: &NewAuditEvent<'_>,
    read: ReadAt<'_>,
) -> QueryResult<bool> {
    // The settings version covers the active provider (activation bumps it); the route's
    // own version covers a routed provider; the provider's covers its settings and key.
    let route = feature_routes::table
        .filter(feature_routes::org_id.eq(read.org_id))
        .filter(feature_routes::feature.eq(read.feature));
    // Some(v): a route at version v exists. None: no route exists (versions are never 0,
    // so `any` widens the subquery to every route of the feature).
    let any = read.route_version.is_none();
    let route_holds = exists(
        route.filter(
            feature_routes::lock_version
                .eq(read.route_version.unwrap_or(0))
                .or(any.into_sql::<sql_types::Bool>()),
        ),
    )
    .eq(!any);
    let rows = org_ai_settings::table
        .inner_join(providers::table.on(providers::org_id.eq(org_ai_settings::org_id)))
        .filter(org_ai_settings::org_id.eq(read.org_id))
        .filter(route_holds)
        .filter(org_ai_settings::lock_version.eq(read.settings_version))
        .filter(providers::id.eq(read.provider_id))
        .filter(providers::lock_version.eq(read.provider_version))
        .select((
            event
                .org_id
                .into_sql::<sql_types::Nullable<sql_types::BigInt>>(),
            event.actor_kind.into_sql::<sql_types::Text>(),
            event
                .actor_id
                .into_sql::<sql_types::Nullable<sql_types::BigInt>>(),
            event.actor_label.into_sql::<sql_types::Text>(),
            event.action.into_sql::<sql_types::Text>(),
            event.target.as_str().into_sql::<sql_types::Text>(),
            event
                .before
                .clone()
                .into_sql::<sql_types::Nullable<sql_types::Jsonb>>(),
            event
                .after
                .clone()
                .into_sql::<sql_types::Nullable<sql_types::Jsonb>>(),
            event
                .request_id
                .into_sql::<sql_types::Nullable<sql_types::Text>>(),
            event.ip.into_sql::<sql_types::Nullable<sql_types::Text>>(),
        ));
    let inserted = diesel::insert_into(audit_events::table)
        .values(rows)
        .into_columns((
            audit_events::org_id,
            audit_events::actor_kind,
            audit_events::actor_id,
            audit_events::actor_label,
            audit_events::action,
            audit_events::target,
            audit_events::before,
            audit_events::after,
            audit_events::request_id,
            audit_events::ip,
        ))
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
