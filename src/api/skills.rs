//! Skills CRUD under `/api/v1/orgs/{org}/skills`: a thin translation of `ops::skills`
//! (scopes `skills:list|get|create|update|delete`). Records carry an `ETag` (their version);
//! `If-Match` on PATCH and DELETE makes the change conditional (412 when it names another
//! version); without it a PATCH applies to the version it reads first.

use crate::api::errors::{ErrorBody, Guarded, JsonBody, PreconditionFailed};
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    auth::ApiCaller,
    json::{etag, if_match, precondition},
};
use crate::{
    error::AppError,
    models::skill::{Skill, SkillSummary},
    ops::{
        Caller, OpError, skill_patch,
        skills::{self as ops, SkillInput},
    },
    state::AppState,
};

/// This module's routes, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{org}/skills", web::get().to(list_skills))
        .route("/orgs/{org}/skills", web::post().to(create_skill))
        .route("/orgs/{org}/skills/{id}", web::get().to(get_skill))
        .route("/orgs/{org}/skills/{id}", web::patch().to(update_skill))
        .route("/orgs/{org}/skills/{id}", web::delete().to(delete_skill));
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_skills, create_skill, get_skill, update_skill, delete_skill),
    components(schemas(SkillJson, SkillListItem, SkillList, NewSkillJson, SkillPatch)),
    tags((name = "skills", description = "The org's own AI instructions")),
)]
pub struct Doc;

/// A skill.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillJson {
    #[schema(example = "skl_01JD0000000000000000000000")]
    pub id: String,
    pub name: String,
    pub description: String,
    /// Markdown, at most 20 000 characters.
    pub instructions: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Skill> for SkillJson {
    fn from(s: Skill) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            instructions: s.instructions,
            enabled: s.enabled,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A skill in the list: everything but its instructions, whose length is given.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillListItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// Characters in the instructions (`GET …/skills/{id}` has them).
    pub instructions_chars: i32,
}

impl From<SkillSummary> for SkillListItem {
    fn from(s: SkillSummary) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            enabled: s.enabled,
            instructions_chars: s.chars,
        }
    }
}

/// The org's skills, by name.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct SkillList {
    pub skills: Vec<SkillListItem>,
}

/// A skill to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewSkillJson {
    /// Unique in the org (whatever the case), at most 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    pub description: String,
    /// Markdown, at most 20 000 characters.
    pub instructions: String,
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Fields to change; those left out keep their value.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SkillPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub enabled: Option<bool>,
}

/// A skill with its version as the `ETag`.
fn skill_response(mut res: actix_web::HttpResponseBuilder, skill: Skill) -> HttpResponse {
    res.insert_header(header::ETag(etag(skill.lock_version)))
        .json(SkillJson::from(skill))
}

/// The org's skills by name, without their instructions.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/skills",
    tag = "skills",
    params(("org" = String, Path, description = "The org's slug")),
    responses(
        (status = 200, description = "The skills", body = SkillList),
        Guarded,
    ),
    security(("bearer" = ["skills:list"]), ("session" = [])),
)]
pub async fn list_skills(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let skills = ops::list_skills(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(SkillList {
        skills: skills.into_iter().map(SkillListItem::from).collect(),
    }))
}

/// Adds a skill (recorded as `skill.created`).
#[utoipa::path(
    post,
    path = "/api/v1/orgs/{org}/skills",
    tag = "skills",
    params(("org" = String, Path, description = "The org's slug")),
    request_body = NewSkillJson,
    responses(
        (status = 201, description = "Created; `Location` names it, `ETag` is its version", body = SkillJson),
        Guarded,
        JsonBody,
        (status = 409, description = "Another skill of the org already has this name (names are unique regardless of case); nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["skills:create"]), ("session" = [])),
)]
pub async fn create_skill(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<NewSkillJson>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let input = SkillInput {
        name: body.name,
        description: body.description,
        instructions: body.instructions,
        enabled: body.enabled,
    };
    let skill = ops::create_skill(&state, &caller, input).await?;
    let mut res = HttpResponse::Created();
    res.insert_header((
        header::LOCATION,
        format!("/api/v1/orgs/{}/skills/{}", path.into_inner(), skill.id),
    ));
    Ok(skill_response(res, skill))
}

/// One skill with its instructions; `ETag` is its version.
#[utoipa::path(
    get,
    path = "/api/v1/orgs/{org}/skills/{id}",
    tag = "skills",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The skill's id (`skl_…`)"),
    ),
    responses(
        (status = 200, description = "The skill", body = SkillJson),
        Guarded,
    ),
    security(("bearer" = ["skills:get"]), ("session" = [])),
)]
pub async fn get_skill(
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let skill = ops::get_skill(&state, &caller, &path.1).await?;
    Ok(skill_response(HttpResponse::Ok(), skill))
}

/// Changes the fields given (recorded as `skill.updated`, or `skill.enabled|disabled` when
/// only `enabled` changes). With `If-Match`, only if the skill is still at that version.
#[utoipa::path(
    patch,
    path = "/api/v1/orgs/{org}/skills/{id}",
    tag = "skills",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The skill's id (`skl_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body = SkillPatch,
    responses(
        (status = 200, description = "The skill as saved; `ETag` is its new version", body = SkillJson),
        Guarded,
        JsonBody,
        (status = 412, response = PreconditionFailed),
        (status = 409, description = "Someone else changed it between this request's read and its write, or another skill of the org already has the new name; nothing was saved", body = ErrorBody),
    ),
    security(("bearer" = ["skills:update"]), ("session" = [])),
)]
pub async fn update_skill(
    req: HttpRequest,
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<SkillPatch>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    let SkillPatch {
        name,
        description,
        instructions,
        enabled,
    } = body.into_inner();
    let patch = skill_patch::SkillPatch {
        name,
        description,
        instructions,
        enabled,
        lock_version: expected,
    };
    let skill = skill_patch::patch_skill(&state, &caller, &path.1, patch)
        .await
        .map_err(|e| stale(e, expected))?;
    Ok(skill_response(HttpResponse::Ok(), skill))
}

/// A write that lost a race after `If-Match` was checked: the version it was conditional on
/// is gone, which is a failed precondition; without `If-Match` it is a conflict.
fn stale(e: OpError, expected: Option<i32>) -> AppError {
    match (e, expected) {
        (OpError::Conflict(m), Some(_)) => AppError::PreconditionFailed(m),
        (e, _) => e.into(),
    }
}

/// Deletes a skill (recorded as `skill.deleted`). With `If-Match`, only if it is still at
/// that version.
#[utoipa::path(
    delete,
    path = "/api/v1/orgs/{org}/skills/{id}",
    tag = "skills",
    params(
        ("org" = String, Path, description = "The org's slug"),
        ("id" = String, Path, description = "The skill's id (`skl_…`)"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Guarded,
        (status = 412, response = PreconditionFailed),
    ),
    security(("bearer" = ["skills:delete"]), ("session" = [])),
)]
pub async fn delete_skill(
    req: HttpRequest,
    ApiCaller(caller): ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(&req)?;
    if expected.is_some() {
        check_version(&state, &caller, &path.1, expected).await?;
    }
    ops::delete_skill(&state, &caller, &path.1).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn check_version(
    state: &AppState,
    caller: &Caller,
    id: &str,
    expected: Option<i32>,
) -> Result<(), AppError> {
    let current = ops::get_skill(state, caller, id).await?;
    precondition(expected, current.lock_version)
}
