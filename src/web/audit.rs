//! The Audit tab: the org's trail, newest first. Admins and support staff read it
//! (scope `audit:read`); members don't see it.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{Chrome, OrgHeader, Tab, frame::org_frame, tab};
use crate::{auth::context::OrgContext, error::AppResult, ops, state::AppState};

const LIMIT: i64 = 100;

/// One row of the trail as shown.
pub struct EventRow {
    pub at: String,
    pub actor: String,
    /// Readable text for the action, where there is one (membership and invitation events).
    pub text: &'static str,
    pub action: String,
    pub target: String,
    pub change: String,
}

/// What the tab shows.
pub struct AuditView {
    pub events: Vec<EventRow>,
    pub limit: i64,
}

#[derive(Template)]
#[template(path = "audit/tab.html", blocks = ["content"])]
pub struct AuditPage {
    chrome: Chrome,
    org: OrgHeader,
    view: AuditView,
}

fn describe(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        (None, Some(a)) => a.to_string(),
        (Some(b), None) => format!("{b} → removed"),
        (None, None) => String::new(),
    }
}

/// `GET /orgs/{org}/settings/ai/audit`.
pub async fn show_audit(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let events = ops::audit::list_events(&state, &ctx.caller, LIMIT)
        .await?
        .into_iter()
        .map(|e| EventRow {
            at: e.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            change: describe(e.before.as_ref(), e.after.as_ref()),
            actor: e.actor_label,
            text: ops::audit::membership_text(&e.action).unwrap_or_default(),
            action: e.action,
            target: e.target,
        })
        .collect();
    let (chrome, org) = org_frame(&session, &ctx, "Audit", Some(Tab::Audit))?;
    let page = AuditPage {
        chrome,
        org,
        view: AuditView {
            events,
            limit: LIMIT,
        },
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}
