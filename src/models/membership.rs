//! Memberships: which users belong to which org, as `admin` or `member`.

use crate::db::prelude::*;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{org::Org, provider::CheckStatus, user::User};
use crate::db::schema::{memberships, org_ai_settings, orgs, providers, users};

/// A member's role in an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Parses the stored or submitted form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    fn from_db(s: &str) -> Self {
        // The CHECK constraint admits only these two values.
        Self::parse(s).unwrap_or(Self::Member)
    }
}

/// One member of an org, as the members page lists them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// The org's active provider when its last live check failed: its name and the message.
pub type Attention = Option<(String, Option<String>)>;

/// Looks up a user, an org by slug, the user's role there and whether the org's active
/// provider failed its last check, in one statement. `None` when the org does not exist;
/// the role is `None` when the user is no member.
pub async fn user_org_role(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    org_slug: &str,
) -> QueryResult<Option<(User, Org, Option<Role>, Attention)>> {
    type Row = (
        User,
        Org,
        Option<String>,
        Option<String>,
        Option<CheckStatus>,
        Option<String>,
    );
    let row: Option<Row> = users::table
        .inner_join(orgs::table.on(orgs::slug.eq(org_slug.to_owned())))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(orgs::id)
                .and(memberships::user_id.eq(users::id))),
        )
        .left_join(org_ai_settings::table.on(org_ai_settings::org_id.eq(orgs::id)))
        .left_join(
            providers::table.on(providers::id
                .nullable()
                .eq(org_ai_settings::active_provider_id)),
        )
        .filter(users::id.eq(user_id))
        .select((
            User::as_select(),
            Org::as_select(),
            memberships::role.nullable(),
            providers::name.nullable(),
            providers::check_status.nullable(),
            providers::check_message.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(u, o, r, name, status, message)| {
        let attention = match (name, status) {
            (Some(name), Some(CheckStatus::Failed)) => Some((name, message)),
            _ => None,
        };
        (u, o, r.as_deref().map(Role::from_db), attention)
    }))
}

/// The orgs a user belongs to, by name, with the user's role in each.
pub async fn orgs_of_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Vec<(Org, Role)>> {
    let rows: Vec<(Org, String)> = memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .order(orgs::name.asc())
        .select((Org::as_select(), memberships::role))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(o, r)| (o, Role::from_db(&r)))
        .collect())
}

/// Every member of an org, admins first, then by email.
pub async fn members_of(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<Vec<Member>> {
    let rows: Vec<(i64, String, String, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::org_id.eq(org_id))
        .order((memberships::role.asc(), users::email.asc()))
        .select((users::id, users::email, users::name, memberships::role))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, email, name, role)| Member {
            user_id,
            email,
            name,
            role: Role::from_db(&role),
        })
        .collect())
}

/// Adds a member; a duplicate is a unique violation for the caller to map.
pub async fn add(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    user_id: i64,
    role: Role,
) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::org_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role.as_str()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// An org's memberships as locked by [`lock_org`].
#[derive(Debug, Clone, Default)]
pub struct LockedMembers {
    /// (user id, role, whether the user is disabled) of every member.
    pub rows: Vec<(i64, Role, bool)>,
}

impl LockedMembers {
    /// The role of `user_id`, if a member.
    pub fn role_of(&self, user_id: i64) -> Option<Role> {
        self.rows
            .iter()
            .find(|(u, _, _)| *u == user_id)
            .map(|(_, r, _)| *r)
    }

    /// Whether `user_id` is an enabled admin.
    pub fn is_enabled_admin(&self, user_id: i64) -> bool {
        self.rows
            .iter()
            .any(|(u, r, disabled)| *u == user_id && *r == Role::Admin && !disabled)
    }

    /// How many admins are enabled (a disabled admin can't log in to administer).
    pub fn enabled_admins(&self) -> usize {
        self.rows
            .iter()
            .filter(|(_, r, disabled)| *r == Role::Admin && !disabled)
            .count()
    }
}

/// Locks the org's membership rows (`FOR UPDATE`) and returns them with each user's
/// disabled flag. Run inside a transaction before checking the acting admin's role or the
/// last-admin rule and changing memberships: concurrent changes of one org's members then
/// happen one after the other, each seeing the last one's result. Users' rows are read,
/// not locked.
pub async fn lock_org(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<LockedMembers> {
    let locked: Vec<(i64, String)> = memberships::table
        .filter(memberships::org_id.eq(org_id))
        .select((memberships::user_id, memberships::role))
        .for_update()
        .load(conn)
        .await?;
    let ids: Vec<i64> = locked.iter().map(|(u, _)| *u).collect();
    let disabled: Vec<(i64, bool)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::disabled))
        .load(conn)
        .await?;
    let rows = locked
        .into_iter()
        .map(|(u, r)| {
            let off = disabled.iter().any(|(id, d)| *id == u && *d);
            (u, Role::from_db(&r), off)
        })
        .collect();
    Ok(LockedMembers { rows })
}

/// The role of `user_id` in `org_id`, if a member.
pub async fn role_in(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    user_id: i64,
) -> QueryResult<Option<Role>> {
    let role: Option<String> = memberships::table
        .find((org_id, user_id))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    Ok(role.as_deref().map(Role::from_db))
}

/// The slugs of the orgs `user_id` is a member of.
pub async fn org_slugs_of(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(orgs::table)
        .filter(memberships::user_id.eq(user_id))
        .order(orgs::slug.asc())
        .select(orgs::slug)
        .load(conn)
        .await
}

/// Support accounts that are also members somewhere (a state the rules refuse to create,
/// reported by `switchboard migrate`): (email, org slug) pairs.
pub async fn support_members(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, String)>> {
    memberships::table
        .inner_join(users::table)
        .inner_join(orgs::table)
        .filter(users::support.eq(true))
        .order((users::email.asc(), orgs::slug.asc()))
        .select((users::email, orgs::slug))
        .load(conn)
        .await
}

/// Sets a member's role.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    user_id: i64,
    role: Role,
) -> QueryResult<()> {
    diesel::update(memberships::table.find((org_id, user_id)))
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes a member.
pub async fn remove(conn: &mut AsyncPgConnection, org_id: i64, user_id: i64) -> QueryResult<()> {
    diesel::delete(memberships::table.find((org_id, user_id)))
        .execute(conn)
        .await
        .map(drop)
}
