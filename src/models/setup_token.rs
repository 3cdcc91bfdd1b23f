//! The first-run setup token: at most one row per database, holding the SHA-256 of the
//! token in the printed `/setup?token=…` URL and when it expires. Times are the
//! application clock's (passed in), so tests can age a token.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::setup_tokens;

/// Whether a token that has not expired at `now` is stored.
pub async fn live_exists(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        setup_tokens::table.filter(setup_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
    .await
}

/// Stores `token_hash` as the one setup token, replacing (voiding) any other.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::singleton.eq(true),
            setup_tokens::token_hash.eq(token_hash),
            setup_tokens::created_at.eq(created_at),
            setup_tokens::expires_at.eq(expires_at),
        ))
        .on_conflict(setup_tokens::singleton)
        .do_update()
        .set((
            setup_tokens::token_hash.eq(token_hash),
            setup_tokens::created_at.eq(created_at),
            setup_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `token_hash` is the stored token and has not expired at `now`.
pub async fn matches(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        setup_tokens::table
            .filter(setup_tokens::token_hash.eq(token_hash))
            .filter(setup_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
    .await
}

/// Uses the token: deletes it when `token_hash` is the stored one and has not expired at
/// `now`. `true` when it was (so exactly one caller ever gets `true` for a token).
pub async fn take(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let deleted = diesel::delete(
        setup_tokens::table
            .filter(setup_tokens::token_hash.eq(token_hash))
            .filter(setup_tokens::expires_at.gt(now)),
    )
    .execute(conn)
    .await?;
    Ok(deleted == 1)
}

/// Deletes any stored token (once a user exists, none is needed).
pub async fn clear(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::delete(setup_tokens::table).execute(conn).await?;
    Ok(())
}
