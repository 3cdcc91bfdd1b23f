//! Who is calling the API: a bearer token, or the console session (with the CSRF header on
//! unsafe methods). Both produce the operation layer's [`Caller`].

use std::{future::Future, pin::Pin};

use actix_session::SessionExt as _;
use actix_web::{
    FromRequest, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};

use crate::{
    auth::context::{org_context, request_meta},
    error::AppError,
    models::user::User,
    ops::{Caller, tokens},
    state::AppState,
};

/// The caller of an API request. With `{org}` in the path, the caller's org is that org
/// (a token of another org gets 404, as a session user who may not see the org does).
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

/// The bearer token of the request: `Some(Ok(token))`, `Some(Err(()))` for an
/// `Authorization` header that is not a bearer token, `None` without the header.
fn bearer(req: &HttpRequest) -> Option<Result<&str, ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(()),
    )
}

/// Whether the request carries credentials of either kind (a token or a session cookie).
pub fn presents_credentials(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::AUTHORIZATION)
        || crate::auth::identity(&req.get_session()).is_some()
}

async fn resolve(req: HttpRequest) -> Result<ApiCaller, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
    let slug = req.match_info().get("org").map(str::to_owned);
    match bearer(&req) {
        Some(Ok(token)) => {
            let caller = tokens::authenticate(&state, token, request_meta(&req)).await?;
            let own_org = caller.org.as_ref().map(|o| o.slug.as_str());
            match slug {
                Some(slug) if Some(slug.as_str()) != own_org => Err(AppError::NotFound),
                _ => Ok(ApiCaller(caller)),
            }
        }
        Some(Err(())) => Err(AppError::BadToken(
            "Send the token as Authorization: Bearer swb_….".to_owned(),
        )),
        None if slug.is_some() => Ok(ApiCaller(org_context(&req).await?.caller)),
        None => {
            let session = req.get_session();
            let (uid, epoch) = crate::auth::identity(&session).ok_or(AppError::Unauthenticated)?;
            let mut conn = state.conn().await?;
            match User::find(&mut conn, uid).await? {
                Some(user) if crate::auth::session_valid(&user, epoch) => {
                    Ok(ApiCaller(Caller::account(&user, request_meta(&req))))
                }
                _ => Err(AppError::Unauthenticated),
            }
        }
    }
}

impl FromRequest for ApiCaller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(resolve(req.clone()))
    }
}

/// The console's CSRF check (origin + token header), for API requests that authenticate
/// with the session. A request with an `Authorization` header skips it (and the session);
/// so does one whose session holds no login: it authenticates as nobody, and its handler
/// answers 401 (a forged request can only forge a login it does not have).
pub async fn session_csrf(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let logged_in = crate::auth::identity(&req.get_session()).is_some();
    if req.headers().contains_key(header::AUTHORIZATION) || !logged_in {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    crate::auth::csrf::csrf_guard(req, next).await
}
