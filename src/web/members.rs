//! `/orgs/{org}/settings/members`: admins add existing users, change roles and remove
//! members; support staff read the list. The rules live in `ops::members`.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, OrgHeader, frame::org_frame, page, see_other, urls};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    models::{membership::Role, user},
    ops::members::{self, AddMember, MembershipChange, MembershipOutcome},
    state::AppState,
};

/// One member as listed.
pub struct MemberRow {
    pub label: String,
    pub email: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub role_action: String,
    pub remove_action: String,
}

#[derive(Template)]
#[template(path = "members/page.html")]
struct MembersPage {
    chrome: Chrome,
    org: OrgHeader,
    members: Vec<MemberRow>,
    add_action: String,
}

/// `GET /orgs/{org}/settings/members`.
pub async fn list_members(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let slug = &ctx.org().slug;
    let members = members::list_members(&state, &ctx.caller)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            label: user::label(&m.name, &m.email).to_owned(),
            role: m.role.as_str(),
            is_admin: m.role == Role::Admin,
            role_action: urls::member_action(slug, m.user_id, "role"),
            remove_action: urls::member_action(slug, m.user_id, "remove"),
            email: m.email,
        })
        .collect();
    let (chrome, org) = org_frame(&session, &ctx, "Members", None)?;
    let page_data = MembersPage {
        chrome,
        org,
        members,
        add_action: urls::members(slug),
    };
    page(StatusCode::OK, &page_data)
}

/// The add-member form.
#[derive(Deserialize)]
pub struct AddMemberForm {
    email: String,
    role: String,
}

fn parse_role(role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::Validation("role must be admin or member".to_owned()))
}

/// `POST /orgs/{org}/settings/members`.
pub async fn add_member(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<AddMemberForm>,
) -> AppResult<HttpResponse> {
    let AddMemberForm { email, role } = form.into_inner();
    let role = parse_role(&role)?;
    let added = members::add_member(&state, &ctx.caller, AddMember { email, role }).await?;
    let message = format!("Added {} as {}.", added.email, role.as_str());
    set_flash(&session, Flash::ok(message));
    Ok(see_other(&urls::members(&ctx.org().slug)))
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

async fn change(
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    user_id: i64,
    change: MembershipChange,
) -> AppResult<HttpResponse> {
    let message = match members::change_member(state, &ctx.caller, user_id, change).await? {
        MembershipOutcome::RoleChanged { email, role } => {
            format!("{email} is now {}.", role.as_str())
        }
        MembershipOutcome::AlreadyRole { email, role } => {
            format!("{email} is already {}.", role.as_str())
        }
        MembershipOutcome::Removed { email } => format!("Removed {email}."),
    };
    set_flash(session, Flash::ok(message));
    Ok(see_other(&urls::members(&ctx.org().slug)))
}

/// `POST /orgs/{org}/settings/members/{user_id}/role`.
pub async fn change_role(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    form: web::Form<RoleForm>,
) -> AppResult<HttpResponse> {
    let role = parse_role(&form.role)?;
    change(&ctx, &session, &state, path.1, MembershipChange::Role(role)).await
}

/// `POST /orgs/{org}/settings/members/{user_id}/remove`.
pub async fn remove_member(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    change(&ctx, &session, &state, path.1, MembershipChange::Remove).await
}
