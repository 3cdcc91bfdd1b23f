//! `/api/v1/orgs/{org}/ai-settings`: the org's AI settings as one record — the active
//! provider, routing policy, Insights switch, the prompt variant in use and what runs where
//! (DESIGN.md rules 6 and 7). Reading is `ops::settings::ai_settings`; a change goes through
//! `ops::settings::update_settings`, which hands each setting to the operation that owns it.
//! The record's `ETag` is the settings row's version.

use crate::api::errors::{Conflict, Guarded, JsonBody, PreconditionFailed};
use actix_web::{HttpRequest, HttpResponse, http::header::ETag, web};
use serde::{Deserialize, Serialize};

use super::{
    auth::ApiCaller,
    errors::ErrorBody,
    feature_routes::RouteSettingJson,
    json::{etag, if_match, precondition},
    providers::present,
};
use crate::{
    error::AppError,
    ops::{
        providers::platform_default,
        settings::{self as ops, AiSettings, UpdateSettings},
    },
    routing::{self, Feature, Policy, ReasonCode, Route},
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/ai-settings", web::get().to(get_ai_settings))
        .route(
            "/orgs/{org}/ai-settings",
            web::patch().to(update_ai_settings),
        );
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_ai_settings, update_ai_settings),
    components(schemas(AiSettingsJson, ActiveProviderJson, FeatureRoute, SettingsPatch)),
    tags((name = "settings", description = "The org's AI settings and what runs where")),
)]
pub struct Doc;

/// The org's AI settings.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiSettingsJson {
    /// The org's active provider; `null`: the platform default serves the org.
    pub active_provider: Option<ActiveProviderJson>,
    /// `fallback`: features the org's provider can't serve run on the platform's;
    /// `strict`: they are unavailable.
    #[schema(value_type = String, pattern = "^(fallback|strict)$")]
    pub routing_policy: &'static str,
    /// Whether Proactive AI Insights are on.
    pub insights_enabled: bool,
    /// The system-prompt variant in use (`platform`, `anthropic-native`,
    /// `openai-compatible`, `gemini-native`, `bedrock-converse`), derived from the active
    /// provider.
    #[schema(value_type = String)]
    pub prompt_variant: &'static str,
    /// One entry per AI feature of the platform: who serves it now.
    pub what_runs_where: Vec<FeatureRoute>,
    /// One entry per AI feature: how the org routes it (`inherit` unless a route says
    /// otherwise; set with `PUT …/ai-settings/features/{feature}`).
    pub feature_routes: Vec<RouteSettingJson>,
    /// The settings' version (the `ETag` is `"v{lockVersion}"`).
    pub lock_version: i32,
}

/// The active provider, named.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveProviderJson {
    /// `aip_…`
    pub id: String,
    pub name: String,
}

/// Who serves one feature now (the routing decision `GET …/ai/route` also makes).
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureRoute {
    /// The feature id (`assistant`, `insights`, `cicd_generation`, `incident_analysis`,
    /// `summaries`, `stack_descriptions`, `triage`, `severity_grading`, `fix_proposals`).
    #[schema(value_type = String)]
    pub feature: &'static str,
    #[schema(value_type = String)]
    pub label: &'static str,
    /// Whether the feature calls tools.
    pub needs_tools: bool,
    /// `byo` (the org's provider), `platform` or `unavailable` (fails closed).
    #[schema(value_type = String, pattern = "^(byo|platform|unavailable)$")]
    pub served_by: &'static str,
    /// The org's provider serving it (`byo` only).
    pub provider_id: Option<String>,
    /// The serving provider's kind slug; `null` when unavailable.
    pub provider: Option<String>,
    /// The model that serves it; `null` when unavailable.
    pub model: Option<String>,
    /// One sentence on why.
    #[schema(value_type = String)]
    pub reason: &'static str,
    /// Why, as a code (shared with `ai/route` and the relay).
    pub reason_code: ReasonCode,
}

impl AiSettingsJson {
    pub fn of(settings: &AiSettings, platform: &(String, String)) -> Self {
        let list = &settings.providers;
        let routing = list.routing();
        let what_runs_where = routing::matrix(&routing)
            .iter()
            .map(|(feature, route)| {
                let (provider_id, provider, model) = match route {
                    Route::Byo(active, _) => (
                        Some(active.id.to_owned()),
                        Some(active.kind.as_str().to_owned()),
                        Some(active.model.to_owned()),
                    ),
                    Route::Platform(_) => {
                        (None, Some(platform.0.clone()), Some(platform.1.clone()))
                    }
                    Route::Unavailable(_) => (None, None, None),
                };
                FeatureRoute {
                    feature: feature.id(),
                    label: feature.label(),
                    needs_tools: feature.needs_tools(),
                    served_by: route.server(),
                    provider_id,
                    provider,
                    model,
                    reason: route.reason(),
                    reason_code: route.code(),
                }
            })
            .collect();
        Self {
            active_provider: list.active_provider().map(|p| ActiveProviderJson {
                id: p.id.clone(),
                name: p.name.clone(),
            }),
            routing_policy: list.policy.as_str(),
            insights_enabled: list.insights_enabled,
            prompt_variant: settings.variant.id(),
            what_runs_where,
            feature_routes: Feature::ALL
                .iter()
                .map(|f| RouteSettingJson::of(*f, list.route_of(*f)))
                .collect(),
            lock_version: settings.lock_version(),
        }
    }
}

/// The settings to change; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsPatch {
    /// A provider id to activate (behind a live check: 422 if it fails), or `null` to go
    /// back to the platform default. Needs `aiProviders:activate`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub active_provider_id: Option<Option<String>>,
    /// `fallback` or `strict`. Needs `settings:update`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, pattern = "^(fallback|strict)$")]
    pub routing_policy: Option<String>,
    /// Proactive AI Insights on or off. Needs `settings:update`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub insights_enabled: Option<bool>,
}

fn answer(state: &AppState, settings: &AiSettings) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(etag(settings.lock_version())))
        .json(AiSettingsJson::of(settings, &platform_default(state)))
}

/// The org's AI settings and what runs where.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/ai-settings",
    tag = "settings",
    params(("org" = String, Path, description = "The org's slug")),
    responses(
        (status = 200, description = "The settings", body = AiSettingsJson, headers(
            ("ETag" = String, description = "The settings' version"),
        )),
        Guarded,
    ),
    security(("bearer" = ["settings:get"]), ("session" = [])),
)]
pub async fn get_ai_settings(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let settings = ops::ai_settings(&state, &caller).await?;
    Ok(answer(&state, &settings))
}

/// Changes some settings; each is its own audited change. The active provider is changed
/// first (its live check can fail: 422, nothing changed), then the policy, then Insights.
/// Needs `settings:get`, plus `settings:update` for the policy and Insights and
/// `aiProviders:activate` for the active provider — all checked before anything changes.
#[utoipa::path(
    patch,
    path = "/api/v1/orgs/{org}/ai-settings",
    tag = "settings",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 if the settings moved on"),
    ),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The settings now", body = AiSettingsJson, headers(
            ("ETag" = String, description = "The settings' new version"),
        )),
        Guarded,
        JsonBody,
        (status = 412, response = PreconditionFailed),
        (status = 409, response = Conflict),
        (status = 422, description = "The provider to activate does not exist in this org, has no key or failed its live check; nothing was changed", body = ErrorBody),
    ),
    security(
        ("bearer" = ["settings:get", "settings:update"]),
        ("bearer" = ["settings:get", "aiProviders:activate"]),
        ("session" = []),
    ),
)]
pub async fn update_ai_settings(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SettingsPatch>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner();
    let policy = match patch.routing_policy.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<Policy>().map_err(|_| {
            // Never echo the value: it might be a key sent in the wrong field.
            AppError::Validation("routingPolicy: expected fallback or strict.".to_owned())
        })?),
    };
    let expected = if_match(&req)?;
    let current = ops::ai_settings(&state, &caller).await?;
    precondition(expected, current.lock_version())?;
    let settings = ops::update_settings(
        &state,
        &caller,
        UpdateSettings {
            lock_version: Some(current.lock_version()),
            active_provider: patch.active_provider_id,
            policy,
            insights_enabled: patch.insights_enabled,
        },
    )
    .await?;
    Ok(answer(&state, &settings))
}
