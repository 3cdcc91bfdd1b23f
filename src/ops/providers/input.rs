//! A provider as an admin enters it, and its validation: every field checked before any
//! network traffic or write, each problem reported on its form field.

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;

use crate::{
    crypto::secret::MAX_SECRET_BYTES,
    models::provider::Provider,
    ops::OpError,
    providers::{
        catalog::ProviderKind,
        check::{CheckRequest, ValidationError},
    },
};

use super::view::{config_text, effective_base_url};

/// Where a save's (or a model listing's) key comes from: the one shape the console, REST
/// and MCP share (docs/DECISIONS.md "KeyInput"). Transports map their fields onto it and
/// nothing else decides where a key comes from.
#[derive(Debug)]
pub enum KeyInput {
    /// Keep the stored key (a blank key field on edit); no key on create. Refused when the
    /// kind or base URL changes (rule 4).
    Keep,
    /// A key typed in.
    New(SecretString),
    /// The key typed into an earlier, failed save of this form in this session, kept as a
    /// draft (console only: a draft needs a session). Dropped when the save succeeds.
    Draft(DraftRef),
    /// The key of another provider of the org, shared by reference.
    LinkFrom(String),
    /// An existing secret of the org (`sec_…`, as the API names it), shared by reference.
    LinkSecret(String),
}

/// Where a draft belongs: the console session and the form. No `Debug` of the binding.
#[derive(Clone)]
pub struct DraftScope {
    /// The session's draft binding: a random value kept in the server-side session.
    pub session: SecretString,
    /// `drafts::NEW_FORM` or the id of the provider being edited.
    pub form: String,
}

impl std::fmt::Debug for DraftScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftScope")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl DraftScope {
    pub(super) fn session_hash(&self) -> [u8; 32] {
        crate::crypto::sha256(self.session.expose_secret().as_bytes())
    }
}

/// A draft named by the form, in the scope of the request that names it.
#[derive(Debug, Clone)]
pub struct DraftRef {
    pub id: String,
    pub scope: DraftScope,
}

/// A provider as entered (create or update).
#[derive(Debug)]
pub struct ProviderInput {
    pub kind: ProviderKind,
    pub name: String,
    pub default_model: String,
    pub base_url: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub region: Option<String>,
    pub supports_tools: bool,
    pub key: KeyInput,
    /// The extra headers to add, replace or remove (kinds that take them: the gateway).
    pub extra_headers: HeadersInput,
    /// Save even when the live check fails (status `unverified`).
    pub save_unverified: bool,
}

/// Longest provider name.
pub const MAX_NAME_CHARS: usize = 100;

/// The input, trimmed and checked; ready to write.
#[derive(Debug)]
pub(super) struct Fields {
    pub kind: ProviderKind,
    pub name: String,
    pub default_model: String,
    pub base_url: Option<String>,
    pub config: serde_json::Value,
    pub region: Option<String>,
    /// The extra headers a check sends (opened or typed; empty until resolved).
    pub extra_headers: Vec<(String, SecretString)>,
}

impl Fields {
    /// Where requests would go.
    pub fn effective_base_url(&self) -> Option<String> {
        effective_base_url(self.kind, self.base_url.as_deref(), self.region.as_deref())
    }

    /// The live check of these fields with `key`.
    pub fn check_request(&self, key: Option<SecretString>) -> CheckRequest {
        CheckRequest {
            base_url: self.base_url.clone(),
            api_key: key,
            deployment: config_text(&self.config, "deployment"),
            api_version: config_text(&self.config, "api_version"),
            region: self.region.clone(),
            extra_headers: self.extra_headers.clone(),
            ..CheckRequest::new(self.kind, self.default_model.clone())
        }
    }

    /// The fields of a stored provider (to test or activate it).
    pub fn of(p: &Provider) -> Result<Self, OpError> {
        let kind: ProviderKind = p.kind.parse().map_err(|_| {
            OpError::Internal(anyhow::anyhow!("provider {} has kind {}", p.id, p.kind))
        })?;
        Ok(Self {
            kind,
            name: p.name.clone(),
            default_model: p.default_model.clone(),
            base_url: p.base_url.clone(),
            region: config_text(&p.config, "region"),
            config: p.config.clone(),
            extra_headers: Vec::new(),
        })
    }
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The form field a validation error concerns.
pub(super) fn field_of(e: &ValidationError) -> &'static str {
    use ValidationError::*;
    match e {
        MissingKey | KeyPrefix { .. } | BadKey => "api_key",
        MissingModel | BadModel(_) => "default_model",
        MissingBaseUrl | BadBaseUrl(_) | BadScheme(_) => "base_url",
        BadHeader { .. } => "extra_headers",
        MissingField(f) | BadField { field: f, .. } => f,
        UnknownField(_) => "kind",
    }
}

/// Turns a validation error into a 400 on its field, with a capitalised sentence.
pub(super) fn invalid(e: &ValidationError) -> OpError {
    OpError::invalid(field_of(e), sentence(e))
}

/// Turns a validation error into a 422 on its field: input the provider's kind refuses.
pub(super) fn unprocessable(e: &ValidationError) -> OpError {
    OpError::Unprocessable {
        field: Some(field_of(e)),
        message: sentence(e),
    }
}

/// `e` as a capitalised sentence.
fn sentence(e: &ValidationError) -> String {
    let mut message = format!("{e}.");
    message[..1].make_ascii_uppercase();
    message
}

/// Checks everything but the key: name, model, base URL and the kind's fields.
pub(super) fn check_fields(input: &ProviderInput) -> Result<Fields, OpError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(OpError::invalid("name", "Give the provider a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(OpError::invalid(
            "name",
            format!("The name must be at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(OpError::invalid(
            "name",
            "The name contains control characters.",
        ));
    }
    crate::ops::names::refuse_invisible("name", "name", &name)?;
    let fields = Fields {
        kind: input.kind,
        default_model: input.default_model.trim().to_owned(),
        base_url: trimmed(&input.base_url).map(|u| u.trim_end_matches('/').to_owned()),
        region: trimmed(&input.region),
        config: {
            let mut config = json!({});
            for (field, value) in [
                ("deployment", trimmed(&input.deployment)),
                ("api_version", trimmed(&input.api_version)),
                ("region", trimmed(&input.region)),
            ] {
                if let Some(value) = value
                    && input.kind.extra_field(field).is_some()
                {
                    config[field] = json!(value);
                }
            }
            if input.kind.extra_field("supports_tools").is_some() {
                config["supports_tools"] = json!(input.supports_tools);
            }
            config
        },
        name,
        extra_headers: Vec::new(),
    };
    // Everything but the key: validate with a stand-in key the kind accepts, so a missing
    // or bad key is judged separately (a blank key may mean "keep the stored one").
    let spec = input.kind.entry().key;
    let stand_in = SecretString::from(format!("{}placeholder", spec.prefix.unwrap_or("")));
    // What a kind needs of its fields (a base URL, a deployment, a region's form) is the
    // kind's: well-formed input the kind refuses, 422 (docs/DECISIONS.md "What the server
    // refuses, and with which status").
    fields
        .check_request(Some(stand_in))
        .validate()
        .map_err(|e| unprocessable(&e))?;
    Ok(fields)
}

/// Checks a typed key: length, characters and the kind's prefix.
pub(super) fn check_key(kind: ProviderKind, key: &SecretString) -> Result<(), OpError> {
    let value = key.expose_secret();
    if value.len() > MAX_SECRET_BYTES {
        return Err(OpError::invalid(
            "api_key",
            format!("The key is longer than {} KiB.", MAX_SECRET_BYTES / 1024),
        ));
    }
    let mut probe = CheckRequest::new(kind, "model");
    probe.api_key = Some(key.clone());
    match probe.validate() {
        // The prefix the kind's keys have (the kind may be the stored record's, on PATCH):
        // well-formed input the kind refuses, 422 (docs/DECISIONS.md "What the server
        // refuses, and with which status").
        Err(e @ (ValidationError::KeyPrefix { .. } | ValidationError::MissingKey)) => {
            Err(unprocessable(&e))
        }
        Err(e) if field_of(&e) == "api_key" => Err(invalid(&e)),
        _ => Ok(()),
    }
}

/// What a save says about the extra headers. The default keeps the stored ones.
#[derive(Debug, Default)]
pub struct HeadersInput {
    /// Headers to add, or whose value to replace (matched by name, case-insensitively).
    pub set: Vec<(String, SecretString)>,
    /// Names of stored headers to remove.
    pub remove: Vec<String>,
    /// Remove every stored header (before `set` applies).
    pub remove_all: bool,
}

impl HeadersInput {
    /// Whether nothing is to change.
    pub fn is_keep(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty() && !self.remove_all
    }
}
