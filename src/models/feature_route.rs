//! Per-feature routes (DESIGN.md rule 6): one row per (org, feature) that is not `inherit`;
//! no row means `inherit`. Versions come from one sequence (`feature_route_versions`), so a
//! route cleared and set again never reuses a version; version 0 means "no row". Writers
//! lock the org's settings row first (`provider::lock_settings`), which serialises every
//! change of an org's routes, its policy, its providers' keys and deletions.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel::{dsl::sql, sql_types::Integer};
use diesel_async::AsyncPgConnection;

use crate::db::schema::feature_routes;

/// A feature route row.
#[derive(Queryable, Selectable, Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[diesel(table_name = feature_routes, check_for_backend(diesel::pg::Pg))]
pub struct FeatureRoute {
    pub org_id: i64,
    pub feature: String,
    /// `provider`, `platform` or `off`.
    pub mode: String,
    pub provider_id: Option<String>,
    /// The route's own model; `None` = the provider's default model.
    pub model: Option<String>,
    pub lock_version: i32,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<i64>,
}

#[diesel::declare_sql_function]
extern "SQL" {
    /// The org's routes as a JSON array by feature (the SQL function of migration
    /// `2026-12-06-000001_list_functions`), so the Provider tab's one list query carries them
    /// and stays a statement diesel prepares once (raw SQL would be re-planned every time).
    fn feature_routes_json(org_id: diesel::sql_types::BigInt) -> diesel::sql_types::Jsonb;
}

/// Reads the routes [`feature_routes_json`] selected.
/// (`None`, which the function never answers: no routes).
pub fn from_json(value: Option<serde_json::Value>) -> QueryResult<Vec<FeatureRoute>> {
    value.map_or(Ok(Vec::new()), |value| {
        serde_json::from_value(value)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    })
}

/// The org's routes.
pub async fn for_org(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<Vec<FeatureRoute>> {
    feature_routes::table
        .filter(feature_routes::org_id.eq(org_id))
        .order(feature_routes::feature.asc())
        .select(FeatureRoute::as_select())
        .load(conn)
        .await
}

/// The route of `feature`, if it has one.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    feature: &str,
) -> QueryResult<Option<FeatureRoute>> {
    feature_routes::table
        .find((org_id, feature))
        .select(FeatureRoute::as_select())
        .first(conn)
        .await
        .optional()
}

/// A route to write.
#[derive(Debug, Clone, Copy)]
pub struct RouteWrite<'a> {
    pub org_id: i64,
    pub feature: &'a str,
    pub mode: &'a str,
    pub provider_id: Option<&'a str>,
    pub model: Option<&'a str>,
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Writes the route (insert, or update with a fresh version). The caller holds the
/// settings row's lock and has compared versions.
pub async fn upsert(conn: &mut AsyncPgConnection, w: RouteWrite<'_>) -> QueryResult<FeatureRoute> {
    diesel::insert_into(feature_routes::table)
        .values((
            feature_routes::org_id.eq(w.org_id),
            feature_routes::feature.eq(w.feature),
            feature_routes::mode.eq(w.mode),
            feature_routes::provider_id.eq(w.provider_id),
            feature_routes::model.eq(w.model),
            feature_routes::updated_at.eq(w.at),
            feature_routes::updated_by.eq(w.by),
        ))
        .on_conflict((feature_routes::org_id, feature_routes::feature))
        .do_update()
        .set((
            feature_routes::mode.eq(w.mode),
            feature_routes::provider_id.eq(w.provider_id),
            feature_routes::model.eq(w.model),
            feature_routes::updated_at.eq(w.at),
            feature_routes::updated_by.eq(w.by),
            feature_routes::lock_version
                .eq(sql::<Integer>("nextval('feature_route_versions')::int")),
        ))
        .returning(FeatureRoute::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the route of `feature` (back to `inherit`); the row as it was.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    feature: &str,
) -> QueryResult<Option<FeatureRoute>> {
    diesel::delete(feature_routes::table.find((org_id, feature)))
        .returning(FeatureRoute::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The routes that name provider `provider_id`.
pub async fn naming_provider(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    provider_id: &str,
) -> QueryResult<Vec<FeatureRoute>> {
    feature_routes::table
        .filter(feature_routes::org_id.eq(org_id))
        .filter(feature_routes::provider_id.eq(provider_id))
        .order(feature_routes::feature.asc())
        .select(FeatureRoute::as_select())
        .load(conn)
        .await
}

/// Deletes the routes that name provider `provider_id` (back to `inherit`); the rows as
/// they were.
pub async fn delete_naming_provider(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    provider_id: &str,
) -> QueryResult<Vec<FeatureRoute>> {
    diesel::delete(
        feature_routes::table
            .filter(feature_routes::org_id.eq(org_id))
            .filter(feature_routes::provider_id.eq(provider_id)),
    )
    .returning(FeatureRoute::as_returning())
    .get_results(conn)
    .await
}

/// The features the org routes to the platform.
pub async fn platform_features(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<Vec<String>> {
    feature_routes::table
        .filter(feature_routes::org_id.eq(org_id))
        .filter(feature_routes::mode.eq("platform"))
        .order(feature_routes::feature.asc())
        .select(feature_routes::feature)
        .load(conn)
        .await
}
