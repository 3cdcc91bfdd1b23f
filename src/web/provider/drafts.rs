//! The console's side of key drafts (`ops::providers::drafts`): the session's draft binding,
//! and which draft a refused save or a model listing leaves the form showing.

use actix_session::Session;
use secrecy::SecretString;

use super::form_input::{Errors, ProviderForm};
use crate::{
    error::{AppError, AppResult},
    ops::{
        Caller,
        providers::drafts::{self, DraftHint, DraftRef, DraftScope, DraftTarget},
    },
    providers::ProviderKind,
    state::AppState,
};

/// The session key of the draft binding.
const BINDING: &str = "kdb";

/// The draft scope of `form` (`drafts::NEW_FORM` or a provider id) in this session: a
/// random binding, made on first use and kept in the server-side session (a new login
/// starts a new session, so drafts never outlive it).
pub fn scope(session: &Session, form: &str) -> AppResult<DraftScope> {
    let binding = match session.get::<String>(BINDING) {
        Ok(Some(binding)) => binding,
        _ => {
            let binding = crate::crypto::random_token(32);
            session
                .insert(BINDING, &binding)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("session insert: {e}")))?;
            binding
        }
    };
    Ok(DraftScope {
        session: SecretString::from(binding),
        form: form.to_owned(),
    })
}

/// Where the key of one post came from, kept before the form is handed to the operation.
pub struct KeySource {
    typed: Option<SecretString>,
    draft: Option<DraftRef>,
    target: DraftTarget,
    scope: DraftScope,
}

impl KeySource {
    pub fn of(form: &ProviderForm, kind: ProviderKind, scope: &DraftScope) -> Self {
        Self {
            typed: form.typed_key(),
            draft: form.draft(scope),
            target: form.target(kind),
            scope: scope.clone(),
        }
    }

    /// The draft the form shows after this post was refused (or after a listing): a typed
    /// key is kept as a new draft, a used draft stays — unless the key itself was the
    /// problem (`key_rejected`), when a used draft is dropped and nothing is kept. Failing
    /// to keep a draft only means the admin types the key again: logged, never an error.
    pub async fn kept(
        self,
        state: &AppState,
        caller: &Caller,
        key_rejected: bool,
    ) -> Option<DraftHint> {
        if key_rejected {
            if let Some(draft) = &self.draft
                && let Err(e) = drafts::discard(state, caller, draft).await
            {
                tracing::warn!(error = %e, "could not drop a key draft");
            }
            return None;
        }
        let kept = match (&self.typed, &self.draft) {
            (Some(key), _) => drafts::keep_key(state, caller, &self.scope, &self.target, key)
                .await
                .map(Some),
            (None, Some(draft)) => drafts::usable(state, caller, draft, &self.target).await,
            (None, None) => Ok(None),
        };
        kept.unwrap_or_else(|e| {
            tracing::info!(error = %e, "no key draft kept");
            None
        })
    }
}

/// Whether a refusal concerns the key itself (the key field, or a key the provider rejected).
pub fn key_rejected(errors: &Errors) -> bool {
    errors.messages.iter().any(|(f, _)| *f == Some("api_key"))
        || errors
            .check
            .as_ref()
            .is_some_and(|c| c.code == "auth_rejected")
}
