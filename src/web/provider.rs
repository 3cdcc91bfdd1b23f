//! The Provider tab: which LLM provider serves the org now (the platform default or one of
//! the org's own), a card per configured provider, and — for admins — the actions on them
//! (test, activate, deactivate, remove key, delete). The add/edit form is in [`form`].
//! Every rule lives in `ops::providers`; these handlers only translate.

mod drafts;
mod form;
mod form_input;
mod form_view;
mod matrix;
mod models;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

pub use form::{create_provider, edit_provider_form, new_provider_form, update_provider};
pub use models::{load_models_edit, load_models_new};

use super::{
    Chrome, OrgHeader, Tab,
    frame::{org_frame, push_url},
    see_other, tab, urls, wants_fragment,
};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::AppResult,
    ops::{
        OpError,
        providers::{self, KeyDisplay, ProviderList, ProviderView},
        settings::{self, PolicyChange, SetPolicy},
    },
    providers::{CheckOutcome, ProviderKind, Tools},
    routing::Policy,
    state::AppState,
};
use matrix::{MatrixRow, Platform, PolicyChoice};

/// How times are shown on the tab.
const TIME: &str = "%Y-%m-%d %H:%M UTC";

/// Which provider serves the org's AI features now.
pub struct ModeView {
    /// The active provider's name; `None`: the platform default serves.
    pub name: Option<String>,
    pub kind_label: String,
    pub model: String,
}

/// One line of a card's kind-specific details.
pub struct Detail {
    pub label: &'static str,
    pub value: String,
}

/// One provider as its card shows it. Holds no key: at most its masked preview.
pub struct CardView {
    pub id: String,
    pub name: String,
    pub kind_label: &'static str,
    pub model: String,
    pub base_url: String,
    pub details: Vec<Detail>,
    /// The masked preview (admins), "Key set" or "No key".
    pub key: String,
    pub has_key: bool,
    pub shared_with: Option<String>,
    pub check_status: &'static str,
    pub check_code: Option<String>,
    pub check_message: Option<String>,
    pub checked_at: Option<String>,
    pub active: bool,
    pub edit_href: String,
    pub test_action: String,
    /// The activation preview (GET) and the activation itself (POST).
    pub activate_action: String,
    pub remove_key_action: String,
    pub delete_action: String,
}

impl CardView {
    fn new(org: &str, p: ProviderView) -> Self {
        let entry = p.kind.entry();
        let mut details = Vec::new();
        for (label, value) in [
            ("Deployment", &p.deployment),
            ("API version", &p.api_version),
            ("Region", &p.region),
        ] {
            if let Some(value) = value {
                details.push(Detail {
                    label,
                    value: value.clone(),
                });
            }
        }
        if entry.tools == Tools::AdminSays {
            details.push(Detail {
                label: "Tool calling",
                value: if p.supports_tools { "yes" } else { "no" }.to_owned(),
            });
        }
        let (key, has_key) = match p.key {
            KeyDisplay::None => ("No key".to_owned(), false),
            KeyDisplay::Set => ("Key set".to_owned(), true),
            KeyDisplay::Preview(preview) => (preview, true),
        };
        Self {
            edit_href: urls::edit_provider(org, &p.id),
            test_action: urls::provider_action(org, &p.id, "test"),
            activate_action: urls::provider_action(org, &p.id, "activate"),
            remove_key_action: urls::provider_action(org, &p.id, "remove-key"),
            delete_action: urls::provider_action(org, &p.id, "delete"),
            id: p.id,
            name: p.name,
            kind_label: entry.label,
            model: p.default_model,
            base_url: p
                .effective_base_url
                .unwrap_or_else(|| "(the provider's default)".to_owned()),
            details,
            key,
            has_key,
            shared_with: (!p.shared_with.is_empty()).then(|| p.shared_with.join(", ")),
            check_status: p.last_check.status.as_str(),
            check_code: p.last_check.code,
            check_message: p.last_check.message,
            checked_at: p.last_check.checked_at.map(|t| t.format(TIME).to_string()),
            active: p.active,
        }
    }
}

#[derive(Template)]
#[template(path = "provider/tab.html", blocks = ["content"])]
pub struct ProviderTabPage {
    chrome: Chrome,
    org: OrgHeader,
    mode: ModeView,
    cards: Vec<CardView>,
    add_href: String,
    deactivate_action: String,
    matrix: Vec<MatrixRow>,
    policy: Policy,
    policy_choices: Vec<PolicyChoice>,
    policy_action: String,
    settings_lock_version: i32,
}

/// Who serves the platform default: `SWITCHBOARD_PLATFORM_PROVIDER` is `kind:model`; a
/// kind the catalog doesn't know is shown as configured.
fn platform(state: &AppState) -> Platform {
    let (kind, model) = providers::platform_default(state);
    let kind_label = kind
        .parse::<ProviderKind>()
        .map_or(kind, |k| k.entry().label.to_owned());
    Platform { kind_label, model }
}

fn mode(platform: &Platform, list: &ProviderList) -> ModeView {
    match list.active_provider() {
        Some(p) => ModeView {
            name: Some(p.name.clone()),
            kind_label: p.kind.entry().label.to_owned(),
            model: p.default_model.clone(),
        },
        None => ModeView {
            name: None,
            kind_label: platform.kind_label.clone(),
            model: platform.model.clone(),
        },
    }
}

/// Renders the tab (page or fragment) with `flash` shown in place of any queued message.
async fn render_tab(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    code: StatusCode,
    flash: Option<Flash>,
) -> AppResult<HttpResponse> {
    let list = providers::list_providers(state, &ctx.caller).await?;
    let slug = &ctx.org().slug;
    let platform = platform(state);
    let mode = mode(&platform, &list);
    let matrix = matrix::rows(&list.routing(), &platform);
    let (policy, settings_lock_version) = (list.policy, list.settings_lock_version);
    let cards = list
        .providers
        .into_iter()
        .map(|p| CardView::new(slug, p))
        .collect();
    let (chrome, org) = org_frame(session, ctx, "Provider", Some(Tab::Provider))?;
    let page = ProviderTabPage {
        chrome: chrome.with_flash(flash),
        org,
        mode,
        cards,
        add_href: urls::new_provider_form(slug, None),
        deactivate_action: urls::deactivate(slug),
        matrix,
        policy,
        policy_choices: matrix::policy_choices(policy),
        policy_action: urls::routing_policy(slug),
        settings_lock_version,
    };
    tab(req, code, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/provider`.
pub async fn show_provider_tab(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render_tab(&req, &ctx, &session, &state, StatusCode::OK, None).await
}

/// What an action came to: a message for the tab, or a refusal with its status.
type Outcome = Result<Flash, (StatusCode, Flash)>;

/// Answers an action: htmx gets the tab fragment with the message inline; a plain form
/// post gets 303 back to the tab with the message queued. A refusal is rendered at once
/// with its status, for both (DECISIONS.md: the conflict must be visible).
async fn answer(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    outcome: Outcome,
) -> AppResult<HttpResponse> {
    match outcome {
        Ok(flash) if !wants_fragment(req) => {
            set_flash(session, flash);
            Ok(see_other(&urls::provider_tab(&ctx.org().slug)))
        }
        Ok(flash) => render_tab(req, ctx, session, state, StatusCode::OK, Some(flash)).await,
        Err((code, flash)) => render_tab(req, ctx, session, state, code, Some(flash)).await,
    }
}

/// The answer to a saved form: like [`answer`], and htmx also moves the address bar from
/// the form's URL back to the tab.
async fn answer_saved(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    flash: Flash,
) -> AppResult<HttpResponse> {
    let mut res = answer(req, ctx, session, state, Ok(flash)).await?;
    if wants_fragment(req) {
        push_url(&mut res, &urls::provider_tab(&ctx.org().slug));
    }
    Ok(res)
}

/// "{name} failed the check: {code} — {message}".
fn failed_check(name: &str, outcome: &CheckOutcome) -> String {
    match outcome.code {
        Some(code) => format!(
            "{name} failed the check: {} — {}",
            code.as_str(),
            outcome.message
        ),
        None => format!("{name} failed the check: {}", outcome.message),
    }
}

/// Turns the refusals an action can meet into a status and message; anything else (not
/// found, forbidden, internal) stays an error.
fn refusal(e: OpError, name: &str) -> Result<(StatusCode, Flash), OpError> {
    let (code, message) = match e {
        OpError::CheckFailed(outcome) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            failed_check(name, &outcome),
        ),
        OpError::Invalid { message, .. } => (StatusCode::BAD_REQUEST, message),
        OpError::Unprocessable { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message),
        OpError::Conflict(message) => (StatusCode::CONFLICT, message),
        other => return Err(other),
    };
    Ok((code, Flash::error(message)))
}

/// The provider in the path (`/orgs/{org}/settings/ai/providers/{id}/…`).
type ProviderPath = web::Path<(String, String)>;

/// `POST …/providers/{id}/test`: runs the live check and records its result.
pub async fn test_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let outcome = match providers::test_provider(&state, &ctx.caller, id).await {
        Ok((view, check)) if check.ok => Ok(Flash::ok(format!("{} passed the check.", view.name))),
        Ok((view, check)) => Ok(Flash::error(failed_check(&view.name, &check))),
        Err(e) => {
            let name = providers::get_provider(&state, &ctx.caller, id).await?.name;
            Err(refusal(e, &name)?)
        }
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// `POST …/providers/{id}/activate`: after a passing live check, the provider serves
/// the org's AI features.
pub async fn activate_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let outcome = match providers::activate_provider(&state, &ctx.caller, id).await {
        Ok(view) => Ok(Flash::ok(format!("{} is now active.", view.name))),
        Err(e) => {
            let name = providers::get_provider(&state, &ctx.caller, id).await?.name;
            Err(refusal(e, &name)?)
        }
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// `POST …/provider/deactivate`: back to the platform default; records are kept.
pub async fn deactivate_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let outcome = match providers::deactivate(&state, &ctx.caller).await {
        Ok(true) => Ok(Flash::ok("Back on the platform default.")),
        Ok(false) => Ok(Flash::ok("Already on the platform default.")),
        Err(e) => Err(refusal(e, "")?),
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// `POST …/providers/{id}/remove-key`: unlinks the key (an active provider that needs one
/// hands the org back to the platform default).
pub async fn remove_key(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let outcome = match providers::remove_key(&state, &ctx.caller, id).await {
        Ok((after, reverted)) => {
            let mut message = format!("Removed the key of {}.", after.name);
            if reverted {
                message.push_str(" The org is back on the platform default.");
            }
            Ok(Flash::ok(message))
        }
        Err(e) => {
            let name = providers::get_provider(&state, &ctx.caller, id).await?.name;
            Err(refusal(e, &name)?)
        }
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// `POST …/providers/{id}/delete`: refused (409) while the provider is active.
pub async fn delete_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let name = providers::get_provider(&state, &ctx.caller, id).await?.name;
    let outcome = match providers::delete_provider(&state, &ctx.caller, id).await {
        Ok(()) => Ok(Flash::ok(format!("Deleted {name}."))),
        Err(e) => Err(refusal(e, &name)?),
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// The routing policy form.
#[derive(serde::Deserialize)]
pub struct PolicyForm {
    routing_policy: String,
    lock_version: i32,
}

/// `POST …/provider/routing-policy`: `fallback` or `strict`.
pub async fn set_routing_policy(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<PolicyForm>,
) -> AppResult<HttpResponse> {
    let outcome = match form.routing_policy.parse::<Policy>() {
        Err(e) => Err((StatusCode::BAD_REQUEST, Flash::error(e.to_string()))),
        Ok(policy) => {
            let input = SetPolicy {
                policy,
                lock_version: form.lock_version,
            };
            match settings::set_routing_policy(&state, &ctx.caller, input).await {
                Ok(PolicyChange::Saved { .. }) => Ok(Flash::ok(format!(
                    "Routing policy is now {}.",
                    policy.as_str()
                ))),
                Ok(PolicyChange::Unchanged) => Ok(Flash::ok("Nothing to change.")),
                Err(e) => Err(refusal(e, "")?),
            }
        }
    };
    answer(&req, &ctx, &session, &state, outcome).await
}

/// One feature whose server would change.
pub struct ChangeRow {
    pub label: &'static str,
    pub now: String,
    pub then: String,
    pub then_reason: &'static str,
}

#[derive(Template)]
#[template(path = "provider/activate.html", blocks = ["content"])]
pub struct ActivatePage {
    chrome: Chrome,
    org: OrgHeader,
    name: String,
    changes: Vec<ChangeRow>,
    action: String,
    cancel_href: String,
}

/// `GET …/providers/{id}/activate`: what activating would change — the matrix rows whose
/// server changes — and a button to confirm. Without JavaScript a page of its own; with
/// htmx it replaces the tab body in place.
pub async fn activation_preview(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let list = providers::activation_preview(&state, &ctx.caller, id).await?;
    let platform = platform(&state);
    let show = |row: &MatrixRow| format!("{} ({})", row.served_by, row.model);
    let changes = matrix::changes(&list.routing(), &list.routing_with_active(id), &platform)
        .into_iter()
        .map(|(now, then)| ChangeRow {
            label: now.label,
            now: show(&now),
            then: if then.server == "unavailable" {
                then.served_by.clone()
            } else {
                show(&then)
            },
            then_reason: then.reason,
        })
        .collect();
    let name = list
        .providers
        .iter()
        .find(|p| &p.id == id)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let slug = &ctx.org().slug;
    let (chrome, org) = org_frame(&session, &ctx, "Activate provider", Some(Tab::Provider))?;
    let page = ActivatePage {
        chrome,
        org,
        name,
        changes,
        action: urls::provider_action(slug, id, "activate"),
        cancel_href: urls::provider_tab(slug),
    };
    tab(&req, StatusCode::OK, &page, page.as_content())
}
