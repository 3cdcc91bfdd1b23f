//! Leases of scheduled jobs that run on one instance at a time (`job_leases`): whoever moves
//! a lease's `until` forward holds the job until then; an expired lease is anyone's.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};

use crate::db::prelude::*;

#[derive(diesel::QueryableByName)]
struct Taken {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    name: String,
}

/// Takes lease `name` for `holder` until `until`, if it is free (expired) at `now` — or,
/// with `renew`, already `holder`'s. One statement, so two instances never both take it.
pub async fn take(
    conn: &mut AsyncPgConnection,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    renew: bool,
) -> QueryResult<bool> {
    let taken: Option<Taken> = diesel::sql_query(
        "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $4) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE job_leases.until <= $3 OR ($5 AND job_leases.holder = excluded.holder) \
         RETURNING name",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(holder)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(until)
    .bind::<diesel::sql_types::Bool, _>(renew)
    .get_result(conn)
    .await
    .optional()?;
    Ok(taken.is_some())
}
