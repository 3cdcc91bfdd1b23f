//! The seed-compatible surfaces (DESIGN.md "Seed-compatible surfaces"; issue 24 item 1): the
//! APIs that the documents Switchboard was specified from describe for themselves, so a
//! client written from either document works unchanged.
//!
//! - [`ai_providers`]: seed 001's AI Providers Module, `/api/v1/ai-providers…` (camelCase,
//!   `projectId` = the org's slug).
//! - [`llm_providers`]: seed 002's custom LLM providers, `/api/v1/llm-providers…`
//!   (snake_case, `kind`, `key_set`, `last4`).
//!
//! Served only with `SWITCHBOARD_COMPAT_APIS=on` (the routes are not even registered
//! otherwise, so every path answers the API's `no_endpoint` 404), and only to API tokens: a
//! token belongs to one org, which is the org these paths act on. Every handler is a thin
//! translation over the operations the native `/api/v1/orgs/{org}/providers…` endpoints call
//! (`ops::providers`), with the native request types where the field names agree: no rule
//! is decided here twice. docs/DECISIONS.md "Seed-compatible surfaces" lists where a
//! document and DESIGN.md disagreed and which won, and what was decided where a document is
//! silent.

pub mod ai_providers;
pub mod llm_providers;

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use utoipa::OpenApi as _;

use super::auth::ApiCaller;
use crate::{error::AppError, ops::Caller};

/// The routes of both surfaces, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(ai_providers::routes)
        .configure(llm_providers::routes);
}

/// Both surfaces' part of the OpenAPI document (added only when they are served).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ai_providers::Doc::openapi();
    doc.merge(llm_providers::Doc::openapi());
    doc
}

/// The caller of a seed-compatible endpoint: an API token only. A console session is
/// refused (401) even with its CSRF header: these surfaces exist for programs written
/// against the documents, which authenticate with a token; the org is the token's.
#[derive(Debug, Clone)]
pub struct TokenCaller(pub Caller);

impl FromRequest for TokenCaller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if !req.headers().contains_key(header::AUTHORIZATION) {
                return Err(AppError::BadToken(
                    "This endpoint takes an API token only: send Authorization: Bearer swb_… (a console session is not accepted here).".to_owned(),
                ));
            }
            let ApiCaller(caller) = ApiCaller::from_request(&req, &mut Payload::None).await?;
            // A token always acts for its org; fail closed were it ever without one.
            caller.org()?;
            Ok(TokenCaller(caller))
        })
    }
}

impl TokenCaller {
    /// The token's org's slug (seed 001's `projectId`).
    pub fn org_slug(&self) -> &str {
        self.0.org.as_ref().map_or("", |o| o.slug.as_str())
    }

    /// Refuses a body or query that names another org (or one that does not exist) with
    /// the 404 a record of another org gets: the token's org is the only one it can see.
    pub fn check_project(&self, project_id: Option<&str>) -> Result<(), AppError> {
        match project_id {
            Some(p) if p != self.org_slug() => Err(AppError::NotFound),
            _ => Ok(()),
        }
    }
}
