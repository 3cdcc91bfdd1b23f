//! The actions on the Provider tab's cards (test, activate, deactivate, remove key, delete)
//! and the routing-policy switch: each calls one operation and answers with the tab.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::StatusCode,
    http::header::{HeaderName, HeaderValue},
    web,
};

use super::super::{frame::push_url, see_other, urls, wants_fragment};
use super::{ProviderPath, render_tab};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::AppResult,
    ops::{
        OpError, providers,
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

/// [`answer`], about the provider `saved` (just created or edited) when given: a plain
/// post is sent to its card (`…/provider#provider-{id}`, which CSS highlights as the
/// target); htmx gets the card marked as just saved and scrolled into view.
async fn answer_about(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    outcome: Outcome,
    saved: Option<&str>,
) -> AppResult<HttpResponse> {
    match outcome {
        Ok(flash) if !wants_fragment(req) => {
            set_flash(session, flash);
            let tab = urls::provider_tab(&ctx.org().slug);
            Ok(see_other(&match saved {
                Some(id) => format!("{tab}#provider-{id}"),
                None => tab,
            }))
        }
        Ok(flash) => {
            let mut res =
                render_tab(req, ctx, session, state, StatusCode::OK, Some(flash), saved).await?;
            if let Some(id) = saved
                && let Ok(swap) =
                    HeaderValue::from_str(&format!("innerHTML show:#provider-{id}:top"))
            {
                res.headers_mut()
                    .insert(HeaderName::from_static("hx-reswap"), swap);
            }
            Ok(res)
        }
        Err((code, flash)) => render_tab(req, ctx, session, state, code, Some(flash), None).await,
    }
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
    let mut res = answer_about(req, ctx, session, state, Ok(flash), Some(saved)).await?;
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
