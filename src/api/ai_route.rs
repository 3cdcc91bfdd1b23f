//! `GET /api/v1/orgs/{org}/ai/route?feature=…`: which provider serves a platform feature for
//! the org now (scope `ai:resolve`, API tokens only), with the relay's URL; the key only for a
//! token with `ai:release`. A thin translation of `ops::providers::release::resolve_route`,
//! which decides, versions, opens the key and records the release.
//!
//! Caching: every answer has a `version`, also its strong `ETag`; `If-None-Match` naming it
//! is a `304` (nothing opened or written). A keyless answer is `Cache-Control: private,
//! max-age=SWITCHBOARD_ROUTE_TTL`; an answer holding a key, and every refusal, `no-store`.

use crate::api::errors::{BadRequest, Guarded};
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, http::header, web};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};

use super::auth::ApiCaller;
use crate::{
    auth::context::request_meta,
    error::AppError,
    ops::{
        OpError,
        providers::release::{self, Answer, Resolution, Served},
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
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
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
    /// Its key: `byo` only, only when it has one, and only for a token with `ai:release`.
    /// Never for the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// `true` when the org's provider has a key and this token may not receive it (no
    /// `ai:release`): call the provider through `relayUrl`, which injects the key.
    pub credential_withheld: bool,
    /// Where the relay serves this feature for the org (`SWITCHBOARD_RELAY_URL`, else the
    /// public URL, + `/relay/orgs/{org}/features/{feature}`): an SDK's `base_url`. Absent when
    /// the server knows neither URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://switchboard.example/relay/orgs/acme/features/summaries")]
    pub relay_url: Option<String>,
    /// The answer's version, also its `ETag`: it changes whenever anything deciding the
    /// answer changes (settings, the feature's route, the provider, its key, the token's
    /// `ai:release`). Send it back as `If-None-Match` to get a `304` while it holds.
    #[schema(example = "q0W5pXxB7Yb3l1sJm9c2Zg")]
    pub version: String,
}

/// The org's provider that serves the feature.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
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
    #[schemars(schema_with = "free_form_object")]
    pub config: serde_json::Value,
}

/// The provider's key, released to this token (recorded as `credential.released`).
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub api_key: String,
}

/// A JSON object of any members (MCP's output schema of `config`).
fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "additionalProperties": true})
}

impl From<Resolution> for RouteAnswer {
    fn from(r: Resolution) -> Self {
        let feature = r.feature.id();
        let (credential_withheld, relay_url, version) =
            (r.credential_withheld, r.relay_url, r.version);
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
                credential_withheld,
                relay_url,
                version,
            },
            Served::Platform => RouteAnswer {
                feature,
                served_by: "platform",
                reason: r.reason,
                reason_code: r.code,
                provider: None,
                credential: None,
                credential_withheld,
                relay_url,
                version,
            },
        }
    }
}

/// The routing decision for one feature now. When the org's own provider serves it, the
/// answer carries the provider's kind, base URL, model and config, and `relayUrl`, where the
/// relay injects the key. Only a token with `ai:release` (granted by an operator on the CLI)
/// gets the decrypted key itself; its release is recorded as `credential.released` (feature,
/// token; never the key) once per token, key and hour, before the key leaves. Every other
/// answer says `credentialWithheld` when there is a key. A feature nobody may serve (policy
/// strict, Insights off) is a 409 with the reason: it fails closed, never onto the
/// platform's key.
///
/// Every answer has a `version`, also its strong `ETag`; `If-None-Match` with it gives a
/// `304` with nothing written while the answer would be the same. A keyless answer may be
/// reused for `SWITCHBOARD_ROUTE_TTL` (`Cache-Control: private, max-age=…`, default 30 s); an
/// answer holding a key is `no-store`.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/ai/route",
    tag = "routing",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("feature" = String, Query, description = "assistant, insights, cicd_generation, incident_analysis, summaries, stack_descriptions, triage, severity_grading or fix_proposals"),
        ("If-None-Match" = Option<String>, Header, description = "A `version` (quoted, as the `ETag` came) held from an earlier answer: `304` while it is still the answer"),
    ),
    responses(
        (status = 200, description = "Who serves the feature", body = RouteAnswer, headers(
            ("ETag" = String, description = "The answer's `version`, quoted (a strong validator)"),
            ("Cache-Control" = String, description = "`private, max-age=N` (`SWITCHBOARD_ROUTE_TTL`) for a keyless answer; `no-store` for one holding a key"),
        )),
        (status = 304, description = "The `If-None-Match` version is still the answer: no body, nothing written", headers(
            ("ETag" = String, description = "The current version, quoted"),
            ("Cache-Control" = String, description = "As the full answer's"),
        )),
        Guarded,
        (status = 400, response = BadRequest),
        (status = 409, description = "Unavailable for this org (fails closed), with the reason as `reasonCode` and whether to ask again (`askAgain`, also `x-should-retry`): only `settings_changed` is worth asking again", body = RouteRefusal, headers(
            ("x-should-retry" = String, description = "`true` only when asking again may give another answer (`settings_changed`)"),
        )),
    ),
    security(("bearer" = ["ai:resolve"])),
)]
pub async fn resolve_route(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<RouteQuery>,
) -> Result<HttpResponse, AppError> {
    // An unreadable If-None-Match is as if absent: the full answer.
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let feature = query.feature.as_deref();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let answer = match bearer {
        // A token: its row and the routing inputs in one statement.
        Some(token) => {
            let slug = req.match_info().get("org").unwrap_or_default();
            release::resolve_route_for_token(
                &state,
                token,
                slug,
                request_meta(&req),
                feature,
                if_none_match,
            )
            .await
        }
        // Anything else (a session, a malformed header) answers as every API route does.
        None => {
            let ApiCaller(caller) = ApiCaller::extract(&req).await?;
            release::resolve_route(&state, &caller, feature, if_none_match).await
        }
    };
    let answer = match answer {
        Ok(answer) => answer,
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
    let cache = |carries_key: bool| {
        if carries_key {
            "no-store".to_owned()
        } else {
            format!(
                "private, max-age={}",
                state.config.route_answers.ttl.as_secs()
            )
        }
    };
    Ok(match answer {
        Answer::NotModified {
            version,
            carries_key,
        } => HttpResponse::NotModified()
            .insert_header((header::ETAG, format!("\"{version}\"")))
            .insert_header((header::CACHE_CONTROL, cache(carries_key)))
            .insert_header((header::VARY, "Authorization"))
            .finish(),
        Answer::Full(resolution) => HttpResponse::Ok()
            .insert_header((header::ETAG, format!("\"{}\"", resolution.version)))
            .insert_header((header::CACHE_CONTROL, cache(resolution.carries_key())))
            .insert_header((header::VARY, "Authorization"))
            .json(RouteAnswer::from(resolution)),
    })
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
