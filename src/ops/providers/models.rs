//! Live model lists (issue 18): the models a provider's endpoint lists, fetched through the
//! same guarded egress as checks (`Checker::list_models`) and failing with the same taxonomy
//! (`OpError::CheckFailed`). For the form, with the key typed, the draft, or the stored key —
//! the stored key only while the kind and base URL are unchanged (rule 4: a stored key goes
//! only to the host it was saved for). Listings with a saved provider's stored key are kept
//! per process for a few minutes (`providers::models::ModelListCache`).

use chrono::{DateTime, Utc};

use super::{
    drafts::DraftTarget,
    extra_headers,
    input::{Fields, KeyInput, ProviderInput, check_fields},
    keys::{Key, key_of, stored_key},
};
use crate::{
    models::provider,
    ops::{Caller, OpError, OpResult, Scope},
    providers::{check::lists_models, models::ModelList},
    state::AppState,
};

/// A model list and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Sorted model ids.
    pub models: Vec<String>,
    /// When the endpoint answered.
    pub fetched_at: DateTime<Utc>,
    /// Served from this process's cache rather than asked now.
    pub cached: bool,
}

/// The refusal for a kind whose endpoint doesn't list models.
fn no_listing(fields: &Fields) -> OpError {
    OpError::Unprocessable {
        field: Some("default_model"),
        message: format!(
            "{} endpoints don't list their models; enter the model (or deployment) name.",
            fields.kind.entry().label
        ),
    }
}

/// Lists the models of the provider as entered in the form (scope `aiProviders:create`, or
/// `aiProviders:update` with `editing`, the id of the provider being edited). The model
/// field may be blank. `input.key`: typed, draft, linked, or `Keep` — the stored key of
/// `editing` while kind and base URL are unchanged; after such a change no key is sent
/// (kinds whose key is optional are listed without one; the others are refused with
/// "enter the key again").
pub async fn list_models_for_form(
    state: &AppState,
    caller: &Caller,
    editing: Option<&str>,
    mut input: ProviderInput,
) -> OpResult<Listed> {
    let org = match editing {
        Some(_) => caller.require(Scope::AiProvidersUpdate)?,
        None => caller.require(Scope::AiProvidersCreate)?,
    };
    if input.default_model.trim().is_empty() {
        // Validation wants a model; the listing doesn't use it.
        input.default_model = "any".to_owned();
    }
    let mut fields = check_fields(&input)?;
    if !lists_models(fields.kind) {
        return Err(no_listing(&fields));
    }
    let mut conn = state.pool.get().await?;
    let current = match editing {
        Some(id) => Some(
            provider::find(&mut conn, org.id, id)
                .await?
                .ok_or(OpError::NotFound)?
                .0,
        ),
        None => None,
    };
    let (key, cache_key) = match input.key {
        KeyInput::Keep => match current.as_ref().filter(|c| c.secret_id.is_some()) {
            Some(current) => {
                let before = Fields::of(current)?;
                if DraftTarget::of(&before) == DraftTarget::of(&fields) {
                    let key = stored_key(&mut conn, state, org, current.secret_id.as_deref());
                    (key.await?, Some(cache_key(current)))
                } else if fields.kind.entry().key.required {
                    return Err(OpError::Unprocessable {
                        field: Some("api_key"),
                        message: "The kind or base URL changed: enter the key again to load models, so a saved key is never sent to another host.".to_owned(),
                    });
                } else {
                    // Rule 4: the stored key stays home; this kind may be asked without one.
                    (Key::None, None)
                }
            }
            None => (Key::None, None),
        },
        other => (
            key_of(&mut conn, state, org, &fields, current.as_ref(), other).await?,
            None,
        ),
    };
    let headers = extra_headers::resolve(
        &mut conn,
        state,
        org,
        &fields,
        current.as_ref(),
        input.extra_headers,
    )
    .await?;
    fields.extra_headers = headers.headers;
    // Typed header values are not cached with the stored ones.
    let cache_key = cache_key.filter(|_| !headers.changed);
    drop(conn);
    fetch(state, &fields, &key, cache_key).await
}

/// Lists the models of saved provider `id` with its stored key (scope `aiProviders:test`:
/// like a check, it sends the key to the endpoint). Served from the cache for a few minutes.
pub async fn list_provider_models(state: &AppState, caller: &Caller, id: &str) -> OpResult<Listed> {
    let org = caller.require(Scope::AiProvidersTest)?;
    let mut conn = state.pool.get().await?;
    let (p, _) = provider::find(&mut conn, org.id, id)
        .await?
        .ok_or(OpError::NotFound)?;
    let mut fields = Fields::of(&p)?;
    if !lists_models(fields.kind) {
        return Err(no_listing(&fields));
    }
    if fields.default_model.trim().is_empty() {
        fields.default_model = "any".to_owned();
    }
    let key = stored_key(&mut conn, state, org, p.secret_id.as_deref()).await?;
    fields.extra_headers = extra_headers::stored(&mut conn, state, org, &p).await?;
    drop(conn);
    fetch(state, &fields, &key, Some(cache_key(&p))).await
}

/// What a saved provider's listing is cached under: it changes with every edit (the lock
/// version) and with its key.
fn cache_key(p: &provider::Provider) -> String {
    format!(
        "{}:{}:{}",
        p.id,
        p.lock_version,
        p.secret_id.as_deref().unwrap_or("-")
    )
}

/// The listing, from the cache when `cache_key` is given and fresh, else from the endpoint.
async fn fetch(
    state: &AppState,
    fields: &Fields,
    key: &Key,
    cache_key: Option<String>,
) -> OpResult<Listed> {
    let now = state.clock.now();
    if let Some(k) = &cache_key
        && let Some(list) = state.model_lists.get(k, now)
    {
        return Ok(Listed {
            models: list.models,
            fetched_at: list.fetched_at,
            cached: true,
        });
    }
    let request = fields.check_request(key.value());
    let models = state
        .checker
        .list_models(&request)
        .await
        .map_err(OpError::CheckFailed)?;
    if let Some(k) = cache_key {
        let list = ModelList {
            models: models.clone(),
            fetched_at: now,
        };
        state.model_lists.put(k, list, now);
    }
    Ok(Listed {
        models,
        fetched_at: now,
        cached: false,
    })
}
