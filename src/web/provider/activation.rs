//! The activation preview (`GET …/providers/{id}/activate`): what would change in What runs
//! where, now → after, with the form that confirms it.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

use super::super::{Chrome, OrgHeader, Tab, frame::org_frame, tab, urls};
use super::{
    ProviderPath,
    matrix::{self, MatrixRow},
    platform,
};
use crate::{auth::context::OrgContext, error::AppResult, ops::providers, state::AppState};

/// One feature whose server would change.
pub struct ChangeRow {
    pub label: &'static str,
    pub now: String,
    pub then: String,
    pub then_reason: &'static str,
}

#[derive(Template)]
#[template(path = "provider/activate.html", blocks = ["content"])]
pub struct ActivatePage {
    chrome: Chrome,
    org: OrgHeader,
    name: String,
    changes: Vec<ChangeRow>,
    action: String,
    cancel_href: String,
}

/// `GET …/providers/{id}/activate`: what activating would change — the matrix rows whose
/// server changes — and a button to confirm. Without JavaScript a page of its own; with
/// htmx it replaces the tab body in place.
pub async fn activation_preview(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let list = providers::activation_preview(&state, &ctx.caller, id).await?;
    let platform = platform(&state);
    let show = |row: &MatrixRow| format!("{} ({})", row.served_by, row.model);
    let changes = matrix::changes(&list.routing(), &list.routing_with_active(id), &platform)
        .into_iter()
        .map(|(now, then)| ChangeRow {
            label: now.label,
            now: show(&now),
            then: if then.server == "unavailable" {
                then.served_by.clone()
            } else {
                show(&then)
            },
            then_reason: then.reason,
        })
        .collect();
    let name = list
        .providers
        .iter()
        .find(|p| &p.id == id)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let slug = &ctx.org().slug;
    let (chrome, org) = org_frame(&session, &ctx, "Activate provider", Some(Tab::Provider))?;
    let page = ActivatePage {
        chrome,
        org,
        name,
        changes,
        action: urls::provider_action(slug, id, "activate"),
        cancel_href: urls::provider_tab(slug),
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}
