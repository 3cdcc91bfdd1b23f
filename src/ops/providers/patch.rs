//! A partial change to a provider, the one merge every caller uses (the REST API's `PATCH`,
//! MCP's `update-ai-provider`, the seed-compatible surfaces): the current record is read,
//! the given fields laid over it, and the whole saved through [`update_provider`] (the same
//! rules as the console's edit form).

use super::{
    HeadersInput, KeyInput, ProviderInput, ProviderView, get_provider, remove_key, update_provider,
};
use crate::{
    ops::{Caller, OpError},
    providers::ProviderKind,
    state::AppState,
};

/// The fields to change: `None` leaves a field as it is; for the optional ones `Some(None)`
/// clears it. The key stays unless `key` or `remove_key` says otherwise.
#[derive(Debug)]
pub struct ProviderPatch {
    pub kind: Option<ProviderKind>,
    pub name: Option<String>,
    pub default_model: Option<String>,
    pub base_url: Option<Option<String>>,
    pub deployment: Option<Option<String>>,
    pub api_version: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub supports_tools: Option<bool>,
    pub key: KeyInput,
    /// Extra headers to add, replace or remove; the default keeps them.
    pub extra_headers: HeadersInput,
    /// Save even when the live check fails (status `unverified`).
    pub save_unverified: bool,
    /// Remove the stored key: a change of its own, sent without any other field.
    pub remove_key: bool,
    /// The version the change is based on; `None`: the current one.
    pub lock_version: Option<i32>,
}

impl Default for ProviderPatch {
    fn default() -> Self {
        Self {
            kind: None,
            name: None,
            default_model: None,
            base_url: None,
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: None,
            key: KeyInput::Keep,
            extra_headers: HeadersInput::default(),
            save_unverified: false,
            remove_key: false,
            lock_version: None,
        }
    }
}

impl ProviderPatch {
    /// Whether no field of the provider is to change.
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.name.is_none()
            && self.default_model.is_none()
            && self.base_url.is_none()
            && self.deployment.is_none()
            && self.api_version.is_none()
            && self.region.is_none()
            && self.supports_tools.is_none()
            && matches!(self.key, KeyInput::Keep)
            && self.extra_headers.is_keep()
    }

    /// The whole provider to save: `current` with the given fields laid over it.
    pub fn over(self, current: ProviderView) -> ProviderInput {
        let merge = |given: Option<Option<String>>, now: Option<String>| given.unwrap_or(now);
        ProviderInput {
            kind: self.kind.unwrap_or(current.kind),
            name: self.name.unwrap_or(current.name),
            default_model: self.default_model.unwrap_or(current.default_model),
            base_url: merge(self.base_url, current.base_url),
            deployment: merge(self.deployment, current.deployment),
            api_version: merge(self.api_version, current.api_version),
            region: merge(self.region, current.region),
            supports_tools: self.supports_tools.unwrap_or(current.supports_tools),
            key: self.key,
            extra_headers: self.extra_headers,
            save_unverified: self.save_unverified,
        }
    }
}

/// Changes some of a provider's fields (scopes `aiProviders:get`, to read the record merged
/// into, and `aiProviders:update`). `precondition` sees the current record first (the REST
/// API's `If-Match`); an empty patch answers the record unchanged.
pub async fn patch_provider<E: From<OpError>>(
    state: &AppState,
    caller: &Caller,
    id: &str,
    patch: ProviderPatch,
    precondition: impl FnOnce(&ProviderView) -> Result<(), E>,
) -> Result<ProviderView, E> {
    let current = get_provider(state, caller, id).await?;
    precondition(&current)?;
    if let Some(v) = patch.lock_version.filter(|v| *v != current.lock_version) {
        return Err(OpError::Conflict(format!(
            "The provider changed since version {v} (it is at version {}); fetch it again.",
            current.lock_version
        ))
        .into());
    }
    if patch.remove_key {
        if !patch.is_empty() || patch.save_unverified {
            // Well-formed fields that can't go together: 422, as the document says.
            return Err(OpError::Unprocessable {
                field: Some("removeKey"),
                message: "removeKey is a change of its own: send it without other fields."
                    .to_owned(),
            }
            .into());
        }
        return Ok(remove_key(state, caller, id).await?.0);
    }
    if patch.is_empty() {
        return Ok(current);
    }
    let lock_version = current.lock_version;
    Ok(update_provider(state, caller, id, lock_version, patch.over(current)).await?)
}
