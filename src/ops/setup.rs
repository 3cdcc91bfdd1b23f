//! First run: the one-time setup token, kept in PostgreSQL so that every instance behind
//! a balancer accepts the URL one of them printed. At most one token per database, stored
//! hashed (SHA-256), used once, valid for [`TOKEN_TTL`]; made and used under one advisory
//! lock, so two instances starting together make one token and two setups never both
//! succeed.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

use super::{OpError, OpResult};
use crate::{
    crypto,
    models::{setup_token, user::User},
    state::AppState,
};

/// How long a setup URL stays valid.
pub const TOKEN_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What a starting instance should say about first-run setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupSetup {
    /// No user yet and no live token: this instance made `token`; it prints the URL.
    Issued(String),
    /// No user yet, but another instance (or an earlier run) made a token that is still
    /// live: this one prints that a URL was printed elsewhere.
    PrintedElsewhere,
    /// A user exists: nothing to set up.
    Done,
}

/// Takes the transaction-scoped advisory lock that serialises making, replacing and using
/// the setup token (and the first-run setup itself).
pub(super) async fn lock(conn: &mut AsyncPgConnection) -> OpResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(7401)")
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a new token (voiding any other) and returns it, inside the caller's locked
/// transaction.
async fn issue(
    conn: &mut AsyncPgConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<String> {
    let token = crypto::random_token(24);
    setup_token::replace(
        conn,
        &crypto::sha256(token.as_bytes()),
        now,
        now + TOKEN_TTL,
    )
    .await?;
    Ok(token)
}

/// At start-up: makes the setup token while no user exists and no live one is stored.
/// Once a user exists, a leftover token is deleted.
pub async fn on_start(state: &AppState) -> OpResult<StartupSetup> {
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        lock(conn).await?;
        if User::any_exists(conn).await? {
            setup_token::clear(conn).await?;
            return Ok(StartupSetup::Done);
        }
        if setup_token::live_exists(conn, now).await? {
            return Ok(StartupSetup::PrintedElsewhere);
        }
        Ok(StartupSetup::Issued(issue(conn, now).await?))
    })
    .await
}

/// Makes a new setup token, voiding the old one (`switchboard setup-url`). A conflict once
/// a user exists: setup is over.
pub async fn new_token(state: &AppState) -> OpResult<String> {
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        lock(conn).await?;
        if User::any_exists(conn).await? {
            setup_token::clear(conn).await?;
            return Err(OpError::Conflict(
                "Switchboard is already set up (a user exists): no setup URL is needed. Log in, or ask an admin or `switchboard user create` for an account.".to_owned(),
            ));
        }
        issue(conn, now).await
    })
    .await
}

/// Whether Switchboard is set up (a user exists): a refused setup link then was used (or
/// is stale), and the person holding it should sign in.
pub async fn is_set_up(state: &AppState) -> OpResult<bool> {
    let mut conn = state.pool.get().await?;
    Ok(User::any_exists(&mut conn).await?)
}

/// Whether `token` is the stored setup token and has not expired.
pub async fn token_valid(state: &AppState, token: &str) -> OpResult<bool> {
    if token.is_empty() {
        return Ok(false);
    }
    let mut conn = state.pool.get().await?;
    Ok(setup_token::matches(
        &mut conn,
        &crypto::sha256(token.as_bytes()),
        state.clock.now(),
    )
    .await?)
}

/// Uses `token` inside the caller's transaction, under the setup lock: `true` when it was
/// the stored, live token (now deleted), `false` otherwise.
pub(super) async fn take(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<bool> {
    lock(conn).await?;
    Ok(setup_token::take(conn, &crypto::sha256(token.as_bytes()), now).await?)
}
