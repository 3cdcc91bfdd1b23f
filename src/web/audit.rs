//! The Audit tab: the org's trail, newest first, in keyset pages with filters kept in the
//! URL, readable sentences and per-field diffs, the chain's verification status, and the
//! streamed export. Admins and support staff read it (scope `audit:read`); members don't
//! see it.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use futures_util::StreamExt as _;

use super::{Chrome, OrgHeader, Tab, frame::org_frame, tab, urls};
use crate::{
    auth::context::OrgContext,
    error::{AppError, AppResult},
    ops::trail::{
        self, EventView, Family, Filter, TrailQuery, chain::ChainStatus, export,
        signing::TrustStatus,
    },
    state::AppState,
};

/// One option of the family filter.
pub struct FamilyOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// What the tab shows.
pub struct AuditView {
    pub events: Vec<EventView>,
    pub action: String,
    pub families: Vec<FamilyOption>,
    pub actor: String,
    pub from: String,
    pub to: String,
    pub filtered: bool,
    /// The next (older) page, as a plain link.
    pub older_href: Option<String>,
    pub csv_href: String,
    pub jsonl_href: String,
    pub chain: ChainLine,
    pub trust: TrustLines,
}

/// Exactly what was verified, when, and against what (issue 22).
pub struct TrustLines {
    /// What this view itself checked.
    pub this_view: String,
    /// The trail is unsigned (no signing key configured).
    pub unsigned: bool,
    pub checkpoint: Option<String>,
    /// The signing job found the chain does not match its checkpoint.
    pub signing_alert: Option<String>,
    /// The scheduled full verification: (passed, sentence).
    pub full: (bool, String),
}

fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl TrustLines {
    fn new(trust: &TrustStatus, now: chrono::DateTime<chrono::Utc>) -> Self {
        let full = match &trust.full_check {
            None => (
                true,
                "No full verification of the whole trail has run yet (it runs daily).".to_owned(),
            ),
            Some(r) if r.ok => (
                true,
                format!(
                    "Full verification of all {} events passed at {}{}.",
                    r.through_seq,
                    utc(r.checked_at),
                    r.external_at.map_or_else(
                        || ", against the database's signed checkpoints (not the external store)"
                            .to_owned(),
                        |t| format!(", verified against the external checkpoint of {}", utc(t))
                    )
                ),
            ),
            Some(r) => (
                false,
                format!(
                    "Full verification failed at {}: {}",
                    utc(r.checked_at),
                    r.problem.clone().unwrap_or_default()
                ),
            ),
        };
        Self {
            this_view: format!(
                "This view, at {}, rechecked the events written since the last check and the events shown on this page; older events are covered by the full verification.",
                utc(now)
            ),
            unsigned: !trust.signing,
            checkpoint: trust.last_checkpoint.map(|(seq, at)| {
                format!(
                    "Last signed checkpoint: event #{seq} of this org, at {}.",
                    utc(at)
                )
            }),
            signing_alert: trust.signing_check.as_ref().filter(|r| !r.ok).map(|r| {
                format!(
                    "Signing stopped at {}: {}",
                    utc(r.checked_at),
                    r.problem.clone().unwrap_or_default()
                )
            }),
            full,
        }
    }
}

/// The chain's status line.
pub struct ChainLine {
    pub verified_event: Option<i64>,
    pub pending: i64,
    pub broken: Option<String>,
}

impl ChainLine {
    fn new(status: &ChainStatus) -> Self {
        let verified_seq = status.verified_through.map_or(0, |(_, s)| s);
        Self {
            verified_event: status.verified_through.map(|(id, _)| id),
            pending: (status.head_seq - verified_seq).max(0),
            broken: status.broken.as_ref().map(|b| b.reason.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "audit/tab.html", blocks = ["content"])]
pub struct AuditPage {
    chrome: Chrome,
    org: OrgHeader,
    view: AuditView,
}

/// Just the next page's rows and its "Older" row, swapped in place of the last one.
#[derive(Template)]
#[template(path = "audit/rows.html")]
pub struct AuditRows<'a> {
    view: &'a AuditView,
}

fn parse(state: &AppState, query: &TrailQuery) -> AppResult<(Filter, Option<i64>)> {
    let filter = Filter::parse(query, state.clock.now().date_naive())?;
    let cursor = trail::parse_cursor(query.cursor.as_ref())?;
    Ok((filter, cursor))
}

/// `GET /orgs/{org}/settings/ai/audit?family=&actor=&from=&to=&cursor=`.
pub async fn show_audit(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<TrailQuery>,
) -> AppResult<HttpResponse> {
    let (filter, cursor) = parse(&state, &query)?;
    let page = trail::page(&state, &ctx.caller, &filter, cursor).await?;
    let slug = ctx.org().slug.clone();
    let action = urls::tab(&slug, Tab::Audit);
    let pairs = filter.pairs();
    let older_href = page.older.map(|c| {
        let mut p = pairs.clone();
        p.push(("cursor", c.to_string()));
        urls::with_query(&action, &p)
    });
    let view = AuditView {
        events: page.events,
        families: Family::ALL
            .into_iter()
            .map(|f| FamilyOption {
                value: f.as_str(),
                label: f.label(),
                selected: filter.family == Some(f),
            })
            .collect(),
        actor: filter.actor.clone().unwrap_or_default(),
        from: filter.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filter.to.map(|d| d.to_string()).unwrap_or_default(),
        filtered: !filter.is_empty(),
        older_href,
        csv_href: urls::with_query(&urls::audit_export(&slug, "csv"), &pairs),
        jsonl_href: urls::with_query(&urls::audit_export(&slug, "jsonl"), &pairs),
        chain: ChainLine::new(&page.chain),
        trust: TrustLines::new(&page.trust, state.clock.now()),
        action,
    };
    let older_swap = req
        .headers()
        .get("hx-target")
        .is_some_and(|v| v == "audit-more");
    if older_swap && super::wants_fragment(&req) {
        let body = AuditRows { view: &view }.render()?;
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::VARY, "HX-Request, HX-Target"))
            .body(body));
    }
    let (chrome, org) = org_frame(&session, &ctx, "Audit", Some(Tab::Audit))?;
    let page = AuditPage { chrome, org, view };
    tab(&req, StatusCode::OK, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/audit/export.{csv|jsonl}?family=&actor=&from=&to=`: the
/// filtered trail as a streamed download, recorded as `audit.exported`.
pub async fn export_audit(
    ctx: OrgContext,
    state: web::Data<AppState>,
    format: web::Path<(String, String)>,
    query: web::Query<TrailQuery>,
) -> AppResult<HttpResponse> {
    let format = export::Format::parse(&format.1).ok_or(AppError::NotFound)?;
    let (filter, _) = parse(&state, &query)?;
    let export = export::export(&state, &ctx.caller, &filter, format).await?;
    let body = export.chunks.map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type(export.format.content_type())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.file_name),
        ))
        .streaming(body))
}
