//! (stub: filled in by the REST API work of issue 11)

use actix_web::web;

/// This module's routes, relative to `/api/v1`.
pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Doc;
