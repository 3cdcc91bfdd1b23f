//! Providers: an org's configured LLM endpoints (many per org), each with an optional linked
//! secret and its last live check; and the activation queries on `org_ai_settings`, whose
//! `active_provider_id` the database keeps pointing at a provider of the same org.
//! Edits are optimistically locked through `lock_version`.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel::{
    AsChangeset,
    deserialize::{self, FromSql, FromSqlRow},
    expression::AsExpression,
    pg::{Pg, PgValue},
    serialize::{self, IsNull, Output, ToSql},
    sql_types::Text,
};
use diesel_async::AsyncPgConnection;
use std::io::Write as _;

use crate::db::schema::{org_ai_settings, org_epochs, providers, secrets};
use crate::models::{
    ai_settings::OrgAiSettings,
    feature_route::{self, FeatureRoute},
    provider_health::{Usage24h, org_usage_json},
};

/// A new provider id: `aip_` + a ULID.
pub fn new_id() -> String {
    format!("aip_{}", ulid::Ulid::new())
}

/// The outcome of a provider's last live check (stored as TEXT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow, AsExpression)]
#[diesel(sql_type = Text)]
pub enum CheckStatus {
    Ok,
    Failed,
    /// Never checked, or saved with "save without verifying".
    Unverified,
}

impl CheckStatus {
    /// The stored spelling: `ok`, `failed`, `unverified`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Failed => "failed",
            CheckStatus::Unverified => "unverified",
        }
    }

    /// The status spelled `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(CheckStatus::Ok),
            "failed" => Some(CheckStatus::Failed),
            "unverified" => Some(CheckStatus::Unverified),
            _ => None,
        }
    }
}

impl ToSql<Text, Pg> for CheckStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for CheckStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let s = std::str::from_utf8(value.as_bytes())?;
        CheckStatus::parse(s).ok_or_else(|| format!("unknown check_status {s:?}").into())
    }
}

/// A provider row. Holds no key: only the linked secret's id.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = providers, check_for_backend(diesel::pg::Pg))]
pub struct Provider {
    pub id: String,
    pub org_id: i64,
    pub name: String,
    /// The catalog slug (`openai`, `anthropic`, …).
    pub kind: String,
    pub default_model: String,
    /// `None` = the kind's default endpoint.
    pub base_url: Option<String>,
    /// Kind-specific fields (deployment, api_version, region, extra header names, supports_tools).
    pub config: serde_json::Value,
    pub secret_id: Option<String>,
    pub check_status: CheckStatus,
    pub check_code: Option<String>,
    pub check_message: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub lock_version: i32,
    /// Since when its calls failed and a re-check confirmed it (the health loop); `None`:
    /// fine, or not known to be broken.
    pub attention_since: Option<DateTime<Utc>>,
    /// The secret holding the extra headers' values (sealed together), never shared; `None`
    /// without extra headers. Their names are in `config.extra_headers`.
    pub headers_secret_id: Option<String>,
}

/// A provider with its key's masked preview (`None` when it has no key).
pub type ProviderWithKey = (Provider, Option<String>);

/// A provider to insert; `updated_at`/`updated_by` start equal to `created_at`/`created_by`.
#[derive(Insertable)]
#[diesel(table_name = providers)]
pub struct NewProvider<'a> {
    pub id: &'a str,
    pub org_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub default_model: &'a str,
    pub base_url: Option<&'a str>,
    pub config: &'a serde_json::Value,
    pub secret_id: Option<&'a str>,
    pub check_status: CheckStatus,
    pub check_code: Option<&'a str>,
    pub check_message: Option<&'a str>,
    pub checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
}

/// An edit of a provider: `None` leaves a field as it is; `Some(None)` clears a nullable one.
/// `updated_by` and `updated_at` are always written.
#[derive(AsChangeset, Debug, Clone)]
#[diesel(table_name = providers)]
pub struct ProviderChanges<'a> {
    pub name: Option<&'a str>,
    /// Changing the kind (like `base_url`) needs the key entered again (DESIGN.md rule 4).
    pub kind: Option<&'a str>,
    pub default_model: Option<&'a str>,
    pub base_url: Option<Option<&'a str>>,
    pub config: Option<&'a serde_json::Value>,
    pub secret_id: Option<Option<&'a str>>,
    #[diesel(treat_none_as_null = true)]
    pub updated_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

impl ProviderChanges<'_> {
    /// An edit by `by` at `at` that changes nothing else yet.
    pub fn new(by: Option<i64>, at: DateTime<Utc>) -> Self {
        ProviderChanges {
            name: None,
            kind: None,
            default_model: None,
            base_url: None,
            config: None,
            secret_id: None,
            updated_by: by,
            updated_at: at,
        }
    }
}

impl NewProvider<'_> {
    /// Inserts the provider; a duplicate name in the org is a unique violation, another org's
    /// secret a foreign-key violation, for the caller to map.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Provider> {
        diesel::insert_into(providers::table)
            .values((
                self,
                providers::updated_at.eq(self.created_at),
                providers::updated_by.eq(self.created_by),
            ))
            .returning(Provider::as_returning())
            .get_result(conn)
            .await
    }
}

/// The org's AI settings (active provider, routing policy, Insights) and its providers with
/// their keys' previews, oldest first (see [`list_with_routes`]).
pub async fn list_for_org(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    usage_since: DateTime<Utc>,
) -> QueryResult<Option<(OrgAiSettings, Vec<ProviderWithKey>)>> {
    Ok(list_with_routes(conn, org_id, usage_since)
        .await?
        .map(|l| (l.settings, l.providers)))
}

/// An org's settings, providers and feature routes, as the Provider tab reads them.
#[derive(Debug, Clone)]
pub struct OrgProviders {
    pub settings: OrgAiSettings,
    pub providers: Vec<ProviderWithKey>,
    pub routes: Vec<FeatureRoute>,
    /// Each provider's calls since the list's `usage_since` (the health loop's counters),
    /// in `providers` order.
    pub usage: Vec<Usage24h>,
    /// The org's epoch as the list's statement saw it (`release::org_epoch`; `None`: no
    /// epoch row, or the org has no provider).
    pub epoch: Option<i64>,
}

/// The org's AI settings, its providers with their keys' previews (oldest first) and its
/// feature routes, with each provider's usage since `usage_since`: one prepared statement
/// (the routes and the usage ride along as JSON columns, each computed once per list by a
/// sub-select of a SQL function), and a second only when the org has no provider. `None`
/// for an org without a settings row (an org that doesn't exist).
pub async fn list_with_routes(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    usage_since: DateTime<Utc>,
) -> QueryResult<Option<OrgProviders>> {
    use diesel::PgAnyJsonExpressionMethods as _;
    type Row = (
        Provider,
        Option<String>,
        OrgAiSettings,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
        Option<i64>,
    );
    // Sub-selects that name only bound values: PostgreSQL runs each once per list (an
    // InitPlan), where a function of the row's columns would run once per provider.
    let routes_json = || diesel::select(feature_route::feature_routes_json(org_id)).single_value();
    let usage_json = diesel::select(org_usage_json(org_id, usage_since))
        .single_value()
        .retrieve_as_object(providers::id);
    let epoch = org_epochs::table
        .find(org_id)
        .select(org_epochs::epoch)
        .single_value();
    let mut rows: Vec<Row> = providers::table
        .inner_join(org_ai_settings::table.on(org_ai_settings::org_id.eq(providers::org_id)))
        .left_join(secrets::table.on(secrets::id.nullable().eq(providers::secret_id)))
        .filter(providers::org_id.eq(org_id))
        .order((providers::created_at.asc(), providers::id.asc()))
        .select((
            Provider::as_select(),
            secrets::preview.nullable(),
            OrgAiSettings::as_select(),
            routes_json(),
            usage_json,
            epoch,
        ))
        .load(conn)
        .await?;
    let (settings, routes) = match <[_]>::first(&rows) {
        Some((_, _, settings, routes, _, _)) => (settings.clone(), routes.clone()),
        None => {
            let found: Option<(OrgAiSettings, Option<serde_json::Value>)> = org_ai_settings::table
                .find(org_id)
                .select((OrgAiSettings::as_select(), routes_json()))
                .first(conn)
                .await
                .optional()?;
            return match found {
                Some((settings, routes)) => Ok(Some(OrgProviders {
                    settings,
                    providers: Vec::new(),
                    routes: feature_route::from_json(routes)?,
                    usage: Vec::new(),
                    epoch: None,
                })),
                None => Ok(None),
            };
        }
    };
    // No entry (no calls in the window) or one the JSON can't be read back from counts as no
    // usage: the tab must still show.
    let usage = rows
        .iter_mut()
        .map(|(_, _, _, _, u, _)| {
            u.take()
                .and_then(|u| serde_json::from_value(u).ok())
                .unwrap_or_default()
        })
        .collect();
    let epoch = <[_]>::first(&rows).and_then(|row| row.5);
    Ok(Some(OrgProviders {
        settings,
        epoch,
        providers: rows.into_iter().map(|(p, k, _, _, _, _)| (p, k)).collect(),
        routes: feature_route::from_json(routes)?,
        usage,
    }))
}

/// The provider `id` of org `org_id` with its key's preview; another org's is `None`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<ProviderWithKey>> {
    providers::table
        .left_join(secrets::table.on(secrets::id.nullable().eq(providers::secret_id)))
        .filter(providers::org_id.eq(org_id))
        .filter(providers::id.eq(id))
        .select((Provider::as_select(), secrets::preview.nullable()))
        .first(conn)
        .await
        .optional()
}

/// The provider, locked (`FOR UPDATE`) until the transaction ends.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<Provider>> {
    providers::table
        .filter(providers::org_id.eq(org_id))
        .filter(providers::id.eq(id))
        .select(Provider::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Applies `changes` and bumps `lock_version`, only if the row is still at `expected`, in one
/// statement (PostgreSQL re-checks the condition against a concurrently committed row).
/// `None` means nothing was written: a stale version, or no such provider in the org.
pub async fn update_if(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    expected: i32,
    changes: &ProviderChanges<'_>,
) -> QueryResult<Option<Provider>> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id))
            .filter(providers::lock_version.eq(expected)),
    )
    .set((
        changes,
        providers::lock_version.eq(providers::lock_version + 1),
    ))
    .returning(Provider::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Records a live check's outcome. Leaves `lock_version` alone: a check is not an edit, and
/// must not turn an admin's open form into a conflict.
pub async fn set_check(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    status: CheckStatus,
    code: Option<&str>,
    message: Option<&str>,
    at: DateTime<Utc>,
) -> QueryResult<Option<Provider>> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    )
    .set((
        providers::check_status.eq(status),
        providers::check_code.eq(code),
        providers::check_message.eq(message),
        providers::checked_at.eq(Some(at)),
    ))
    .returning(Provider::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Links `secret_id` (or, with `None`, no key), bumping `lock_version`. A secret of another
/// org is a foreign-key violation.
pub async fn set_secret(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    secret_id: Option<&str>,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<Option<Provider>> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    )
    .set((
        providers::secret_id.eq(secret_id),
        providers::updated_by.eq(by),
        providers::updated_at.eq(at),
        providers::lock_version.eq(providers::lock_version + 1),
    ))
    .returning(Provider::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Links the secret holding the provider's extra header values (`None`: no extra headers),
/// in the transaction of the save that wrote the names. Leaves `lock_version` alone: the
/// save that calls it has bumped it already (or just inserted the row).
pub async fn set_headers_secret(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    secret_id: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    )
    .set(providers::headers_secret_id.eq(secret_id))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Deletes the provider; `true` when a row went. Deleting the active provider is a
/// foreign-key violation (from `org_ai_settings`): deactivate first.
pub async fn delete(conn: &mut AsyncPgConnection, org_id: i64, id: &str) -> QueryResult<bool> {
    diesel::delete(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    )
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// How many providers the org has.
pub async fn count_for_org(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<i64> {
    providers::table
        .filter(providers::org_id.eq(org_id))
        .count()
        .get_result(conn)
        .await
}

/// The org's AI settings, locked (`FOR UPDATE`) until the transaction ends, so concurrent
/// activations serialise. Every org has a settings row (created with the org), so a missing
/// one is an error (`NotFound`), not a state.
pub async fn lock_settings(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<OrgAiSettings> {
    org_ai_settings::table
        .find(org_id)
        .select(OrgAiSettings::as_select())
        .for_update()
        .first(conn)
        .await
}

/// Makes `provider_id` the org's active provider (`None` = the platform default), bumping the
/// settings' `lock_version`, and returns the new row. A provider of another org, or none, is a
/// foreign-key violation. Call [`lock_settings`] first in the same transaction to read the
/// previous value.
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    provider_id: Option<&str>,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> QueryResult<OrgAiSettings> {
    diesel::update(org_ai_settings::table.find(org_id))
        .set((
            org_ai_settings::active_provider_id.eq(provider_id),
            org_ai_settings::updated_by.eq(by),
            org_ai_settings::updated_at.eq(at),
            org_ai_settings::lock_version.eq(org_ai_settings::lock_version + 1),
        ))
        .returning(OrgAiSettings::as_returning())
        .get_result(conn)
        .await
}

/// The org's active provider id; `None` = the platform default (or no such org).
pub async fn active_provider_id(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<Option<String>> {
    org_ai_settings::table
        .find(org_id)
        .select(org_ai_settings::active_provider_id)
        .first::<Option<String>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// A provider claimed for a scheduled re-check.
#[derive(diesel::QueryableByName, Debug, Clone)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: String,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub org_id: i64,
}

/// Gives up a re-check claim on provider `id` (its result is written, or it went stale).
pub async fn release_claim(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<usize> {
    diesel::update(
        providers::table
            .filter(providers::org_id.eq(org_id))
            .filter(providers::id.eq(id)),
    )
    .set(providers::recheck_lease_until.eq(None::<DateTime<Utc>>))
    .execute(conn)
    .await
}

/// Claims up to `limit` providers whose last check is older than `due_before` (or never
/// ran) and that no other instance holds, leasing them until `lease_until`. One statement:
/// `FOR UPDATE SKIP LOCKED` lets concurrent instances claim disjoint rows, and the lease
/// keeps a claimed row from being claimed again while its check runs outside any
/// transaction.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    due_before: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    use diesel::sql_types::{BigInt, Timestamptz};
    diesel::sql_query(
        "UPDATE providers SET recheck_lease_until = $3 \
         WHERE id IN (SELECT id FROM providers \
                      WHERE (checked_at IS NULL OR checked_at < $2) \
                        AND (recheck_lease_until IS NULL OR recheck_lease_until < $1) \
                      ORDER BY checked_at NULLS FIRST, id \
                      LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING id, org_id",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(due_before)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
