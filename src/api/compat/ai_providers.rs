//! Seed 001's AI Providers Module: `GET|POST /api/v1/ai-providers`,
//! `GET|PATCH|DELETE /api/v1/ai-providers/{aiProviderId}`.
//!
//! Its field names are the native API's (`secretId`, `name`, `provider`, `defaultModel`,
//! `baseUrl`, `config`), plus `projectId`: the org's slug (the token's org; a body or query
//! naming another org is a 404). So a body is the native body with `projectId` taken out,
//! read by the native request types (unknown fields refused, values never echoed) and
//! handed to the same operations. A record is the document's data model exactly; lists are
//! bare arrays. The key is write-only (`apiKey`, or `secretId` to share an existing one) and
//! never comes back: the document's model has no key field at all.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ETag},
    web,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::caller::TokenCaller;
use crate::{
    api::{
        errors::ErrorBody,
        json::{describe, etag, if_match, precondition},
        providers::{ConfigJson, NewProvider, ProviderJson, ProviderPatch},
    },
    error::AppError,
    ops::providers::{self as ops, ProviderView},
    providers::ProviderKind,
    state::AppState,
};

/// This surface's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ai-providers", web::get().to(list_ai_providers))
        .route("/ai-providers", web::post().to(create_ai_provider))
        .route(
            "/ai-providers/{aiProviderId}",
            web::get().to(get_ai_provider),
        )
        .route(
            "/ai-providers/{aiProviderId}",
            web::patch().to(update_ai_provider),
        )
        .route(
            "/ai-providers/{aiProviderId}",
            web::delete().to(delete_ai_provider),
        );
}

/// This surface's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_ai_providers,
        create_ai_provider,
        get_ai_provider,
        update_ai_provider,
        delete_ai_provider
    ),
    components(schemas(AiProviderJson, NewAiProvider, AiProviderPatch)),
    tags((
        name = "ai-providers (seed 001)",
        description = "The AI Providers Module as its own document describes it (served with SWITCHBOARD_COMPAT_APIS=on; API tokens only). The native API is /api/v1/orgs/{org}/providers."
    )),
)]
pub struct Doc;

/// An AI provider as the AI Providers Module describes it. Never the key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiProviderJson {
    /// Public identifier (`aip_…`).
    pub id: String,
    /// The owning project: the org's slug.
    pub project_id: String,
    /// Public id of the linked secret (`sec_…`), or `null` without a key.
    pub secret_id: Option<String>,
    /// Human-readable label.
    pub name: String,
    /// Provider slug.
    pub provider: ProviderKind,
    /// Default model name sent to the provider API.
    pub default_model: String,
    /// Override base URL; `null`: the kind's default.
    pub base_url: Option<String>,
    /// The kind-specific configuration (`deployment`, `apiVersion`, `region`,
    /// `supportsTools`); `null` when the kind takes none.
    pub config: Option<ConfigJson>,
    /// ISO 8601 creation timestamp.
    pub created_at: DateTime<Utc>,
    /// ISO 8601 last-updated timestamp.
    pub updated_at: DateTime<Utc>,
}

impl AiProviderJson {
    /// The record of `view`, through the native JSON (so both show the same fields alike).
    pub fn of(org: &str, view: &ProviderView) -> Self {
        let native = ProviderJson::of(org, view);
        let c = &native.config;
        let empty = c.deployment.is_none()
            && c.api_version.is_none()
            && c.region.is_none()
            && c.supports_tools.is_none();
        Self {
            id: native.id,
            project_id: native.org_id,
            secret_id: native.secret_id,
            name: native.name,
            provider: native.provider,
            default_model: native.default_model,
            base_url: native.base_url,
            config: (!empty).then_some(native.config),
            created_at: native.created_at,
            updated_at: native.updated_at,
        }
    }
}

/// A provider to add: the native `NewProvider` plus `projectId`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAiProvider {
    /// The org's slug; optional (the token's org). Another org's ⇒ 404.
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(flatten)]
    pub provider: NewProvider,
}

/// The fields to change: the native `ProviderPatch` plus `projectId` (which can't move a
/// provider: another org's ⇒ 404). `secretId: null` unlinks the key (the native
/// `removeKey`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AiProviderPatch {
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(flatten)]
    pub patch: ProviderPatch,
}

/// `?projectId=` on the list (optional; another org's ⇒ 404).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    #[serde(default)]
    pub project_id: Option<String>,
}

/// A JSON body as a map, with `projectId` taken out (a string or `null`; anything else is
/// a 400 that quotes nothing).
fn take_project(body: &mut Map<String, Value>) -> Result<Option<String>, AppError> {
    match body.remove("projectId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AppError::Validation(
            "The body is invalid: projectId must be a string (the org's slug).".to_owned(),
        )),
    }
}

/// Reads the rest of a body as the native request type `T`, with the native errors.
fn native<T: serde::de::DeserializeOwned>(body: Map<String, Value>) -> Result<T, AppError> {
    serde_json::from_value(Value::Object(body)).map_err(|e| AppError::Validation(describe(&e)))
}

fn record(status: actix_web::http::StatusCode, org: &str, view: &ProviderView) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(view.lock_version)))
        .json(AiProviderJson::of(org, view))
}

/// List providers (`aiProviders:ListAiProviders`): every provider of the token's org,
/// oldest first, as a bare array.
#[utoipa::path(
    get,
    path = "/api/v1/ai-providers",
    tag = "ai-providers (seed 001)",
    params(("projectId" = Option<String>, Query, description = "The org's slug (optional; another org's is a 404)")),
    responses(
        (status = 200, description = "The org's providers", body = [AiProviderJson]),
        (status = 400, description = "A malformed query string", body = ErrorBody),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:ListAiProviders (aiProviders:list)", body = ErrorBody),
        (status = 404, description = "projectId names another org", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:list"])),
)]
pub async fn list_ai_providers(
    caller: TokenCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    caller.check_project(query.project_id.as_deref())?;
    let list = ops::list_providers_for_api(&state, &caller.0).await?;
    let org = caller.org_slug();
    let body: Vec<AiProviderJson> = list
        .providers
        .iter()
        .map(|p| AiProviderJson::of(org, p))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Create provider (`aiProviders:CreateAiProvider`). The native create: the key's prefix
/// is checked, then a live check runs; on failure nothing is saved (422) unless
/// `saveUnverified`.
#[utoipa::path(
    post,
    path = "/api/v1/ai-providers",
    tag = "ai-providers (seed 001)",
    request_body = NewAiProvider,
    responses(
        (status = 201, description = "Saved", body = AiProviderJson, headers(
            ("ETag" = String, description = "The record's version"),
            ("Location" = String, description = "The new record's URL"),
        )),
        (status = 400, description = "Bad input (a field, a malformed body, an unknown secretId)", body = ErrorBody),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:CreateAiProvider (aiProviders:create)", body = ErrorBody),
        (status = 404, description = "projectId names another org", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The live check failed, or the linked key may not go to this host; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:create"])),
)]
pub async fn create_ai_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, AppError> {
    let mut body = body.into_inner();
    caller.check_project(take_project(&mut body)?.as_deref())?;
    let input = native::<NewProvider>(body)?.into_input()?;
    let view = ops::create_provider(&state, &caller.0, input).await?;
    let mut res = record(
        actix_web::http::StatusCode::CREATED,
        caller.org_slug(),
        &view,
    );
    res.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&format!("/api/v1/ai-providers/{}", view.id))
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(res)
}

/// Get a provider (`aiProviders:GetAiProvider`).
#[utoipa::path(
    get,
    path = "/api/v1/ai-providers/{aiProviderId}",
    tag = "ai-providers (seed 001)",
    params(("aiProviderId" = String, Path, description = "The provider's id (`aip_…`)")),
    responses(
        (status = 200, description = "The provider", body = AiProviderJson, headers(
            ("ETag" = String, description = "The record's version"),
        )),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:GetAiProvider (aiProviders:get)", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:get"])),
)]
pub async fn get_ai_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = ops::get_provider(&state, &caller.0, &path.into_inner()).await?;
    Ok(record(
        actix_web::http::StatusCode::OK,
        caller.org_slug(),
        &view,
    ))
}

/// Update provider (`aiProviders:UpdateAiProvider`, and `aiProviders:GetAiProvider` to read
/// the record the change is laid over): the native partial update, the same rules (a new
/// `provider` or `baseUrl` needs the key again; any change but unlinking the key runs the
/// live check again, 422 on failure). `secretId: null` unlinks the key; on the active
/// provider that reverts the org to the platform default, as removing the key does.
#[utoipa::path(
    patch,
    path = "/api/v1/ai-providers/{aiProviderId}",
    tag = "ai-providers (seed 001)",
    params(
        ("aiProviderId" = String, Path, description = "The provider's id (`aip_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; 412 if the record moved on"),
    ),
    request_body = AiProviderPatch,
    responses(
        (status = 200, description = "Saved", body = AiProviderJson, headers(
            ("ETag" = String, description = "The record's new version"),
        )),
        (status = 400, description = "Bad input (a field, a malformed body, an unknown secretId)", body = ErrorBody),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks a scope", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org, or projectId names another org", body = ErrorBody),
        (status = 409, description = "Someone else changed it meanwhile; nothing was saved", body = ErrorBody),
        (status = 412, description = "If-Match names another version; nothing was saved", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The live check failed, or the key must be entered again; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:get", "aiProviders:update"])),
)]
pub async fn update_ai_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut body = body.into_inner();
    caller.check_project(take_project(&mut body)?.as_deref())?;
    // `secretId: null` (the document's "no linked secret") is the native `removeKey`.
    if body.get("secretId") == Some(&Value::Null) {
        body.remove("secretId");
        if body.contains_key("removeKey") {
            return Err(AppError::Validation(
                "Send either secretId: null or removeKey, not both.".to_owned(),
            ));
        }
        body.insert("removeKey".to_owned(), Value::Bool(true));
    }
    let patch = native::<ProviderPatch>(body)?.into_patch()?;
    let expected = if_match(&req)?;
    let view = ops::patch_provider(&state, &caller.0, &id, patch, |current| {
        precondition(expected, current.lock_version)
    })
    .await?;
    Ok(record(
        actix_web::http::StatusCode::OK,
        caller.org_slug(),
        &view,
    ))
}

/// Delete provider (`aiProviders:DeleteAiProvider`): refused (409) while it is the active
/// one. Its secret goes when no other provider uses it.
#[utoipa::path(
    delete,
    path = "/api/v1/ai-providers/{aiProviderId}",
    tag = "ai-providers (seed 001)",
    params(
        ("aiProviderId" = String, Path, description = "The provider's id (`aip_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on (checked with aiProviders:get); 412 if the record moved on"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:DeleteAiProvider (aiProviders:delete)", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
        (status = 409, description = "It is the active provider", body = ErrorBody),
        (status = 412, description = "If-Match names another version; nothing was deleted", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:delete"])),
)]
pub async fn delete_ai_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if let Some(expected) = if_match(&req)? {
        let current = ops::get_provider(&state, &caller.0, &id).await?;
        precondition(Some(expected), current.lock_version)?;
    }
    ops::delete_provider(&state, &caller.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
