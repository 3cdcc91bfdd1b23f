//! The logged-in user's own account: changing the password. Any user may use it (admins,
//! members, support staff); it concerns no org.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Chrome, page, see_other};
use crate::{
    auth::{CurrentUser, Flash, context::request_meta, set_flash},
    error::AppResult,
    models::user::User,
    ops::{
        Caller, OpError,
        accounts::{self, ChangePassword, PasswordChange},
    },
    state::AppState,
};

const PATH: &str = "/account/password";

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

fn render(
    session: &Session,
    user: &User,
    status: StatusCode,
    error: Option<String>,
) -> AppResult<HttpResponse> {
    page(
        status,
        &PasswordPage {
            chrome: Chrome::new(session, "Change password", Some(user))?,
            email: user.email.clone(),
            error,
        },
    )
}

/// `GET /account/password`.
pub async fn password_form(
    CurrentUser(user): CurrentUser,
    session: Session,
) -> AppResult<HttpResponse> {
    render(&session, &user, StatusCode::OK, None)
}

/// The form as posted. None of the three values is ever echoed back.
#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// `POST /account/password`: `ops::accounts::change_password` checks the current password
/// (throttled like a login) and revokes every session of the user; this one is then renewed
/// under the new epoch and continues.
pub async fn change_password(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> AppResult<HttpResponse> {
    let PasswordForm {
        current_password,
        new_password,
        confirm_password,
    } = form.into_inner();
    let input = ChangePassword {
        current: SecretString::from(current_password),
        new: SecretString::from(new_password),
        confirm: SecretString::from(confirm_password),
    };
    let caller = Caller::account(&user, request_meta(&req));
    let refused =
        |status: StatusCode, message: String| render(&session, &user, status, Some(message));
    match accounts::change_password(&state, &caller, &user, input).await {
        Ok(PasswordChange::Changed(updated)) => {
            crate::auth::log_in(&session, &updated)?;
            set_flash(
                &session,
                Flash::ok("Password changed. Your other sessions have been logged out."),
            );
            Ok(see_other(PATH))
        }
        Err(OpError::Invalid { message, .. }) => refused(StatusCode::BAD_REQUEST, message),
        Ok(PasswordChange::Throttled(refusal)) => {
            let mut res = refused(StatusCode::TOO_MANY_REQUESTS, refusal.message)?;
            super::login::set_retry_after(&mut res, refusal.retry_after_secs);
            Ok(res)
        }
        Err(other) => Err(other.into()),
    }
}
