//! `/`: the org picker (straight to the org when there is exactly one; support staff to
//! their console).

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;

use super::{Chrome, page, see_other, urls};
use crate::{auth::CurrentUser, error::AppResult, ops::orgs, state::AppState};

/// One org in a list.
pub struct OrgItem {
    pub slug: String,
    pub name: String,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    orgs: Vec<OrgItem>,
    support: bool,
}

/// `GET /`.
pub async fn org_picker(
    CurrentUser(user): CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let orgs = orgs::orgs_of_user(&state, &user).await?;
    if let [(org, _)] = orgs.as_slice()
        && !user.support
    {
        return Ok(see_other(&urls::ai_settings(&org.slug)));
    }
    if orgs.is_empty() && user.support {
        return Ok(see_other("/support/orgs"));
    }
    let orgs = orgs
        .into_iter()
        .map(|(o, r)| OrgItem {
            slug: o.slug,
            name: o.name,
            role: r.as_str(),
        })
        .collect();
    let chrome = Chrome::new(&session, "Organisations", Some(&user))?;
    page(
        StatusCode::OK,
        &HomePage {
            chrome,
            orgs,
            support: user.support,
        },
    )
}
