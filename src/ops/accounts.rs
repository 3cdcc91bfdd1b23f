//! Accounts: logging in (throttled, audited failures), changing one's own password, and
//! the operator's account commands (create, reset password, disable, enable).

use diesel_async::AsyncConnection as _;
use secrecy::{ExposeSecret as _, SecretString};

use super::{Action, Caller, OpError, OpResult, RequestMeta, Target, audit};
use crate::{
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
    /// Too many failures for the account or the IP; the message says how long to wait.
    Throttled(String),
}

/// Checks an email and password: argon2id off the async workers with a dummy hash for
/// unknown users, per-account and per-IP throttling, and `login.failed` in the trail.
pub async fn log_in(
    state: &AppState,
    email: &str,
    password: SecretString,
    meta: RequestMeta,
) -> OpResult<LoginOutcome> {
    let normalized = user::normalize_email(email);
    let email_key = normalized
        .clone()
        .unwrap_or_else(|_| email.trim().to_lowercase());
    let ip = meta.ip.clone().unwrap_or_default();
    if let Some(refusal) = state.throttle.refusal(&email_key, &ip) {
        return Ok(LoginOutcome::Throttled(refusal));
    }
    let mut conn = state.pool.get().await?;
    let found = match normalized {
        Ok(normalized) => User::find_by_email(&mut conn, &normalized).await?,
        Err(_) => None,
    };
    let phc = found
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let matched = state.hasher.verify(password, phc).await;
    match found {
        Some(user) if matched => {
            state.throttle.record_success(&email_key);
            Ok(LoginOutcome::LoggedIn(user))
        }
        _ => {
            state.throttle.record_failure(&email_key, &ip);
            let label: String = email_key.chars().take(254).collect();
            let caller = Caller::anonymous(label.clone(), meta);
            audit::record(
                &mut conn,
                &caller,
                Action::LoginFailed,
                Target::User(label),
                None,
                None,
            )
            .await?;
            Ok(LoginOutcome::Failed)
        }
    }
}

/// The change-password form.
#[derive(Debug)]
pub struct ChangePassword {
    pub current: SecretString,
    pub new: SecretString,
    pub confirm: SecretString,
}

/// Changes `user`'s own password: the current one is checked (throttled like a login,
/// against the same account counter); the new hash and the session-epoch bump are one
/// statement, with `user.password_changed`. Returns the user as stored now: every session
/// issued before is revoked.
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    user: &User,
    input: ChangePassword,
) -> OpResult<User> {
    if caller.user_id() != Some(user.id) {
        return Err(OpError::Forbidden(
            "You can only change your own password.".to_owned(),
        ));
    }
    let ip = caller.meta.ip.clone().unwrap_or_default();
    if let Some(refusal) = state.throttle.refusal(&user.email, &ip) {
        return Err(OpError::TooManyRequests(refusal));
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
    let matched = state
        .hasher
        .verify(input.current, Some(user.password_hash.clone()))
        .await;
    if !matched {
        state.throttle.record_failure(&user.email, &ip);
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
    state.throttle.record_success(&user.email);
    Ok(updated)
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
