//! The append-only audit trail. Events are written in the same transaction as the change
//! they describe; the database refuses UPDATE, DELETE and TRUNCATE on the table.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::audit_events;

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    User {
        id: i64,
        email: String,
    },
    System,
    /// Someone not logged in (e.g. a failed login), named by what they typed.
    Anonymous {
        label: String,
    },
}

/// Where the request came from, for the trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

/// An event to append. `before`/`after` must already have secrets replaced by masked previews.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub org_id: Option<i64>,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub meta: &'a RequestMeta,
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

impl NewEvent<'_> {
    /// Appends the event.
    pub async fn record(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        let (kind, id, label) = match self.actor {
            Actor::User { id, email } => ("user", Some(*id), email.as_str()),
            Actor::System => ("system", None, "system"),
            Actor::Anonymous { label } => ("anonymous", None, label.as_str()),
        };
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::org_id.eq(self.org_id),
                audit_events::actor_kind.eq(kind),
                audit_events::actor_id.eq(id),
                audit_events::actor_label.eq(label),
                audit_events::action.eq(self.action),
                audit_events::target.eq(&self.target),
                audit_events::before.eq(&self.before),
                audit_events::after.eq(&self.after),
                audit_events::request_id.eq(self.meta.request_id.as_deref()),
                audit_events::ip.eq(self.meta.ip.as_deref()),
            ))
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
