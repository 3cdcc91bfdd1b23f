//! Members of an org: list, add (operators; admins invite through `ops::invitations`),
//! change role, remove — never the last enabled admin. Every change is audited; demotion and
//! removal revoke the member's sessions (a promotion needs no new login: the role is read on
//! every request).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

use super::{Access, Action, Actor, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{
    models::{
        membership::{self, LockedMembers, Member, Role},
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

/// Adds an existing user to the caller's org: operators only (`switchboard member add`).
/// Admins invite instead (`ops::invitations`): answering "no such account" here would tell
/// them which emails have accounts.
pub async fn add_member(state: &AppState, caller: &Caller, input: AddMember) -> OpResult<User> {
    caller.require_operator()?;
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

/// The refusal for a support account joining an org.
pub(super) fn support_never_joins(email: &str) -> OpError {
    OpError::Conflict(format!(
        "{email} is a support account: support staff read every org and are never members of one."
    ))
}

/// Adds `user` to `org` inside the caller's transaction: refuses support accounts, locks the
/// org's memberships, inserts and records `member.added`. Joining grants rights, so the
/// user's sessions stay valid. Two concurrent adds of one user: the second is a conflict
/// (the primary key decides), never an internal error.
pub(super) async fn add_locked(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    user: &User,
    role: Role,
) -> OpResult<()> {
    if user.support {
        return Err(support_never_joins(&user.email));
    }
    let already = || {
        OpError::Conflict(format!(
            "{} is already a member of {}.",
            user.email, org.slug
        ))
    };
    let locked = membership::lock_org(conn, org.id).await?;
    if locked.role_of(user.id).is_some() {
        return Err(already());
    }
    membership::add(conn, org.id, user.id, role)
        .await
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => already(),
            other => other.into(),
        })?;
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

/// Fails unless the acting user is, as the locked rows say now, an enabled admin of the org
/// (an operator always may). The guard resolved the caller's access when the request came
/// in; an admin demoted or disabled since then is refused here, inside the transaction that
/// would make the change.
pub(super) fn require_acting_admin(caller: &Caller, locked: &LockedMembers) -> OpResult<()> {
    let still_admin = match caller.actor {
        Actor::User { id, .. } => locked.is_enabled_admin(id),
        _ => caller.access == Some(Access::Operator),
    };
    if still_admin {
        Ok(())
    } else {
        Err(OpError::Forbidden(
            "Only the org's admins can do this, and you are no longer one of them.".to_owned(),
        ))
    }
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
    /// `sessions_revoked`: a demotion signs the member out everywhere; a promotion doesn't.
    RoleChanged {
        email: String,
        role: Role,
        sessions_revoked: bool,
    },
    AlreadyRole {
        email: String,
        role: Role,
    },
    /// Removal always signs the member out everywhere.
    Removed {
        email: String,
    },
}

/// Changes a member's role or removes them (scope `members:manage`). Inside one
/// transaction: the org's memberships are locked, the acting admin must still be an
/// enabled admin, and the org keeps at least one enabled admin. Demotion and removal revoke
/// the member's sessions (recorded as `session.revoked`); a promotion does not.
pub async fn change_member(
    state: &AppState,
    caller: &Caller,
    user_id: i64,
    change: MembershipChange,
) -> OpResult<MembershipOutcome> {
    let org = caller.require(Scope::MembersManage)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let locked = membership::lock_org(conn, org.id).await?;
        require_acting_admin(caller, &locked)?;
        let current = locked.role_of(user_id).ok_or(OpError::NotFound)?;
        let target = User::find(conn, user_id).await?.ok_or(OpError::NotFound)?;
        let email = target.email.clone();
        let demotes_admin =
            current == Role::Admin && !matches!(change, MembershipChange::Role(Role::Admin));
        let remaining = locked.enabled_admins() - usize::from(locked.is_enabled_admin(user_id));
        if demotes_admin && remaining == 0 {
            return Err(OpError::Conflict(
                "An org needs at least one enabled admin: make someone else admin first."
                    .to_owned(),
            ));
        }
        let (action, after, reason, outcome) = match change {
            MembershipChange::Role(role) if role == current => {
                return Ok(MembershipOutcome::AlreadyRole { email, role });
            }
            MembershipChange::Role(role) => {
                membership::set_role(conn, org.id, user_id, role).await?;
                let demoted = role == Role::Member;
                (
                    Action::MemberRoleChanged,
                    Some(Change::new().text("role", role.as_str())),
                    demoted.then_some("role lowered to member"),
                    MembershipOutcome::RoleChanged {
                        email: email.clone(),
                        role,
                        sessions_revoked: demoted,
                    },
                )
            }
            MembershipChange::Remove => {
                membership::remove(conn, org.id, user_id).await?;
                (
                    Action::MemberRemoved,
                    None,
                    Some("removed from the org"),
                    MembershipOutcome::Removed {
                        email: email.clone(),
                    },
                )
            }
        };
        audit::record(
            conn,
            caller,
            action,
            Target::User(email.clone()),
            Some(Change::new().text("role", current.as_str())),
            after,
        )
        .await?;
        if demotes_admin {
            revoke_their_invitations(conn, caller, org.id, user_id, state.clock.now()).await?;
        }
        if let Some(reason) = reason {
            User::bump_session_epoch(conn, user_id).await?;
            audit::record(
                conn,
                caller,
                Action::SessionRevoked,
                Target::User(email),
                None,
                Some(
                    Change::new()
                        .text("sessions", "all signed out")
                        .text("reason", reason),
                ),
            )
            .await?;
        }
        Ok(outcome)
    })
    .await
}

/// Revokes the open invitations an admin who was just removed or demoted had sent (they no
/// longer hold the right to grant those roles), each recorded as `invitation.revoked`.
async fn revoke_their_invitations(
    conn: &mut diesel_async::AsyncPgConnection,
    caller: &Caller,
    org_id: i64,
    inviter: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<()> {
    for inv in crate::models::invitation::revoke_sent_by(conn, org_id, inviter, now).await? {
        audit::record(
            conn,
            caller,
            Action::InvitationRevoked,
            Target::User(inv.email.clone()),
            Some(
                Change::new()
                    .text("role", inv.role().as_str())
                    .text("invitation", inv.id.to_string()),
            ),
            Some(Change::new().text("reason", "the admin who sent it is no longer an admin")),
        )
        .await?;
    }
    Ok(())
}
