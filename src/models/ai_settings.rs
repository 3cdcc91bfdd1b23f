//! An org's AI settings: active provider (NULL = platform default), routing policy, and the
//! Proactive AI Insights switch. Optimistic locking through `lock_version`.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::{org_ai_settings, users};

/// An org's AI settings row.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = org_ai_settings, check_for_backend(diesel::pg::Pg))]
pub struct OrgAiSettings {
    pub org_id: i64,
    pub active_provider_id: Option<String>,
    pub routing_policy: String,
    pub insights_enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<i64>,
    pub lock_version: i32,
}

/// The settings with the name of whoever changed them last, in one statement.
pub async fn with_updater(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<(OrgAiSettings, Option<(String, String)>)> {
    let (settings, name, email): (OrgAiSettings, Option<String>, Option<String>) =
        org_ai_settings::table
            .left_join(users::table)
            .filter(org_ai_settings::org_id.eq(org_id))
            .select((
                OrgAiSettings::as_select(),
                users::name.nullable(),
                users::email.nullable(),
            ))
            .first(conn)
            .await?;
    Ok((settings, name.zip(email)))
}

/// Sets the insights switch, bumping `lock_version`, only if the row is still at `expected`
/// and the switch is not already at `enabled`. `None` means nothing was written: the caller
/// reads the row to tell a conflict from a no-op. One statement instead of a row lock and an
/// update: PostgreSQL re-checks the condition against a concurrently committed row, so a
/// stale `lock_version` can never overwrite.
pub async fn set_insights_if(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    expected: i32,
    enabled: bool,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<Option<OrgAiSettings>> {
    diesel::update(
        org_ai_settings::table
            .find(org_id)
            .filter(org_ai_settings::lock_version.eq(expected))
            .filter(org_ai_settings::insights_enabled.ne(enabled)),
    )
    .set((
        org_ai_settings::insights_enabled.eq(enabled),
        org_ai_settings::updated_by.eq(by),
        org_ai_settings::updated_at.eq(at),
        org_ai_settings::lock_version.eq(org_ai_settings::lock_version + 1),
    ))
    .returning(OrgAiSettings::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Sets the routing policy, bumping `lock_version`, only if the row is still at `expected`
/// and the policy differs. `None` means nothing was written (see [`set_insights_if`]).
pub async fn set_policy_if(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    expected: i32,
    policy: &str,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<Option<OrgAiSettings>> {
    diesel::update(
        org_ai_settings::table
            .find(org_id)
            .filter(org_ai_settings::lock_version.eq(expected))
            .filter(org_ai_settings::routing_policy.ne(policy)),
    )
    .set((
        org_ai_settings::routing_policy.eq(policy),
        org_ai_settings::updated_by.eq(by),
        org_ai_settings::updated_at.eq(at),
        org_ai_settings::lock_version.eq(org_ai_settings::lock_version + 1),
    ))
    .returning(OrgAiSettings::as_returning())
    .get_result(conn)
    .await
    .optional()
}
