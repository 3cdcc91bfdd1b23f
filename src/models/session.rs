//! Server-side session rows, keyed by the SHA-256 of the cookie's session key, with an idle
//! deadline (extended on use) and an absolute one (never extended).

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::sessions;

/// How stale the stored idle deadline may get before a load writes a new one: reads stay
/// reads, and the idle timeout is honoured to within this much.
pub const TOUCH_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Loads a live session's state; pushes its idle deadline out to `idle_until` only when the
/// stored one is more than [`TOUCH_GRANULARITY`] behind. Expired sessions yield `None` (and
/// are left for [`purge_expired`]).
pub async fn load_and_touch(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    now: DateTime<Utc>,
    idle_until: DateTime<Utc>,
) -> QueryResult<Option<String>> {
    let live: Option<(String, DateTime<Utc>)> = sessions::table
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::idle_expires_at.gt(now))
        .filter(sessions::absolute_expires_at.gt(now))
        .select((sessions::state, sessions::idle_expires_at))
        .first(conn)
        .await
        .optional()?;
    let Some((state, idle_expires_at)) = live else {
        return Ok(None);
    };
    if idle_until - idle_expires_at > TOUCH_GRANULARITY {
        touch(conn, key_hash, idle_until).await?;
    }
    Ok(Some(state))
}

/// Stores a new session.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    state: &str,
    now: DateTime<Utc>,
    idle_until: DateTime<Utc>,
    absolute_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::key_hash.eq(key_hash),
            sessions::state.eq(state),
            sessions::created_at.eq(now),
            sessions::idle_expires_at.eq(idle_until),
            sessions::absolute_expires_at.eq(absolute_until),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Replaces a live session's state; returns false when it is gone or expired.
pub async fn update_state(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    state: &str,
    now: DateTime<Utc>,
    idle_until: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        sessions::table
            .filter(sessions::key_hash.eq(key_hash))
            .filter(sessions::idle_expires_at.gt(now))
            .filter(sessions::absolute_expires_at.gt(now)),
    )
    .set((
        sessions::state.eq(state),
        sessions::idle_expires_at.eq(idle_until),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Pushes the idle deadline out.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    idle_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .set(sessions::idle_expires_at.eq(idle_until))
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes a session (logout, renewal).
pub async fn delete(conn: &mut AsyncPgConnection, key_hash: &[u8]) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash)))
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes sessions past either deadline; returns how many.
pub async fn purge_expired(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::idle_expires_at
                .le(now)
                .or(sessions::absolute_expires_at.le(now)),
        ),
    )
    .execute(conn)
    .await
}
