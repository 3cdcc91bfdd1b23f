//! The actions on the Provider tab's cards (test, activate, deactivate, remove key, delete)
//! and the routing-policy switch: each calls one operation and answers with the tab.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::StatusCode,
    http::header::{HeaderName, HeaderValue},
    web,
};

use super::super::{Tab, confirm::Confirm, frame::push_url, see_other, urls, wants_fragment};
use super::{ProviderPath, render_tab};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::AppResult,
    ops::{
        OpError, Scope, providers,
        settings::{self, PolicyChange, SetPolicy},
    },
    providers::CheckOutcome,
    routing::Policy,
    state::AppState,
};

/// What an action came to: a message for the tab, or a refusal with its status.
pub(super) type Outcome = Result<Flash, (StatusCode, Flash)>;

/// Answers an action: htmx gets the tab fragment with the message inline; a plain form
/// post gets 303 back to the tab with the message queued. A refusal is rendered at once
/// with its status, for both (DECISIONS.md: the conflict must be visible).
pub(super) async fn answer(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    outcome: Outcome,
) -> AppResult<HttpResponse> {
    answer_about(req, ctx, session, state, outcome, None).await
}

/// Where the answer to an action about one provider puts its message.
#[derive(Clone, Copy)]
struct About<'a> {
    /// The provider's id: its card shows the message.
    id: &'a str,
    /// The action was pressed on another page (the form, the activation preview): htmx
    /// scrolls the card into view; an action on the card itself keeps the scroll.
    elsewhere: bool,
}

/// [`answer`], about one provider when given (DECISIONS.md "Console interaction"): its card
/// shows the message and lights up. A plain post is sent to its card
/// (`…/provider#provider-{id}`, in view on arrival); a plain refusal, rendered at once on
/// a page that opens at the top, keeps the message at the top where it is seen.
async fn answer_about(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    outcome: Outcome,
    about: Option<About<'_>>,
) -> AppResult<HttpResponse> {
    let fragment = wants_fragment(req);
    let on_card = |flash: Flash| match about {
        Some(a) => flash.about(a.id),
        None => flash,
    };
    let (code, flash) = match outcome {
        Ok(flash) if !fragment => {
            set_flash(session, on_card(flash));
            let tab = urls::provider_tab(&ctx.org().slug);
            return Ok(see_other(&match about {
                Some(a) => format!("{tab}#provider-{}", a.id),
                None => tab,
            }));
        }
        Ok(flash) => (StatusCode::OK, on_card(flash)),
        Err((code, flash)) if fragment => (code, on_card(flash)),
        Err((code, flash)) => (code, flash),
    };
    let mut res = render_tab(req, ctx, session, state, code, Some(flash)).await?;
    if fragment
        && let Some(a) = about.filter(|a| a.elsewhere)
        && let Ok(swap) = HeaderValue::from_str(&format!("innerHTML show:#provider-{}:top", a.id))
    {
        res.headers_mut()
            .insert(HeaderName::from_static("hx-reswap"), swap);
    }
    Ok(res)
}

/// The answer to a saved form: like [`answer`], and htmx also moves the address bar from
/// the form's URL back to the tab.
pub(super) async fn answer_saved(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    flash: Flash,
    saved: &str,
) -> AppResult<HttpResponse> {
    let about = About {
        id: saved,
        elsewhere: true,
    };
    let mut res = answer_about(req, ctx, session, state, Ok(flash), Some(about)).await?;
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
pub(super) fn refusal(e: OpError, name: &str) -> Result<(StatusCode, Flash), OpError> {
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
        Ok((view, check)) if check.ok => Ok(Flash::ok(format!(
            "Checked just now — OK: {} passed the check.",
            view.name
        ))),
        Ok((view, check)) => Ok(Flash::error(format!(
            "Checked just now — {}",
            failed_check(&view.name, &check)
        ))),
        Err(e) => {
            let name = providers::get_provider(&state, &ctx.caller, id).await?.name;
            Err(refusal(e, &name)?)
        }
    };
    let about = About {
        id,
        elsewhere: false,
    };
    answer_about(&req, &ctx, &session, &state, outcome, Some(about)).await
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
    // Pressed on the activation preview: the card is scrolled into view.
    let about = About {
        id,
        elsewhere: true,
    };
    answer_about(&req, &ctx, &session, &state, outcome, Some(about)).await
}

/// `POST …/provider/deactivate`: back to the platform default; records are kept.
pub async fn deactivate_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    // The message goes on the card of the provider that was active (its Deactivate button).
    let active = providers::list_providers(&state, &ctx.caller)
        .await?
        .active_provider()
        .map(|p| p.id.clone());
    let outcome = match providers::deactivate(&state, &ctx.caller).await {
        Ok(true) => Ok(Flash::ok("Back on the platform default.")),
        Ok(false) => Ok(Flash::ok("Already on the platform default.")),
        Err(e) => Err(refusal(e, "")?),
    };
    let about = active.as_deref().map(|id| About {
        id,
        elsewhere: false,
    });
    answer_about(&req, &ctx, &session, &state, outcome, about).await
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
    let about = About {
        id,
        elsewhere: false,
    };
    answer_about(&req, &ctx, &session, &state, outcome, Some(about)).await
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
    match providers::delete_provider(&state, &ctx.caller, id).await {
        // The card is gone: the message goes at the top (the console's script focuses it).
        Ok(()) => {
            let outcome = Ok(Flash::ok(format!("Deleted {name}.")));
            answer(&req, &ctx, &session, &state, outcome).await
        }
        // Refused (still active): said on its card.
        Err(e) => {
            let about = About {
                id,
                elsewhere: false,
            };
            let outcome = Err(refusal(e, &name)?);
            answer_about(&req, &ctx, &session, &state, outcome, Some(about)).await
        }
    }
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

/// `GET …/providers/{id}/delete`: the question, without JavaScript (`web::confirm`).
pub async fn confirm_delete(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    ctx.caller.require(Scope::AiProvidersDelete)?;
    let p = providers::get_provider(&state, &ctx.caller, &path.1).await?;
    let slug = &ctx.org().slug;
    let c = Confirm::delete_provider(slug, &p.id, &p.name, p.active);
    confirm_page(&req, &ctx, &session, &c)
}

/// `GET …/providers/{id}/remove-key`: the question, without JavaScript.
pub async fn confirm_remove_key(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
) -> AppResult<HttpResponse> {
    ctx.caller.require(Scope::AiProvidersUpdate)?;
    let p = providers::get_provider(&state, &ctx.caller, &path.1).await?;
    let slug = &ctx.org().slug;
    let mut c = Confirm::remove_key(slug, &p.id, &p.name, p.active, !p.shared_with.is_empty());
    if p.secret_id.is_none() {
        c.refusal = Some(format!("{} has no key to remove.", p.name));
    }
    confirm_page(&req, &ctx, &session, &c)
}

/// `GET …/provider/deactivate`: the question, without JavaScript.
pub async fn confirm_deactivate(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    ctx.caller.require(Scope::AiProvidersActivate)?;
    let list = providers::list_providers(&state, &ctx.caller).await?;
    let slug = &ctx.org().slug;
    let c = match list.active_provider() {
        Some(p) => Confirm::deactivate(slug, &p.name),
        None => {
            let mut c = Confirm::deactivate(slug, "the active provider");
            c.question = "Deactivate the active provider?".to_owned();
            c.refusal = Some(
                "The org already uses the platform default: there is nothing to deactivate."
                    .to_owned(),
            );
            c
        }
    };
    confirm_page(&req, &ctx, &session, &c)
}

fn confirm_page(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    c: &Confirm,
) -> AppResult<HttpResponse> {
    let cancel = urls::provider_tab(&ctx.org().slug);
    super::super::confirm::page(req, ctx, session, Some(Tab::Provider), c, &cancel)
}
