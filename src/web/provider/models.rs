//! "Load models" on the provider form: the whole form is posted (with JavaScript by htmx,
//! without as a plain submit through the button's `formaction`) and comes back with the
//! endpoint's models in the model field's datalist, or with why they couldn't be listed
//! (the check taxonomy's code). A typed key is kept as a draft, so the form that comes back
//! can use it without ever showing it.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};

use super::{
    ProviderPath,
    drafts::{KeySource, scope},
    form::{FormSpec, render_form},
    form_input::{Errors, ProviderForm},
    form_view::{Extras, ModelsStatus},
};
use crate::{
    auth::context::OrgContext,
    error::AppResult,
    ops::{
        OpError,
        providers::{drafts::NEW_FORM, models},
    },
    state::AppState,
};

/// `POST /orgs/{org}/settings/ai/provider/models`: models for the add form.
pub async fn load_models_new(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    load(&req, &ctx, &session, &state, None, form.into_inner()).await
}

/// `POST /orgs/{org}/settings/ai/providers/{id}/models`: models for the edit form.
pub async fn load_models_edit(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner().1;
    load(&req, &ctx, &session, &state, Some(id), form.into_inner()).await
}

async fn load(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    editing: Option<String>,
    form: ProviderForm,
) -> AppResult<HttpResponse> {
    let values = form.values();
    // The version the admin is editing stays in the form (blank or bad: the current one).
    let lock_version = editing.as_ref().and_then(|_| form.lock_version().ok());
    let kind = match form.kind() {
        Ok(kind) => kind,
        Err(errors) => {
            let spec = FormSpec {
                kind: None,
                values,
                editing,
                lock_version,
                errors,
                extras: Extras::default(),
            };
            return render_form(req, ctx, session, state, StatusCode::BAD_REQUEST, spec).await;
        }
    };
    let scope = scope(session, editing.as_deref().unwrap_or(NEW_FORM))?;
    let source = KeySource::of(&form, kind, &scope);
    let input = form.into_input(kind, &scope);
    let result = models::list_models_for_form(state, &ctx.caller, editing.as_deref(), input).await;
    let (code, listed, status, key_rejected) = match result {
        Ok(listed) => {
            let message = match (listed.models.len(), listed.cached) {
                (0, _) => "The endpoint lists no models.".to_owned(),
                (1, _) => "Loaded 1 model from the endpoint.".to_owned(),
                (n, false) => format!("Loaded {n} models from the endpoint."),
                (n, true) => {
                    format!("Loaded {n} models from the endpoint (listed in the last few minutes).")
                }
            };
            let status = ModelsStatus {
                failed: false,
                message,
            };
            (StatusCode::OK, Some(listed.models), status, false)
        }
        Err(e) => {
            let (code, message, key_rejected) = failure(e)?;
            let status = ModelsStatus {
                failed: true,
                message: format!("Couldn't load models: {message}"),
            };
            (code, None, status, key_rejected)
        }
    };
    let draft = source.kept(state, &ctx.caller, key_rejected).await;
    let spec = FormSpec {
        kind: Some(kind),
        values,
        editing,
        lock_version,
        errors: Errors::default(),
        extras: Extras {
            draft,
            models: listed,
            models_status: Some(status),
            ..Extras::default()
        },
    };
    render_form(req, ctx, session, state, code, spec).await
}

/// A refused listing: its status, its message (a failed listing's taxonomy code first) and
/// whether the key itself was the problem. Anything else stays an error.
fn failure(e: OpError) -> Result<(StatusCode, String, bool), OpError> {
    Ok(match e {
        OpError::CheckFailed(outcome) => {
            let code = outcome.code.map_or("failed", |c| c.as_str());
            let rejected = code == "auth_rejected";
            let message = format!("{code} — {}.", outcome.message.trim_end_matches('.'));
            (StatusCode::UNPROCESSABLE_ENTITY, message, rejected)
        }
        OpError::Invalid { field, message } => {
            (StatusCode::BAD_REQUEST, message, field == Some("api_key"))
        }
        OpError::Unprocessable { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
            field == Some("api_key"),
        ),
        other => return Err(other),
    })
}
