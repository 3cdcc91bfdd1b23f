//! `GET /api/v1/orgs/{org}/ai/route?feature=…`: which provider serves a platform feature for
//! the org now, with its key when the org's own provider serves it (scope `ai:resolve`, API
//! tokens only). A thin translation of `ops::providers::release::resolve_route`, which
//! decides, opens the key and records the release. Every answer is `Cache-Control: no-store`.

use crate::api::errors::{BadRequest, Guarded};
use actix_web::{HttpResponse, http::header, web};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};

use super::auth::ApiCaller;
use crate::{
    error::AppError,
    ops::{
        OpError,
        providers::release::{self, Resolution, Served},
    },
    routing::ReasonCode,
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/ai/route", web::get().to(resolve_route));
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(resolve_route),
    components(schemas(RouteAnswer, RouteProvider, Credential, ReasonCode, RouteRefusal, RefusalDetail)),
    tags((name = "routing", description = "Route resolution for the platform's AI services")),
)]
pub struct Doc;

/// The query string.
#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    pub feature: Option<String>,
}

/// Who serves the feature now.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteAnswer {
    /// The feature asked about.
    #[schema(example = "summaries")]
    pub feature: &'static str,
    /// `byo`: the org's own provider (below); `platform`: the platform's provider.
    #[schema(example = "byo")]
    pub served_by: &'static str,
    /// One sentence on why.
    pub reason: &'static str,
    /// Why, as a code shared with What-runs-where and the relay's refusals:
    /// `active_provider` or `feature_route` (byo), `no_provider`, `tools_fallback` or
    /// `feature_route` (platform).
    #[schema(example = "feature_route")]
    pub reason_code: ReasonCode,
    /// The org's provider (`byo` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<RouteProvider>,
    /// Its key (`byo` only, and only when it has one). Never for the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
}

/// The org's provider that serves the feature.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteProvider {
    pub id: String,
    pub name: String,
    /// The kind (catalog slug): `openai`, `anthropic`, ….
    pub provider: &'static str,
    /// Where requests go (the kind's default when none was entered).
    pub base_url: Option<String>,
    /// The model to use.
    pub model: String,
    /// Kind-specific settings (deployment, api_version, region, supports_tools).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// The provider's key, released to this token (recorded as `credential.released`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub api_key: String,
}

impl From<Resolution> for RouteAnswer {
    fn from(r: Resolution) -> Self {
        let feature = r.feature.id();
        match r.served {
            Served::Byo { provider, key } => RouteAnswer {
                feature,
                served_by: "byo",
                reason: r.reason,
                reason_code: r.code,
                provider: Some(RouteProvider {
                    id: provider.id,
                    name: provider.name,
                    provider: provider.kind.as_str(),
                    base_url: provider.base_url,
                    model: provider.model,
                    config: provider.config,
                }),
                credential: key.map(|k| Credential {
                    api_key: k.expose_secret().to_owned(),
                }),
            },
            Served::Platform => RouteAnswer {
                feature,
                served_by: "platform",
                reason: r.reason,
                reason_code: r.code,
                provider: None,
                credential: None,
            },
        }
    }
}

/// The routing decision for one feature now. When the org's own provider serves it, the
/// answer carries the provider's kind, base URL, model, config and decrypted key, and the
/// release is recorded as `credential.released` (feature, token; never the key). A feature
/// nobody may serve (policy strict, Insights off) is a 409 with the reason: it fails closed,
/// never onto the platform's key.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/ai/route",
    tag = "routing",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("feature" = String, Query, description = "assistant, insights, cicd_generation, incident_analysis, summaries, stack_descriptions, triage, severity_grading or fix_proposals"),
    ),
    responses(
        (status = 200, description = "Who serves the feature (no-store)", body = RouteAnswer),
        Guarded,
        (status = 400, response = BadRequest),
        (status = 409, description = "Unavailable for this org (fails closed), with the reason as `reasonCode` and whether to ask again (`askAgain`, also `x-should-retry`): only `settings_changed` is worth asking again", body = RouteRefusal, headers(
            ("x-should-retry" = String, description = "`true` only when asking again may give another answer (`settings_changed`)"),
        )),
    ),
    security(("bearer" = ["ai:resolve"])),
)]
pub async fn resolve_route(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<RouteQuery>,
) -> Result<HttpResponse, AppError> {
    let resolution = match release::resolve_route(&state, &caller, query.feature.as_deref()).await {
        Ok(resolution) => resolution,
        Err(OpError::RouteRefused { code, message }) => {
            return Ok(HttpResponse::Conflict()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("x-should-retry", code.ask_again().to_string()))
                .json(RouteRefusal {
                    error: RefusalDetail {
                        code: "conflict",
                        message,
                        reason_code: code,
                        ask_again: code.ask_again(),
                    },
                }));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RouteAnswer::from(resolution)))
}

/// A route refused (409): the API's error body plus the routing reason, shared with the
/// answers and What-runs-where (`ReasonCode`, one enum).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RouteRefusal {
    pub error: RefusalDetail,
}

/// Why the feature can't be served now.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefusalDetail {
    /// `conflict`, as every 409 of the API.
    pub code: &'static str,
    /// A sentence for a person (names the reason code too).
    pub message: String,
    /// Why, as route answers and What-runs-where say it.
    pub reason_code: ReasonCode,
    /// Whether asking again may give another answer: only when the settings changed while
    /// the route was resolved; every other reason means give up until an admin changes them.
    pub ask_again: bool,
}
