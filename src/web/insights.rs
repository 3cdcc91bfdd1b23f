//! The Insights tab: whether Proactive AI Insights are on for the org, who changed it and
//! when; admins toggle it (htmx swaps the tab, a plain form post redirects back).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    Chrome, OrgHeader, Tab,
    frame::{first_tab, org_frame},
    see_other, tab, urls, wants_fragment,
};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    ops::{
        OpError,
        insights::{self, InsightsChange, InsightsStatus, SetInsights},
    },
    state::AppState,
};

/// What the tab shows.
pub struct InsightsView {
    pub enabled: bool,
    pub lock_version: i32,
    pub changed_by: Option<String>,
    pub changed_at: String,
    pub action: String,
}

#[derive(Template)]
#[template(path = "insights/tab.html", blocks = ["content"])]
pub struct InsightsPage {
    chrome: Chrome,
    org: OrgHeader,
    view: InsightsView,
}

/// `GET /orgs/{org}/settings/ai`: the first tab the caller may see.
pub async fn default_tab(ctx: OrgContext) -> HttpResponse {
    see_other(&urls::tab(&ctx.org().slug, first_tab(&ctx)))
}

/// Renders the tab from `status` (the switch as an operation returned it), with `flash`
/// shown in place of any queued message.
fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    code: StatusCode,
    status: InsightsStatus,
    flash: Option<Flash>,
) -> AppResult<HttpResponse> {
    let view = InsightsView {
        enabled: status.enabled,
        lock_version: status.lock_version,
        changed_by: status.changed_by,
        changed_at: status.changed_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        action: urls::tab(&ctx.org().slug, Tab::Insights),
    };
    let (chrome, org) = org_frame(session, ctx, "Insights", Some(Tab::Insights))?;
    let page = InsightsPage {
        chrome: chrome.with_flash(flash),
        org,
        view,
    };
    tab(req, code, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/insights`.
pub async fn show_insights(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let status = insights::get_insights(&state, &ctx.caller).await?;
    render(&req, &ctx, &session, StatusCode::OK, status, None)
}

/// The toggle form.
#[derive(Deserialize)]
pub struct InsightsForm {
    enabled: String,
    lock_version: i32,
}

/// `POST /orgs/{org}/settings/ai/insights`.
pub async fn update_insights(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<InsightsForm>,
) -> AppResult<HttpResponse> {
    let enabled = match form.enabled.as_str() {
        "true" | "on" => true,
        "false" | "off" => false,
        _ => {
            return Err(AppError::Validation(
                "enabled must be true or false".to_owned(),
            ));
        }
    };
    let input = SetInsights {
        enabled,
        lock_version: form.lock_version,
    };
    let (code, flash, saved) = match insights::set_insights(&state, &ctx.caller, input).await {
        Ok(InsightsChange::Saved(status)) => {
            let message = match status.enabled {
                true => "Proactive AI Insights are now on.",
                false => "Proactive AI Insights are now off.",
            };
            (StatusCode::OK, Flash::ok(message), Some(status))
        }
        Ok(InsightsChange::Unchanged) => (StatusCode::OK, Flash::ok("Nothing to change."), None),
        Err(OpError::Conflict(message)) => (StatusCode::CONFLICT, Flash::error(message), None),
        Err(other) => return Err(other.into()),
    };
    if wants_fragment(&req) || code == StatusCode::CONFLICT {
        // Answered now: the message goes into this answer, not through the session.
        let status = match saved {
            Some(status) => status,
            None => insights::get_insights(&state, &ctx.caller).await?,
        };
        render(&req, &ctx, &session, code, status, Some(flash))
    } else {
        set_flash(&session, flash);
        Ok(see_other(&urls::tab(&ctx.org().slug, Tab::Insights)))
    }
}
