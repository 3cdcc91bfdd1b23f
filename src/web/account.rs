//! The logged-in user's own account: changing the password. Any user may use it (admins,
//! members, support staff); it concerns no org.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Chrome, page, see_other};
use crate::{
    auth::{CurrentUser, context::request_meta, set_flash},
    error::{AppError, AppResult},
    models::{
        audit::{Actor, NewEvent},
        user::{self, User},
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

/// `POST /account/password`: checks the current password (throttled like a login, against
/// the same account counter), stores the new hash and bumps the session epoch in one
/// statement with its audit event, then renews this session under the new epoch: every
/// other session of the user is revoked, this one continues.
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
    let refuse = |status: StatusCode, message: &str| {
        render(&session, &user, status, Some(message.to_owned()))
    };
    let meta = request_meta(&req);
    let ip = meta.ip.clone().unwrap_or_default();
    if let Some(refusal) = state.throttle.refusal(&user.email, &ip) {
        return refuse(StatusCode::TOO_MANY_REQUESTS, &refusal);
    }
    if let Err(problem) = user::validate_password(&new_password) {
        let mut message = format!("{problem}.");
        message[..1].make_ascii_uppercase();
        return refuse(StatusCode::BAD_REQUEST, &message);
    }
    if new_password != confirm_password {
        return refuse(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    if new_password == current_password {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The new password must differ from the current one.",
        );
    }
    let matched = state
        .hasher
        .verify(
            SecretString::from(current_password),
            Some(user.password_hash.clone()),
        )
        .await;
    if !matched {
        state.throttle.record_failure(&user.email, &ip);
        return refuse(
            StatusCode::BAD_REQUEST,
            "The current password is not right.",
        );
    }
    let hash = state.hasher.hash(SecretString::from(new_password)).await;
    let mut conn = state.conn().await?;
    let updated =
        diesel_async::AsyncConnection::transaction::<_, AppError, _>(&mut *conn, async |conn| {
            let updated = User::set_password_hash(conn, user.id, &hash).await?;
            NewEvent {
                org_id: None,
                actor: &Actor::User {
                    id: user.id,
                    email: user.email.clone(),
                },
                action: "user.password_changed",
                target: format!("user:{}", user.email),
                before: None,
                after: None,
                meta: &meta,
            }
            .record(conn)
            .await?;
            Ok(updated)
        })
        .await?;
    drop(conn);
    state.throttle.record_success(&user.email);
    crate::auth::log_in(&session, &updated)?;
    set_flash(
        &session,
        true,
        "Password changed. Your other sessions have been logged out.",
    );
    Ok(see_other(PATH))
}
