//! Secrets: an org's API keys, stored only as sealed envelopes (src/crypto seals and opens
//! them) with the masked preview and last four characters written at seal time, so listing
//! never decrypts. One secret may be linked by several providers of the same org.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel::AsChangeset;
use diesel_async::AsyncPgConnection;

use crate::db::schema::{providers, secrets};

/// A new secret id: `sec_` + a ULID. The id is chosen before sealing, because the envelope's
/// AAD binds it.
pub fn new_id() -> String {
    format!("sec_{}", ulid::Ulid::new())
}

/// A secret row. `Debug` omits the envelope (it prints its length only).
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = secrets, check_for_backend(diesel::pg::Pg))]
pub struct Secret {
    pub id: String,
    pub org_id: i64,
    /// The master key that wrapped this secret's data key.
    pub key_id: String,
    /// The envelope format version.
    pub version: i16,
    pub envelope: Vec<u8>,
    /// Masked form, e.g. `sk-ant-...WXYZ`.
    pub preview: String,
    pub last4: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    /// When the envelope was last re-wrapped under another master key.
    pub rotated_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("key_id", &self.key_id)
            .field("version", &self.version)
            .field("envelope_len", &self.envelope.len())
            .field("preview", &self.preview)
            .field("created_at", &self.created_at)
            .field("rotated_at", &self.rotated_at)
            .finish_non_exhaustive()
    }
}

/// A secret to insert; `id` comes from [`new_id`] and is the one the envelope's AAD binds.
#[derive(Insertable)]
#[diesel(table_name = secrets)]
pub struct NewSecret<'a> {
    pub id: &'a str,
    pub org_id: i64,
    pub key_id: &'a str,
    pub version: i16,
    pub envelope: &'a [u8],
    pub preview: &'a str,
    pub last4: &'a str,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
}

/// A freshly sealed value for an existing secret (a new key entered on edit).
#[derive(AsChangeset, Clone, Copy)]
#[diesel(table_name = secrets)]
pub struct SealedValue<'a> {
    pub key_id: &'a str,
    pub version: i16,
    pub envelope: &'a [u8],
    pub preview: &'a str,
    pub last4: &'a str,
}

impl NewSecret<'_> {
    /// Inserts the secret; run inside the caller's transaction.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Secret> {
        diesel::insert_into(secrets::table)
            .values(self)
            .returning(Secret::as_returning())
            .get_result(conn)
            .await
    }
}

/// The secret `id` of org `org_id`; another org's secret is `None`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<Secret>> {
    secrets::table
        .filter(secrets::org_id.eq(org_id))
        .filter(secrets::id.eq(id))
        .select(Secret::as_select())
        .first(conn)
        .await
        .optional()
}

/// Like [`find`], locking the row (`FOR UPDATE`) until the transaction ends.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<Secret>> {
    secrets::table
        .filter(secrets::org_id.eq(org_id))
        .filter(secrets::id.eq(id))
        .select(Secret::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The providers that link the secret, as `(provider id, name)`, oldest first.
pub async fn users(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    secret_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    providers::table
        .filter(providers::org_id.eq(org_id))
        .filter(providers::secret_id.eq(secret_id))
        .order((providers::created_at.asc(), providers::id.asc()))
        .select((providers::id, providers::name))
        .load(conn)
        .await
}

/// Deletes the secret only when no provider links it, in one statement; `true` when a row
/// went. A provider linking it concurrently makes this fail with a foreign-key violation
/// (the composite key from `providers`), never leaves a dangling link.
pub async fn delete_if_unused(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<bool> {
    use diesel::dsl::{exists, not};
    let linked = providers::table.filter(providers::secret_id.eq(secrets::id.nullable()));
    diesel::delete(
        secrets::table
            .filter(secrets::org_id.eq(org_id))
            .filter(secrets::id.eq(id))
            .filter(not(exists(linked))),
    )
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Stores a new value (a new key) in an existing secret, sealed for this same id and org.
/// `None` when the secret is not the org's.
pub async fn replace_value(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    value: &SealedValue<'_>,
) -> QueryResult<Option<Secret>> {
    diesel::update(
        secrets::table
            .filter(secrets::org_id.eq(org_id))
            .filter(secrets::id.eq(id)),
    )
    .set(value)
    .returning(Secret::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Up to `limit` secrets not sealed under `key_id`, by id: the next batch for `keys rotate`.
pub async fn ids_not_under(
    conn: &mut AsyncPgConnection,
    key_id: &str,
    limit: i64,
) -> QueryResult<Vec<Secret>> {
    secrets::table
        .filter(secrets::key_id.ne(key_id))
        .order(secrets::id.asc())
        .limit(limit)
        .select(Secret::as_select())
        .load(conn)
        .await
}

/// Stores `new_envelope` under `new_key_id` only if the secret is still sealed under
/// `old_key_id` (so a concurrent rotation or edit is never overwritten); sets `rotated_at`.
/// `true` when the row was re-wrapped.
pub async fn rewrap_if(
    conn: &mut AsyncPgConnection,
    id: &str,
    old_key_id: &str,
    new_key_id: &str,
    new_envelope: &[u8],
) -> QueryResult<bool> {
    diesel::update(
        secrets::table
            .filter(secrets::id.eq(id))
            .filter(secrets::key_id.eq(old_key_id)),
    )
    .set((
        secrets::key_id.eq(new_key_id),
        secrets::envelope.eq(new_envelope),
        secrets::rotated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Every master key id some secret is sealed under (start-up refuses unknown ones).
pub async fn distinct_key_ids(conn: &mut AsyncPgConnection) -> QueryResult<Vec<String>> {
    secrets::table
        .select(secrets::key_id)
        .distinct()
        .order(secrets::key_id.asc())
        .load(conn)
        .await
}

/// How many secrets each master key seals, by key id.
pub async fn count_by_key(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, i64)>> {
    secrets::table
        .group_by(secrets::key_id)
        .select((secrets::key_id, diesel::dsl::count_star()))
        .order(secrets::key_id.asc())
        .load(conn)
        .await
}
