//! The relay (`/relay/orgs/{org}/features/{feature}/…`, issue 21 item 1) in the OpenAPI
//! document, under its own tag. Documentation only: the relay is served by `crate::relay`
//! (outside `/api/v1`, with refusals of its own), and these two operations say what a client
//! may send it and what comes back. `{path}` is the provider's own path (`chat/completions`,
//! `v1/messages`, …): its `/` may be sent as it is or as `%2F`.

use crate::api::ai_route::RouteRefusal;
use crate::api::errors::{BadRequest, ErrorBody, Guarded, TooLarge};

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(relay_call, relay_list),
    tags((name = "relay", description = "The relay: an SDK's base URL, so the provider's key never leaves Switchboard")),
)]
pub struct Doc;

/// A provider call through the relay. The body passes unchanged; its `model` (Gemini, Azure
/// and Bedrock: the path's model or deployment) must be the one the feature is routed to.
/// Only each protocol's inference paths are relayed (DESIGN.md "Platform services"):
/// OpenAI-compatible `chat/completions`, `completions`, `embeddings`, `responses`;
/// Anthropic `v1/messages`, `v1/messages/count_tokens`; Gemini
/// `v1beta/models/{model}:generateContent|streamGenerateContent|countTokens`; Azure
/// `openai/deployments/{deployment}/chat/completions|completions|embeddings`; Ollama
/// `api/chat`, `api/generate`; Bedrock `model/{modelId}/converse|converse-stream|invoke|
/// invoke-with-response-stream`. The Switchboard token (`ai:relay`) goes where the SDK puts
/// its API key: `Authorization: Bearer`, `x-api-key`, `api-key` or `x-goog-api-key`; the
/// provider's own key is added by the relay. Refusals of the relay's own carry
/// `x-should-retry: false`, except `429` and `503` (`Retry-After: 1`).
#[utoipa::path(
    post,
    path = "/relay/orgs/{org}/features/{feature}/{path}",
    tag = "relay",
    params(
        ("org" = String, Path, description = "The org's slug (the token's own org)"),
        ("feature" = String, Path, description = "The feature the call is for: assistant, insights, cicd_generation, incident_analysis, summaries, stack_descriptions, triage, severity_grading or fix_proposals"),
        ("path" = String, Path, description = "The provider's own path, e.g. chat/completions or v1/messages"),
    ),
    request_body(content = Object, description = "The provider's request body, unchanged (a Content-Length is required; 20 MiB at most by default)", content_type = "application/json"),
    responses(
        (status = 200, description = "The provider's answer as it comes: JSON, or a stream (`text/event-stream`, AWS event stream) passed on chunk by chunk. A provider's error passes with its status, a redacted body and `x-switchboard-error-code`"),
        (status = 400, response = BadRequest),
        Guarded,
        (status = 409, description = "The feature is not served by the org's own provider (`served_by_platform`), is unavailable, or the body names another model (`model_not_routed`)", body = RouteRefusal, headers(
            ("x-should-retry" = String, description = "`true` only for `settings_changed`"),
        )),
        (status = 411, description = "No Content-Length (a chunked body is not relayed)", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 502, description = "The provider could not be reached, or answered a redirect", body = ErrorBody),
        (status = 504, description = "The provider did not answer in time", body = ErrorBody),
    ),
    security(("bearer" = ["ai:relay"])),
)]
#[allow(dead_code)]
fn relay_call() {}

/// A model list through the relay: OpenAI-compatible `models`, Anthropic `v1/models`,
/// Gemini `v1beta/models`, Ollama `api/tags`. Listing models is not held to the route's model.
#[utoipa::path(
    get,
    path = "/relay/orgs/{org}/features/{feature}/{path}",
    tag = "relay",
    params(
        ("org" = String, Path, description = "The org's slug (the token's own org)"),
        ("feature" = String, Path, description = "The feature the call is for"),
        ("path" = String, Path, description = "The provider's own path, e.g. models or v1/models"),
    ),
    responses(
        (status = 200, description = "The provider's model list, as it answered"),
        (status = 400, response = BadRequest),
        Guarded,
        (status = 409, description = "The feature is not served by the org's own provider, or is unavailable", body = RouteRefusal),
        (status = 502, description = "The provider could not be reached", body = ErrorBody),
        (status = 504, description = "The provider did not answer in time", body = ErrorBody),
    ),
    security(("bearer" = ["ai:relay"])),
)]
#[allow(dead_code)]
fn relay_list() {}
