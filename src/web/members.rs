//! `/orgs/{org}/settings/members`: admins invite people (the one-time link is shown in the
//! answer to the invitation form and never again), revoke open invitations, change roles and
//! remove members; support staff read the lists. The rules live in `ops::members` and
//! `ops::invitations`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    Chrome, OrgHeader,
    confirm::{self, Confirm},
    frame::org_frame,
    see_other, tab, urls,
};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    models::{membership::Role, user},
    ops::{
        OpError,
        invitations::{self, CreateInvitation, PendingInvitation},
        members::{self, MembershipChange, MembershipOutcome},
    },
    state::AppState,
};

/// One member as listed.
pub struct MemberRow {
    pub label: String,
    pub email: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub role_action: String,
    pub remove: Confirm,
}

/// One open invitation as listed (never its link).
pub struct InvitationRow {
    pub email: String,
    pub role: &'static str,
    pub invited_by: String,
    pub expires: String,
    pub revoke: Confirm,
}

/// The invitation just created, with the link to pass on: only in the answer to the form.
pub struct CreatedView {
    pub email: String,
    pub role: &'static str,
    pub link: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "members/page.html", blocks = ["content"])]
struct MembersPage {
    chrome: Chrome,
    org: OrgHeader,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    created: Option<CreatedView>,
    invite_action: String,
    /// The invitation form's values after a refusal.
    email: String,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What an answer adds to the page.
struct Answer {
    status: StatusCode,
    flash: Option<Flash>,
    created: Option<CreatedView>,
    /// The invitation form's email, kept after a refusal.
    email: String,
}

impl Answer {
    fn plain() -> Self {
        Self {
            status: StatusCode::OK,
            flash: None,
            created: None,
            email: String::new(),
        }
    }
}

/// Renders the page: the full page, or its content for htmx.
async fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    answer: Answer,
) -> AppResult<HttpResponse> {
    let Answer {
        status,
        flash,
        created,
        email,
    } = answer;
    let slug = &ctx.org().slug;
    let org_name = &ctx.org().name;
    let members = members::list_members(state, &ctx.caller)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            label: user::label(&m.name, &m.email).to_owned(),
            role: m.role.as_str(),
            is_admin: m.role == Role::Admin,
            role_action: urls::member_action(slug, m.user_id, "role"),
            remove: Confirm::remove_member(
                slug,
                org_name,
                m.user_id,
                user::label(&m.name, &m.email),
            ),
            email: m.email,
        })
        .collect();
    let invitations = invitations::list_invitations(state, &ctx.caller)
        .await?
        .into_iter()
        .map(|i: PendingInvitation| InvitationRow {
            role: i.role.as_str(),
            invited_by: i.invited_by,
            expires: when(i.expires_at),
            revoke: Confirm::revoke_invitation(slug, i.id, &i.email),
            email: i.email,
        })
        .collect();
    let (chrome, org) = org_frame(session, ctx, "Members", None)?;
    let page = MembersPage {
        chrome: chrome.with_flash(flash),
        org,
        members,
        invitations,
        created,
        invite_action: urls::invitations(slug),
        email,
    };
    tab(req, status, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/members`.
pub async fn list_members(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render(&req, &ctx, &session, &state, Answer::plain()).await
}

/// The invitation form.
#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

fn parse_role(role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::Validation("role must be admin or member".to_owned()))
}

/// The absolute URL of an invitation link: under `SWITCHBOARD_PUBLIC_URL` when set,
/// otherwise under the address the admin reached the console at.
fn invitation_link(req: &HttpRequest, state: &AppState, token: &str) -> String {
    let path = urls::invitation(token);
    match &state.config.public_url {
        Some(base) => format!("{}{path}", base.as_str().trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}{path}", info.scheme(), info.host())
        }
    }
}

/// `POST /orgs/{org}/settings/members/invitations`: always "Invitation created" with the
/// link — whatever the email is — answered directly (not through a redirect), so the link
/// is never stored anywhere, not even in the session.
pub async fn create_invitation(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<InviteForm>,
) -> AppResult<HttpResponse> {
    let InviteForm { email, role } = form.into_inner();
    let role = parse_role(&role)?;
    let input = CreateInvitation {
        email: email.clone(),
        role,
    };
    match invitations::create_invitation(&state, &ctx.caller, input).await {
        Ok(created) => {
            use secrecy::ExposeSecret as _;
            let inv = created.invitation;
            let view = CreatedView {
                link: invitation_link(&req, &state, created.token.expose_secret()),
                role: inv.role.as_str(),
                expires: when(inv.expires_at),
                email: inv.email,
            };
            let answer = Answer {
                status: StatusCode::CREATED,
                flash: Some(Flash::ok("Invitation created.")),
                created: Some(view),
                email: String::new(),
            };
            render(&req, &ctx, &session, &state, answer).await
        }
        Err(OpError::Invalid { message, .. }) => {
            let answer = Answer {
                status: StatusCode::BAD_REQUEST,
                flash: Some(Flash::error(message)),
                created: None,
                email: email.trim().to_owned(),
            };
            render(&req, &ctx, &session, &state, answer).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /orgs/{org}/settings/members/invitations/{id}/revoke`.
pub async fn revoke_invitation(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let email = invitations::revoke_invitation(&state, &ctx.caller, path.1).await?;
    set_flash(
        &session,
        Flash::ok(format!(
            "Invitation for {email} revoked: its link no longer works."
        )),
    );
    Ok(see_other(&urls::members(&ctx.org().slug)))
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

async fn change(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    user_id: i64,
    change: MembershipChange,
) -> AppResult<HttpResponse> {
    let outcome = match members::change_member(state, &ctx.caller, user_id, change).await {
        Ok(outcome) => outcome,
        // A refusal on the merits (the last admin): answered on the page, in place.
        Err(OpError::Conflict(message)) => {
            let answer = Answer {
                status: StatusCode::CONFLICT,
                flash: Some(Flash::error(message)),
                ..Answer::plain()
            };
            return render(req, ctx, session, state, answer).await;
        }
        Err(e) => return Err(e.into()),
    };
    let message = match outcome {
        MembershipOutcome::RoleChanged {
            email,
            role,
            sessions_revoked: true,
        } => format!(
            "{email} is now {}; they have been signed out everywhere.",
            role.as_str()
        ),
        MembershipOutcome::RoleChanged { email, role, .. } => {
            format!("{email} is now {}.", role.as_str())
        }
        MembershipOutcome::AlreadyRole { email, role } => {
            format!("{email} is already {}.", role.as_str())
        }
        MembershipOutcome::Removed { email } => {
            format!("Removed {email}; they have been signed out everywhere.")
        }
    };
    set_flash(session, Flash::ok(message));
    Ok(see_other(&urls::members(&ctx.org().slug)))
}

/// `POST /orgs/{org}/settings/members/{user_id}/role`.
pub async fn change_role(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    form: web::Form<RoleForm>,
) -> AppResult<HttpResponse> {
    let role = parse_role(&form.role)?;
    change(
        &req,
        &ctx,
        &session,
        &state,
        path.1,
        MembershipChange::Role(role),
    )
    .await
}

/// `POST /orgs/{org}/settings/members/{user_id}/remove`.
pub async fn remove_member(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    change(
        &req,
        &ctx,
        &session,
        &state,
        path.1,
        MembershipChange::Remove,
    )
    .await
}

/// `GET /orgs/{org}/settings/members/{user_id}/remove`: the question, without JavaScript
/// (`web::confirm`).
pub async fn confirm_remove_member(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.caller.require(crate::ops::Scope::MembersManage)?;
    let m = members::list_members(&state, &ctx.caller)
        .await?
        .into_iter()
        .find(|m| m.user_id == path.1)
        .ok_or(AppError::NotFound)?;
    let slug = &ctx.org().slug;
    let c = Confirm::remove_member(
        slug,
        &ctx.org().name,
        m.user_id,
        user::label(&m.name, &m.email),
    );
    confirm::page(&req, &ctx, &session, None, &c, &urls::members(slug))
}

/// `GET /orgs/{org}/settings/members/invitations/{id}/revoke`: the question, without
/// JavaScript; an accepted, revoked or unknown invitation is a 404.
pub async fn confirm_revoke_invitation(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.caller.require(crate::ops::Scope::MembersManage)?;
    let i = invitations::list_invitations(&state, &ctx.caller)
        .await?
        .into_iter()
        .find(|i| i.id == path.1)
        .ok_or(AppError::NotFound)?;
    let slug = &ctx.org().slug;
    let c = Confirm::revoke_invitation(slug, i.id, &i.email);
    confirm::page(&req, &ctx, &session, None, &c, &urls::members(slug))
}
