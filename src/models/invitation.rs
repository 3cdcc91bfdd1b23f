//! Invitations to join an org: an email, a role, and the SHA-256 of a one-time link's token.
//! Times are the application clock's (passed in), so tests can age an invitation.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use super::{membership::Role, org::Org};
use crate::db::schema::{invitations, orgs};

/// An invitation row, without its token hash (nothing shown needs it).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub struct Invitation {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    role: String,
    pub invited_by: Option<i64>,
    pub invited_by_label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// The role the invitation grants.
    pub fn role(&self) -> Role {
        // The CHECK constraint admits only the two roles.
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

/// An invitation to insert; `email` must come from `user::normalize_email`.
#[derive(Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation<'a> {
    pub org_id: i64,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub invited_by: Option<i64>,
    pub invited_by_label: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl NewInvitation<'_> {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Invitation> {
        diesel::insert_into(invitations::table)
            .values(self)
            .returning(Invitation::as_returning())
            .get_result(conn)
            .await
    }
}

/// The org's open invitations (neither accepted, revoked nor expired at `now`), oldest first.
pub async fn open_for_org(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now))
        .order((invitations::created_at.asc(), invitations::id.asc()))
        .select(Invitation::as_select())
        .load(conn)
        .await
}

/// The invitation whose token hashes to `token_hash`, with its org, whatever its state.
pub async fn find_by_token_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<(Invitation, Org)>> {
    invitations::table
        .inner_join(orgs::table)
        .filter(invitations::token_hash.eq(token_hash))
        .select((Invitation::as_select(), Org::as_select()))
        .first(conn)
        .await
        .optional()
}

/// Marks an open invitation of `org_id` revoked, in one conditional statement. `None`: no
/// such invitation in the org, or it was accepted or revoked already.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<Invitation>> {
    diesel::update(
        invitations::table
            .filter(invitations::id.eq(id))
            .filter(invitations::org_id.eq(org_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .returning(Invitation::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Revokes every open invitation `inviter` sent for `org_id` (they were removed or
/// demoted); returns them.
pub async fn revoke_sent_by(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    inviter: i64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Invitation>> {
    diesel::update(
        invitations::table
            .filter(invitations::org_id.eq(org_id))
            .filter(invitations::invited_by.eq(inviter))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .returning(Invitation::as_returning())
    .get_results(conn)
    .await
}

/// Claims an open, unexpired invitation, in one conditional statement: of two concurrent
/// claims of one token, the second waits for the first and then matches no row. `None`:
/// unknown token, or accepted, revoked or expired at `now`. Run in a transaction that then
/// calls [`set_accepted_by`].
pub async fn claim(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Invitation>> {
    diesel::update(
        invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now)),
    )
    .set(invitations::accepted_at.eq(now))
    .returning(Invitation::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Records who accepted a claimed invitation.
pub async fn set_accepted_by(
    conn: &mut AsyncPgConnection,
    id: i64,
    user_id: i64,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set(invitations::accepted_by.eq(user_id))
        .execute(conn)
        .await
        .map(drop)
}
