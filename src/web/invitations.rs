//! The public side of an invitation link (`/invitations?token=…`): whoever holds it sees
//! the org and role, then joins — logged in already as the invited email, by logging in
//! here, or by creating the account with a name and password. A used, revoked or expired
//! link is 410 with why; an unknown one 404. The rules live in `ops::invitations`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Chrome, page, see_other, urls};
use crate::{
    auth::{CurrentUser, Flash, context::request_meta, set_flash},
    error::AppResult,
    models::user::User,
    ops::{
        OpError,
        accounts::{LOGIN_FAILED, LoginOutcome},
        invitations::{self, Closed, Joined, Newcomer, OpenInvitation, Opened},
    },
    state::AppState,
};

/// Who is looking at the invitation.
enum Visitor {
    /// Logged in as the invited email.
    Invited,
    /// Logged in as someone else.
    Other(String),
    /// Not logged in.
    Anonymous,
}

#[derive(Template)]
#[template(path = "invitations/page.html")]
struct InvitationPage {
    chrome: Chrome,
    token: String,
    org_name: String,
    email: String,
    role: &'static str,
    invited_by: String,
    expires: String,
    visitor: Visitor,
    error: Option<String>,
    /// The sign-up form's name after a refusal (passwords are never echoed).
    name: String,
}

#[derive(Template)]
#[template(path = "invitations/invalid.html")]
struct InvalidPage {
    chrome: Chrome,
    message: &'static str,
}

/// 404 for an unknown link, 410 with the reason for a closed one.
fn invalid(session: &Session, closed: Option<Closed>) -> AppResult<HttpResponse> {
    let (status, message) = match closed {
        Some(closed) => (StatusCode::GONE, closed.message()),
        None => (
            StatusCode::NOT_FOUND,
            "This invitation link is not valid. Check that it was copied whole, or ask an admin of the org for a new one.",
        ),
    };
    let chrome = Chrome::new(session, "Invitation not valid", None)?;
    page(status, &InvalidPage { chrome, message })
}

/// The invitation page for `visitor`.
fn render(
    session: &Session,
    user: Option<&User>,
    token: String,
    open: OpenInvitation,
    status: StatusCode,
    error: Option<String>,
    name: String,
) -> AppResult<HttpResponse> {
    let visitor = match user {
        Some(u) if u.email == open.email => Visitor::Invited,
        Some(u) => Visitor::Other(u.email.clone()),
        None => Visitor::Anonymous,
    };
    let chrome = Chrome::new(session, format!("Join {}", open.org_name), user)?;
    page(
        status,
        &InvitationPage {
            chrome,
            token,
            org_name: open.org_name,
            role: open.role.as_str(),
            invited_by: open.invited_by,
            expires: open.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            email: open.email,
            visitor,
            error,
            name,
        },
    )
}

/// The `token` query parameter.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /invitations?token=…`.
pub async fn show_invitation(
    user: Option<CurrentUser>,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> AppResult<HttpResponse> {
    let token = query.into_inner().token;
    let user = user.map(|CurrentUser(u)| u);
    match invitations::look_up(&state, &token).await {
        Ok(Opened::Open(open)) => render(
            &session,
            user.as_ref(),
            token,
            open,
            StatusCode::OK,
            None,
            String::new(),
        ),
        Ok(Opened::Closed(closed)) => invalid(&session, Some(closed)),
        Err(OpError::NotFound) => invalid(&session, None),
        Err(other) => Err(other.into()),
    }
}

/// Where a new member lands: the org's settings, with a welcome.
fn joined(session: &Session, joined: &Joined) -> HttpResponse {
    set_flash(
        session,
        Flash::ok(format!(
            "Welcome to {}: you joined as {}.",
            joined.org.name,
            joined.role.as_str()
        )),
    );
    see_other(&urls::ai_settings(&joined.org.slug))
}

/// Accepts as `user` (logged in on `session`) and answers.
async fn accept_as(
    req: &HttpRequest,
    session: &Session,
    state: &AppState,
    user: &User,
    token: &str,
) -> AppResult<HttpResponse> {
    match invitations::accept(state, user, token, request_meta(req)).await {
        Ok(Opened::Open(done)) => Ok(joined(session, &done)),
        Ok(Opened::Closed(closed)) => invalid(session, Some(closed)),
        Err(OpError::NotFound) => invalid(session, None),
        Err(other) => Err(other.into()),
    }
}

/// The accept form.
#[derive(Deserialize)]
pub struct AcceptForm {
    token: String,
}

/// `POST /invitations/accept`: the logged-in user joins.
pub async fn accept_invitation(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<AcceptForm>,
) -> AppResult<HttpResponse> {
    accept_as(&req, &session, &state, &user, &form.token).await
}

/// The log-in-and-join form (the email is the invitation's).
#[derive(Deserialize)]
pub struct LogInForm {
    token: String,
    password: String,
}

/// Re-renders the page of a still open invitation with `error` (or the link's state).
async fn refused(
    session: &Session,
    state: &AppState,
    token: String,
    status: StatusCode,
    error: String,
    name: String,
) -> AppResult<HttpResponse> {
    match invitations::look_up(state, &token).await {
        Ok(Opened::Open(open)) => render(session, None, token, open, status, Some(error), name),
        Ok(Opened::Closed(closed)) => invalid(session, Some(closed)),
        Err(OpError::NotFound) => invalid(session, None),
        Err(other) => Err(other.into()),
    }
}

/// `POST /invitations/log-in`: the invited account's password (throttled and audited like
/// every login); on success the session starts and the user joins.
pub async fn log_in_and_accept(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LogInForm>,
) -> AppResult<HttpResponse> {
    let LogInForm { token, password } = form.into_inner();
    let meta = request_meta(&req);
    let outcome =
        match invitations::log_in_to_accept(&state, &token, SecretString::from(password), meta)
            .await
        {
            Ok(Opened::Open(outcome)) => outcome,
            Ok(Opened::Closed(closed)) => return invalid(&session, Some(closed)),
            Err(OpError::NotFound) => return invalid(&session, None),
            Err(other) => return Err(other.into()),
        };
    let (status, message, retry_after) = match outcome {
        LoginOutcome::LoggedIn(user) => {
            crate::auth::log_in(&session, &user)?;
            return accept_as(&req, &session, &state, &user, &token).await;
        }
        LoginOutcome::Failed => (StatusCode::UNAUTHORIZED, LOGIN_FAILED.to_owned(), None),
        LoginOutcome::Throttled(refusal) => (
            StatusCode::TOO_MANY_REQUESTS,
            refusal.message,
            Some(refusal.retry_after_secs),
        ),
    };
    let mut res = refused(&session, &state, token, status, message, String::new()).await?;
    if let Some(secs) = retry_after {
        super::login::set_retry_after(&mut res, secs);
    }
    Ok(res)
}

/// The sign-up-and-join form. The passwords are never echoed back.
#[derive(Deserialize)]
pub struct SignUpForm {
    token: String,
    #[serde(default)]
    name: String,
    password: String,
    confirm_password: String,
}

/// `POST /invitations/sign-up`: creates the invited email's account and joins.
pub async fn sign_up_and_accept(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<SignUpForm>,
) -> AppResult<HttpResponse> {
    let SignUpForm {
        token,
        name,
        password,
        confirm_password,
    } = form.into_inner();
    let input = Newcomer {
        name: name.clone(),
        password: SecretString::from(password),
        confirm: SecretString::from(confirm_password),
    };
    match invitations::sign_up_and_accept(&state, &token, input, request_meta(&req)).await {
        Ok(Opened::Open((user, done))) => {
            crate::auth::log_in(&session, &user)?;
            Ok(joined(&session, &done))
        }
        Ok(Opened::Closed(closed)) => invalid(&session, Some(closed)),
        Err(OpError::NotFound) => invalid(&session, None),
        Err(OpError::Invalid { message, .. }) => {
            refused(
                &session,
                &state,
                token,
                StatusCode::BAD_REQUEST,
                message,
                name,
            )
            .await
        }
        Err(OpError::Conflict(message)) => {
            refused(&session, &state, token, StatusCode::CONFLICT, message, name).await
        }
        Err(other) => Err(other.into()),
    }
}
