//! Key drafts: a key typed into the provider form whose save failed, kept sealed for a few
//! minutes so the admin need not type it again (docs/DECISIONS.md "Key drafts"). Never a
//! `secrets` row; `ops::providers::drafts` seals and opens them.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::key_drafts;

/// A new draft id: `kdr_` + a ULID (chosen before sealing: the AAD binds it).
pub fn new_id() -> String {
    format!("kdr_{}", ulid::Ulid::new())
}

/// A draft row. `Debug` omits the envelope and the session hash.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = key_drafts, check_for_backend(diesel::pg::Pg))]
pub struct KeyDraft {
    pub id: String,
    pub org_id: i64,
    pub session_hash: Vec<u8>,
    pub form: String,
    pub kind: String,
    pub base_url: Option<String>,
    pub key_id: String,
    pub version: i16,
    pub envelope: Vec<u8>,
    pub last4: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for KeyDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDraft")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("form", &self.form)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A draft to insert.
#[derive(Insertable)]
#[diesel(table_name = key_drafts)]
pub struct NewKeyDraft<'a> {
    pub id: &'a str,
    pub org_id: i64,
    pub session_hash: &'a [u8],
    pub form: &'a str,
    pub kind: &'a str,
    pub base_url: Option<&'a str>,
    pub key_id: &'a str,
    pub version: i16,
    pub envelope: &'a [u8],
    pub last4: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl NewKeyDraft<'_> {
    /// Inserts the draft, replacing the one this session kept for the same form, after
    /// deleting every expired draft (of any org: they are worthless to everyone).
    pub async fn replace(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::delete(key_drafts::table.filter(key_drafts::expires_at.le(self.created_at)))
            .execute(conn)
            .await?;
        diesel::delete(
            key_drafts::table
                .filter(key_drafts::org_id.eq(self.org_id))
                .filter(key_drafts::session_hash.eq(self.session_hash))
                .filter(key_drafts::form.eq(self.form)),
        )
        .execute(conn)
        .await?;
        diesel::insert_into(key_drafts::table)
            .values(self)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Draft `id` of org `org_id`; another org's draft is `None`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<KeyDraft>> {
    key_drafts::table
        .filter(key_drafts::org_id.eq(org_id))
        .filter(key_drafts::id.eq(id))
        .select(KeyDraft::as_select())
        .first(conn)
        .await
        .optional()
}

/// Deletes draft `id` of org `org_id`; `true` when a row went.
pub async fn delete(conn: &mut AsyncPgConnection, org_id: i64, id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        key_drafts::table
            .filter(key_drafts::org_id.eq(org_id))
            .filter(key_drafts::id.eq(id)),
    )
    .execute(conn)
    .await?;
    Ok(n > 0)
}
