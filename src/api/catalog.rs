//! `GET /api/v1/catalog`: the provider kinds and what each needs (DESIGN.md "Provider
//! catalog"). Any authenticated caller may read it; it holds no org data.

use crate::api::errors::Unauthenticated;
use actix_web::HttpResponse;

use super::auth::ApiCaller;
use crate::{error::AppError, providers::catalog::CatalogEntry};

/// The catalog.
#[derive(serde::Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub kinds: &'static [CatalogEntry],
}

/// The provider kinds, with their key rules, base URL rules, extra fields and example models.
#[utoipa::path(
    get,
    path = "/api/v1/catalog",
    tag = "catalog",
    responses(
        (status = 200, description = "The catalog", body = Catalog),
        (status = 401, response = Unauthenticated),
    ),
    security(("bearer" = []), ("session" = [])),
)]
pub async fn get_catalog(_caller: ApiCaller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(Catalog::all()))
}

impl Catalog {
    /// The whole catalog.
    pub fn all() -> Self {
        Self {
            kinds: crate::providers::catalog::catalog(),
        }
    }
}
