//! `GET /api/v1/orgs/{org}/providers/{id}/models`: the models a saved provider's endpoint
//! lists, fetched with its stored key through the egress guard (scope `aiProviders:test`,
//! as it sends the key like a check) and cached per process for a few minutes. A failed
//! listing is a 422 whose `error.code` is the check taxonomy's (`timeout`,
//! `blocked_address`, `auth_rejected`, …).

use crate::api::errors::Guarded;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::super::{auth::ApiCaller, errors::ErrorBody};
use crate::{
    error::AppError,
    ops::{OpError, providers::models as ops},
    state::AppState,
};

/// A provider's model list.
#[derive(Debug, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelListJson {
    /// The provider (`aip_…`).
    pub provider_id: String,
    /// The model ids the endpoint lists, sorted.
    pub models: Vec<ModelJson>,
    /// When the endpoint answered.
    pub fetched_at: DateTime<Utc>,
    /// Served from this instance's cache (a few minutes old at most) rather than asked now.
    pub cached: bool,
}

/// One listed model.
#[derive(Debug, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct ModelJson {
    /// The id to use as `defaultModel`.
    pub id: String,
}

impl ModelListJson {
    pub fn of(provider_id: &str, listed: ops::Listed) -> Self {
        Self {
            provider_id: provider_id.to_owned(),
            models: listed
                .models
                .into_iter()
                .map(|id| ModelJson { id })
                .collect(),
            fetched_at: listed.fetched_at,
            cached: listed.cached,
        }
    }
}

/// The error body of a refused listing: a failed one carries its taxonomy code.
pub fn listing_error(e: OpError) -> Result<(u16, serde_json::Value), AppError> {
    match e {
        OpError::CheckFailed(outcome) => {
            let code = outcome.code.map_or("bad_response", |c| c.as_str());
            let message = format!("The model list could not be loaded: {}.", outcome.message);
            let body = serde_json::json!({ "error": { "code": code, "message": message } });
            Ok((422, body))
        }
        other => Err(other.into()),
    }
}

/// The models the provider's endpoint lists (with its stored key).
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/providers/{id}/models",
    tag = "providers",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The provider's id (`aip_…`)"),
    ),
    responses(
        (status = 200, description = "The listed models", body = ModelListJson),
        Guarded,
        (status = 422, description = "The listing failed (error.code is the check taxonomy's: timeout, unreachable, blocked_address, auth_rejected, …), the kind lists no models, or the stored key can't be opened", body = ErrorBody),
    ),
    security(("bearer" = ["aiProviders:test"]), ("session" = [])),
)]
pub async fn list_provider_models(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    match ops::list_provider_models(&state, &caller, &id).await {
        Ok(listed) => Ok(HttpResponse::Ok().json(ModelListJson::of(&id, listed))),
        Err(e) => {
            let (status, body) = listing_error(e)?;
            let status = actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY);
            Ok(HttpResponse::build(status).json(body))
        }
    }
}
