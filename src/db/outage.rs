//! Telling a database outage from a bug: connection and pool errors (PostgreSQL restarting,
//! a connection terminated by an administrator, the pool unable to connect or to hand out a
//! connection in time) become `Unavailable` (503 + `Retry-After`) instead of an opaque 500.
//!
//! diesel-async keeps a server error's message but not its SQLSTATE, so the server-side
//! conditions (`57P01 admin_shutdown`, `57P02 crash_shutdown`, `57P03 cannot_connect_now`,
//! `08xxx` connection exceptions) are recognised by PostgreSQL's own (English) message
//! texts; client-side losses (no SQLSTATE: the socket closed) arrive as
//! `UnableToSendCommand`/`ClosedConnection`.

use std::error::Error as StdError;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;

/// The seconds a client is asked to wait (`Retry-After`) during an outage.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The cause a component reports when it can only hand on an opaque error: actix-session
/// wraps its store's errors (`LoadError`/`SaveError`) in a 500 whose cause is private, and
/// its only windows are `Display` and `Debug`. `render_errors` recognises it by
/// [`Outage::is`], which looks for this marker's unique text there.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{MARKER}")]
pub struct Outage;

const MARKER: &str = "switchboard-outage-marker: database unavailable";

impl Outage {
    /// Whether an error's `Debug` text carries this marker.
    pub fn is(err: &impl std::fmt::Debug) -> bool {
        format!("{err:?}").contains(MARKER)
    }
}

/// Message prefixes of the server errors that mean "the connection or server is going away
/// or not there yet" (PostgreSQL's `errmsg` texts for 57P01–57P05 and 08xxx).
const OUTAGE_MESSAGES: &[&str] = &[
    "terminating connection due to administrator command",
    "terminating connection due to unexpected postmaster exit",
    "terminating connection because of crash of another server process",
    "terminating connection due to idle-session timeout",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "sorry, too many clients already",
    "connection to client lost",
    "could not receive data from client",
    "server closed the connection unexpectedly",
];

/// Whether `err` or anything in its source chain says the database cannot be reached now.
pub fn is_outage(err: &(dyn StdError + 'static)) -> bool {
    std::iter::successors(Some(err), |e| (*e).source()).any(is_outage_one)
}

/// [`is_outage`] for an `anyhow::Error` (its chain starts at the outermost context).
pub fn is_outage_anyhow(err: &anyhow::Error) -> bool {
    err.chain().any(is_outage_one)
}

fn is_outage_one(err: &(dyn StdError + 'static)) -> bool {
    if let Some(e) = err.downcast_ref::<DieselError>() {
        return is_outage_diesel(e);
    }
    if let Some(e) = err.downcast_ref::<PoolError>() {
        return is_outage_pool(e);
    }
    if err.downcast_ref::<Outage>().is_some()
        || err.downcast_ref::<diesel::ConnectionError>().is_some()
    {
        return true;
    }
    if let Some(e) = err.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind::*;
        return matches!(
            e.kind(),
            ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe
        );
    }
    false
}

/// Whether a diesel error is a lost or refused connection.
pub fn is_outage_diesel(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            OUTAGE_MESSAGES.iter().any(|m| message.starts_with(m))
                || message.starts_with("database \"")
                    && message.ends_with("is not currently accepting connections")
        }
        // A transaction whose connection died under it cannot be rolled back any more.
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// Whether a pool error means no connection could be had (cannot connect, or none free in
/// time: both are "try again shortly" for the client).
pub fn is_outage_pool(e: &PoolError) -> bool {
    matches!(
        e,
        PoolError::Timeout(_)
            | PoolError::Backend(_)
            | PoolError::Closed
            | PoolError::PostCreateHook(_)
    )
}
