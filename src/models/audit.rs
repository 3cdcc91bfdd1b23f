//! The append-only audit trail. Events are written in the same transaction as the change
//! they describe; the database refuses UPDATE, DELETE and TRUNCATE on the table.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::audit_events;

/// An event row to append. Built only by `ops::audit::record`, which takes the typed
/// vocabulary; `before`/`after` hold no secret by construction there.
#[derive(Insertable, Debug)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub org_id: Option<i64>,
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// A stored event.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub org_id: Option<i64>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl NewAuditEvent<'_> {
    /// Appends the event.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values(self)
            .execute(conn)
            .await
            .map(drop)
    }
}

/// An org's events, newest first.
pub async fn for_org(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
        .await
}
