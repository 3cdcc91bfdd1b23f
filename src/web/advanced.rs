//! The Advanced tab, read-only for everyone: the system-prompt variant in use, why, its text,
//! the routing policy and the enabled skills appended to the prompt.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{Chrome, OrgHeader, Tab, frame::org_frame, skills::SkillView, tab};
use crate::{
    auth::context::OrgContext, error::AppResult, ops::settings, prompts::Variant, routing::Policy,
    state::AppState,
};

#[derive(Template)]
#[template(path = "advanced/tab.html", blocks = ["content"])]
pub struct AdvancedPage {
    chrome: Chrome,
    org: OrgHeader,
    variant: Variant,
    /// "Name (Kind, model m)" of the active provider; `None`: the platform default.
    active: Option<String>,
    policy: Policy,
    insights_enabled: bool,
    skills: Vec<SkillView>,
    /// (feature, variant id) where a feature route uses another variant.
    feature_variants: Vec<(&'static str, &'static str)>,
}

/// `GET /orgs/{org}/settings/ai/advanced`.
pub async fn show_advanced(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let a = settings::advanced(&state, &ctx.caller).await?;
    let (chrome, org) = org_frame(&session, &ctx, "Advanced", Some(Tab::Advanced))?;
    let page = AdvancedPage {
        chrome,
        org,
        variant: a.variant,
        active: a
            .active
            .map(|(name, kind, model)| format!("{name} ({}, model {model})", kind.entry().label)),
        policy: a.policy,
        insights_enabled: a.insights_enabled,
        skills: a.skills.into_iter().map(SkillView::from).collect(),
        feature_variants: a
            .feature_variants
            .iter()
            .map(|(f, v)| (f.label(), v.id()))
            .collect(),
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}
