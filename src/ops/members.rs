//! Members of an org: list, add, change role, remove — never the last admin. Every change
//! is audited and revokes the affected user's sessions, so they re-authenticate with their
//! new rights.

use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{
    models::{
        membership::{self, Member, Role},
        org::Org,
        user::{self, User},
    },
    state::AppState,
};

/// The org's members, admins first (scope `members:list`).
pub async fn list_members(state: &AppState, caller: &Caller) -> OpResult<Vec<Member>> {
    let org = caller.require(Scope::MembersList)?;
    let mut conn = state.pool.get().await?;
    Ok(membership::members_of(&mut conn, org.id).await?)
}

/// Who to add, and as what.
#[derive(Debug, Clone)]
pub struct AddMember {
    /// As entered; normalised here.
    pub email: String,
    pub role: Role,
}

/// Adds an existing user to the caller's org (scope `members:manage`).
pub async fn add_member(state: &AppState, caller: &Caller, input: AddMember) -> OpResult<User> {
    let org = caller.require(Scope::MembersManage)?;
    let email = user::normalize_email(&input.email).map_err(|e| OpError::invalid("email", e))?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let Some(target) = User::find_by_email(conn, &email).await? else {
            return Err(OpError::invalid(
                "email",
                format!(
                    "There is no user with email {email}: an operator creates accounts with `switchboard user create`."
                ),
            ));
        };
        add_locked(conn, caller, org, &target, input.role).await?;
        Ok(target)
    })
    .await
}

/// Adds `user` to `org` inside the caller's transaction: locks the org's memberships,
/// inserts, revokes the user's sessions and records `member.added`.
pub(super) async fn add_locked(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    user: &User,
    role: Role,
) -> OpResult<()> {
    let (current, _) = membership::lock_for_change(conn, org.id, user.id).await?;
    if current.is_some() {
        return Err(OpError::Conflict(format!(
            "{} is already a member of {}.",
            user.email, org.slug
        )));
    }
    membership::add(conn, org.id, user.id, role).await?;
    User::bump_session_epoch(conn, user.id).await?;
    audit::record(
        conn,
        caller,
        Action::MemberAdded,
        Target::User(user.email.clone()),
        None,
        Some(Change::new().text("role", role.as_str())),
    )
    .await?;
    Ok(())
}

/// A change to an existing membership.
#[derive(Debug, Clone, Copy)]
pub enum MembershipChange {
    Role(Role),
    Remove,
}

/// What [`change_member`] did.
#[derive(Debug, Clone)]
pub enum MembershipOutcome {
    RoleChanged { email: String, role: Role },
    AlreadyRole { email: String, role: Role },
    Removed { email: String },
}

/// Changes a member's role or removes them (scope `members:manage`). The org keeps at
/// least one admin: the membership rows are locked, so two concurrent demotions can't both
/// pass that check.
pub async fn change_member(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    change: MembershipChange,
) -> OpResult<MembershipOutcome> {
    let org = caller.require(Scope::MembersManage)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let (current, admins) = membership::lock_for_change(conn, org.id, user_id).await?;
        let current = current.ok_or(OpError::NotFound)?;
        let target = User::find(conn, user_id).await?.ok_or(OpError::NotFound)?;
        let email = target.email.clone();
        let demotes_admin =
            current == Role::Admin && !matches!(change, MembershipChange::Role(Role::Admin));
        if demotes_admin && admins <= 1 {
            return Err(OpError::Conflict(
                "An org needs at least one admin: make someone else admin first.".to_owned(),
            ));
        }
        let (action, after, outcome) = match change {
            MembershipChange::Role(role) if role == current => {
                return Ok(MembershipOutcome::AlreadyRole { email, role });
            }
            MembershipChange::Role(role) => {
                membership::set_role(conn, org.id, user_id, role).await?;
                (
                    Action::MemberRoleChanged,
                    Some(Change::new().text("role", role.as_str())),
                    MembershipOutcome::RoleChanged {
                        email: email.clone(),
                        role,
                    },
                )
            }
            MembershipChange::Remove => {
                membership::remove(conn, org.id, user_id).await?;
                (
                    Action::MemberRemoved,
                    None,
                    MembershipOutcome::Removed {
                        email: email.clone(),
                    },
                )
            }
        };
        User::bump_session_epoch(conn, user_id).await?;
        audit::record(
            conn,
            caller,
            action,
            Target::User(email),
            Some(Change::new().text("role", current.as_str())),
            after,
        )
        .await?;
        Ok(outcome)
    })
    .await
}
