//! `/support/orgs`: support staff's console of every org, searchable by name and slug, with
//! each org's mode, provider count and last change. Opening an org is read-only and
//! recorded in its trail (`auth::context`).

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{Chrome, page, urls};
use crate::{
    auth::CurrentUser,
    error::AppResult,
    ops::{orgs, providers::platform_default},
    providers::catalog::catalog,
    state::AppState,
};

/// One org as the console lists it.
pub struct OrgRow {
    pub name: String,
    pub slug: String,
    pub href: String,
    pub audit_href: String,
    pub mode: String,
    pub platform: bool,
    pub providers: i64,
    pub last_change: String,
}

#[derive(Template)]
#[template(path = "support/orgs.html")]
struct SupportOrgsPage {
    chrome: Chrome,
    q: String,
    orgs: Vec<OrgRow>,
    more: bool,
    limit: usize,
    platform: String,
}

fn kind_label(kind: &str) -> &str {
    catalog()
        .iter()
        .find(|e| e.slug == kind)
        .map_or(kind, |e| e.label)
}

/// The search box's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

/// `GET /support/orgs?q=`: support staff only; anyone else gets a 404.
pub async fn support_orgs(
    CurrentUser(user): CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    let q = query.q.clone().unwrap_or_default();
    let mut rows = orgs::support_overview(&state, &user, &q).await?;
    let more = rows.len() > orgs::OVERVIEW_LIMIT;
    rows.truncate(orgs::OVERVIEW_LIMIT);
    let orgs = rows
        .into_iter()
        .map(|o| OrgRow {
            href: urls::ai_settings(&o.slug),
            audit_href: urls::tab(&o.slug, super::Tab::Audit),
            mode: match (&o.active_kind, &o.active_model) {
                (Some(kind), Some(model)) => format!("{} · {model}", kind_label(kind)),
                _ => "Platform default".to_owned(),
            },
            platform: o.active_kind.is_none(),
            providers: o.providers,
            last_change: o.last_change.map_or("never".to_owned(), |t| {
                t.format("%Y-%m-%d %H:%M UTC").to_string()
            }),
            name: o.name,
            slug: o.slug,
        })
        .collect();
    let (kind, model) = platform_default(&state);
    let chrome = Chrome::new(&session, "All organisations", Some(&user))?;
    page(
        StatusCode::OK,
        &SupportOrgsPage {
            chrome,
            q: q.trim().to_owned(),
            orgs,
            more,
            limit: orgs::OVERVIEW_LIMIT,
            platform: format!("{} · {model}", kind_label(&kind)),
        },
    )
}
