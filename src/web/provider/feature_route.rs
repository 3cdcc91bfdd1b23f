//! The What-runs-where editor (issue 20): per feature a route — inherit, one of the org's
//! providers with an optional model, the platform, or off. Choosing one opens a preview
//! (`GET …/provider/features/{feature}/route`, like the activation preview: the rows whose
//! server or model would change), whose form applies it (`POST`, the same URL). Both work
//! as plain requests without JavaScript; htmx swaps them into the tab in place.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::super::{Chrome, OrgHeader, Tab, frame::org_frame, tab, urls};
use super::{
    actions::{answer, refusal},
    activation::ChangeRow,
    matrix::{self, MatrixRow, describe},
    platform,
};
use crate::{
    auth::{Flash, context::OrgContext},
    error::AppResult,
    ops::{
        OpError,
        providers::{self, RouteChange, RouteChoice, SetRoute, release},
    },
    routing::Feature,
    state::AppState,
};

/// The route chosen in a row's control: `choice` is `inherit`, `platform`, `off` or
/// `provider:{id}`; `model` is optional (a provider's only).
#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    #[serde(default)]
    pub choice: String,
    #[serde(default)]
    pub model: Option<String>,
}

/// The confirmed route, against the version the preview showed.
#[derive(Debug, Deserialize)]
pub struct RouteForm {
    #[serde(default)]
    pub choice: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub lock_version: i32,
}

/// Parses a row's control into a choice.
fn choice_of(choice: &str, model: Option<&str>) -> Result<RouteChoice, OpError> {
    match choice.split_once(':') {
        Some(("provider", id)) => RouteChoice::parse("provider", Some(id), model),
        _ => RouteChoice::parse(choice, None, model.filter(|m| !m.trim().is_empty())),
    }
}

#[derive(Template)]
#[template(path = "provider/route.html", blocks = ["content"])]
pub struct RoutePreviewPage {
    chrome: Chrome,
    org: OrgHeader,
    feature: &'static str,
    now: String,
    then: String,
    changes: Vec<ChangeRow>,
    action: String,
    cancel_href: String,
    choice: String,
    model: String,
    lock_version: i32,
    checks: bool,
}

fn feature_of(id: &str) -> Result<Feature, OpError> {
    release::parse_feature(Some(id))
}

/// `GET …/provider/features/{feature}/route?choice=…&model=…`: what the route would change,
/// and the form that applies it.
pub async fn route_preview(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<RouteQuery>,
) -> AppResult<HttpResponse> {
    let feature = feature_of(&path.1)?;
    let choice = choice_of(&query.choice, query.model.as_deref())?;
    let list = providers::route_preview(&state, &ctx.caller, &choice).await?;
    let platform = platform(&state);
    let show = |row: &MatrixRow| format!("{} ({})", row.served_by, row.model);
    let changes = matrix::changes(
        &list.routing(),
        &list.routing_with_route(feature, &choice),
        &platform,
    )
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
    let now = list
        .route_of(feature)
        .map_or(RouteChoice::Inherit, |r| r.choice.clone());
    let slug = &ctx.org().slug;
    let (chrome, org) = org_frame(&session, &ctx, "Route a feature", Some(Tab::Provider))?;
    let page = RoutePreviewPage {
        chrome,
        org,
        feature: feature.label(),
        now: describe(&list, &now),
        then: describe(&list, &choice),
        changes,
        action: urls::feature_route(slug, feature.id()),
        cancel_href: urls::provider_tab(slug),
        choice: query.choice.clone(),
        model: query.model.clone().unwrap_or_default(),
        lock_version: list.route_version(feature),
        checks: matches!(choice, RouteChoice::Provider { .. }),
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}

/// `POST …/provider/features/{feature}/route`: applies the route (a provider's live check
/// with the route's model runs first); answers with the tab and the outcome.
pub async fn set_feature_route(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<RouteForm>,
) -> AppResult<HttpResponse> {
    let feature = feature_of(&path.1)?;
    let outcome = match choice_of(&form.choice, form.model.as_deref()) {
        Err(e) => Err(refusal(e, "")?),
        Ok(choice) => {
            let input = SetRoute {
                feature,
                choice,
                lock_version: form.lock_version,
            };
            match providers::set_feature_route(&state, &ctx.caller, input).await {
                Ok(RouteChange::Saved { .. }) => Ok(Flash::ok(format!(
                    "{} is routed as you chose.",
                    feature.label()
                ))),
                Ok(RouteChange::Unchanged) => Ok(Flash::ok("Nothing to change.")),
                Err(e) => Err(refusal(e, "The provider")?),
            }
        }
    };
    answer(&req, &ctx, &session, &state, outcome).await
}
