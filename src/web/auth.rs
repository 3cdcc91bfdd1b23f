//! Login, logout and the one-time first-run setup.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Chrome, page, see_other};
use crate::{
    auth::context::request_meta,
    error::{AppError, AppResult},
    models::{
        audit::{Actor, NewEvent},
        membership::{self, Role},
        org::{self, NewOrg},
        user::{self, NewUser, User},
    },
    state::AppState,
};

/// The one answer for every failed login, whatever the cause.
pub const LOGIN_FAILED: &str = "Invalid email or password.";

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

/// `POST /login`: argon2id off the async workers; the same answer for unknown emails, wrong
/// passwords and disabled accounts; per-account and per-IP throttling.
pub async fn log_in(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let LoginForm { email, password } = form.into_inner();
    let email_key = user::normalize_email(&email).unwrap_or_else(|_| email.trim().to_lowercase());
    let meta = request_meta(&req);
    let ip = meta.ip.clone().unwrap_or_default();
    let fail = |status: StatusCode, message: String| -> AppResult<HttpResponse> {
        let chrome = Chrome::new(&session, "Log in", None)?;
        page(
            status,
            &LoginPage {
                chrome,
                email: email.trim().to_owned(),
                error: Some(message),
            },
        )
    };

    if let Some(refusal) = state.throttle.refusal(&email_key, &ip) {
        return fail(StatusCode::TOO_MANY_REQUESTS, refusal);
    }

    let mut conn = state.conn().await?;
    let user = match user::normalize_email(&email) {
        Ok(normalized) => User::find_by_email(&mut conn, &normalized).await?,
        Err(_) => None,
    };
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let matched = state.hasher.verify(SecretString::from(password), phc).await;

    match user {
        Some(user) if matched => {
            state.throttle.record_success(&email_key);
            crate::auth::log_in(&session, &user)?;
            Ok(see_other("/"))
        }
        _ => {
            state.throttle.record_failure(&email_key, &ip);
            let label: String = email_key.chars().take(254).collect();
            NewEvent {
                org_id: None,
                actor: &Actor::Anonymous {
                    label: label.clone(),
                },
                action: "login.failed",
                target: format!("user:{label}"),
                before: None,
                after: None,
                meta: &meta,
            }
            .record(&mut conn)
            .await?;
            fail(StatusCode::UNAUTHORIZED, LOGIN_FAILED.to_owned())
        }
    }
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

fn setup_token_valid(state: &AppState, token: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let current = state.setup_token.lock().expect("setup token lock poisoned");
    current
        .as_deref()
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
}

fn setup_gone() -> AppError {
    AppError::NotFound
}

/// `GET /setup?token=…`: only while no user exists and with the printed token.
pub async fn setup_form(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> AppResult<HttpResponse> {
    let token = query.into_inner().token.unwrap_or_default();
    if !setup_token_valid(&state, &token) {
        return Err(setup_gone());
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
    if !setup_token_valid(&state, &token) {
        return Err(setup_gone());
    }
    let checked = (|| -> Result<String, &'static str> {
        org::validate_name(&fields.name)?;
        let email = user::normalize_email(&fields.email)?;
        user::validate_password(&password)?;
        org::validate_name(&fields.org_name)?;
        org::validate_slug(&fields.org_slug)?;
        Ok(email)
    })();
    let email = match checked {
        Ok(email) => email,
        Err(problem) => {
            let chrome = Chrome::new(&session, "Set up", None)?;
            return page(
                StatusCode::BAD_REQUEST,
                &SetupPage {
                    chrome,
                    token,
                    form: fields,
                    error: Some(problem.to_owned()),
                },
            );
        }
    };
    let hash = state.hasher.hash(SecretString::from(password)).await;
    let meta = request_meta(&req);
    let mut conn = state.conn().await?;
    let created =
        diesel_async::AsyncConnection::transaction::<_, AppError, _>(&mut *conn, async |conn| {
            use diesel_async::RunQueryDsl as _;
            // Serialise concurrent setups; the loser finds a user and stops.
            diesel::sql_query("SELECT pg_advisory_xact_lock(7401)")
                .execute(conn)
                .await?;
            if User::any_exists(conn).await? {
                return Ok(None);
            }
            let user = NewUser {
                email: &email,
                name: fields.name.trim(),
                password_hash: &hash,
                support: false,
            }
            .insert(conn)
            .await?;
            let org = NewOrg {
                slug: &fields.org_slug,
                name: fields.org_name.trim(),
            }
            .insert(conn)
            .await?;
            membership::add(conn, org.id, user.id, Role::Admin).await?;
            let actor = Actor::User {
                id: user.id,
                email: user.email.clone(),
            };
            NewEvent {
                org_id: Some(org.id),
                actor: &actor,
                action: "org.created",
                target: format!("org:{}", org.slug),
                before: None,
                after: Some(
                    serde_json::json!({ "slug": org.slug, "name": org.name, "admin": user.email }),
                ),
                meta: &meta,
            }
            .record(conn)
            .await?;
            Ok(Some((user, org)))
        })
        .await?;
    state
        .setup_token
        .lock()
        .expect("setup token lock poisoned")
        .take();
    let Some((user, org)) = created else {
        return Err(setup_gone());
    };
    tracing::info!(org = %org.slug, "first admin and org created through /setup");
    crate::auth::log_in(&session, &user)?;
    Ok(see_other(&format!("/orgs/{}/settings/ai", org.slug)))
}
