//! The console's `/orgs/{org}` guard: resolves the org and the caller's access once per
//! request and hands handlers an [`OrgContext`] holding the operation layer's [`Caller`].
//! Permissions themselves are the operations' business (`ops::scopes`); the guard only
//! applies the access table's consequences that concern every route:
//!
//! - not logged in (or session revoked) ⇒ unauthenticated;
//! - neither a member nor support staff ⇒ 404 (an org you can't see doesn't exist for you);
//! - an unsafe method from a caller whose access carries no write scope ⇒ 403;
//! - support staff reading ⇒ allowed, and recorded as `support.viewed` in the org's trail.

use actix_session::SessionExt as _;
use actix_web::{
    FromRequest, HttpMessage as _, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use crate::{
    error::AppError,
    models::{membership, org::Org, user::User},
    ops::{self, Access, Caller, RequestMeta},
    state::AppState,
    telemetry::RequestId,
};

/// The org in the path and who is asking, resolved by [`resolve_org`].
#[derive(Debug, Clone)]
pub struct OrgContext {
    /// The logged-in user (for the page chrome).
    pub user: User,
    /// The caller handed to operations; its `org` is always set.
    pub caller: Caller,
    /// The org's active provider when its last live check failed (name, message): the
    /// tabs show admins a "needs attention" banner.
    pub attention: Option<(String, Option<String>)>,
}

impl OrgContext {
    /// The org in the path.
    pub fn org(&self) -> &Org {
        self.caller
            .org
            .as_ref()
            .expect("the org guard always sets the caller's org")
    }

    /// How the caller may use the org.
    pub fn access(&self) -> Access {
        self.caller.access.unwrap_or(Access::Member)
    }
}

/// The session's CSRF token for pages rendered late (a framed error page).
#[derive(Debug, Clone)]
pub struct FrameCsrf(pub String);

/// Request metadata for the audit trail, the login throttle and operations.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        ip: client_ip(req).map(|ip| ip.to_string()),
    }
}

/// The client's address: the one place it is decided. The TCP peer, unless the peer is a
/// trusted proxy (`SWITCHBOARD_TRUSTED_PROXIES`), then the right-most `X-Forwarded-For`
/// address that is not itself a trusted proxy (see [`super::client_ip`]).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Some(peer.to_canonical());
    };
    let trusted = &state.config.trusted_proxies;
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(super::client_ip::client_ip(peer, forwarded, trusted))
}

impl FromRequest for OrgContext {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<OrgContext>()
                .cloned()
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("OrgContext used outside /orgs/{{org}}"))
                }),
        )
    }
}

/// The scope middleware.
pub async fn resolve_org(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match org_context(req.request()).await {
        Ok(ctx) => {
            // The session's CSRF token, read now: an error page rendered in the org's frame
            // after the session middleware has finished (`web::errors`) can't read it then.
            if let Ok(token) = super::csrf_token(&req.get_session()) {
                req.extensions_mut().insert(FrameCsrf(token));
            }
            req.extensions_mut().insert(ctx);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

/// Resolves the org in the path (`{org}`) for the session's user: the guard of every
/// console org route, and of the API when it is called with a session instead of a token.
pub async fn org_context(req: &HttpRequest) -> Result<OrgContext, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
    let slug = req.match_info().get("org").unwrap_or_default().to_owned();
    let session = req.get_session();
    let (uid, epoch) = super::identity(&session).ok_or(AppError::Unauthenticated)?;

    let mut conn = state.conn().await?;
    let Some((user, org, role, attention)) =
        membership::user_org_role(&mut conn, uid, &slug).await?
    else {
        // No such org — or no such user: tell the two apart only to decide 404 vs login.
        return match User::find(&mut conn, uid).await? {
            Some(user) if super::session_valid(&user, epoch) => Err(AppError::NotFound),
            _ => {
                session.purge();
                Err(AppError::Unauthenticated)
            }
        };
    };
    if !super::session_valid(&user, epoch) {
        session.purge();
        return Err(AppError::Unauthenticated);
    }
    let writing = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let caller = Caller::for_session(&user, org, role, request_meta(req), writing)?;
    if caller.access == Some(Access::Support) {
        let session_id = super::support_session_id(&session)?;
        ops::orgs::record_support_view(
            &mut conn,
            &caller,
            req.path(),
            &session_id,
            state.clock.now(),
        )
        .await?;
    }
    Ok(OrgContext {
        user,
        caller,
        attention,
    })
}
