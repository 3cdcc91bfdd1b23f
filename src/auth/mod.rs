//! Who is asking: sessions, the logged-in user, CSRF protection, login throttling, and the
//! per-org access context resolved once per request.

pub mod client_ip;
pub mod context;
pub mod csrf;
pub mod session_store;

use actix_session::{Session, SessionExt as _};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::{Deserialize, Serialize};

use crate::{error::AppError, models::user::User, state::AppState};

const UID: &str = "uid";
const EPOCH: &str = "epoch";
/// The session keys that say who is logged in.
pub(crate) const IDENTITY_KEYS: [&str; 2] = [UID, EPOCH];
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const SUPPORT_SESSION: &str = "svid";

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return Ok(token);
    }
    let token = crate::crypto::random_token(32);
    session
        .insert(CSRF, &token)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session insert: {e}")))?;
    Ok(token)
}

/// A random id for this session, made on first use: support views are counted per
/// session (`ops::orgs::record_support_view`) without exposing the session's key.
pub fn support_session_id(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(id)) = session.get::<String>(SUPPORT_SESSION) {
        return Ok(id);
    }
    let id = crate::crypto::random_token(16);
    session
        .insert(SUPPORT_SESSION, &id)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session insert: {e}")))?;
    Ok(id)
}

/// Starts an authenticated session: whatever was there is cleared and the key renewed, so a
/// session key planted before login is worthless after it.
pub fn log_in(session: &Session, user: &User) -> Result<(), AppError> {
    session.clear();
    session.renew();
    let insert_err = |e: actix_session::SessionInsertError| {
        AppError::Internal(anyhow::anyhow!("session insert: {e}"))
    };
    session.insert(UID, user.id).map_err(insert_err)?;
    session
        .insert(EPOCH, user.session_epoch)
        .map_err(insert_err)?;
    session
        .insert(CSRF, crate::crypto::random_token(32))
        .map_err(insert_err)?;
    Ok(())
}

/// The user id and epoch a session claims, if any.
pub fn identity(session: &Session) -> Option<(i64, i32)> {
    let uid = session.get::<i64>(UID).ok()??;
    let epoch = session.get::<i32>(EPOCH).ok()??;
    Some((uid, epoch))
}

/// Whether the user may still use a session issued at `epoch`.
pub fn session_valid(user: &User, epoch: i32) -> bool {
    !user.disabled && user.session_epoch == epoch
}

/// A one-shot message shown on the next page (after a redirect).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub ok: bool,
    pub message: String,
    /// The id of the element the message is about (a provider's card): the page shows it
    /// there, next to what was acted on, instead of at the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

impl Flash {
    /// A success message.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            ok: true,
            message: message.into(),
            about: None,
        }
    }

    /// An error message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            message: message.into(),
            about: None,
        }
    }

    /// The same message, about the element with id `about`.
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.about = Some(about.into());
        self
    }
}

/// Queues a flash message for the next page.
pub fn set_flash(session: &Session, flash: Flash) {
    let _ = session.insert(FLASH, flash);
}

/// Takes the queued flash message, if any.
pub fn take_flash(session: &Session) -> Option<Flash> {
    // `remove` marks the session changed even when the key is absent: that would write the
    // session back on every page view.
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<Flash>(FLASH).and_then(Result::ok)
}

/// The logged-in user, for routes outside an org (`/`, `/support/orgs`). A revoked or
/// expired session is purged and the request is unauthenticated.
pub struct CurrentUser(pub User);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let (uid, epoch) = identity(&session).ok_or(AppError::Unauthenticated)?;
            let mut conn = state.conn().await?;
            match User::find(&mut conn, uid).await? {
                Some(user) if session_valid(&user, epoch) => Ok(CurrentUser(user)),
                _ => {
                    session.purge();
                    Err(AppError::Unauthenticated)
                }
            }
        })
    }
}
