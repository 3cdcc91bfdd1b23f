//! The MCP tools: each one is a thin translation of an operation in `crate::ops`, called
//! with the [`Caller`] the bearer token authenticated (see [`super::http`]). Scopes are the
//! operations' own: a tool never decides a permission.
//!
//! A failed operation is a tool error (`isError: true`) whose text is the REST API's error
//! body, `{"error": {"code", "status", "message"}}`: the model reading it learns what went
//! wrong (which scope is missing, which field is invalid) and can act on it. Arguments that
//! don't fit the input schema are such a tool error too (`validation`, 400), as MCP
//! 2025-11-25 asks: JSON-RPC errors are left for protocol problems (an unknown tool).

use actix_web::web;
use rmcp::Json;
use rmcp::{
    ErrorData, ServerHandler,
    handler::server::{
        common::{AsRequestContext, FromContextPart},
        router::tool::ToolRouter,
        tool::IntoCallToolResult,
    },
    model::{CallToolResponse, CallToolResult, ContentBlock},
    tool, tool_handler, tool_router,
};

use super::models::ListingError;
use super::{
    io::{
        AiSettingsJson, ClearFeatureRoute, CreateProvider, Deactivated, DeletedOutput,
        OutcomeAccepted, ProviderId, ProviderListOutput, ProviderOutput, RouteFeature,
        SetFeatureRoute, Tested, UpdateProvider, UpdateSettings, provider_output,
    },
    schema::{Out, Parameters},
};
use crate::{
    api::{
        ai_route::RouteAnswer, feature_routes::RouteSettingJson, outcomes::OutcomeBody,
        providers::ModelListJson,
    },
    error::AppError,
    ops::{
        Caller, OpError, Scope, ScopeSet, health,
        providers::{self, release},
        settings,
    },
    routing::Feature,
    state::AppState,
};

/// Who calls, put into the HTTP request's extensions by [`super::http`] once the bearer
/// token is authenticated; rmcp hands the request's parts to every tool call.
#[derive(Clone)]
pub struct Authenticated {
    pub state: web::Data<AppState>,
    pub caller: Caller,
}

impl<C: AsRequestContext> FromContextPart<C> for Authenticated {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        context
            .as_request_context()
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Authenticated>())
            .cloned()
            // Unreachable through `/mcp` (the bridge authenticates first): fail closed.
            .ok_or_else(|| ErrorData::internal_error("no authenticated caller", None))
    }
}

/// A failed operation, as a tool error.
pub struct ToolError(pub AppError);

impl From<OpError> for ToolError {
    fn from(e: OpError) -> Self {
        Self(e.into())
    }
}

impl From<AppError> for ToolError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        let error = self.0;
        if let AppError::Internal(cause) = &error {
            tracing::error!(error = ?cause, "internal error in an MCP tool");
        }
        let body = serde_json::json!({ "error": {
            "code": error.code(),
            "status": actix_web::ResponseError::status_code(&error).as_u16(),
            "message": error.public_message(),
        }});
        Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
    }
}

/// The MCP server: its tools, and nothing kept between requests.
#[derive(Clone)]
pub struct Switchboard {
    tool_router: ToolRouter<Self>,
}

impl Default for Switchboard {
    fn default() -> Self {
        Self {
            tool_router: Self::tool_router() + Self::record_tools(),
        }
    }
}

#[tool_router]
impl Switchboard {
    #[tool(
        name = "list-ai-providers",
        description = "The org's AI providers (oldest first) and which one is active. Keys are never shown: `keySet` says whether one is stored. Scope aiProviders:list.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_ai_providers(
        &self,
        who: Authenticated,
    ) -> Result<Json<Out<ProviderListOutput>>, ToolError> {
        let list = providers::list_providers_for_api(&who.state, &who.caller).await?;
        Ok(Json(Out(ProviderListOutput::of(&who.caller, list))))
    }

    #[tool(
        name = "get-ai-provider",
        description = "One AI provider of the org. Scope aiProviders:get.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ProviderId>,
    ) -> Result<Json<Out<ProviderOutput>>, ToolError> {
        let view = providers::get_provider(&who.state, &who.caller, &input?.ai_provider_id).await?;
        Ok(Json(Out(provider_output(&who.caller, &view))))
    }

    #[tool(
        name = "create-ai-provider",
        description = "Adds an AI provider to the org. The key is checked live against the provider before anything is saved (unless saveUnverified); on a failed check nothing is written. Scope aiProviders:create.",
        annotations(
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<CreateProvider>,
    ) -> Result<Json<Out<ProviderOutput>>, ToolError> {
        let view =
            providers::create_provider(&who.state, &who.caller, input?.into_input()?).await?;
        Ok(Json(Out(provider_output(&who.caller, &view))))
    }

    #[tool(
        name = "update-ai-provider",
        description = "Changes an AI provider: fields left out keep their value. The result is checked live before it is saved (unless saveUnverified). Scopes aiProviders:get and aiProviders:update.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn update_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<UpdateProvider>,
    ) -> Result<Json<Out<ProviderOutput>>, ToolError> {
        let (id, patch) = input?.into_patch()?;
        let view = providers::patch_provider(&who.state, &who.caller, &id, patch, |_| {
            Ok::<(), OpError>(())
        })
        .await?;
        Ok(Json(Out(provider_output(&who.caller, &view))))
    }

    #[tool(
        name = "delete-ai-provider",
        description = "Deletes an AI provider (refused while it is active: deactivate it first). Its key goes when no other provider shares it. Scope aiProviders:delete.",
        annotations(
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn delete_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ProviderId>,
    ) -> Result<Json<Out<DeletedOutput>>, ToolError> {
        let id = input?.ai_provider_id;
        providers::delete_provider(&who.state, &who.caller, &id).await?;
        Ok(Json(Out(DeletedOutput { id, deleted: true })))
    }

    #[tool(
        name = "test-ai-provider",
        description = "Runs a live check of a saved provider with its stored key and records the result. A failed check is a result (ok: false), not an error. Scope aiProviders:test.",
        annotations(
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn test_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ProviderId>,
    ) -> Result<Json<Out<Tested>>, ToolError> {
        let (view, outcome) =
            providers::test_provider(&who.state, &who.caller, &input?.ai_provider_id).await?;
        Ok(Json(Out(Tested::of(
            &outcome,
            provider_output(&who.caller, &view),
        ))))
    }

    #[tool(
        name = "list-provider-models",
        description = "The models a saved provider's endpoint lists (OpenAI-compatible /models, Ollama tags, Gemini, Anthropic, Bedrock foundation models), fetched with its stored key and cached a few minutes. A failed listing is an error whose code is the check's (timeout, unreachable, blocked_address, auth_rejected, ...). Scope aiProviders:test.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn list_provider_models(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ProviderId>,
    ) -> Result<Json<Out<ModelListJson>>, ListingError> {
        let id = input?.ai_provider_id;
        let listed = providers::models::list_provider_models(&who.state, &who.caller, &id).await?;
        Ok(Json(Out(ModelListJson::of(&id, listed))))
    }

    #[tool(
        name = "activate-ai-provider",
        description = "Makes a provider the one that serves the org's AI features, after a live check passes; on a failed check (422) nothing changes. Scope aiProviders:activate.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn activate_ai_provider(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ProviderId>,
    ) -> Result<Json<Out<ProviderOutput>>, ToolError> {
        let view =
            providers::activate_provider(&who.state, &who.caller, &input?.ai_provider_id).await?;
        Ok(Json(Out(provider_output(&who.caller, &view))))
    }

    #[tool(
        name = "deactivate-ai-provider",
        description = "Goes back to the platform default provider; the org's providers are kept. Scope aiProviders:activate.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn deactivate_ai_provider(
        &self,
        who: Authenticated,
    ) -> Result<Json<Out<Deactivated>>, ToolError> {
        let changed = providers::deactivate(&who.state, &who.caller).await?;
        Ok(Json(Out(Deactivated { changed })))
    }

    #[tool(
        name = "get-ai-settings",
        description = "The org's AI settings: active provider, routing policy, Proactive AI Insights, the prompt variant in use, what runs where (who serves each AI feature now, with its reasonCode) and each feature's route (featureRoutes). Scope settings:get.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_ai_settings(
        &self,
        who: Authenticated,
    ) -> Result<Json<Out<AiSettingsJson>>, ToolError> {
        let settings = settings::ai_settings(&who.state, &who.caller).await?;
        Ok(Json(Out(settings_output(&who, &settings))))
    }

    #[tool(
        name = "update-ai-settings",
        description = "Changes the routing policy and/or Proactive AI Insights in one step; fields left out stay. (The active provider changes with activate-ai-provider and deactivate-ai-provider.) Scope settings:update.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn update_ai_settings(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<UpdateSettings>,
    ) -> Result<Json<Out<AiSettingsJson>>, ToolError> {
        let input = input?;
        let change = settings::UpdateSettings {
            lock_version: input.lock_version,
            active_provider: None,
            policy: input.routing_policy,
            insights_enabled: input.insights_enabled,
        };
        let settings = settings::update_settings(&who.state, &who.caller, change).await?;
        Ok(Json(Out(settings_output(&who, &settings))))
    }

    #[tool(
        name = "set-feature-route",
        description = "Routes one AI feature: to one of the org's providers (optionally with its own model; its live check with that model runs first, 422 if it fails), to the platform default (refused under policy strict), off, or back to inherit. Stale lockVersion: 409. Scope settings:update, plus aiProviders:activate for a provider.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn set_feature_route(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<SetFeatureRoute>,
    ) -> Result<Json<Out<RouteSettingJson>>, ToolError> {
        let input = input?;
        let feature = release::parse_feature(Some(&input.feature))?;
        let choice = providers::RouteChoice::parse(
            &input.mode,
            input.provider_id.as_deref(),
            input.model.as_deref(),
        )?;
        let lock_version = route_version(&who, feature, input.lock_version).await?;
        providers::set_feature_route(
            &who.state,
            &who.caller,
            providers::SetRoute {
                feature,
                choice,
                lock_version,
            },
        )
        .await?;
        Ok(Json(Out(route_output(&who, feature).await?)))
    }

    #[tool(
        name = "resolve-ai-route",
        description = "Who serves one AI feature for the org now (as GET /api/v1/orgs/{org}/ai/route answers a service): servedBy platform or byo, why (reasonCode), the org's provider (kind, model, base URL, config), relayUrl (where the relay injects the key) and the answer's version. Never the key, whatever the token's scopes: credentialWithheld says the provider has one. A feature nobody may serve (policy strict, Insights off) is a conflict tool error naming the reason. Scope ai:resolve.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn resolve_ai_route(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<RouteFeature>,
    ) -> Result<Json<Out<RouteAnswer>>, ToolError> {
        let input = input?;
        // An agent never receives a key: resolve as if the token had no ai:release (so
        // nothing is opened, released or recorded).
        let mut caller = who.caller.clone();
        let keyless: Vec<Scope> = Scope::ALL
            .into_iter()
            .filter(|s| *s != Scope::AiRelease)
            .collect();
        caller.scopes = caller.scopes.intersect(ScopeSet::of(&keyless));
        match release::resolve_route(&who.state, &caller, Some(&input.feature), None).await? {
            release::Answer::Full(resolution) => Ok(Json(Out(RouteAnswer::from(resolution)))),
            release::Answer::NotModified { .. } => Err(ToolError(AppError::Internal(
                anyhow::anyhow!("a route answer without If-None-Match was not modified"),
            ))),
        }
    }

    #[tool(
        name = "report-ai-outcome",
        description = "Reports how one call to the org's provider went (as POST /api/v1/orgs/{org}/ai/outcomes): counted in the org's per-minute usage (the Provider tab's last 24 hours); a failure on the provider's side schedules an immediate re-check, and a failed re-check marks the provider as needing attention. Never a body, a prompt or a key. Scope ai:resolve.",
        annotations(
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn report_ai_outcome(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<OutcomeBody>,
    ) -> Result<Json<Out<OutcomeAccepted>>, ToolError> {
        health::report_outcome(&who.state, &who.caller, input?.into()).await?;
        Ok(Json(Out(OutcomeAccepted { accepted: true })))
    }

    #[tool(
        name = "clear-feature-route",
        description = "Clears one AI feature's route: back to inherit (the active provider and the routing policy decide). Stale lockVersion: 409. Scope settings:update.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn clear_feature_route(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<ClearFeatureRoute>,
    ) -> Result<Json<Out<RouteSettingJson>>, ToolError> {
        let input = input?;
        let feature = release::parse_feature(Some(&input.feature))?;
        let lock_version = route_version(&who, feature, input.lock_version).await?;
        providers::clear_feature_route(&who.state, &who.caller, feature, lock_version).await?;
        Ok(Json(Out(route_output(&who, feature).await?)))
    }
}

/// The version to write over: the caller's, else the route's current one.
async fn route_version(
    who: &Authenticated,
    feature: Feature,
    given: Option<i32>,
) -> Result<i32, ToolError> {
    match given {
        Some(v) => Ok(v),
        None => Ok(settings::ai_settings(&who.state, &who.caller)
            .await?
            .providers
            .route_version(feature)),
    }
}

/// The route of `feature` now, as the REST API shows it.
async fn route_output(
    who: &Authenticated,
    feature: Feature,
) -> Result<RouteSettingJson, ToolError> {
    let settings = settings::ai_settings(&who.state, &who.caller).await?;
    Ok(RouteSettingJson::of(
        feature,
        settings.providers.route_of(feature),
    ))
}

/// The settings as the REST API shows them.
fn settings_output(who: &Authenticated, settings: &settings::AiSettings) -> AiSettingsJson {
    AiSettingsJson::of(settings, &providers::platform_default(&who.state))
}

#[tool_handler(
    router = self.tool_router,
    name = "switchboard",
    instructions = "Switchboard: choose and manage the LLM provider behind an organisation's AI features. The bearer token decides the org and what you may do (its scopes); keys are write-only and never shown."
)]
impl ServerHandler for Switchboard {}
