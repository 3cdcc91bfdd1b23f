//! Login, logout and the one-time first-run setup.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Chrome, page, see_other, urls};
use crate::{
    auth::context::request_meta,
    error::AppResult,
    ops::{
        OpError,
        accounts::{self, LoginOutcome},
        orgs::{self, FirstRun, NewOrgInput},
        setup,
    },
    state::AppState,
};

pub use crate::ops::accounts::LOGIN_FAILED;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

/// `GET /login`.
pub async fn login_form(session: Session) -> AppResult<HttpResponse> {
    let chrome = Chrome::new(&session, "Log in", None)?;
    page(
        StatusCode::OK,
        &LoginPage {
            chrome,
            email: String::new(),
            error: None,
        },
    )
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

/// `POST /login`: the rules (throttling, hashing, one answer for every failure, the
/// audit of failures) are `ops::accounts::log_in`'s; this renews the session on success.
pub async fn log_in(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let LoginForm { email, password } = form.into_inner();
    let outcome = accounts::log_in(
        &state,
        &email,
        SecretString::from(password),
        request_meta(&req),
    )
    .await?;
    let (status, message, retry_after) = match outcome {
        LoginOutcome::LoggedIn(user) => {
            crate::auth::log_in(&session, &user)?;
            return Ok(see_other("/"));
        }
        LoginOutcome::Failed => (StatusCode::UNAUTHORIZED, LOGIN_FAILED.to_owned(), None),
        LoginOutcome::Throttled(refusal) => (
            StatusCode::TOO_MANY_REQUESTS,
            refusal.message,
            Some(refusal.retry_after_secs),
        ),
    };
    let chrome = Chrome::new(&session, "Log in", None)?;
    let mut res = page(
        status,
        &LoginPage {
            chrome,
            email: email.trim().to_owned(),
            error: Some(message),
        },
    )?;
    if let Some(secs) = retry_after {
        set_retry_after(&mut res, secs);
    }
    Ok(res)
}

/// Adds `Retry-After: secs` to a 429 answer.
pub(super) fn set_retry_after(res: &mut HttpResponse, secs: u64) {
    res.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(secs),
    );
}

/// `POST /logout`: the session is deleted server-side and the cookie removed.
pub async fn log_out(session: Session) -> HttpResponse {
    session.purge();
    see_other("/login")
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    chrome: Chrome,
    token: String,
    form: SetupFields,
    error: Option<String>,
}

/// The setup form's fields (the password is never echoed back).
#[derive(Deserialize, Default)]
pub struct SetupFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    org_slug: String,
}

/// The setup form as posted.
#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    password: String,
    #[serde(flatten)]
    fields: SetupFields,
}

/// The `token` query parameter.
#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct SetupGonePage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
    back: (&'a str, &'a str),
}

/// A setup link that is not (or no longer) valid: 404 with a page that says why and what
/// to do, rather than the bare "not found". Once Switchboard is set up the link was used
/// (or is stale): the answer is to sign in.
async fn setup_gone(session: &Session, state: &AppState) -> AppResult<HttpResponse> {
    let set_up = setup::is_set_up(state).await?;
    let chrome = Chrome::new(session, "Setup link not valid", None)?;
    let gone = match set_up {
        true => SetupGonePage {
            chrome,
            heading: "This setup link was already used — sign in",
            message: "Switchboard is set up: its first admin account exists, so the setup \
                      link no longer works. Sign in with your account; people without one \
                      join through an invitation from an org admin.",
            back: ("Sign in", "/login"),
        },
        false => SetupGonePage {
            chrome,
            heading: "This setup link is not valid",
            message: "It expired (links last 24 hours), or a newer one replaced it. Whoever \
                      runs the Switchboard server can print a new link with \
                      `switchboard setup-url`.",
            back: ("Back to Switchboard", "/"),
        },
    };
    page(StatusCode::NOT_FOUND, &gone)
}

/// `GET /setup?token=…`: only while no user exists and with the printed token.
pub async fn setup_form(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> AppResult<HttpResponse> {
    let token = query.into_inner().token.unwrap_or_default();
    if !setup::token_valid(&state, &token).await? {
        return setup_gone(&session, &state).await;
    }
    let chrome = Chrome::new(&session, "Set up", None)?;
    page(
        StatusCode::OK,
        &SetupPage {
            chrome,
            token,
            form: SetupFields::default(),
            error: None,
        },
    )
}

/// `POST /setup`: creates the first admin and org in one transaction, then kills the token.
pub async fn set_up(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> AppResult<HttpResponse> {
    let SetupForm {
        token,
        password,
        fields,
    } = form.into_inner();
    let input = FirstRun {
        name: fields.name.clone(),
        email: fields.email.clone(),
        password: SecretString::from(password),
        org: NewOrgInput {
            slug: fields.org_slug.clone(),
            name: fields.org_name.clone(),
        },
    };
    match orgs::set_up(&state, &token, input, request_meta(&req)).await {
        Ok((user, org)) => {
            tracing::info!(org = %org.slug, "first admin and org created through /setup");
            crate::auth::log_in(&session, &user)?;
            Ok(see_other(&urls::ai_settings(&org.slug)))
        }
        Err(OpError::Invalid { message, .. }) => {
            let chrome = Chrome::new(&session, "Set up", None)?;
            page(
                StatusCode::BAD_REQUEST,
                &SetupPage {
                    chrome,
                    token,
                    form: fields,
                    error: Some(message),
                },
            )
        }
        Err(OpError::NotFound) => setup_gone(&session, &state).await,
        Err(other) => Err(other.into()),
    }
}
