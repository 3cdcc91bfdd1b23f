//! The link's side of an invitation: what its holder sees, and joining — as the logged-in
//! invited user, by logging in, or by creating the account. Each join claims the invitation
//! with one conditional UPDATE and rolls everything back on a refusal.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use secrecy::{ExposeSecret as _, SecretString};

use super::TOKEN_BYTES;
use crate::{
    models::{
        invitation::{self, Invitation},
        membership::{self, Role},
        org::{self, Org},
        user::{self, NewUser, User},
    },
    ops::{
        Action, Caller, Change, OpError, OpResult, RequestMeta, Target,
        accounts::{self, LoginOutcome},
        audit,
        members::support_never_joins,
    },
    state::AppState,
};

/// Why a link no longer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Accepted,
    Revoked,
    Expired,
    /// The admin who sent it can no longer grant its role (removed, demoted or disabled).
    Void,
}

impl Closed {
    /// What the person holding the link is told.
    pub fn message(self) -> &'static str {
        match self {
            Closed::Accepted => "This invitation has been used already: each link works once.",
            Closed::Revoked => "This invitation was withdrawn by an admin of the org.",
            Closed::Expired => "This invitation has expired: links work for 7 days.",
            Closed::Void => {
                "This invitation is no longer valid: the admin who sent it can no longer grant \
                 that role in the org. Ask one of the org's admins for a new invitation."
            }
        }
    }
}

/// A link that still works, or why it doesn't. An unknown token is `OpError::NotFound`.
#[derive(Debug)]
pub enum Opened<T> {
    Open(T),
    Closed(Closed),
}

/// An open invitation, as the person holding its link sees it.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether `token` looks like one of ours (URL-safe base64 of [`TOKEN_BYTES`] bytes):
/// anything else is unknown without asking the database.
fn token_hash(token: &str) -> OpResult<[u8; 32]> {
    let well_formed = token.len() == (TOKEN_BYTES * 4).div_ceil(3)
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(crate::crypto::sha256(token.as_bytes()))
    } else {
        Err(OpError::NotFound)
    }
}

fn state_at(inv: &Invitation, now: DateTime<Utc>) -> Option<Closed> {
    if inv.accepted_at.is_some() {
        Some(Closed::Accepted)
    } else if inv.revoked_at.is_some() {
        Some(Closed::Revoked)
    } else if inv.expires_at <= now {
        Some(Closed::Expired)
    } else {
        None
    }
}

/// Whether whoever sent `inv` may still grant its role: an enabled admin of the org (an
/// operator's invitation, with no inviter, always may). With `lock`, the org's memberships
/// are locked (as every membership change does), so a demotion and an acceptance serialise.
async fn inviter_may_grant(
    conn: &mut AsyncPgConnection,
    inv: &Invitation,
    lock: bool,
) -> QueryResult<bool> {
    let Some(inviter) = inv.invited_by else {
        return Ok(true);
    };
    if lock {
        return Ok(membership::lock_org(conn, inv.org_id)
            .await?
            .is_enabled_admin(inviter));
    }
    let admin = membership::role_in(conn, inv.org_id, inviter).await? == Some(Role::Admin);
    let enabled = User::find(conn, inviter)
        .await?
        .is_some_and(|u| !u.disabled);
    Ok(admin && enabled)
}

/// The invitation behind a link (anyone holding it may ask).
pub async fn look_up(state: &AppState, token: &str) -> OpResult<Opened<OpenInvitation>> {
    let hash = token_hash(token)?;
    let mut conn = state.pool.get().await?;
    let (inv, org) = invitation::find_by_token_hash(&mut conn, &hash)
        .await?
        .ok_or(OpError::NotFound)?;
    if let Some(closed) = state_at(&inv, state.clock.now()) {
        return Ok(Opened::Closed(closed));
    }
    if !inviter_may_grant(&mut conn, &inv, false).await? {
        return Ok(Opened::Closed(Closed::Void));
    }
    Ok(Opened::Open(OpenInvitation {
        org_name: org.name,
        role: inv.role(),
        email: inv.email,
        invited_by: inv.invited_by_label,
        expires_at: inv.expires_at,
    }))
}

/// Joined: the org and the role now held there.
#[derive(Debug, Clone)]
pub struct Joined {
    pub org: Org,
    pub role: Role,
}

/// Why an accepting transaction stopped (and rolled back).
enum Stop {
    Closed(Closed),
    Refused(OpError),
}

impl From<DieselError> for Stop {
    fn from(e: DieselError) -> Self {
        Stop::Refused(e.into())
    }
}

impl From<OpError> for Stop {
    fn from(e: OpError) -> Self {
        Stop::Refused(e)
    }
}

fn finish<T>(result: Result<T, Stop>) -> OpResult<Opened<T>> {
    match result {
        Ok(done) => Ok(Opened::Open(done)),
        Err(Stop::Closed(closed)) => Ok(Opened::Closed(closed)),
        Err(Stop::Refused(e)) => Err(e),
    }
}

/// Claims the invitation (one conditional UPDATE) or says why not.
async fn claim(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(Invitation, Org), Stop> {
    let Some(inv) = invitation::claim(conn, hash, now).await? else {
        let known = invitation::find_by_token_hash(conn, hash).await?;
        let closed = known.and_then(|(inv, _)| state_at(&inv, now));
        return Err(closed.map_or(Stop::Refused(OpError::NotFound), Stop::Closed));
    };
    let org = Org::find(conn, inv.org_id)
        .await?
        .ok_or(OpError::NotFound)?;
    if !inviter_may_grant(conn, &inv, true).await? {
        // Rolled back with the claim: the link stays void, not used.
        return Err(Stop::Closed(Closed::Void));
    }
    Ok((inv, org))
}

/// Adds the claimed invitation's membership for `user` and records `invitation.accepted`,
/// with `user` as the actor.
async fn join(
    conn: &mut AsyncPgConnection,
    inv: &Invitation,
    org: Org,
    user: &User,
    meta: &RequestMeta,
    new_account: bool,
) -> Result<Joined, Stop> {
    let already = || {
        OpError::Conflict(format!(
            "You are already a member of {}: this invitation was not needed.",
            org.name
        ))
    };
    if membership::role_in(conn, org.id, user.id).await?.is_some() {
        return Err(already().into());
    }
    let role = inv.role();
    membership::add(conn, org.id, user.id, role)
        .await
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => already(),
            other => other.into(),
        })?;
    invitation::set_accepted_by(conn, inv.id, user.id).await?;
    let mut caller = Caller::account(user, meta.clone());
    caller.org = Some(org.clone());
    audit::record(
        conn,
        &caller,
        Action::InvitationAccepted,
        Target::User(user.email.clone()),
        None,
        Some(
            Change::new()
                .text("role", role.as_str())
                .text("invited_by", &inv.invited_by_label)
                .text("invitation", inv.id.to_string())
                .flag("new_account", new_account),
        ),
    )
    .await?;
    Ok(Joined { org, role })
}

/// The logged-in `user` accepts the invitation behind `token`. Refused (nothing written):
/// another account than the invited email, a support account, a member already.
pub async fn accept(
    state: &AppState,
    user: &User,
    token: &str,
    meta: RequestMeta,
) -> OpResult<Opened<Joined>> {
    let hash = token_hash(token)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction::<_, Stop, _>(async |conn| {
            let (inv, org) = claim(conn, &hash, now).await?;
            if inv.email != user.email {
                return Err(OpError::Forbidden(format!(
                    "This invitation is for {}, and you are logged in as {}. Log out, then open \
                     the link again and log in (or sign up) as {}.",
                    inv.email, user.email, inv.email
                ))
                .into());
            }
            if user.support {
                return Err(support_never_joins(&user.email).into());
            }
            join(conn, &inv, org, user, &meta, false).await
        })
        .await;
    finish(result)
}

/// Checks the invited account's password (the login operation: same throttling, same one
/// answer for every failure, failures audited). The caller then starts the session and
/// calls [`accept`].
pub async fn log_in_to_accept(
    state: &AppState,
    token: &str,
    password: SecretString,
    meta: RequestMeta,
) -> OpResult<Opened<LoginOutcome>> {
    let open = match look_up(state, token).await? {
        Opened::Open(open) => open,
        Opened::Closed(closed) => return Ok(Opened::Closed(closed)),
    };
    let outcome = accounts::log_in(state, &open.email, password, meta).await?;
    Ok(Opened::Open(outcome))
}

/// A new account's name and password, as entered on the invitation page.
#[derive(Debug)]
pub struct Newcomer {
    pub name: String,
    pub password: SecretString,
    pub confirm: SecretString,
}

/// Creates the invited email's account with `input` and joins, in one transaction (with
/// the password hashed before, holding no connection). Returns the new user, to log in.
/// An account with that email exists already: 409, nothing written — log in instead.
pub async fn sign_up_and_accept(
    state: &AppState,
    token: &str,
    input: Newcomer,
    meta: RequestMeta,
) -> OpResult<Opened<(User, Joined)>> {
    let hash = token_hash(token)?;
    if let Opened::Closed(closed) = look_up(state, token).await? {
        return Ok(Opened::Closed(closed));
    }
    org::validate_name(&input.name).map_err(|e| OpError::invalid("name", capitalised(e)))?;
    crate::ops::names::refuse_invisible("name", "name", &input.name)?;
    user::validate_password(input.password.expose_secret())
        .map_err(|e| OpError::invalid("password", capitalised(e)))?;
    if input.password.expose_secret() != input.confirm.expose_secret() {
        return Err(OpError::invalid(
            "confirm_password",
            "The two passwords differ.",
        ));
    }
    let password_hash = state.hasher.hash(input.password).await;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let result = conn
        .transaction::<_, Stop, _>(async |conn| {
            let (inv, org) = claim(conn, &hash, now).await?;
            let user = NewUser {
                email: &inv.email,
                name: input.name.trim(),
                password_hash: &password_hash,
                support: false,
            }
            .insert(conn)
            .await
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    OpError::Conflict(format!(
                        "An account with {} exists already: log in with it to accept.",
                        inv.email
                    ))
                }
                other => other.into(),
            })?;
            let joined = join(conn, &inv, org, &user, &meta, true).await?;
            Ok((user, joined))
        })
        .await;
    finish(result)
}

fn capitalised(message: &str) -> String {
    let mut message = format!("{message}.");
    message[..1].make_ascii_uppercase();
    message
}
