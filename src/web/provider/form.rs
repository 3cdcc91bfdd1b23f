//! The add/edit provider form's handlers. One template serves add and edit, as a full
//! page (no JavaScript) or as the fragment htmx swaps in; a refused save comes back with the
//! admin's input — never the key — and each error next to its field.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde::Deserialize;

use super::{
    ProviderPath,
    actions::answer_saved,
    drafts::{KeySource, key_rejected, scope},
    form_input::{Errors, ProviderForm, Values, refused},
    form_view::{Extras, FormPage, build},
};
use crate::{
    auth::{Flash, context::OrgContext},
    error::{AppError, AppResult},
    models::provider::CheckStatus,
    ops::providers::{self, ProviderView, drafts::NEW_FORM},
    providers::{ProviderKind, catalog},
    state::AppState,
    web::{Tab, frame::org_frame, tab},
};

/// Which form to render.
pub(super) struct FormSpec {
    /// The kind whose fields to show; `None`: the edited provider's kind (or the first).
    pub kind: Option<ProviderKind>,
    pub values: Values,
    /// The id of the provider being edited.
    pub editing: Option<String>,
    pub lock_version: Option<i32>,
    pub errors: Errors,
    /// A kept key draft and a model listing.
    pub extras: Extras,
}

/// Renders the form (page or fragment) with status `code`.
pub(super) async fn render_form(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    code: StatusCode,
    spec: FormSpec,
) -> AppResult<HttpResponse> {
    let list = providers::list_providers(state, &ctx.caller).await?;
    let editing = match &spec.editing {
        Some(id) => Some(
            list.providers
                .iter()
                .find(|p| &p.id == id)
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let kind = spec
        .kind
        .or(editing.map(|p| p.kind))
        .unwrap_or(ProviderKind::ALL[0]);
    let lock_version = spec.lock_version.or(editing.map(|p| p.lock_version));
    let form = build(
        &ctx.org().slug,
        kind,
        &spec.values,
        editing,
        lock_version,
        &list.providers,
        Extras {
            errors: spec.errors,
            ..spec.extras
        },
    );
    let (chrome, org) = org_frame(session, ctx, &form.heading, Some(Tab::Provider))?;
    let page = FormPage { chrome, org, form };
    tab(req, code, &page, page.as_content())
}

/// The query of the form pages: the kind to show, and the name typed so far (the kind
/// switch sends it along so it survives the swap).
#[derive(Deserialize)]
pub struct FormQuery {
    kind: Option<String>,
    name: Option<String>,
}

impl FormQuery {
    fn kind(&self) -> AppResult<Option<ProviderKind>> {
        match self.kind.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(slug) => slug
                .parse()
                .map(Some)
                .map_err(|e: catalog::UnknownKind| AppError::Validation(e.to_string())),
        }
    }
}

/// `GET /orgs/{org}/settings/ai/provider/new?kind=…`.
pub async fn new_provider_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    providers::may_create(&ctx.caller)?;
    let spec = FormSpec {
        kind: query.kind()?,
        values: Values {
            name: query.name.clone().unwrap_or_default(),
            ..Values::default()
        },
        editing: None,
        lock_version: None,
        errors: Errors::default(),
        extras: Extras::default(),
    };
    render_form(&req, &ctx, &session, &state, StatusCode::OK, spec).await
}

/// `GET /orgs/{org}/settings/ai/providers/{id}/edit?kind=…`.
pub async fn edit_provider_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    let view = providers::provider_to_edit(&state, &ctx.caller, &path.1).await?;
    let mut values = Values::of(&view);
    if let Some(name) = &query.name {
        values.name = name.clone();
    }
    let spec = FormSpec {
        kind: query.kind()?,
        values,
        editing: Some(view.id),
        lock_version: None,
        errors: Errors::default(),
        extras: Extras::default(),
    };
    render_form(&req, &ctx, &session, &state, StatusCode::OK, spec).await
}

/// "Saved {name}." — or "… without verifying." when it was saved unverified.
fn saved(view: &ProviderView) -> Flash {
    Flash::ok(match view.last_check.status {
        CheckStatus::Unverified => format!("Saved {} without verifying.", view.name),
        _ => format!("Saved {}.", view.name),
    })
}

/// `POST /orgs/{org}/settings/ai/providers`.
pub async fn create_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let values = form.values();
    let scope = scope(&session, NEW_FORM)?;
    let (kind, result, source) = match form.kind() {
        Ok(kind) => {
            let source = KeySource::of(&form, kind, &scope);
            let input = form.into_input(kind, &scope);
            let result = providers::create_provider(&state, &ctx.caller, input);
            let result = result.await.map_err(|e| refused(e, kind));
            (Some(kind), result, Some(source))
        }
        Err(errors) => (None, Err(Ok((StatusCode::BAD_REQUEST, errors))), None),
    };
    let (code, errors) = match result {
        Ok(view) => {
            return answer_saved(&req, &ctx, &session, &state, saved(&view), &view.id).await;
        }
        Err(refusal) => refusal?,
    };
    let draft = match source {
        Some(source) => {
            source
                .kept(&state, &ctx.caller, key_rejected(&errors))
                .await
        }
        None => None,
    };
    let spec = FormSpec {
        kind,
        values,
        editing: None,
        lock_version: None,
        errors,
        extras: Extras {
            draft,
            ..Extras::default()
        },
    };
    render_form(&req, &ctx, &session, &state, code, spec).await
}

/// `POST /orgs/{org}/settings/ai/providers/{id}`: carries the `lock_version` it was
/// edited at, so a concurrent change is a 409 rather than a silent overwrite.
pub async fn update_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let form = form.into_inner();
    let lock_version = form.lock_version()?;
    let values = form.values();
    let scope = scope(&session, id)?;
    let (kind, result, source) = match form.kind() {
        Ok(kind) => {
            let source = KeySource::of(&form, kind, &scope);
            let input = form.into_input(kind, &scope);
            let result = providers::update_provider(&state, &ctx.caller, id, lock_version, input);
            let result = result.await.map_err(|e| refused(e, kind));
            (Some(kind), result, Some(source))
        }
        Err(errors) => (None, Err(Ok((StatusCode::BAD_REQUEST, errors))), None),
    };
    let (code, errors) = match result {
        Ok(view) => {
            return answer_saved(&req, &ctx, &session, &state, saved(&view), &view.id).await;
        }
        Err(refusal) => refusal?,
    };
    let draft = match source {
        Some(source) => {
            source
                .kept(&state, &ctx.caller, key_rejected(&errors))
                .await
        }
        None => None,
    };
    let mut spec = FormSpec {
        kind,
        values,
        editing: Some(id.clone()),
        // The version the admin edited: saving again without reloading conflicts again.
        lock_version: Some(lock_version),
        errors,
        extras: Extras {
            draft,
            ..Extras::default()
        },
    };
    if code == StatusCode::CONFLICT {
        // Someone else saved first: the form shows the provider as it is now, at its
        // current version (so the next save works), and beside each field what the admin
        // typed there (DECISIONS.md "Console interaction").
        let now = providers::provider_to_edit(&state, &ctx.caller, id).await?;
        spec.kind = Some(now.kind);
        spec.lock_version = Some(now.lock_version);
        spec.extras.typed = Some(std::mem::replace(&mut spec.values, Values::of(&now)));
    }
    render_form(&req, &ctx, &session, &state, code, spec).await
}
