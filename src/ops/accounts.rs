//! Accounts: logging in (throttled, audited failures), changing one's own password, and
//! the operator's account commands (create, reset password, disable, enable).

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use secrecy::{ExposeSecret as _, SecretString};

use super::{Action, Caller, OpError, OpResult, RequestMeta, Target, audit};
pub use crate::models::login_throttle::Refusal;
use crate::{
    models::login_throttle::Keys,
    models::{
        membership, org,
        user::{self, NewUser, User},
    },
    state::AppState,
};

/// The one answer for every failed login, whatever the cause.
pub const LOGIN_FAILED: &str = "Invalid email or password.";

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    LoggedIn(User),
    /// Wrong email, wrong password or disabled account: one answer for all (recorded).
    Failed,
    /// Too many attempts for the account or the address: refused before any hashing; the
    /// refusal says how long to wait. Not recorded (a flood would flood the trail).
    Throttled(Refusal),
}

/// Checks an email and password: the attempt is reserved against the account's and the
/// address's limits before anything else (`models::login_throttle`), the database connection is
/// given back before waiting for the hashing permit (a burst of logins must not hold the
/// pool), argon2id runs off the async workers with a dummy hash for unknown users, and a
/// failure is recorded as `login.failed` — also in the trail of every org the account
/// belongs to.
pub async fn log_in(
    state: &AppState,
    email: &str,
    password: SecretString,
    meta: RequestMeta,
) -> OpResult<LoginOutcome> {
    let normalized = user::normalize_email(email).ok();
    let typed = normalized
        .clone()
        .unwrap_or_else(|| email.trim().to_lowercase());
    let keys = Keys::new(&typed, meta.ip.as_deref());
    let (reservation, found) = {
        let mut conn = state.pool.get().await?;
        let reservation = match state.throttle.reserve(&mut conn, keys).await? {
            Ok(reservation) => reservation,
            Err(refusal) => return Ok(LoginOutcome::Throttled(refusal)),
        };
        let found = match &normalized {
            Some(normalized) => User::find_by_email(&mut conn, normalized).await?,
            None => None,
        };
        (reservation, found)
    }; // The connection is back in the pool: hashing may wait for its permit.
    let phc = found
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let matched = state.hasher.verify(password, phc).await;
    let mut conn = state.pool.get().await?;
    match found {
        Some(user) if matched => {
            reservation.succeeded(&mut conn).await?;
            Ok(LoginOutcome::LoggedIn(user))
        }
        found => {
            reservation.failed(&mut conn).await?;
            let label: String = typed.chars().take(254).collect();
            record_failed_login(&mut conn, label, found.as_ref(), meta).await?;
            Ok(LoginOutcome::Failed)
        }
    }
}

/// Records a failed login: `login.failed` without an org (the operators' view), and for an
/// existing account one `login.failed` in the trail of each org it is a member of, so the
/// org's admins see attacks on their members (issue 10). Each event goes through
/// [`audit::record`] with the org's caller, inside one transaction, so a per-org writer
/// (e.g. a hash chain) sees every one of them. Never the password: the events carry what
/// was typed as the email, the account and the request's address and id.
async fn record_failed_login(
    conn: &mut AsyncPgConnection,
    label: String,
    account: Option<&User>,
    meta: RequestMeta,
) -> OpResult<()> {
    let caller = Caller::anonymous(label.clone(), meta);
    let Some(account) = account else {
        audit::record(
            conn,
            &caller,
            Action::LoginFailed,
            Target::User(label),
            None,
            None,
        )
        .await?;
        return Ok(());
    };
    conn.transaction::<_, OpError, _>(async |conn| {
        audit::record(
            conn,
            &caller,
            Action::LoginFailed,
            Target::User(label),
            None,
            None,
        )
        .await?;
        for (org, _) in membership::orgs_of_user(conn, account.id).await? {
            let in_org = Caller {
                org: Some(org),
                ..caller.clone()
            };
            let target = Target::User(account.email.clone());
            audit::record(conn, &in_org, Action::LoginFailed, target, None, None).await?;
        }
        Ok(())
    })
    .await
}

/// The change-password form.
#[derive(Debug)]
pub struct ChangePassword {
    pub current: SecretString,
    pub new: SecretString,
    pub confirm: SecretString,
}

/// What a password change came to (bad input is an [`OpError::Invalid`]).
#[derive(Debug)]
pub enum PasswordChange {
    /// Changed: the user as stored now; every session issued before is revoked.
    Changed(User),
    /// Too many attempts for the account or the address: refused before any hashing.
    Throttled(Refusal),
}

/// Changes `user`'s own password: the current one is checked, throttled like a login
/// against the same account and address counters (reserved before hashing, the connection
/// given back while hashing); the new hash and the session-epoch bump are one statement,
/// with `user.password_changed`.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    user: &User,
    input: ChangePassword,
) -> OpResult<PasswordChange> {
    if caller.user_id() != Some(user.id) {
        return Err(OpError::Forbidden(
            "You can only change your own password.".to_owned(),
        ));
    }
    let (current, new) = (input.current.expose_secret(), input.new.expose_secret());
    if let Err(problem) = user::validate_password(new) {
        let mut message = format!("{problem}.");
        message[..1].make_ascii_uppercase();
        return Err(OpError::invalid("new_password", message));
    }
    if new != input.confirm.expose_secret() {
        return Err(OpError::invalid(
            "confirm_password",
            "The two new passwords differ.",
        ));
    }
    if new == current {
        return Err(OpError::invalid(
            "new_password",
            "The new password must differ from the current one.",
        ));
    }
    let keys = Keys::new(&user.email, caller.meta.ip.as_deref());
    let reservation = {
        let mut conn = state.pool.get().await?;
        match state.throttle.reserve(&mut conn, keys).await? {
            Ok(reservation) => reservation,
            Err(refusal) => return Ok(PasswordChange::Throttled(refusal)),
        }
    };
    let matched = state
        .hasher
        .verify(input.current, Some(user.password_hash.clone()))
        .await;
    if !matched {
        let mut conn = state.pool.get().await?;
        reservation.failed(&mut conn).await?;
        return Err(OpError::invalid(
            "current_password",
            "The current password is not right.",
        ));
    }
    let hash = state.hasher.hash(input.new).await;
    let mut conn = state.pool.get().await?;
    let updated = conn
        .transaction::<_, OpError, _>(async |conn| {
            let updated = User::set_password_hash(conn, user.id, &hash).await?;
            let target = Target::User(user.email.clone());
            audit::record(
                conn,
                caller,
                Action::UserPasswordChanged,
                target,
                None,
                None,
            )
            .await?;
            Ok(updated)
        })
        .await?;
    reservation.succeeded(&mut conn).await?;
    Ok(PasswordChange::Changed(updated))
}

/// A new account, as an operator enters it.
#[derive(Debug)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub support: bool,
    pub password: SecretString,
}

fn checked_password(password: &SecretString) -> OpResult<()> {
    user::validate_password(password.expose_secret()).map_err(|e| OpError::invalid("password", e))
}

/// Creates a user (operators only).
pub async fn create_user(state: &AppState, caller: &Caller, input: NewAccount) -> OpResult<User> {
    caller.require_operator()?;
    let email = user::normalize_email(&input.email).map_err(|e| OpError::invalid("email", e))?;
    if !input.name.is_empty() {
        org::validate_name(&input.name).map_err(|e| OpError::invalid("name", e))?;
        super::names::refuse_invisible("name", "name", &input.name)?;
    }
    checked_password(&input.password)?;
    let mut conn = state.pool.get().await?;
    if let Some(existing) = User::find_by_email(&mut conn, &email).await? {
        let orgs = membership::org_slugs_of(&mut conn, existing.id).await?;
        if input.support && !orgs.is_empty() {
            return Err(OpError::Conflict(format!(
                "{email} is a member of {}: support staff are never members of an org",
                orgs.join(", ")
            )));
        }
        return Err(OpError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    drop(conn);
    let hash = state.hasher.hash(input.password).await;
    let mut conn = state.pool.get().await?;
    Ok(NewUser {
        email: &email,
        name: input.name.trim(),
        password_hash: &hash,
        support: input.support,
    }
    .insert(&mut conn)
    .await?)
}

/// The user with `email`, or a clear "no such user".
async fn existing_user(state: &AppState, email: &str) -> OpResult<User> {
    let email = user::normalize_email(email).map_err(|e| OpError::invalid("email", e))?;
    let mut conn = state.pool.get().await?;
    User::find_by_email(&mut conn, &email)
        .await?
        .ok_or_else(|| OpError::invalid("email", format!("no user with email {email}")))
}

/// Sets a user's password and ends their sessions (operators only); `user.password_reset`.
pub async fn reset_password(
    state: &AppState,
    caller: &Caller,
    email: &str,
    password: SecretString,
) -> OpResult<User> {
    caller.require_operator()?;
    let user = existing_user(state, email).await?;
    checked_password(&password)?;
    let hash = state.hasher.hash(password).await;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let updated = User::set_password_hash(conn, user.id, &hash).await?;
        let target = Target::User(user.email.clone());
        audit::record(conn, caller, Action::UserPasswordReset, target, None, None).await?;
        Ok(updated)
    })
    .await
}

/// Disables (ending every session) or re-enables a user (operators only). Returns the user
/// and whether anything changed; a change is audited.
pub async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    email: &str,
    disabled: bool,
) -> OpResult<(User, bool)> {
    caller.require_operator()?;
    let user = existing_user(state, email).await?;
    let mut conn = state.pool.get().await?;
    let changed = conn
        .transaction::<_, OpError, _>(async |conn| {
            let changed = User::set_disabled(conn, user.id, disabled).await?;
            if changed {
                let action = match disabled {
                    true => Action::UserDisabled,
                    false => Action::UserEnabled,
                };
                let target = Target::User(user.email.clone());
                audit::record(conn, caller, action, target, None, None).await?;
            }
            Ok(changed)
        })
        .await?;
    Ok((user, changed))
}
