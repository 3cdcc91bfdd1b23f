//! The Insights tab: whether Proactive AI Insights are on for the org, who changed it and
//! when; admins toggle it (htmx swaps the tab, a plain form post redirects back).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, OrgHeader, Tab, see_other, tab, tab_url, wants_fragment};
use crate::{
    auth::{context::OrgContext, set_flash},
    error::{AppError, AppResult},
    models::{ai_settings, audit::NewEvent},
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

/// `GET /orgs/{org}/settings/ai`: the first tab that exists.
pub async fn default_tab(ctx: OrgContext) -> HttpResponse {
    see_other(&tab_url(&ctx.org.slug, Tab::BUILT[0]))
}

async fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let (settings, updater) = ai_settings::with_updater(&mut conn, ctx.org.id).await?;
    let view = InsightsView {
        enabled: settings.insights_enabled,
        lock_version: settings.lock_version,
        changed_by: updater.map(|(name, email)| if name.trim().is_empty() { email } else { name }),
        changed_at: settings.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        action: tab_url(&ctx.org.slug, Tab::Insights),
    };
    let page = InsightsPage {
        chrome: Chrome::new(
            session,
            format!("Insights · {}", ctx.org.name),
            Some(&ctx.user),
        )?,
        org: OrgHeader::new(ctx, Some(Tab::Insights)),
        view,
    };
    tab(req, status, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/insights`.
pub async fn show_insights(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render(&req, &ctx, &session, &state, StatusCode::OK).await
}

/// The toggle form.
#[derive(Deserialize)]
pub struct InsightsForm {
    enabled: String,
    lock_version: i32,
}

enum Outcome {
    Saved(bool),
    Unchanged,
    Conflict,
}

/// `POST /orgs/{org}/settings/ai/insights`: sets the switch and writes the audit event in one
/// transaction; a stale `lock_version` is a conflict, never an overwrite.
pub async fn update_insights(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<InsightsForm>,
) -> AppResult<HttpResponse> {
    ctx.require_admin()?;
    let enabled = match form.enabled.as_str() {
        "true" | "on" => true,
        "false" | "off" => false,
        _ => {
            return Err(AppError::Validation(
                "enabled must be true or false".to_owned(),
            ));
        }
    };
    let expected = form.lock_version;
    let now = state.clock.now();
    let actor = ctx.actor();
    let mut conn = state.conn().await?;
    let outcome =
        diesel_async::AsyncConnection::transaction::<_, AppError, _>(&mut *conn, async |conn| {
            let current = ai_settings::lock(conn, ctx.org.id).await?;
            if current.lock_version != expected {
                return Ok(Outcome::Conflict);
            }
            if current.insights_enabled == enabled {
                return Ok(Outcome::Unchanged);
            }
            ai_settings::set_insights(conn, ctx.org.id, enabled, ctx.user.id, now).await?;
            NewEvent {
                org_id: Some(ctx.org.id),
                actor: &actor,
                action: if enabled {
                    "insights.enabled"
                } else {
                    "insights.disabled"
                },
                target: format!("org:{}", ctx.org.slug),
                before: Some(serde_json::json!({ "insightsEnabled": current.insights_enabled })),
                after: Some(serde_json::json!({ "insightsEnabled": enabled })),
                meta: &ctx.meta,
            }
            .record(conn)
            .await?;
            Ok(Outcome::Saved(enabled))
        })
        .await?;
    drop(conn);

    let (status, ok, message) = match outcome {
        Outcome::Saved(true) => (StatusCode::OK, true, "Proactive AI Insights are now on."),
        Outcome::Saved(false) => (StatusCode::OK, true, "Proactive AI Insights are now off."),
        Outcome::Unchanged => (StatusCode::OK, true, "Nothing to change."),
        Outcome::Conflict => (
            StatusCode::CONFLICT,
            false,
            "Someone else changed this setting while you were looking. Here is the current state; try again if you still want to change it.",
        ),
    };
    set_flash(&session, ok, message);
    if wants_fragment(&req) || status == StatusCode::CONFLICT {
        render(&req, &ctx, &session, &state, status).await
    } else {
        Ok(see_other(&tab_url(&ctx.org.slug, Tab::Insights)))
    }
}
