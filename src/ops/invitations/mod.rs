//! Invitations: how people join an org. An admin invites an email with a role and gets a
//! one-time link to pass on; whoever opens it logs in (an existing account) or sets a name
//! and password (a new one) and joins.
//!
//! - Creating answers the same whatever the email is (no account, an account, a support
//!   account, a member already): the admin learns nothing about accounts.
//! - The link's token is random (256 bits), returned once by [`create_invitation`] and
//!   stored only as its SHA-256. It expires after [`VALID_FOR`] on the application's clock,
//!   can be revoked, and is used once: accepting claims it with one conditional UPDATE, so
//!   two concurrent accepts make exactly one membership.
//! - Joining refuses support accounts and a logged-in account other than the invited email.
//! - Created, revoked and accepted invitations are audited in the org's trail, never with
//!   the token.

mod accept;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection as _;
use secrecy::{ExposeSecret as _, SecretString};

pub use accept::{
    Closed, Joined, Newcomer, OpenInvitation, Opened, accept, log_in_to_accept, look_up,
    sign_up_and_accept,
};

use super::{
    Action, Caller, Change, OpError, OpResult, Scope, Target, audit, members::require_acting_admin,
};
use crate::{
    models::{
        invitation::{self, Invitation, NewInvitation},
        membership::{self, Role},
        user,
    },
    state::AppState,
};

/// How long a link stays valid.
pub const VALID_FOR: TimeDelta = TimeDelta::days(7);
/// Random bytes in a token (43 characters of URL-safe base64).
const TOKEN_BYTES: usize = 32;

/// Who to invite, and as what.
#[derive(Debug, Clone)]
pub struct CreateInvitation {
    /// As entered; normalised here.
    pub email: String,
    pub role: Role,
}

/// An open invitation, as the members page lists it (no token: it is never shown again).
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

impl From<Invitation> for PendingInvitation {
    fn from(inv: Invitation) -> Self {
        Self {
            id: inv.id,
            role: inv.role(),
            email: inv.email,
            invited_by: inv.invited_by_label,
            expires_at: inv.expires_at,
        }
    }
}

/// A new invitation and its link's token: the only time the token leaves this module.
#[derive(Debug)]
pub struct CreatedInvitation {
    pub invitation: PendingInvitation,
    pub token: SecretString,
}

/// Invites `input.email` to the caller's org (scope `members:manage`). The answer does not
/// depend on whether the email has an account, is support staff or already a member.
pub async fn create_invitation(
    state: &AppState,
    caller: &Caller,
    input: CreateInvitation,
) -> OpResult<CreatedInvitation> {
    let org = caller.require(Scope::MembersManage)?;
    let email = user::normalize_email(&input.email).map_err(|e| OpError::invalid("email", e))?;
    let token = SecretString::from(crate::crypto::random_token(TOKEN_BYTES));
    let token_hash = crate::crypto::sha256(token.expose_secret().as_bytes());
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let invitation = conn
        .transaction::<_, OpError, _>(async |conn| {
            let locked = membership::lock_org(conn, org.id).await?;
            require_acting_admin(caller, &locked)?;
            let invitation = NewInvitation {
                org_id: org.id,
                email: &email,
                role: input.role.as_str(),
                token_hash: &token_hash,
                invited_by: caller.user_id(),
                invited_by_label: caller.actor.label(),
                created_at: now,
                expires_at: now + VALID_FOR,
            }
            .insert(conn)
            .await?;
            audit::record(
                conn,
                caller,
                Action::InvitationCreated,
                Target::User(email.clone()),
                None,
                Some(
                    Change::new()
                        .text("role", input.role.as_str())
                        .text("expires_at", invitation.expires_at.to_rfc3339())
                        .text("invitation", invitation.id.to_string()),
                ),
            )
            .await?;
            Ok(invitation)
        })
        .await?;
    Ok(CreatedInvitation {
        invitation: invitation.into(),
        token,
    })
}

/// The org's open invitations, oldest first (scope `members:list`).
pub async fn list_invitations(
    state: &AppState,
    caller: &Caller,
) -> OpResult<Vec<PendingInvitation>> {
    let org = caller.require(Scope::MembersList)?;
    let mut conn = state.pool.get().await?;
    let open = invitation::open_for_org(&mut conn, org.id, state.clock.now()).await?;
    Ok(open.into_iter().map(PendingInvitation::from).collect())
}

/// Revokes an open invitation of the caller's org (scope `members:manage`); its link stops
/// working. `NotFound` for another org's, an accepted or an already revoked invitation.
pub async fn revoke_invitation(state: &AppState, caller: &Caller, id: i64) -> OpResult<String> {
    let org = caller.require(Scope::MembersManage)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let locked = membership::lock_org(conn, org.id).await?;
        require_acting_admin(caller, &locked)?;
        let revoked = invitation::revoke(conn, org.id, id, now)
            .await?
            .ok_or(OpError::NotFound)?;
        audit::record(
            conn,
            caller,
            Action::InvitationRevoked,
            Target::User(revoked.email.clone()),
            Some(
                Change::new()
                    .text("role", revoked.role().as_str())
                    .text("invitation", revoked.id.to_string()),
            ),
            None,
        )
        .await?;
        Ok(revoked.email)
    })
    .await
}
