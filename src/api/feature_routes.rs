//! `/api/v1/orgs/{org}/ai-settings/features/{feature}`: set (`PUT`) or clear (`DELETE`) one
//! feature's route (DESIGN.md rule 6, issue 20). Thin translations of
//! `ops::providers::{set_feature_route, clear_feature_route}`; the routes are listed by
//! `GET …/ai-settings` (`featureRoutes`). Each route has its own version: the `ETag` is
//! `"v{lockVersion}"`, `"v0"` meaning no route yet; `If-Match` with another version is a
//! 409 (someone else changed the route), never an overwrite.

use actix_web::{HttpRequest, HttpResponse, http::header::ETag, web};
use serde::{Deserialize, Serialize};

use super::{
    auth::ApiCaller,
    errors::{BadRequest, Conflict, ErrorBody, Guarded, JsonBody, PreconditionFailed},
    json::{etag, if_match},
};
use crate::{
    error::AppError,
    ops::{
        providers::{self, FeatureRouteView, RouteChoice, SetRoute, release::parse_feature},
        settings as ops,
    },
    routing::Feature,
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/orgs/{org}/ai-settings/features/{feature}",
        web::put().to(set_feature_route),
    )
    .route(
        "/orgs/{org}/ai-settings/features/{feature}",
        web::delete().to(clear_feature_route),
    );
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(set_feature_route, clear_feature_route),
    components(schemas(RouteSettingJson, RouteBody))
)]
pub struct Doc;

/// One feature's route.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteSettingJson {
    /// The feature id.
    #[schema(value_type = String)]
    pub feature: &'static str,
    /// `inherit` (no route: the active provider and the policy decide), `provider`,
    /// `platform` or `off`.
    #[schema(value_type = String, pattern = "^(inherit|provider|platform|off)$")]
    pub mode: &'static str,
    /// The org's provider serving it (`provider` only).
    pub provider_id: Option<String>,
    /// That provider's name (`provider` only).
    pub provider_name: Option<String>,
    /// The route's own model; `null`: the provider's default model.
    pub model: Option<String>,
    /// The route's version (the `ETag` is `"v{lockVersion}"`); 0: no route.
    pub lock_version: i32,
}

impl RouteSettingJson {
    /// `route` of `feature` (`None`: inherit).
    pub fn of(feature: Feature, route: Option<&FeatureRouteView>) -> Self {
        let Some(route) = route else {
            return Self {
                feature: feature.id(),
                mode: "inherit",
                provider_id: None,
                provider_name: None,
                model: None,
                lock_version: 0,
            };
        };
        let (provider_id, model) = match &route.choice {
            RouteChoice::Provider { id, model } => (Some(id.clone()), model.clone()),
            _ => (None, None),
        };
        Self {
            feature: feature.id(),
            mode: route.choice.mode(),
            provider_id,
            provider_name: route.provider_name.clone(),
            model,
            lock_version: route.lock_version,
        }
    }
}

/// The route to set.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteBody {
    /// `inherit`, `provider`, `platform` or `off`. A `provider` route needs
    /// `aiProviders:activate` besides `settings:update`.
    #[schema(pattern = "^(inherit|provider|platform|off)$")]
    pub mode: String,
    /// The org's provider (`provider` only).
    #[serde(default)]
    pub provider_id: Option<String>,
    /// A model that provider lists (`provider` only); absent: its default model.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub model: Option<String>,
}

/// The version to write over: `If-Match`'s, else the current one.
async fn expected(
    state: &AppState,
    caller: &crate::ops::Caller,
    req: &HttpRequest,
    feature: Feature,
) -> Result<i32, AppError> {
    match if_match(req)? {
        Some(v) => Ok(v),
        None => Ok(ops::ai_settings(state, caller)
            .await?
            .providers
            .route_version(feature)),
    }
}

async fn answer(
    state: &AppState,
    caller: &crate::ops::Caller,
    feature: Feature,
) -> Result<HttpResponse, AppError> {
    let settings = ops::ai_settings(state, caller).await?;
    let route = settings.providers.route_of(feature);
    let json = RouteSettingJson::of(feature, route);
    Ok(HttpResponse::Ok()
        .insert_header(ETag(etag(json.lock_version)))
        .json(json))
}

/// Routes one feature: to one of the org's providers (its live check runs with the route's
/// model first: 422 if it fails, nothing changed), to the platform (refused under policy
/// strict), off, or back to `inherit`. Audited as `feature_route.set` / `.cleared`.
#[utoipa::path(
    put,
    path = "/api/v1/orgs/{org}/ai-settings/features/{feature}",
    tag = "settings",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("feature" = String, Path, description = "The feature id"),
        ("If-Match" = Option<String>, Header, description = "The route's ETag the change is based on (\"v0\": no route yet); 409 if the route moved on"),
    ),
    request_body = RouteBody,
    responses(
        (status = 200, description = "The route now", body = RouteSettingJson, headers(
            ("ETag" = String, description = "The route's new version"),
        )),
        Guarded,
        JsonBody,
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, description = "The provider has no key, lacks tool calling for a tool-using feature, or failed its live check with that model; or a platform route under policy strict. Nothing was changed", body = ErrorBody),
    ),
    security(
        ("bearer" = ["settings:get", "settings:update"]),
        ("bearer" = ["settings:get", "settings:update", "aiProviders:activate"]),
        ("session" = []),
    ),
)]
pub async fn set_feature_route(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<RouteBody>,
) -> Result<HttpResponse, AppError> {
    let feature = parse_feature(Some(&path.1))?;
    let body = body.into_inner();
    let choice = RouteChoice::parse(
        &body.mode,
        body.provider_id.as_deref(),
        body.model.as_deref(),
    )?;
    let lock_version = expected(&state, &caller, &req, feature).await?;
    providers::set_feature_route(
        &state,
        &caller,
        SetRoute {
            feature,
            choice,
            lock_version,
        },
    )
    .await?;
    answer(&state, &caller, feature).await
}

/// Clears one feature's route: back to `inherit`. Audited as `feature_route.cleared`.
#[utoipa::path(
    delete,
    path = "/api/v1/orgs/{org}/ai-settings/features/{feature}",
    tag = "settings",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("feature" = String, Path, description = "The feature id"),
        ("If-Match" = Option<String>, Header, description = "The route's ETag the change is based on; 409 if the route moved on"),
    ),
    responses(
        (status = 200, description = "The route now (inherit)", body = RouteSettingJson, headers(
            ("ETag" = String, description = "\"v0\": no route"),
        )),
        (status = 400, response = BadRequest),
        Guarded,
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    ),
    security(
        ("bearer" = ["settings:get", "settings:update"]),
        ("session" = []),
    ),
)]
pub async fn clear_feature_route(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let feature = parse_feature(Some(&path.1))?;
    let lock_version = expected(&state, &caller, &req, feature).await?;
    providers::clear_feature_route(&state, &caller, feature, lock_version).await?;
    answer(&state, &caller, feature).await
}
