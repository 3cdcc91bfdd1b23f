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
    /// Position in its org's chain (1, 2, …), set by the database's chain trigger.
    pub seq: i64,
    /// SHA-256 over the canonical event and the previous hash (`ops::trail::chain`).
    pub hash: Vec<u8>,
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
        .order(audit_events::seq.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
        .await
}

/// Which events of an org a page or an export wants.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only these actions (an action family).
    pub actions: Option<Vec<&'static str>>,
    /// Only events by this actor label.
    pub actor: Option<String>,
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Up to `limit` of the org's events matching `query` with `seq < before` (keyset: the
/// `(org_id, seq)` index walked backwards, so page 500 costs what page 1 costs), newest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    query: &EventQuery,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = audit_events::table
        .filter(audit_events::org_id.eq(org_id))
        .select(AuditEvent::as_select())
        .order(audit_events::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(audit_events::seq.lt(before));
    }
    if let Some(actions) = &query.actions {
        q = q.filter(audit_events::action.eq_any(actions.clone()));
    }
    if let Some(actor) = &query.actor {
        q = q.filter(audit_events::actor_label.eq(actor.clone()));
    }
    if let Some(from) = query.from {
        q = q.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(until) = query.until {
        q = q.filter(audit_events::occurred_at.lt(until));
    }
    q.load(conn).await
}

/// The newest `seq` of the org's chain (0 when it has no event).
pub async fn head_seq(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<i64> {
    use crate::db::schema::audit_chain_heads;
    Ok(audit_chain_heads::table
        .find(org_id)
        .select(audit_chain_heads::seq)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(0))
}
