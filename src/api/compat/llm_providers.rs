//! Seed 002's custom LLM providers: `GET|POST /api/v1/llm-providers`,
//! `PATCH|DELETE /api/v1/llm-providers/{id}`, `POST /api/v1/llm-providers/{id}/activate|test`,
//! `POST /api/v1/llm-providers/deactivate`, `GET /api/v1/llm-providers/catalog`.
//!
//! snake_case fields: `kind` (`openai`, `anthropic`, `gemini`, `azure`,
//! `openai_compatible`), `name`, `model`, `api_key` (write-only), `endpoint`, `api_version`;
//! records carry `key_set` and, for callers who may see a key's preview (admins, DESIGN.md
//! rule 5), `last4`. Each kind maps onto a catalog kind (`gemini` = `google`,
//! `openai_compatible` = `custom`); an Azure `endpoint` is the deployment URL
//! (`https://r.openai.azure.com/openai/deployments/d`), split into the resource endpoint and
//! the deployment. Everything else is the native operations' doing: the live check on
//! save, 422 when activation's check fails, 409 when deleting the active provider.

use actix_web::{HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::caller::TokenCaller;
use crate::{
    api::{errors::ErrorBody, providers::present},
    error::AppError,
    ops::providers::{self as ops, KeyDisplay, KeyInput, ProviderInput, ProviderView},
    providers::{
        ProviderKind,
        catalog::{BaseUrlSpec, Tools},
    },
    state::AppState,
};

/// This surface's routes, relative to `/api/v1`. `catalog` and `deactivate` come before
/// `{id}` so they are never taken for a provider id.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/llm-providers", web::get().to(list_llm_providers))
        .route("/llm-providers", web::post().to(create_llm_provider))
        .route(
            "/llm-providers/catalog",
            web::get().to(llm_provider_catalog),
        )
        .route(
            "/llm-providers/deactivate",
            web::post().to(deactivate_llm_provider),
        )
        .route("/llm-providers/{id}", web::patch().to(update_llm_provider))
        .route("/llm-providers/{id}", web::delete().to(delete_llm_provider))
        .route(
            "/llm-providers/{id}/activate",
            web::post().to(activate_llm_provider),
        )
        .route(
            "/llm-providers/{id}/test",
            web::post().to(test_llm_provider),
        );
}

/// This surface's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_llm_providers,
        create_llm_provider,
        update_llm_provider,
        delete_llm_provider,
        activate_llm_provider,
        deactivate_llm_provider,
        test_llm_provider,
        llm_provider_catalog
    ),
    components(schemas(
        LlmKind,
        LlmProviderJson,
        LlmCheckJson,
        NewLlmProvider,
        LlmProviderPatch,
        TestPassed,
        TestFailed,
        LlmDeactivated,
        LlmCatalogEntry
    )),
    tags((
        name = "llm-providers (seed 002)",
        description = "Custom LLM providers as their own document describes them (served with SWITCHBOARD_COMPAT_APIS=on; API tokens only). The native API is /api/v1/orgs/{org}/providers."
    )),
)]
pub struct Doc;

const TAG: &str = "llm-providers (seed 002)";

/// The document's provider kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LlmKind {
    /// OpenAI (native): the catalog's `openai`.
    Openai,
    /// Anthropic (native): `anthropic`.
    Anthropic,
    /// Google Gemini (native): `google`.
    Gemini,
    /// Azure OpenAI: `azure`.
    Azure,
    /// Any endpoint that speaks OpenAI chat-completions: created as the catalog's `custom`;
    /// xAI, Groq, Ollama, gateway and custom records are shown as it.
    OpenaiCompatible,
}

impl LlmKind {
    const ALL: [LlmKind; 5] = [
        LlmKind::Openai,
        LlmKind::Anthropic,
        LlmKind::Gemini,
        LlmKind::Azure,
        LlmKind::OpenaiCompatible,
    ];

    fn as_str(self) -> &'static str {
        match self {
            LlmKind::Openai => "openai",
            LlmKind::Anthropic => "anthropic",
            LlmKind::Gemini => "gemini",
            LlmKind::Azure => "azure",
            LlmKind::OpenaiCompatible => "openai_compatible",
        }
    }

    /// The document's label.
    fn label(self) -> &'static str {
        match self {
            LlmKind::Openai => "OpenAI (native)",
            LlmKind::Anthropic => "Anthropic (native)",
            LlmKind::Gemini => "Google Gemini (native)",
            LlmKind::Azure => "Azure OpenAI",
            LlmKind::OpenaiCompatible => "OpenAI-compatible",
        }
    }

    /// Parsed without echoing a wrong value (a key pasted into the wrong field must not
    /// come back in the error).
    fn parse(text: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                AppError::Validation(
                    "kind: unknown kind; expected one of openai, anthropic, gemini, azure, openai_compatible.".to_owned(),
                )
            })
    }

    /// The catalog kind a new provider of this kind gets.
    fn native(self) -> ProviderKind {
        match self {
            LlmKind::Openai => ProviderKind::Openai,
            LlmKind::Anthropic => ProviderKind::Anthropic,
            LlmKind::Gemini => ProviderKind::Google,
            LlmKind::Azure => ProviderKind::Azure,
            LlmKind::OpenaiCompatible => ProviderKind::Custom,
        }
    }

    /// How the document names a catalog kind (`None`: Bedrock, which it has no kind for).
    fn of(kind: ProviderKind) -> Option<Self> {
        match kind {
            ProviderKind::Openai => Some(LlmKind::Openai),
            ProviderKind::Anthropic => Some(LlmKind::Anthropic),
            ProviderKind::Google => Some(LlmKind::Gemini),
            ProviderKind::Azure => Some(LlmKind::Azure),
            ProviderKind::Xai
            | ProviderKind::Groq
            | ProviderKind::Ollama
            | ProviderKind::Gateway
            | ProviderKind::Custom => Some(LlmKind::OpenaiCompatible),
            ProviderKind::Bedrock => None,
        }
    }
}

/// A provider as the document describes it. Never the key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LlmProviderJson {
    /// `aip_…`.
    pub id: String,
    /// The document's kind; `null` for a kind it has no name for (Amazon Bedrock, made in
    /// the console or the native API).
    pub kind: Option<LlmKind>,
    /// The catalog kind (`GET /api/v1/catalog`), which `kind` summarises.
    pub provider: ProviderKind,
    pub name: String,
    pub model: String,
    /// The base URL as entered (`null`: the kind's default); for Azure the deployment URL.
    pub endpoint: Option<String>,
    /// Azure only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Whether a key is stored.
    pub key_set: bool,
    /// The key's last four characters: only for callers with admin access (members and
    /// support see `key_set` alone), and only for keys long enough to have a preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
    /// Whether this is the org's active provider (the one every AI feature reads).
    pub active: bool,
    pub last_check: LlmCheckJson,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The last live check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LlmCheckJson {
    /// `ok`, `failed` or `unverified`.
    pub status: String,
    /// Why it failed (`auth_rejected`, `model_not_found`, …).
    pub code: Option<String>,
    pub message: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// The path segment the Azure data-plane puts before a deployment's name.
const DEPLOYMENTS: &str = "/openai/deployments/";

impl LlmProviderJson {
    pub fn of(view: &ProviderView) -> Self {
        let endpoint = match (view.kind, &view.base_url, &view.deployment) {
            (ProviderKind::Azure, Some(base), Some(deployment)) => Some(format!(
                "{}{DEPLOYMENTS}{deployment}",
                base.trim_end_matches('/')
            )),
            (_, base, _) => base.clone(),
        };
        let last4 = match &view.key {
            KeyDisplay::Preview(preview) => preview
                .rsplit_once("...")
                .map(|(_, last4)| last4.to_owned())
                .filter(|l| !l.is_empty()),
            KeyDisplay::None | KeyDisplay::Set => None,
        };
        Self {
            id: view.id.clone(),
            kind: LlmKind::of(view.kind),
            provider: view.kind,
            name: view.name.clone(),
            model: view.default_model.clone(),
            endpoint,
            api_version: view
                .api_version
                .clone()
                .filter(|_| view.kind == ProviderKind::Azure),
            key_set: view.key != KeyDisplay::None,
            last4,
            active: view.active,
            last_check: LlmCheckJson {
                status: view.last_check.status.as_str().to_owned(),
                code: view.last_check.code.clone(),
                message: view.last_check.message.clone(),
                checked_at: view.last_check.checked_at,
            },
            created_at: view.created_at,
            updated_at: view.updated_at,
        }
    }
}

/// An Azure endpoint as the document gives it: the deployment URL
/// (`…/openai/deployments/{name}`) is split into the resource endpoint and the deployment;
/// any other URL is the resource endpoint itself (the deployment is then the model).
fn azure_endpoint(endpoint: &str) -> (String, Option<String>) {
    let trimmed = endpoint.trim().trim_end_matches('/');
    if let Some(at) = trimmed.find(DEPLOYMENTS) {
        let name = trimmed[at + DEPLOYMENTS.len()..]
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        if !name.is_empty() {
            return (trimmed[..at].to_owned(), Some(name.to_owned()));
        }
    }
    (endpoint.to_owned(), None)
}

/// A provider to add. Required: `kind`, `name`, `model`, `api_key`; Azure also `endpoint`
/// (the deployment URL) and `api_version`; OpenAI-compatible also `endpoint`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLlmProvider {
    #[schema(value_type = LlmKind)]
    pub kind: String,
    /// Unique in the org, at most 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(min_length = 1)]
    pub model: String,
    /// Write-only: never returned.
    #[schema(write_only, format = Password, min_length = 1)]
    pub api_key: String,
    /// The base URL (absent: the kind's default); Azure: the deployment URL.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Azure: the API version (e.g. `2024-10-21`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// OpenAI-compatible endpoints: whether the model handles tool calls (default `false`).
    #[serde(default)]
    pub supports_tools: Option<bool>,
}

/// The fields to change; absent fields stay. A new `api_key` rotates the key; a new `kind`
/// or `endpoint` needs `api_key` again (so a saved key never goes to another host).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmProviderPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = LlmKind)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, write_only, format = Password, min_length = 1)]
    pub api_key: Option<String>,
    /// `null`: the kind's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub endpoint: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub api_version: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub supports_tools: Option<bool>,
}

/// A passing test.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestPassed {
    /// Always `true`.
    pub ok: bool,
}

/// A failing test (422).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestFailed {
    /// Always `false`.
    pub ok: bool,
    /// Why, in a sentence (never the key).
    pub error: String,
    /// The check's code: `auth_rejected`, `model_not_found`, `rate_limited`,
    /// `quota_exhausted`, `bad_api_version`, `unreachable`, `timeout`, `tls`,
    /// `blocked_address` or `bad_response`.
    pub code: String,
}

/// What `POST /llm-providers/deactivate` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LlmDeactivated {
    /// Always `true`.
    pub ok: bool,
    /// Whether a provider was active (`false`: the platform defaults already served).
    pub changed: bool,
}

/// One kind of the catalog, in the document's terms.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LlmCatalogEntry {
    pub kind: LlmKind,
    pub label: &'static str,
    /// The fields a create must carry.
    pub required_fields: Vec<&'static str>,
    /// The fields a create may carry.
    pub optional_fields: Vec<&'static str>,
    pub example_models: Vec<&'static str>,
}

impl LlmCatalogEntry {
    /// The entry of `kind`, derived from the catalog entry of the kind it creates.
    fn of(kind: LlmKind) -> Self {
        let entry = kind.native().entry();
        let mut required = vec!["kind", "name", "model", "api_key"];
        let mut optional = Vec::new();
        match entry.base_url {
            BaseUrlSpec::Required => required.push("endpoint"),
            BaseUrlSpec::Default { .. } | BaseUrlSpec::FromRegion { .. } => {
                optional.push("endpoint");
            }
        }
        for field in entry.extra_fields {
            // Azure's deployment is part of its endpoint (the deployment URL).
            let name = match field.name {
                "deployment" => continue,
                other => other,
            };
            match field.required {
                true => required.push(name),
                false => optional.push(name),
            }
        }
        if entry.tools == Tools::AdminSays && !optional.contains(&"supports_tools") {
            optional.push("supports_tools");
        }
        Self {
            kind,
            label: kind.label(),
            required_fields: required,
            optional_fields: optional,
            example_models: entry.example_models.to_vec(),
        }
    }
}

/// List all provider records of the token's org (`aiProviders:list`), oldest first, as a
/// bare array. API keys are never included.
#[utoipa::path(
    get,
    path = "/api/v1/llm-providers",
    tag = TAG,
    responses(
        (status = 200, description = "The org's providers", body = [LlmProviderJson]),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:list", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:list"])),
)]
pub async fn list_llm_providers(
    caller: TokenCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let list = ops::list_providers_for_api(&state, &caller.0).await?;
    let body: Vec<LlmProviderJson> = list.providers.iter().map(LlmProviderJson::of).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Create a provider (`aiProviders:create`). The native create: the key's prefix is
/// checked, then a live check runs; on failure nothing is saved (422).
#[utoipa::path(
    post,
    path = "/api/v1/llm-providers",
    tag = TAG,
    request_body = NewLlmProvider,
    responses(
        (status = 201, description = "Saved", body = LlmProviderJson),
        (status = 400, description = "Bad input: a missing or invalid field (Azure needs endpoint and api_version)", body = ErrorBody),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:create", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The live check failed; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:create"])),
)]
pub async fn create_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    body: web::Json<NewLlmProvider>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let kind = LlmKind::parse(&body.kind)?;
    let (base_url, deployment) = match (kind, body.endpoint) {
        (LlmKind::Azure, Some(endpoint)) => {
            let (base, deployment) = azure_endpoint(&endpoint);
            (
                Some(base),
                Some(deployment.unwrap_or_else(|| body.model.clone())),
            )
        }
        (_, endpoint) => (endpoint, None),
    };
    let input = ProviderInput {
        kind: kind.native(),
        name: body.name,
        default_model: body.model,
        base_url,
        deployment,
        api_version: body.api_version,
        region: None,
        supports_tools: body.supports_tools.unwrap_or(false),
        key: KeyInput::New(SecretString::from(body.api_key)),
        extra_headers: Default::default(),
        save_unverified: false,
    };
    let view = ops::create_provider(&state, &caller.0, input).await?;
    Ok(HttpResponse::Created().json(LlmProviderJson::of(&view)))
}

/// Update provider fields (`aiProviders:get` to read the record, `aiProviders:update`): the
/// native partial update. A new `api_key` rotates the key; a change is checked live before
/// it is saved (422 on failure, nothing saved).
#[utoipa::path(
    patch,
    path = "/api/v1/llm-providers/{id}",
    tag = TAG,
    params(("id" = String, Path, description = "The provider's id (`aip_…`)")),
    request_body = LlmProviderPatch,
    responses(
        (status = 200, description = "Saved", body = LlmProviderJson),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks a scope", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
        (status = 409, description = "Someone else changed it meanwhile; nothing was saved", body = ErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The live check failed, or a new kind or endpoint needs api_key again; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:get", "aiProviders:update"])),
)]
pub async fn update_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<LlmProviderPatch>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let body = body.into_inner();
    let current = ops::get_provider(&state, &caller.0, &id).await?;
    // The document's kind of the record's catalog kind is no change (`openai_compatible`
    // on a Groq record stays Groq).
    let kind = match body.kind.as_deref().map(LlmKind::parse).transpose()? {
        Some(k) if LlmKind::of(current.kind) == Some(k) => None,
        other => other.map(LlmKind::native),
    };
    let azure = kind.unwrap_or(current.kind) == ProviderKind::Azure;
    let (base_url, deployment) = match body.endpoint {
        None => (None, None),
        Some(None) => (Some(None), None),
        Some(Some(endpoint)) if azure => {
            let (base, deployment) = azure_endpoint(&endpoint);
            (
                Some(Some(base)),
                deployment.or_else(|| body.model.clone()).map(Some),
            )
        }
        Some(Some(endpoint)) => (Some(Some(endpoint)), None),
    };
    let patch = ops::ProviderPatch {
        kind,
        name: body.name,
        default_model: body.model,
        base_url,
        deployment,
        api_version: body.api_version,
        supports_tools: body.supports_tools,
        key: body
            .api_key
            .map_or(KeyInput::Keep, |k| KeyInput::New(SecretString::from(k))),
        lock_version: Some(current.lock_version),
        ..ops::ProviderPatch::default()
    };
    let view =
        ops::patch_provider(&state, &caller.0, &id, patch, |_| Ok::<(), AppError>(())).await?;
    Ok(HttpResponse::Ok().json(LlmProviderJson::of(&view)))
}

/// Delete a provider (`aiProviders:delete`). Returns 409 if it is currently active.
#[utoipa::path(
    delete,
    path = "/api/v1/llm-providers/{id}",
    tag = TAG,
    params(("id" = String, Path, description = "The provider's id (`aip_…`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:delete", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
        (status = 409, description = "It is the active provider", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:delete"])),
)]
pub async fn delete_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ops::delete_provider(&state, &caller.0, &path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set this provider as the org-active one (`aiProviders:activate`). Runs a live credential
/// check; returns 422 on failure (nothing changes).
#[utoipa::path(
    post,
    path = "/api/v1/llm-providers/{id}/activate",
    tag = TAG,
    params(("id" = String, Path, description = "The provider's id (`aip_…`)")),
    responses(
        (status = 200, description = "Active", body = LlmProviderJson),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:activate", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
        (status = 422, description = "No key, or the live check failed; nothing changed", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:activate"])),
)]
pub async fn activate_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = ops::activate_provider(&state, &caller.0, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(LlmProviderJson::of(&view)))
}

/// Deactivate the current provider and revert to the platform defaults
/// (`aiProviders:activate`); the records are kept.
#[utoipa::path(
    post,
    path = "/api/v1/llm-providers/deactivate",
    tag = TAG,
    responses(
        (status = 200, description = "The platform defaults serve the org", body = LlmDeactivated),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:activate", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:activate"])),
)]
pub async fn deactivate_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let changed = ops::deactivate(&state, &caller.0).await?;
    Ok(HttpResponse::Ok().json(LlmDeactivated { ok: true, changed }))
}

/// Run a standalone credential check without activating (`aiProviders:test`); the result
/// is recorded on the provider. `{ "ok": true }`, or 422 with `ok: false` and the error.
#[utoipa::path(
    post,
    path = "/api/v1/llm-providers/{id}/test",
    tag = TAG,
    params(("id" = String, Path, description = "The provider's id (`aip_…`)")),
    responses(
        (status = 200, description = "The check passed", body = TestPassed),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
        (status = 403, description = "The token lacks aiProviders:test", body = ErrorBody),
        (status = 404, description = "No such provider in the token's org", body = ErrorBody),
        (status = 422, description = "The check failed (`ok: false`, `error`, `code`)", body = TestFailed),
    ),
    security(("bearer" = ["aiProviders:test"])),
)]
pub async fn test_llm_provider(
    caller: TokenCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, outcome) = ops::test_provider(&state, &caller.0, &path.into_inner()).await?;
    if outcome.ok {
        return Ok(HttpResponse::Ok().json(TestPassed { ok: true }));
    }
    Ok(
        HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(TestFailed {
            ok: false,
            error: outcome.message.clone(),
            code: outcome
                .code
                .map_or("bad_response", |c| c.as_str())
                .to_owned(),
        }),
    )
}

/// List supported provider kinds, required fields, and example model names for each kind
/// (any API token).
#[utoipa::path(
    get,
    path = "/api/v1/llm-providers/catalog",
    tag = TAG,
    responses(
        (status = 200, description = "The kinds", body = [LlmCatalogEntry]),
        (status = 401, description = "No valid API token (a console session is not accepted)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn llm_provider_catalog(_caller: TokenCaller) -> Result<HttpResponse, AppError> {
    let body: Vec<LlmCatalogEntry> = LlmKind::ALL.into_iter().map(LlmCatalogEntry::of).collect();
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_azure_deployment_url_splits_into_endpoint_and_deployment() {
        assert_eq!(
            azure_endpoint("https://r.openai.azure.com/openai/deployments/gpt4o/"),
            (
                "https://r.openai.azure.com".to_owned(),
                Some("gpt4o".to_owned())
            )
        );
        assert_eq!(
            azure_endpoint("https://r.openai.azure.com/openai/deployments/d/chat/completions"),
            (
                "https://r.openai.azure.com".to_owned(),
                Some("d".to_owned())
            )
        );
        assert_eq!(
            azure_endpoint("https://r.openai.azure.com"),
            ("https://r.openai.azure.com".to_owned(), None)
        );
    }

    #[test]
    fn every_catalog_kind_but_bedrock_has_a_document_kind() {
        for kind in ProviderKind::ALL {
            assert_eq!(LlmKind::of(kind).is_none(), kind == ProviderKind::Bedrock);
        }
        for kind in LlmKind::ALL {
            assert_eq!(LlmKind::of(kind.native()), Some(kind));
            assert_eq!(LlmKind::parse(kind.as_str()).unwrap(), kind);
        }
        let azure = LlmCatalogEntry::of(LlmKind::Azure);
        assert!(azure.required_fields.contains(&"endpoint"));
        assert!(azure.required_fields.contains(&"api_version"));
        assert!(!azure.required_fields.contains(&"deployment"));
    }
}
