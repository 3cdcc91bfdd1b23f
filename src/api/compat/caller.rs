//! Who may call the seed-compatible surfaces: an API token, never a console session.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};

use crate::{api::auth::ApiCaller, error::AppError, ops::Caller};

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
