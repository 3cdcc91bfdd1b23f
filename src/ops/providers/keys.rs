//! Where a save's or a check's key comes from (typed, kept, or linked from another
//! provider or by secret id under rule 4), the live check that guards a save, and sealing a
//! typed key into a new secret.

use diesel_async::AsyncPgConnection;
use secrecy::SecretString;

use super::input::{self, Fields, KeyInput};
use crate::{
    crypto::secret::{self as sealing, KeyPreview},
    models::{
        org::Org,
        provider::{self, CheckStatus, Provider},
        secret::{self, NewSecret, Secret},
    },
    ops::{Caller, OpError, OpResult},
    state::AppState,
};

/// The key a save or check will use, and where it is stored.
pub(super) enum Key {
    None,
    /// Typed now: sealed into a new secret when saved.
    New(SecretString),
    /// An existing secret (kept, or linked from another provider).
    Stored(Secret, SecretString),
    /// A key draft (its id): sealed into a new secret when saved, and the draft dropped.
    Draft(String, SecretString),
}

impl Key {
    pub(super) fn value(&self) -> Option<SecretString> {
        match self {
            Key::None => None,
            Key::New(v) | Key::Stored(_, v) | Key::Draft(_, v) => Some(v.clone()),
        }
    }
}

/// Opens a stored secret; a secret that can't be opened is a clear 422 naming it.
fn open(state: &AppState, s: &Secret) -> OpResult<SecretString> {
    sealing::open(
        &state.keyring,
        s.org_id,
        &s.id,
        &s.key_id,
        s.version,
        &s.envelope,
    )
    .map_err(|e| OpError::Unprocessable {
        field: Some("api_key"),
        message: format!("The stored key can't be used: {e}. Enter the key again."),
    })
}

pub(super) async fn stored_key(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    secret_id: Option<&str>,
) -> OpResult<Key> {
    let Some(secret_id) = secret_id else {
        return Ok(Key::None);
    };
    let s = secret::find(conn, org.id, secret_id)
        .await?
        .ok_or(OpError::NotFound)?;
    let value = open(state, &s)?;
    Ok(Key::Stored(s, value))
}

/// Resolves the key of a save (`current` is the provider being edited); a kind that needs
/// a key must end up with one.
pub(super) async fn resolve_key(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    fields: &Fields,
    current: Option<&Provider>,
    key: KeyInput,
) -> OpResult<Key> {
    let key = key_of(conn, state, org, fields, current, key).await?;
    if matches!(key, Key::None) && fields.kind.entry().key.required {
        // 422, not 400: whether a key is needed depends on the kind (and on PATCH on the
        // stored record), so the document can't say it per field.
        return Err(OpError::Unprocessable {
            field: Some("api_key"),
            message: "An API key is required for this provider.".to_owned(),
        });
    }
    Ok(key)
}

pub(super) async fn key_of(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    fields: &Fields,
    current: Option<&Provider>,
    key: KeyInput,
) -> OpResult<Key> {
    match key {
        KeyInput::New(value) => {
            let stored = match current.and_then(|c| c.secret_id.as_deref()) {
                Some(id) => secret::find(conn, org.id, id).await?.map(|s| s.preview),
                None => None,
            };
            super::guards::refuse_preview(&value, stored.as_deref())?;
            input::check_key(fields.kind, &value)?;
            Ok(Key::New(value))
        }
        KeyInput::Keep => {
            let Some(current) = current.filter(|c| c.secret_id.is_some()) else {
                return Ok(Key::None);
            };
            // Rule 4: a saved key is never sent to another host or another kind of API.
            let before = Fields::of(current)?;
            if before.kind != fields.kind
                || before.effective_base_url() != fields.effective_base_url()
            {
                return Err(OpError::Unprocessable {
                    field: Some("api_key"),
                    message: "Changing the kind or the base URL requires entering the key again, so a saved key is never sent to another host.".to_owned(),
                });
            }
            stored_key(conn, state, org, current.secret_id.as_deref()).await
        }
        KeyInput::Draft(draft) => {
            let target = super::drafts::DraftTarget::of(fields);
            let value = super::drafts::open(conn, state, org, &draft, &target).await?;
            input::check_key(fields.kind, &value)?;
            Ok(Key::Draft(draft.id, value))
        }
        KeyInput::LinkFrom(other_id) => {
            let (other, _) = provider::find(conn, org.id, &other_id)
                .await?
                .ok_or_else(|| OpError::Unprocessable {
                    field: Some("link_from"),
                    message: "There is no such provider in this org.".to_owned(),
                })?;
            link(conn, state, org, fields, &other, "link_from").await
        }
        KeyInput::LinkSecret(secret_id) => {
            // A secret is only ever reached through the providers that use it (an unused
            // one is deleted with its last user), so rule 4 is judged against them.
            // 422: a well-formed reference the org's state refuses (as an unknown
            // `activeProviderId` in the settings).
            let unknown = || OpError::Unprocessable {
                field: Some("secret_id"),
                message: "There is no such secret in this org.".to_owned(),
            };
            let users = secret::users(conn, org.id, &secret_id).await?;
            let (first, _) = users.first().ok_or_else(unknown)?;
            let (other, _) = provider::find(conn, org.id, first)
                .await?
                .ok_or_else(unknown)?;
            link(conn, state, org, fields, &other, "secret_id").await
        }
    }
}

/// The key of `other`, shared with the provider being saved: only between providers of the
/// same kind and base URL (rule 4), so a saved key is never sent to another host.
async fn link(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    fields: &Fields,
    other: &Provider,
    field: &'static str,
) -> OpResult<Key> {
    if other.secret_id.is_none() {
        return Err(OpError::Unprocessable {
            field: Some(field),
            message: format!("{} has no key to share.", other.name),
        });
    }
    let source = Fields::of(other)?;
    if source.kind != fields.kind || source.effective_base_url() != fields.effective_base_url() {
        return Err(OpError::Unprocessable {
            field: Some(field),
            message: format!(
                "The key of {} can only be shared with providers of the same kind and base URL, so it is never sent to another host.",
                other.name
            ),
        });
    }
    stored_key(conn, state, org, other.secret_id.as_deref()).await
}

/// The check result to store: a passed check, or `unverified` when the admin saved
/// without verifying (after a failed check, or without running one).
pub(super) struct Verdict {
    pub status: CheckStatus,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Runs the live check unless the admin asked to save without verifying. A failed check
/// is an error then: nothing is written.
pub(super) async fn verify(
    state: &AppState,
    fields: &Fields,
    key: &Key,
    save_unverified: bool,
) -> OpResult<Verdict> {
    if save_unverified {
        return Ok(Verdict {
            status: CheckStatus::Unverified,
            code: None,
            message: Some("Saved without verifying.".to_owned()),
        });
    }
    let outcome = state
        .checker
        .check(&fields.check_request(key.value()))
        .await;
    if !outcome.ok {
        return Err(OpError::CheckFailed(outcome));
    }
    Ok(Verdict {
        status: CheckStatus::Ok,
        code: None,
        message: Some(outcome.message),
    })
}

/// Where a save's key is stored: a typed key is sealed into a new secret, a kept or linked
/// one stays where it is. Returns the secret id and the key's preview.
pub(super) async fn store(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    caller: &Caller,
    org: &Org,
    fields: &Fields,
    key: &Key,
) -> OpResult<(Option<String>, Option<KeyPreview>)> {
    Ok(match key {
        Key::None => (None, None),
        Key::New(value) => {
            let (id, preview) = seal_new(conn, state, caller, org, fields, value).await?;
            (Some(id), Some(preview))
        }
        Key::Draft(draft_id, value) => {
            let (id, preview) = seal_new(conn, state, caller, org, fields, value).await?;
            // Dropped on use, in the save's transaction.
            crate::models::key_draft::delete(conn, org.id, draft_id).await?;
            (Some(id), Some(preview))
        }
        Key::Stored(s, _) => (
            Some(s.id.clone()),
            Some(KeyPreview::from_stored(s.preview.clone())),
        ),
    })
}

/// Seals a typed key into a new secret of `org`; returns its id and preview.
async fn seal_new(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    caller: &Caller,
    org: &Org,
    fields: &Fields,
    value: &SecretString,
) -> OpResult<(String, KeyPreview)> {
    let id = secret::new_id();
    let prefix = fields.kind.entry().key.prefix;
    let sealed = sealing::seal(&state.keyring, org.id, &id, value, prefix)
        .map_err(|e| OpError::invalid("api_key", format!("The key can't be stored: {e}.")))?;
    NewSecret {
        id: &id,
        org_id: org.id,
        key_id: &sealed.key_id,
        version: sealed.version,
        envelope: &sealed.envelope,
        preview: sealed.preview.as_str(),
        last4: &sealed.last4,
        created_at: state.clock.now(),
        created_by: caller.user_id(),
    }
    .insert(conn)
    .await?;
    Ok((id, sealed.preview))
}

/// Loads a provider and its key for a live check.
pub(super) async fn for_check(
    state: &AppState,
    org: &Org,
    id: &str,
) -> OpResult<(Provider, Fields, Key)> {
    let mut conn = state.pool.get().await?;
    let (p, _) = provider::find(&mut conn, org.id, id)
        .await?
        .ok_or(OpError::NotFound)?;
    let mut fields = Fields::of(&p)?;
    fields.extra_headers = super::extra_headers::stored(&mut conn, state, org, &p).await?;
    let key = stored_key(&mut conn, state, org, p.secret_id.as_deref()).await?;
    Ok((p, fields, key))
}
