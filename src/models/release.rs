//! Route resolution's statements (`ops::providers::release`): everything a routing decision
//! and a credential release need in one read; the once-per-(token, secret, hour) release row
//! and its `credential.released` event, written only while that read still holds; the
//! in-memory per-call counts and their flush; the tokens that still receive keys.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use crate::db::prelude::*;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::PgArrayExpressionMethods as _;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::AsyncPgConnection;

use crate::db::schema::{
    api_tokens, feature_routes, memberships, org_ai_settings, org_epochs, orgs, providers, secrets,
    users,
};
use crate::models::{
    ai_settings::OrgAiSettings,
    api_token::{ApiToken, Presented},
    audit::NewAuditEvent,
    feature_route::FeatureRoute,
    membership::Role,
    org::Org,
    provider::Provider,
    secret::Secret,
    user::User,
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

/// The join condition of the provider that would serve: the route's when it names one, else
/// the active one. Written in the query builder, not as SQL text: a statement with a raw SQL
/// fragment is never kept prepared by diesel, and PostgreSQL would plan this many-way join
/// again on every call (the cost that dominated route answers).
#[allow(clippy::type_complexity)]
fn serving_provider() -> diesel::dsl::Or<
    diesel::dsl::Eq<diesel::dsl::Nullable<providers::id>, feature_routes::provider_id>,
    diesel::dsl::And<
        diesel::dsl::IsNull<feature_routes::provider_id>,
        diesel::dsl::Eq<diesel::dsl::Nullable<providers::id>, org_ai_settings::active_provider_id>,
    >,
> {
    providers::id
        .nullable()
        .eq(feature_routes::provider_id)
        .or(feature_routes::provider_id.is_null().and(
            providers::id
                .nullable()
                .eq(org_ai_settings::active_provider_id),
        ))
}

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
            providers::table
                .on(serving_provider().and(providers::org_id.eq(org_ai_settings::org_id))),
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

/// A presented token's row and the routing inputs of one feature of its org, read in one
/// statement, with the org's epoch as that statement saw it (`None`: the org has no epoch
/// row, so what was read must not be kept).
#[derive(Debug, Clone)]
pub struct TokenAndInputs {
    pub presented: Presented,
    /// `None` for an org without a settings row.
    pub inputs: Option<RoutingInputs>,
    pub epoch: Option<i64>,
}

/// The org's epoch now (migration `2026-12-06-000002_org_epochs`): raised by the database
/// in every transaction that changes what a token or a route is judged on. `None` for an
/// org without an epoch row (a deleted org).
pub async fn org_epoch(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<Option<i64>> {
    org_epochs::table
        .find(org_id)
        .select(org_epochs::epoch)
        .first(conn)
        .await
        .optional()
}

/// A presented token's row (as `api_token::by_hash` reads it) with [`RoutingInputs`] for
/// `feature` of the token's own org (`None` without a settings row): route resolution's whole
/// read in one statement. `None` for an unknown token.
pub async fn token_and_routing_inputs(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8; 32],
    feature: &str,
) -> QueryResult<Option<TokenAndInputs>> {
    type Row = (
        ApiToken,
        Org,
        User,
        Option<String>,
        Option<OrgAiSettings>,
        Option<FeatureRoute>,
        Option<Provider>,
        Option<Secret>,
        Option<i64>,
    );
    let row: Option<Row> = api_tokens::table
        .inner_join(orgs::table)
        .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(api_tokens::org_id)
                .and(memberships::user_id.eq(api_tokens::user_id))),
        )
        .left_join(org_ai_settings::table.on(org_ai_settings::org_id.eq(api_tokens::org_id)))
        .left_join(
            feature_routes::table.on(feature_routes::org_id
                .eq(api_tokens::org_id)
                .and(feature_routes::feature.eq(feature.to_owned()))),
        )
        .left_join(
            providers::table.on(serving_provider().and(providers::org_id.eq(api_tokens::org_id))),
        )
        .left_join(
            secrets::table.on(secrets::id
                .nullable()
                .eq(providers::secret_id)
                .and(secrets::org_id.eq(api_tokens::org_id))),
        )
        .left_join(org_epochs::table.on(org_epochs::org_id.eq(api_tokens::org_id)))
        .filter(api_tokens::token_hash.eq(token_hash.as_slice()))
        .select((
            ApiToken::as_select(),
            Org::as_select(),
            User::as_select(),
            memberships::role.nullable(),
            Option::<OrgAiSettings>::as_select(),
            Option::<FeatureRoute>::as_select(),
            Option::<Provider>::as_select(),
            Option::<Secret>::as_select(),
            org_epochs::epoch.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(t, o, u, r, settings, route, provider, secret, epoch)| {
            let role = r.as_deref().and_then(Role::parse);
            TokenAndInputs {
                presented: (t, o, u, role),
                inputs: settings.map(|settings| (settings, route, provider, secret)),
                epoch,
            }
        }),
    )
}

/// What a release was decided on: the settings row's version, the feature's route version
/// (`None`: no route), and the serving provider's id and version and its secret, as
/// [`routing_inputs`] read them.
#[derive(Debug, Clone, Copy)]
pub struct ReadAt<'a> {
    pub org_id: i64,
    pub settings_version: i32,
    pub feature: &'a str,
    pub route_version: Option<i32>,
    pub provider_id: &'a str,
    pub provider_version: i32,
    pub secret_id: &'a str,
}

/// One release bucket: a token receiving a secret in one hour (UTC, truncated).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReleaseKey {
    pub token_id: i64,
    pub secret_id: String,
    pub hour: DateTime<Utc>,
}

/// `at` truncated to its hour.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp().div_euclid(3600) * 3600;
    DateTime::from_timestamp(secs, 0).unwrap_or(at)
}

/// What [`record_release`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The read still held (settings, route, provider and its secret at the versions read):
    /// the key may leave. `false`: decide again, hand out nothing.
    pub held: bool,
    /// This call inserted the bucket's row and appended the event (the first release of
    /// the bucket anywhere); `false` when it already existed (or nothing held).
    pub appended: bool,
}

#[derive(diesel::QueryableByName)]
struct RecordedRow {
    #[diesel(sql_type = Bool)]
    held: bool,
    #[diesel(sql_type = Bool)]
    appended: bool,
}

/// One statement (so one transaction): if the org's settings, the feature's route and the
/// serving provider with its secret are still as `read` saw them, inserts the release row
/// of `key` (`ON CONFLICT DO NOTHING`) and, only when that row is new, appends `event` (the
/// chained `credential.released`). The caller hands the key out only after this returns
/// `held` — so after the bucket's event is committed, by this call or an earlier one.
pub async fn record_release(
    conn: &mut AsyncPgConnection,
    event: &NewAuditEvent<'_>,
    read: ReadAt<'_>,
    key: &ReleaseKey,
) -> QueryResult<Recorded> {
    let row: RecordedRow = diesel::sql_query(
        "WITH holds AS ( \
           SELECT 1 FROM org_ai_settings s \
           JOIN providers p ON p.org_id = s.org_id \
           JOIN secrets k ON k.id = p.secret_id AND k.org_id = s.org_id \
           WHERE s.org_id = $1 AND s.lock_version = $2 AND p.id = $3 AND p.lock_version = $4 \
             AND k.id = $5 \
             AND CASE WHEN $6::int4 IS NULL \
                 THEN NOT EXISTS (SELECT 1 FROM feature_routes r \
                                  WHERE r.org_id = $1 AND r.feature = $7) \
                 ELSE EXISTS (SELECT 1 FROM feature_routes r \
                              WHERE r.org_id = $1 AND r.feature = $7 AND r.lock_version = $6) \
                 END \
         ), ins AS ( \
           INSERT INTO route_releases (token_id, secret_id, hour, org_id, provider_id) \
           SELECT $8, $5, $9, $1, $3 FROM holds \
           ON CONFLICT DO NOTHING RETURNING 1 \
         ), ev AS ( \
           INSERT INTO audit_events (org_id, actor_kind, actor_id, actor_label, action, target, \
                                     before, after, request_id, ip) \
           SELECT $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 FROM ins RETURNING 1 \
         ) \
         SELECT EXISTS (SELECT 1 FROM holds) AS held, EXISTS (SELECT 1 FROM ev) AS appended",
    )
    .bind::<BigInt, _>(read.org_id)
    .bind::<Int4, _>(read.settings_version)
    .bind::<Text, _>(read.provider_id)
    .bind::<Int4, _>(read.provider_version)
    .bind::<Text, _>(read.secret_id)
    .bind::<Nullable<Int4>, _>(read.route_version)
    .bind::<Text, _>(read.feature)
    .bind::<BigInt, _>(key.token_id)
    .bind::<Timestamptz, _>(key.hour)
    .bind::<Nullable<BigInt>, _>(event.org_id)
    .bind::<Text, _>(event.actor_kind)
    .bind::<Nullable<BigInt>, _>(event.actor_id)
    .bind::<Text, _>(event.actor_label)
    .bind::<Text, _>(event.action)
    .bind::<Text, _>(event.target.as_str())
    .bind::<Nullable<Jsonb>, _>(event.before.clone())
    .bind::<Nullable<Jsonb>, _>(event.after.clone())
    .bind::<Nullable<Text>, _>(event.request_id)
    .bind::<Nullable<Text>, _>(event.ip)
    .get_result(conn)
    .await?;
    Ok(Recorded {
        held: row.held,
        appended: row.appended,
    })
}

/// Per instance: the release buckets known to be recorded (so a repeat release costs no
/// statement) and the calls of each bucket not yet added to `route_releases.calls`.
#[derive(Default)]
pub struct ReleaseLedger {
    inner: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    recorded: HashSet<ReleaseKey>,
    counts: HashMap<ReleaseKey, i64>,
}

impl ReleaseLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one answer that carried the key of `key`'s bucket if the bucket is known to
    /// be recorded; `false` (nothing counted) when it must be recorded first.
    pub fn count_if_recorded(&self, key: &ReleaseKey) -> bool {
        let mut ledger = self.lock();
        if !ledger.recorded.contains(key) {
            return false;
        }
        *ledger.counts.entry(key.clone()).or_default() += 1;
        true
    }

    /// Marks `key`'s bucket recorded (its row exists) and counts one answer.
    pub fn recorded_and_count(&self, key: ReleaseKey) {
        let mut ledger = self.lock();
        *ledger.counts.entry(key.clone()).or_default() += 1;
        ledger.recorded.insert(key);
    }

    /// Takes the counts to flush, and forgets buckets older than the previous hour of `now`.
    pub fn take_counts(&self, now: DateTime<Utc>) -> Vec<(ReleaseKey, i64)> {
        let since = hour_of(now) - TimeDelta::hours(1);
        let mut ledger = self.lock();
        ledger.recorded.retain(|k| k.hour >= since);
        ledger.counts.drain().collect()
    }

    /// Puts back counts a flush could not write (they go with the next one).
    pub fn restore(&self, counts: Vec<(ReleaseKey, i64)>) {
        let mut ledger = self.lock();
        for (key, n) in counts {
            *ledger.counts.entry(key).or_default() += n;
        }
    }
}

/// Adds `counts` to their buckets' `calls`, in one statement.
pub async fn add_calls(
    conn: &mut AsyncPgConnection,
    counts: &[(ReleaseKey, i64)],
) -> QueryResult<usize> {
    if counts.is_empty() {
        return Ok(0);
    }
    let tokens: Vec<i64> = counts.iter().map(|(k, _)| k.token_id).collect();
    let secret_ids: Vec<&str> = counts.iter().map(|(k, _)| k.secret_id.as_str()).collect();
    let hours: Vec<DateTime<Utc>> = counts.iter().map(|(k, _)| k.hour).collect();
    let calls: Vec<i64> = counts.iter().map(|(_, n)| *n).collect();
    diesel::sql_query(
        "UPDATE route_releases r SET calls = r.calls + u.n \
         FROM unnest($1::int8[], $2::text[], $3::timestamptz[], $4::int8[]) \
              AS u(token_id, secret_id, hour, n) \
         WHERE r.token_id = u.token_id AND r.secret_id = u.secret_id AND r.hour = u.hour",
    )
    .bind::<Array<BigInt>, _>(tokens)
    .bind::<Array<Text>, _>(secret_ids)
    .bind::<Array<Timestamptz>, _>(hours)
    .bind::<Array<BigInt>, _>(calls)
    .execute(conn)
    .await
}

/// Live tokens (not revoked, not expired at `now`) that carry `ai:release`: (org id, token
/// id, name) each.
pub async fn release_tokens(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(i64, i64, String)>> {
    api_tokens::table
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(api_tokens::scopes.contains(vec!["ai:release".to_owned()]))
        .select((api_tokens::org_id, api_tokens::id, api_tokens::name))
        .order(api_tokens::id.asc())
        .load(conn)
        .await
}
