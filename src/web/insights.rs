//! The Insights tab: whether Proactive AI Insights are on for the org, who changed it and
//! when; admins toggle it (htmx swaps the tab, a plain form post redirects back).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, OrgHeader, Tab, see_other, tab, tab_url, wants_fragment};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    models::{
        ai_settings::{self, OrgAiSettings},
        audit::NewEvent,
        user,
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

/// `GET /orgs/{org}/settings/ai`: the first tab that exists.
pub async fn default_tab(ctx: OrgContext) -> HttpResponse {
    see_other(&tab_url(&ctx.org.slug, Tab::BUILT[0]))
}

/// Renders the tab. `known` is the row as a write just returned it, changed by the caller
/// (saves reading it back); otherwise it is read with the name of whoever changed it last.
/// `flash` is shown in place of any queued message (an htmx answer shows it at once).
async fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    status: StatusCode,
    known: Option<OrgAiSettings>,
    flash: Option<Flash>,
) -> AppResult<HttpResponse> {
    let (settings, changed_by) = match known {
        Some(settings) => (settings, Some(ctx.user.display_name().to_owned())),
        None => {
            let mut conn = state.conn().await?;
            let (settings, updater) = ai_settings::with_updater(&mut conn, ctx.org.id).await?;
            let changed_by = updater.map(|(name, email)| user::label(&name, &email).to_owned());
            (settings, changed_by)
        }
    };
    let view = InsightsView {
        enabled: settings.insights_enabled,
        lock_version: settings.lock_version,
        changed_by,
        changed_at: settings.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        action: tab_url(&ctx.org.slug, Tab::Insights),
    };
    let mut chrome = Chrome::new(
        session,
        format!("Insights · {}", ctx.org.name),
        Some(&ctx.user),
    )?;
    if flash.is_some() {
        chrome.flash = flash;
    }
    let page = InsightsPage {
        chrome,
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
    render(&req, &ctx, &session, &state, StatusCode::OK, None, None).await
}

/// The toggle form.
#[derive(Deserialize)]
pub struct InsightsForm {
    enabled: String,
    lock_version: i32,
}

enum Outcome {
    Saved(OrgAiSettings),
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
            let Some(saved) =
                ai_settings::set_insights_if(conn, ctx.org.id, expected, enabled, ctx.user.id, now)
                    .await?
            else {
                // Nothing written: tell a stale form from a switch already in that position.
                let (current, _) = ai_settings::with_updater(conn, ctx.org.id).await?;
                return Ok(if current.lock_version == expected {
                    Outcome::Unchanged
                } else {
                    Outcome::Conflict
                });
            };
            NewEvent {
                org_id: Some(ctx.org.id),
                actor: &actor,
                action: if enabled {
                    "insights.enabled"
                } else {
                    "insights.disabled"
                },
                target: format!("org:{}", ctx.org.slug),
                // The update only matched a row whose switch was the other way.
                before: Some(serde_json::json!({ "insightsEnabled": !enabled })),
                after: Some(serde_json::json!({ "insightsEnabled": enabled })),
                meta: &ctx.meta,
            }
            .record(conn)
            .await?;
            Ok(Outcome::Saved(saved))
        })
        .await?;
    drop(conn);

    let (status, ok, message, known) = match outcome {
        Outcome::Saved(saved) => {
            let message = if saved.insights_enabled {
                "Proactive AI Insights are now on."
            } else {
                "Proactive AI Insights are now off."
            };
            (StatusCode::OK, true, message, Some(saved))
        }
        Outcome::Unchanged => (StatusCode::OK, true, "Nothing to change.", None),
        Outcome::Conflict => (
            StatusCode::CONFLICT,
            false,
            "Someone else changed this setting while you were looking. Here is the current state; try again if you still want to change it.",
            None,
        ),
    };
    if wants_fragment(&req) || status == StatusCode::CONFLICT {
        // Answered now: the message goes into this answer, not through the session.
        let flash = Flash {
            ok,
            message: message.to_owned(),
        };
        render(&req, &ctx, &session, &state, status, known, Some(flash)).await
    } else {
        set_flash(&session, ok, message);
        Ok(see_other(&tab_url(&ctx.org.slug, Tab::Insights)))
    }
}
