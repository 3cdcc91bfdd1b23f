//! Key drafts (issue 18; docs/DECISIONS.md "Key drafts"): when a save from the console
//! fails, the key the admin typed is sealed into a `key_drafts` row for 15 minutes, so the
//! form can say "Using the key you typed (…WXYZ)" and the next save (or "Load models") uses
//! it without the key ever travelling back to the browser.
//!
//! A draft is sealed under the master key like a secret (`crypto::secret::seal`), with an
//! AAD that binds the draft id, the org, the form (`new` or the provider id) and the
//! session (a random binding kept in the server-side session); a draft presented from
//! another session, form or org does not open. It is bound to the kind and base URL it was
//! typed for: any other drops it. It is dropped on use (in the save's transaction), on such
//! a change and at expiry. It is never a `secrets` row and never audited: it is not a
//! change of the org's configuration, only the admin's unfinished form.

use chrono::TimeDelta;
use diesel_async::AsyncPgConnection;
use secrecy::SecretString;

pub use super::input::{DraftRef, DraftScope};
use super::input::{Fields, check_key};
use crate::{
    crypto::secret as sealing,
    models::{key_draft, org::Org},
    ops::{Caller, OpError, OpResult, Scope},
    providers::ProviderKind,
    state::AppState,
};

/// How long a draft lives.
pub const DRAFT_TTL: TimeDelta = TimeDelta::minutes(15);

/// The form a draft belongs to: the add form, or the edit form of one provider.
pub const NEW_FORM: &str = "new";

/// What the form may show of a kept draft: its id (a hidden field) and last four characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftHint {
    pub id: String,
    /// Empty for keys too short to show any characters of.
    pub last4: String,
}

/// What a key is typed for: the kind and the effective base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftTarget {
    pub kind: ProviderKind,
    pub base_url: Option<String>,
}

impl DraftTarget {
    pub(super) fn of(fields: &Fields) -> Self {
        Self {
            kind: fields.kind,
            base_url: fields.effective_base_url(),
        }
    }

    /// The target of a form's kind, base URL and region as entered.
    pub fn entered(kind: ProviderKind, base_url: Option<&str>, region: Option<&str>) -> Self {
        let base_url = base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| u.trim_end_matches('/'));
        let region = region.map(str::trim).filter(|r| !r.is_empty());
        Self {
            kind,
            base_url: super::view::effective_base_url(kind, base_url, region),
        }
    }
}

/// The AAD's id: the draft, the form and the session, separated by NUL (which no id has),
/// so a draft sealed for one never opens as another — nor as a secret (`sec_…`).
fn binding(id: &str, scope: &DraftScope) -> String {
    let session: String = scope
        .session_hash()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{id}\0{}\0{session}", scope.form)
}

/// The scope a draft of `form` needs: adding or updating providers.
fn require(caller: &Caller, form: &str) -> OpResult<Org> {
    let scope = match form {
        NEW_FORM => Scope::AiProvidersCreate,
        _ => Scope::AiProvidersUpdate,
    };
    Ok(caller.require(scope)?.clone())
}

/// Seals `key`, typed for `target` in `scope`, into a draft (replacing this session's draft
/// of the same form). A key that is malformed for the kind is not kept (its 400 says why).
pub async fn keep_key(
    state: &AppState,
    caller: &Caller,
    scope: &DraftScope,
    target: &DraftTarget,
    key: &SecretString,
) -> OpResult<DraftHint> {
    let org = require(caller, &scope.form)?;
    check_key(target.kind, key)?;
    let id = key_draft::new_id();
    let sealed = sealing::seal(&state.keyring, org.id, &binding(&id, scope), key, None)
        .map_err(|e| OpError::invalid("api_key", format!("The key can't be kept: {e}.")))?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    key_draft::NewKeyDraft {
        id: &id,
        org_id: org.id,
        session_hash: &scope.session_hash(),
        form: &scope.form,
        kind: target.kind.as_str(),
        base_url: target.base_url.as_deref(),
        key_id: &sealed.key_id,
        version: sealed.version,
        envelope: &sealed.envelope,
        last4: &sealed.last4,
        created_at: now,
        expires_at: now + DRAFT_TTL,
    }
    .replace(&mut conn)
    .await?;
    Ok(DraftHint {
        id,
        last4: sealed.last4,
    })
}

/// "type the key again", with why the draft can't be used.
fn again(why: &str) -> OpError {
    OpError::invalid("api_key", format!("{why}; type the key again."))
}

/// Opens draft `draft` for use with `target`. An unknown, foreign (another session, form or
/// org) or expired draft is refused with "type the key again"; so is one typed for another
/// kind or base URL, which is also dropped. The draft itself stays until a save uses it.
pub(super) async fn open(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    draft: &DraftRef,
    target: &DraftTarget,
) -> OpResult<SecretString> {
    let gone = "The key you typed earlier is no longer kept";
    let Some(row) = key_draft::find(conn, org.id, &draft.id).await? else {
        return Err(again(gone));
    };
    if row.session_hash != draft.scope.session_hash() || row.form != draft.scope.form {
        // Another session's or form's draft: not ours to drop.
        return Err(again(gone));
    }
    if row.expires_at <= state.clock.now() {
        key_draft::delete(conn, org.id, &row.id).await?;
        return Err(again(
            "The key you typed earlier was kept for 15 minutes and has expired",
        ));
    }
    if row.kind != target.kind.as_str() || row.base_url != target.base_url {
        key_draft::delete(conn, org.id, &row.id).await?;
        return Err(again(
            "The kind or base URL changed, so the key you typed for the old one was dropped",
        ));
    }
    let value = sealing::open(
        &state.keyring,
        org.id,
        &binding(&row.id, &draft.scope),
        &row.key_id,
        row.version,
        &row.envelope,
    );
    match value {
        Ok(value) => Ok(value),
        Err(e) => {
            tracing::warn!(draft = %row.id, error = %e, "a key draft does not open; dropped");
            key_draft::delete(conn, org.id, &row.id).await?;
            Err(again(gone))
        }
    }
}

/// The hint of a draft the form may still show (same checks as [`open`], nothing dropped
/// but an expired draft); `None` when it can't be used any more.
pub async fn usable(
    state: &AppState,
    caller: &Caller,
    draft: &DraftRef,
    target: &DraftTarget,
) -> OpResult<Option<DraftHint>> {
    let org = require(caller, &draft.scope.form)?;
    let mut conn = state.pool.get().await?;
    let Some(row) = key_draft::find(&mut conn, org.id, &draft.id).await? else {
        return Ok(None);
    };
    let ours = row.session_hash == draft.scope.session_hash() && row.form == draft.scope.form;
    let fits = row.kind == target.kind.as_str() && row.base_url == target.base_url;
    if ours && row.expires_at <= state.clock.now() {
        key_draft::delete(&mut conn, org.id, &row.id).await?;
        return Ok(None);
    }
    Ok((ours && fits).then_some(DraftHint {
        id: row.id,
        last4: row.last4,
    }))
}

/// Drops this session's draft `draft` (a key the provider rejected is worth nothing).
pub async fn discard(state: &AppState, caller: &Caller, draft: &DraftRef) -> OpResult<()> {
    let org = require(caller, &draft.scope.form)?;
    let mut conn = state.pool.get().await?;
    if let Some(row) = key_draft::find(&mut conn, org.id, &draft.id).await?
        && row.session_hash == draft.scope.session_hash()
        && row.form == draft.scope.form
    {
        key_draft::delete(&mut conn, org.id, &row.id).await?;
    }
    Ok(())
}
