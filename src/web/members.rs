//! `/orgs/{org}/settings/members`: admins add existing users, change roles and remove
//! members (never the last admin). Each change is audited and bumps the affected user's
//! session epoch, so their sessions re-authenticate with the new rights.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, OrgHeader, page, see_other};
use crate::{
    auth::{
        context::{Access, OrgContext},
        set_flash,
    },
    error::{AppError, AppResult},
    models::{
        audit::NewEvent,
        membership::{self, Role},
        user::{self, User},
    },
    state::AppState,
};

/// One member as listed.
pub struct MemberRow {
    pub user_id: i64,
    pub label: String,
    pub email: String,
    pub role: &'static str,
    pub is_admin: bool,
}

#[derive(Template)]
#[template(path = "members/page.html")]
struct MembersPage {
    chrome: Chrome,
    org: OrgHeader,
    members: Vec<MemberRow>,
}

fn members_url(ctx: &OrgContext) -> String {
    format!("/orgs/{}/settings/members", ctx.org.slug)
}

/// `GET /orgs/{org}/settings/members`: admins (and support staff, read-only); not members.
pub async fn list_members(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    if ctx.access == Access::Member {
        return Err(AppError::Forbidden(
            "Only the org's admins can see its members.".to_owned(),
        ));
    }
    let mut conn = state.conn().await?;
    let members = membership::members_of(&mut conn, ctx.org.id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            user_id: m.user_id,
            label: user::label(&m.name, &m.email).to_owned(),
            email: m.email,
            role: m.role.as_str(),
            is_admin: m.role == Role::Admin,
        })
        .collect();
    let page_data = MembersPage {
        chrome: Chrome::new(
            &session,
            format!("Members · {}", ctx.org.name),
            Some(&ctx.user),
        )?,
        org: OrgHeader::new(&ctx, None),
        members,
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
    ctx.require_admin()?;
    let role = parse_role(&form.role)?;
    let email =
        user::normalize_email(&form.email).map_err(|e| AppError::Validation(e.to_owned()))?;
    let mut conn = state.conn().await?;
    let actor = ctx.actor();
    let added = diesel_async::AsyncConnection::transaction::<_, AppError, _>(&mut *conn, async |conn| {
        let Some(target) = User::find_by_email(conn, &email).await? else {
            return Err(AppError::Validation(format!(
                "No Switchboard account uses {email}. An operator creates accounts with `switchboard user create`."
            )));
        };
        if !membership::add_with_event(conn, &ctx.org, &target, role, &actor, &ctx.meta).await? {
            return Err(AppError::Conflict(format!("{email} is already a member.")));
        }
        Ok(target)
    })
    .await?;
    set_flash(
        &session,
        true,
        format!("Added {} as {}.", added.email, role.as_str()),
    );
    Ok(see_other(&members_url(&ctx)))
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

enum Change {
    Role(Role),
    Remove,
}

async fn change_membership(
    ctx: &OrgContext,
    state: &AppState,
    user_id: i64,
    change: Change,
) -> AppResult<String> {
    let mut conn = state.conn().await?;
    let actor = ctx.actor();
    diesel_async::AsyncConnection::transaction::<_, AppError, _>(&mut *conn, async |conn| {
        let (current, admins) = membership::lock_for_change(conn, ctx.org.id, user_id).await?;
        let current = current.ok_or(AppError::NotFound)?;
        let target = User::find(conn, user_id).await?.ok_or(AppError::NotFound)?;
        let demotes_admin = current == Role::Admin && !matches!(change, Change::Role(Role::Admin));
        if demotes_admin && admins <= 1 {
            return Err(AppError::Conflict(
                "An org needs at least one admin: make someone else admin first.".to_owned(),
            ));
        }
        let (action, after, message) = match change {
            Change::Role(role) if role == current => {
                return Ok(format!("{} is already {}.", target.email, role.as_str()));
            }
            Change::Role(role) => {
                membership::set_role(conn, ctx.org.id, user_id, role).await?;
                (
                    "member.role_changed",
                    Some(serde_json::json!({ "role": role.as_str() })),
                    format!("{} is now {}.", target.email, role.as_str()),
                )
            }
            Change::Remove => {
                membership::remove(conn, ctx.org.id, user_id).await?;
                ("member.removed", None, format!("Removed {}.", target.email))
            }
        };
        User::bump_session_epoch(conn, user_id).await?;
        NewEvent {
            org_id: Some(ctx.org.id),
            actor: &actor,
            action,
            target: format!("user:{}", target.email),
            before: Some(serde_json::json!({ "role": current.as_str() })),
            after,
            meta: &ctx.meta,
        }
        .record(conn)
        .await?;
        Ok(message)
    })
    .await
}

/// `POST /orgs/{org}/settings/members/{user_id}/role`.
pub async fn change_role(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
    form: web::Form<RoleForm>,
) -> AppResult<HttpResponse> {
    ctx.require_admin()?;
    let role = parse_role(&form.role)?;
    let message = change_membership(&ctx, &state, path.1, Change::Role(role)).await?;
    set_flash(&session, true, message);
    Ok(see_other(&members_url(&ctx)))
}

/// `POST /orgs/{org}/settings/members/{user_id}/remove`.
pub async fn remove_member(
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    ctx.require_admin()?;
    let message = change_membership(&ctx, &state, path.1, Change::Remove).await?;
    set_flash(&session, true, message);
    Ok(see_other(&members_url(&ctx)))
}
