//! The `/orgs/{org}` scope's guard: resolves the org and the caller's access once per request
//! and hands handlers a typed [`OrgContext`]. No handler re-derives permissions.
//!
//! - not logged in (or session revoked) ⇒ unauthenticated;
//! - neither a member nor support staff ⇒ 404 (an org you can't see doesn't exist for you);
//! - a member or support staff on an unsafe method ⇒ 403;
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
    models::{
        audit::{Actor, NewEvent, RequestMeta},
        membership::{self, Role},
        org::Org,
        user::User,
    },
    state::AppState,
    telemetry::RequestId,
};

/// How the caller may use the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Admin,
    Member,
    /// Support staff: may read every org, never change anything.
    Support,
}

/// The org in the path and who is asking, resolved by [`resolve_org`].
#[derive(Debug, Clone)]
pub struct OrgContext {
    pub user: User,
    pub org: Org,
    pub access: Access,
    pub meta: RequestMeta,
}

impl OrgContext {
    /// Whether the caller may change this org's settings.
    pub fn can_edit(&self) -> bool {
        self.access == Access::Admin
    }

    /// Fails with 403 unless the caller is an admin of the org.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.can_edit() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Only the org's admins can do this.".to_owned(),
            ))
        }
    }

    /// The audit actor for changes made in this request.
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            email: self.user.email.clone(),
        }
    }
}

/// Request metadata for the audit trail.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        ip: req.peer_addr().map(|a| a.ip().to_string()),
    }
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
    match resolve(&req).await {
        Ok(ctx) => {
            req.extensions_mut().insert(ctx);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn resolve(req: &ServiceRequest) -> Result<OrgContext, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
    let slug = req.match_info().get("org").unwrap_or_default().to_owned();
    let session = req.get_session();
    let (uid, epoch) = super::identity(&session).ok_or(AppError::Unauthenticated)?;

    let mut conn = state.conn().await?;
    let Some((user, org, role)) = membership::user_org_role(&mut conn, uid, &slug).await? else {
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
    let access = match role {
        Some(Role::Admin) => Access::Admin,
        Some(Role::Member) => Access::Member,
        None if user.support => Access::Support,
        None => return Err(AppError::NotFound),
    };
    let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    if unsafe_method && access != Access::Admin {
        return Err(AppError::Forbidden(
            "You can view this org's settings but not change them.".to_owned(),
        ));
    }
    let ctx = OrgContext {
        meta: request_meta(req.request()),
        user,
        org,
        access,
    };
    if access == Access::Support {
        NewEvent {
            org_id: Some(ctx.org.id),
            actor: &ctx.actor(),
            action: "support.viewed",
            target: req.path().to_owned(),
            before: None,
            after: None,
            meta: &ctx.meta,
        }
        .record(&mut conn)
        .await?;
    }
    Ok(ctx)
}
