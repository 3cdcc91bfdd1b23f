//! `GET /api/v1/orgs/{org}/audit-events`: the org's audit trail, newest first, in keyset
//! pages (scope `audit:read`). A thin translation of `ops::trail::page_of`, the Audit tab's
//! operation: the same filters (`family`, `actor`, `from`, `to`), the same cursor, the same
//! masking (key previews only for callers who see them, "set"/"none" for everyone else).

use crate::api::errors::{BadRequest, ErrorBody, Guarded};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::auth::ApiCaller;
use crate::{
    error::AppError,
    ops::trail::{self, EventView, Filter, TrailQuery},
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/audit-events", web::get().to(list_audit_events));
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_audit_events),
    components(schemas(AuditPage, AuditEventJson, AuditActor)),
    tags((name = "audit", description = "The org's audit trail")),
)]
pub struct Doc;

/// The query string.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    pub limit: Option<String>,
    pub family: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One page of events.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEventJson>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Who acted.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct AuditActor {
    /// `user`, `token`, `system`, `operator` or `anonymous`.
    pub kind: &'static str,
    /// An email, an API token's name (with its owner), `system`, `operator`, or what a
    /// failed login typed.
    pub label: String,
}

/// One event.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventJson {
    pub id: i64,
    /// Position in the org's hash chain (1, 2, …).
    pub seq: i64,
    /// RFC 3339, UTC.
    pub occurred_at: String,
    pub actor: AuditActor,
    /// E.g. `provider.activated`, `credential.released`.
    pub action: String,
    /// The action's family (the `family` filter's values).
    pub family: &'static str,
    /// E.g. `provider:aip_…`, `skill:skl_…`, `token:42`.
    pub target: String,
    /// A sentence on what happened.
    pub summary: String,
    /// The value before (secret fields masked); absent for creations.
    #[schema(value_type = Option<Object>)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub before: Option<serde_json::Value>,
    /// The value after (secret fields masked); absent for deletions.
    #[schema(value_type = Option<Object>)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl From<EventView> for AuditEventJson {
    fn from(e: EventView) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            occurred_at: e.at_iso,
            actor: AuditActor {
                kind: e.who_kind,
                label: e.actor_label,
            },
            action: e.action,
            family: e.family,
            target: e.target,
            summary: e.what,
            before: e.before,
            after: e.after,
            request_id: e.request_id,
            ip: e.ip,
        }
    }
}

/// The org's audit events, newest first. Follow `nextCursor` for older ones.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/audit-events",
    tag = "audit",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Events per page, 1 to 200 (default 50)"),
        ("family" = Option<String>, Query, description = "Only this action family: provider, skills, api, keys, insights, member, auth, support, audit, org"),
        ("actor" = Option<String>, Query, description = "Only this actor (an email, a token's label, system, operator)"),
        ("from" = Option<String>, Query, description = "First day (YYYY-MM-DD, UTC)"),
        ("to" = Option<String>, Query, description = "Last day (YYYY-MM-DD, UTC); at most a year after `from`"),
    ),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        Guarded,
        (status = 400, response = BadRequest),
        (status = 422, description = "`from` is after `to` (or after today, without `to`), or the range is longer than a year", body = ErrorBody),
    ),
    security(("bearer" = ["audit:read"]), ("session" = [])),
)]
pub async fn list_audit_events(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let filter = Filter::parse(
        &TrailQuery {
            family: q.family,
            actor: q.actor,
            from: q.from,
            to: q.to,
            cursor: None,
        },
        state.clock.now().date_naive(),
    )?;
    let cursor = trail::parse_cursor(q.cursor.as_ref())?;
    let limit = trail::parse_limit(q.limit.as_ref())?;
    let page = trail::page_of(&state, &caller, &filter, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        events: page.events.into_iter().map(AuditEventJson::from).collect(),
        next_cursor: page.older.map(|c| c.to_string()),
    }))
}
