//! `POST /api/v1/orgs/{org}/ai/outcomes`: a platform service that calls the org's provider
//! itself reports how one call went (scope `ai:resolve`, API tokens only), into the same
//! health loop as the relay's calls (`ops::health::report_outcome`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{
    auth::ApiCaller,
    errors::{Guarded, JsonBody},
};
use crate::{
    error::AppError,
    ops::health::{self, ReportedOutcome},
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/ai/outcomes", web::post().to(report_outcome));
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(report_outcome), components(schemas(OutcomeBody)))]
pub struct Doc;

/// How one call to the org's provider went. Never a body, a prompt or a key.
#[derive(Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutcomeBody {
    /// The feature the call served.
    #[schema(
        example = "summaries",
        pattern = "^(assistant|insights|cicd_generation|incident_analysis|summaries|stack_descriptions|triage|severity_grading|fix_proposals)$"
    )]
    pub feature: String,
    /// The org's provider that was called (as `ai/route` named it).
    #[schema(example = "aip_01JDQ7ZK5V8Q6C3W0M2N4P6R8T")]
    pub provider_id: String,
    /// The provider's HTTP status, when it answered.
    #[serde(default)]
    #[schema(minimum = 100, maximum = 599)]
    pub status: Option<u16>,
    /// Why it failed, in the live checks' words: `auth_rejected`, `model_not_found`,
    /// `rate_limited`, `quota_exhausted`, `bad_api_version`, `unreachable`, `timeout`,
    /// `tls`, `blocked_address` or `bad_response`; absent for a success.
    #[serde(default)]
    #[schema(
        pattern = "^(auth_rejected|model_not_found|rate_limited|quota_exhausted|bad_api_version|unreachable|timeout|tls|blocked_address|bad_response)$"
    )]
    pub code: Option<String>,
    /// From the request's start to the end of the answer (or the failure).
    #[serde(deserialize_with = "crate::api::json::whole_number")]
    #[schema(minimum = 0, maximum = 86_400_000)]
    pub latency_ms: u64,
    /// Prompt/input tokens, when the provider reported usage.
    #[serde(default, deserialize_with = "crate::api::json::whole_number_opt")]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub input_tokens: Option<u64>,
    /// Completion/output tokens, when the provider reported usage.
    #[serde(default, deserialize_with = "crate::api::json::whole_number_opt")]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub output_tokens: Option<u64>,
}

/// Reports one call's outcome. It is counted in the org's per-minute usage (the Provider
/// tab's last 24 hours); a failure on the provider's side (`auth_rejected`, `unreachable`,
/// `timeout`, `tls`, `quota_exhausted`, a 5xx) schedules an immediate re-check of the
/// provider (once per minute), and a failed re-check marks it as needing attention. An
/// unknown feature or code or a status out of range is a 400, a failure code with a status
/// below 400 a 422 (the fields contradict each other), and nothing is counted; a provider of
/// another org is a 404.
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/ai/outcomes",
    tag = "routing",
    params(("org" = String, Path, description = "The org's slug")),
    request_body = OutcomeBody,
    responses(
        (status = 202, description = "Counted (written to the counters within seconds)"),
        Guarded,
        JsonBody,
        (status = 422, description = "A failure code with a status below 400: nothing is counted", body = crate::api::errors::ErrorBody),
    ),
    security(("bearer" = ["ai:resolve"])),
)]
pub async fn report_outcome(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    body: web::Json<OutcomeBody>,
) -> Result<HttpResponse, AppError> {
    health::report_outcome(&state, &caller, body.into_inner().into()).await?;
    Ok(HttpResponse::Accepted().finish())
}

impl From<OutcomeBody> for ReportedOutcome {
    fn from(b: OutcomeBody) -> Self {
        ReportedOutcome {
            feature: b.feature,
            provider_id: b.provider_id,
            status: b.status,
            code: b.code,
            latency_ms: b.latency_ms,
            input_tokens: b.input_tokens,
            output_tokens: b.output_tokens,
        }
    }
}
