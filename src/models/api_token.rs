//! API tokens: an org, the user who created it, its scopes and the SHA-256 of the secret
//! part. Times are the application clock's (passed in), so tests can age a token.

use crate::db::prelude::*;
use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncPgConnection;

use super::{membership::Role, org::Org, user::User};
use crate::db::schema::{api_tokens, memberships, org_epochs, orgs, users};

/// A token row, without its hash (nothing shown needs it).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiToken {
    pub id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `personal` (cut to its creator's access at every use) or `service` (the org's).
    pub kind: String,
}

/// A token to insert.
#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub token_hash: &'a [u8],
    pub prefix: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub kind: &'a str,
}

impl NewApiToken<'_> {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values(self)
            .returning(ApiToken::as_returning())
            .get_result(conn)
            .await
    }
}

/// A presented token with everything authentication needs, read in one statement: the
/// token, its org, its creator and the creator's current role in that org (`None` when no
/// longer a member).
pub type Presented = (ApiToken, Org, User, Option<Role>);

/// Looks a token up by the SHA-256 of what was presented, with its org's epoch as the same
/// statement saw it (`release::org_epoch`; `None`: no epoch row, nothing to remember).
pub async fn by_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8; 32],
) -> QueryResult<Option<(Presented, Option<i64>)>> {
    type Row = (ApiToken, Org, User, Option<String>, Option<i64>);
    let row: Option<Row> = api_tokens::table
        .inner_join(orgs::table)
        .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(api_tokens::org_id)
                .and(memberships::user_id.eq(api_tokens::user_id))),
        )
        .left_join(org_epochs::table.on(org_epochs::org_id.eq(api_tokens::org_id)))
        .filter(api_tokens::token_hash.eq(token_hash.as_slice()))
        .select((
            ApiToken::as_select(),
            Org::as_select(),
            User::as_select(),
            memberships::role.nullable(),
            org_epochs::epoch.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(t, o, u, r, epoch)| ((t, o, u, r.as_deref().and_then(Role::parse)), epoch)))
}

/// How stale `last_used_at` may get before a use writes it again: one write a minute per
/// token at most, so a token used a thousand times a second costs no write per request.
pub const LAST_USED_PRECISION: TimeDelta = TimeDelta::minutes(1);

/// Whether a use at `now` is to be recorded (none within [`LAST_USED_PRECISION`]).
pub fn use_due(token: &ApiToken, now: DateTime<Utc>) -> bool {
    token
        .last_used_at
        .is_none_or(|at| at < now - LAST_USED_PRECISION)
}

/// Records a use at `now` unless one was recorded within [`LAST_USED_PRECISION`].
pub async fn touch(conn: &mut AsyncPgConnection, id: i64, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(api_tokens::table)
        .filter(api_tokens::id.eq(id))
        .filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(now - LAST_USED_PRECISION)),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// The org's tokens, newest first (revoked ones included: the list says so).
pub async fn for_org(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<Vec<(ApiToken, String)>> {
    api_tokens::table
        .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
        .filter(api_tokens::org_id.eq(org_id))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .select((ApiToken::as_select(), users::email))
        .load(conn)
        .await
}

/// Revokes an unrevoked token of the org; `None` when there is none with that id.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> QueryResult<Option<ApiToken>> {
    diesel::update(api_tokens::table)
        .filter(api_tokens::org_id.eq(org_id))
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .set((
            api_tokens::revoked_at.eq(now),
            api_tokens::revoked_by.eq(by),
        ))
        .returning(ApiToken::as_returning())
        .get_result(conn)
        .await
        .optional()
}
