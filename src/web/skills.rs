//! The Skills tab: the org's own AI skills, their Markdown instructions rendered sanitised;
//! admins add, edit (with a preview), enable/disable and delete them. Every rule lives in
//! `ops::skills`; these handlers only translate. Each form works as a plain POST; htmx
//! swaps the tab body instead.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use serde::Deserialize;

use super::{
    Chrome, OrgHeader, Tab,
    confirm::{self, Confirm},
    frame::{org_frame, push_url},
    see_other, tab, urls, wants_fragment,
};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    markdown,
    models::skill::{Skill, SkillSummary},
    ops::{
        OpError,
        skills::{self, MAX_DESCRIPTION_CHARS, MAX_INSTRUCTIONS_CHARS, MAX_NAME_CHARS, SkillInput},
    },
    state::AppState,
};

/// One skill as its card shows it: the instructions only by length (the list stays light
/// however long they are; the skill's own page renders them).
pub struct SkillCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub chars: i32,
    pub enabled: bool,
    pub lock_version: i32,
    pub view_href: String,
    pub edit_href: String,
    pub enabled_action: String,
    pub delete: Confirm,
}

impl SkillCard {
    fn new(org: &str, s: SkillSummary) -> Self {
        Self {
            view_href: urls::skill(org, &s.id),
            edit_href: urls::skill_action(org, &s.id, "edit"),
            enabled_action: urls::skill_action(org, &s.id, "enabled"),
            delete: Confirm::delete_skill(org, &s.id, &s.name),
            chars: s.chars,
            id: s.id,
            name: s.name,
            description: s.description,
            enabled: s.enabled,
            lock_version: s.lock_version,
        }
    }
}

/// What a page shows of a skill (CONVENTIONS: models never reach templates).
pub struct SkillView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub enabled: bool,
}

impl From<Skill> for SkillView {
    fn from(s: Skill) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            instructions: s.instructions,
            enabled: s.enabled,
        }
    }
}

#[derive(Template)]
#[template(path = "skills/show.html", blocks = ["content"])]
pub struct SkillPage {
    chrome: Chrome,
    org: OrgHeader,
    skill: SkillView,
    /// Sanitised HTML of the instructions.
    html: String,
    back_href: String,
    edit_href: String,
}

/// `GET …/skills/{id}`: one skill with its instructions rendered (sanitised).
pub async fn show_skill(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
) -> AppResult<HttpResponse> {
    let skill = skills::get_skill(&state, &ctx.caller, &path.1).await?;
    let slug = &ctx.org().slug;
    let (chrome, org) = org_frame(&session, &ctx, &skill.name, Some(Tab::Skills))?;
    let page = SkillPage {
        chrome,
        org,
        html: markdown::render(&skill.instructions),
        back_href: urls::tab(slug, Tab::Skills),
        edit_href: urls::skill_action(slug, &skill.id, "edit"),
        skill: skill.into(),
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}

#[derive(Template)]
#[template(path = "skills/tab.html", blocks = ["content"])]
pub struct SkillsTabPage {
    chrome: Chrome,
    org: OrgHeader,
    cards: Vec<SkillCard>,
    add_href: String,
}

async fn render_tab(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    code: StatusCode,
    flash: Option<Flash>,
) -> AppResult<HttpResponse> {
    let slug = &ctx.org().slug;
    let cards = skills::list_skills(state, &ctx.caller)
        .await?
        .into_iter()
        .map(|s| SkillCard::new(slug, s))
        .collect();
    let (chrome, org) = org_frame(session, ctx, "Skills", Some(Tab::Skills))?;
    let page = SkillsTabPage {
        chrome: chrome.with_flash(flash),
        org,
        cards,
        add_href: urls::new_skill(slug),
    };
    tab(req, code, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/skills`.
pub async fn show_skills(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render_tab(&req, &ctx, &session, &state, StatusCode::OK, None).await
}

/// A refusal or success of an action on the tab: htmx gets the tab with the message; a
/// plain post 303 back to it (a refusal is rendered at once with its status).
async fn answer(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    outcome: Result<Flash, (StatusCode, Flash)>,
) -> AppResult<HttpResponse> {
    match outcome {
        Ok(flash) if !wants_fragment(req) => {
            set_flash(session, flash);
            Ok(see_other(&urls::tab(&ctx.org().slug, Tab::Skills)))
        }
        Ok(flash) => {
            let mut res = render_tab(req, ctx, session, state, StatusCode::OK, Some(flash)).await?;
            push_url(&mut res, &urls::tab(&ctx.org().slug, Tab::Skills));
            Ok(res)
        }
        Err((code, flash)) => render_tab(req, ctx, session, state, code, Some(flash)).await,
    }
}

/// The editor: values as typed, errors per field, and the preview.
pub struct SkillForm {
    pub heading: String,
    pub action: String,
    pub cancel_href: String,
    pub lock_version: Option<i32>,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub enabled: bool,
    pub name_error: Option<String>,
    pub description_error: Option<String>,
    pub instructions_error: Option<String>,
    /// A message that concerns no one field (a stale version).
    pub error: Option<String>,
    /// After an edit conflict: what the admin typed, per field where it differs from the
    /// current version the form now shows.
    pub typed: Typed,
    /// Sanitised HTML of the instructions, when a preview was asked for.
    pub preview: Option<String>,
    pub max_name: usize,
    pub max_description: usize,
    pub max_instructions: usize,
}

impl SkillForm {
    fn new(org: &str, editing: Option<&Skill>) -> Self {
        let (heading, action) = match editing {
            Some(s) => (format!("Edit {}", s.name), urls::skill(org, &s.id)),
            None => ("Add a skill".to_owned(), urls::skills(org)),
        };
        Self {
            heading,
            action,
            cancel_href: urls::tab(org, Tab::Skills),
            lock_version: editing.map(|s| s.lock_version),
            name: editing.map(|s| s.name.clone()).unwrap_or_default(),
            description: editing.map(|s| s.description.clone()).unwrap_or_default(),
            instructions: editing.map(|s| s.instructions.clone()).unwrap_or_default(),
            enabled: editing.is_none_or(|s| s.enabled),
            name_error: None,
            description_error: None,
            instructions_error: None,
            error: None,
            typed: Typed::default(),
            preview: None,
            max_name: MAX_NAME_CHARS,
            max_description: MAX_DESCRIPTION_CHARS,
            max_instructions: MAX_INSTRUCTIONS_CHARS,
        }
    }

    fn with_input(mut self, form: &SkillFormInput) -> Self {
        self.name = form.name.clone();
        self.description = form.description.clone();
        self.instructions = form.instructions.clone();
        self.enabled = form.enabled();
        if form.lock_version.is_some() {
            self.lock_version = form.lock_version;
        }
        self
    }

    /// Puts `e`'s message next to its field; `None` when `e` is not about the input.
    fn with_error(mut self, e: OpError) -> Result<(StatusCode, Self), OpError> {
        match e {
            OpError::Invalid { field, message } => {
                match field {
                    Some("name") => self.name_error = Some(message),
                    Some("description") => self.description_error = Some(message),
                    Some("instructions") => self.instructions_error = Some(message),
                    _ => self.error = Some(message),
                }
                Ok((StatusCode::BAD_REQUEST, self))
            }
            OpError::Conflict(message) => {
                self.error = Some(message);
                Ok((StatusCode::CONFLICT, self))
            }
            // A name another skill has: beside the name, and nothing to reload.
            OpError::Taken { message, .. } => {
                self.name_error = Some(message);
                Ok((StatusCode::CONFLICT, self))
            }
            other => Err(other),
        }
    }
}

/// What the admin typed into a stale edit, by field (`None`: the same as saved now).
#[derive(Default)]
pub struct Typed {
    pub name: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
}

#[derive(Template)]
#[template(path = "skills/form_page.html", blocks = ["content"])]
pub struct SkillFormPage {
    chrome: Chrome,
    org: OrgHeader,
    form: SkillForm,
}

fn render_form(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    code: StatusCode,
    form: SkillForm,
) -> AppResult<HttpResponse> {
    let (chrome, org) = org_frame(session, ctx, &form.heading, Some(Tab::Skills))?;
    let page = SkillFormPage { chrome, org, form };
    tab(req, code, &page, page.as_content())
}

/// `GET …/skills/new`.
pub async fn new_skill_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
) -> AppResult<HttpResponse> {
    skills::may_create(&ctx.caller)?;
    let form = SkillForm::new(&ctx.org().slug, None);
    render_form(&req, &ctx, &session, StatusCode::OK, form)
}

/// The skill in the path (`/orgs/{org}/settings/ai/skills/{id}/…`).
type SkillPath = web::Path<(String, String)>;

/// `GET …/skills/{id}/edit`.
pub async fn edit_skill_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
) -> AppResult<HttpResponse> {
    let skill = skills::skill_to_edit(&state, &ctx.caller, &path.1).await?;
    let form = SkillForm::new(&ctx.org().slug, Some(&skill));
    render_form(&req, &ctx, &session, StatusCode::OK, form)
}

/// The editor's fields. Unknown fields are refused (a typo'd field must not be dropped
/// silently).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillFormInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    instructions: String,
    /// A checkbox: present (`on`/`true`) or absent.
    enabled: Option<String>,
    lock_version: Option<i32>,
    /// `preview` renders without saving; anything else saves.
    intent: Option<String>,
    #[allow(dead_code)]
    csrf_token: Option<String>,
}

impl SkillFormInput {
    fn enabled(&self) -> bool {
        matches!(self.enabled.as_deref(), Some("on" | "true"))
    }

    fn previewing(&self) -> bool {
        self.intent.as_deref() == Some("preview")
    }

    fn input(&self) -> SkillInput {
        SkillInput {
            name: self.name.clone(),
            description: self.description.clone(),
            instructions: self.instructions.clone(),
            enabled: self.enabled(),
        }
    }
}

/// Renders the editor with its preview (nothing saved).
fn preview(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    mut form: SkillForm,
    input: &SkillFormInput,
) -> AppResult<HttpResponse> {
    let (code, mut form) = match skills::check_input(&ctx.caller, &input.input()) {
        Ok(()) => (StatusCode::OK, form),
        Err(e) => {
            form.preview = None;
            form.with_error(e)?
        }
    };
    form.preview = Some(markdown::render(&input.instructions));
    render_form(req, ctx, session, code, form)
}

/// `POST …/skills`: adds a skill (or previews it).
pub async fn create_skill(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    body: web::Form<SkillFormInput>,
) -> AppResult<HttpResponse> {
    let form = SkillForm::new(&ctx.org().slug, None).with_input(&body);
    if body.previewing() {
        return preview(&req, &ctx, &session, form, &body);
    }
    match skills::create_skill(&state, &ctx.caller, body.input()).await {
        Ok(saved) => {
            let flash = Flash::ok(format!("Added the skill {}.", saved.name));
            answer(&req, &ctx, &session, &state, Ok(flash)).await
        }
        Err(e) => {
            let (code, form) = form.with_error(e)?;
            render_form(&req, &ctx, &session, code, form)
        }
    }
}

/// `POST …/skills/{id}`: saves an edit (or previews it).
pub async fn update_skill(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
    body: web::Form<SkillFormInput>,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let current = skills::get_skill(&state, &ctx.caller, id).await?;
    let form = SkillForm::new(&ctx.org().slug, Some(&current)).with_input(&body);
    if body.previewing() {
        return preview(&req, &ctx, &session, form, &body);
    }
    let Some(version) = body.lock_version else {
        return Err(AppError::Validation(
            "lock_version is missing: reload the form".to_owned(),
        ));
    };
    match skills::update_skill(&state, &ctx.caller, id, version, body.input()).await {
        Ok(saved) => {
            let flash = Flash::ok(format!("Saved the skill {}.", saved.name));
            answer(&req, &ctx, &session, &state, Ok(flash)).await
        }
        Err(e) => {
            let stale = matches!(e, OpError::Conflict(_));
            let (code, mut form) = form.with_error(e)?;
            if stale {
                // Show the current version to edit again (its version, so the next save
                // works), keeping the message and, beside each field, what was typed.
                let fresh = skills::get_skill(&state, &ctx.caller, id).await?;
                let error = form.error.take();
                form = SkillForm::new(&ctx.org().slug, Some(&fresh));
                form.error = error;
                let differs = |now: &str, mine: &str| (now != mine).then(|| mine.to_owned());
                form.typed = Typed {
                    name: differs(&form.name, &body.name),
                    description: differs(&form.description, &body.description),
                    instructions: differs(&form.instructions, &body.instructions),
                };
            }
            render_form(&req, &ctx, &session, code, form)
        }
    }
}

/// The enable/disable form.
#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: String,
    lock_version: i32,
}

/// `POST …/skills/{id}/enabled`.
pub async fn set_skill_enabled(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
    body: web::Form<EnabledForm>,
) -> AppResult<HttpResponse> {
    let enabled = match body.enabled.as_str() {
        "true" | "on" => true,
        "false" | "off" => false,
        _ => {
            return Err(AppError::Validation(
                "enabled must be true or false".to_owned(),
            ));
        }
    };
    let outcome =
        match skills::set_enabled(&state, &ctx.caller, &path.1, body.lock_version, enabled).await {
            Ok(s) if s.enabled => Ok(Flash::ok(format!("{} is enabled.", s.name))),
            Ok(s) => Ok(Flash::ok(format!("{} is disabled.", s.name))),
            Err(OpError::Conflict(m)) => Err((StatusCode::CONFLICT, Flash::error(m))),
            Err(e) => return Err(e.into()),
        };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// `POST …/skills/{id}/delete`.
pub async fn delete_skill(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
) -> AppResult<HttpResponse> {
    let gone = skills::delete_skill(&state, &ctx.caller, &path.1).await?;
    let flash = Flash::ok(format!("Deleted the skill {}.", gone.name));
    answer(&req, &ctx, &session, &state, Ok(flash)).await
}

/// `GET …/skills/{id}/delete`: the question, without JavaScript (`web::confirm`).
pub async fn confirm_delete_skill(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: SkillPath,
) -> AppResult<HttpResponse> {
    ctx.caller.require(crate::ops::Scope::SkillsDelete)?;
    let skill = skills::get_skill(&state, &ctx.caller, &path.1).await?;
    let slug = &ctx.org().slug;
    let c = Confirm::delete_skill(slug, &skill.id, &skill.name);
    confirm::page(
        &req,
        &ctx,
        &session,
        Some(Tab::Skills),
        &c,
        &urls::tab(slug, Tab::Skills),
    )
}
