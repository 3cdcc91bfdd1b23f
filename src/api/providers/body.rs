//! The JSON of the provider endpoints: what comes in (create, patch) and goes out (the
//! provider as DESIGN.md "REST API" spells it). Input types deny unknown fields; nothing
//! here ever holds a key on the way out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    error::AppError,
    ops::providers::{self as ops, KeyDisplay, ProviderView},
    providers::{ProviderKind, check::CheckOutcome},
};

/// Reads a field that is present as `Some(value)`, so `None` means "absent". With
/// `T = Option<U>`, `null` is `Some(None)` ("clear it"); with a plain `T`, `null` is a
/// type error (400) instead of being mistaken for "leave it".
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A provider kind slug. Parsed here rather than by serde so an unknown value is never
/// echoed back (a key pasted into the wrong field must not come back in the error).
pub fn kind(slug: &str) -> Result<ProviderKind, AppError> {
    slug.parse().map_err(|_| {
        AppError::Validation(
            "provider: unknown kind; expected one of openai, anthropic, google, azure, xai, groq, ollama, bedrock, gateway, custom.".to_owned(),
        )
    })
}

/// A provider as callers see it. Never the key: `keySet`, and the masked `keyPreview` only
/// for callers with admin access.
#[derive(Debug, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderJson {
    /// `aip_` + a 26-character ULID.
    pub id: String,
    /// The org's slug.
    pub org_id: String,
    /// The secret holding the key (`sec_…`), shared by every provider that links it;
    /// `null` without a key.
    pub secret_id: Option<String>,
    pub name: String,
    /// The kind's slug (see `GET /api/v1/catalog`).
    pub provider: ProviderKind,
    pub default_model: String,
    /// As entered; `null` = the kind's default.
    pub base_url: Option<String>,
    pub config: ConfigJson,
    /// Whether a key is stored.
    pub key_set: bool,
    /// The masked key (`sk-ant-...WXYZ`); only for callers with admin access, absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_preview: Option<String>,
    pub last_check: LastCheckJson,
    /// Whether this is the org's active provider.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The record's version (its `ETag` is `"v{lockVersion}"`).
    pub lock_version: i32,
}

/// The kind-specific settings that apply to the provider's kind.
#[derive(Debug, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigJson {
    /// Azure: the deployment name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Azure: the API version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Bedrock: the AWS region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Ollama, gateway and self-hosted kinds: whether the endpoint supports tool calling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_tools: Option<bool>,
    /// Gateway: the names of the extra headers sent with every request (their values are
    /// secrets: set them with `config.extraHeaders`, never returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_header_names: Option<Vec<String>>,
}

/// The last live check.
#[derive(Debug, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastCheckJson {
    /// `ok`, `failed` or `unverified` (saved without a passing check).
    pub status: String,
    /// Why it failed (`auth_rejected`, `model_not_found`, `rate_limited`, …).
    pub code: Option<String>,
    pub message: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

impl ProviderJson {
    /// The JSON of `view`, a provider of org `org`.
    pub fn of(org: &str, view: &ProviderView) -> Self {
        let kind = view.kind;
        let applies = |field: &str| kind.extra_field(field).is_some();
        Self {
            id: view.id.clone(),
            org_id: org.to_owned(),
            secret_id: view.secret_id.clone(),
            name: view.name.clone(),
            provider: kind,
            default_model: view.default_model.clone(),
            base_url: view.base_url.clone(),
            config: ConfigJson {
                deployment: view.deployment.clone().filter(|_| applies("deployment")),
                api_version: view.api_version.clone().filter(|_| applies("api_version")),
                region: view.region.clone().filter(|_| applies("region")),
                supports_tools: applies("supports_tools").then_some(view.supports_tools),
                extra_header_names: applies("extra_headers")
                    .then(|| view.extra_header_names.clone()),
            },
            key_set: view.key != KeyDisplay::None,
            key_preview: match &view.key {
                KeyDisplay::Preview(preview) => Some(preview.clone()),
                KeyDisplay::None | KeyDisplay::Set => None,
            },
            last_check: LastCheckJson {
                status: view.last_check.status.as_str().to_owned(),
                code: view.last_check.code.clone(),
                message: view.last_check.message.clone(),
                checked_at: view.last_check.checked_at,
            },
            active: view.active,
            created_at: view.created_at,
            updated_at: view.updated_at,
            lock_version: view.lock_version,
        }
    }
}

/// The org's providers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderListJson {
    /// Oldest first.
    pub providers: Vec<ProviderJson>,
}

/// Kind-specific settings as sent; fields that don't apply to the kind are ignored. On
/// `PATCH`, an absent field stays as it is and `null` clears it.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigInput {
    /// Azure: the deployment name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub deployment: Option<Option<String>>,
    /// Azure: the API version (e.g. `2024-10-21`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub api_version: Option<Option<String>>,
    /// Bedrock: the AWS region (e.g. `us-east-1`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    /// Ollama, gateway and self-hosted kinds: whether the endpoint supports tool calling.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub supports_tools: Option<bool>,
    /// Gateway: extra headers, `{"Header-Name": "value"}` (write-only: values are sealed
    /// like keys and never returned; `config.extraHeaderNames` shows the names). At most 10,
    /// values up to 1 KiB; `Host`, `Authorization`, hop-by-hop and `X-Forwarded-*` headers
    /// are refused. On `PATCH` a name with a value sets or replaces that header, a name with
    /// `null` removes it, names left out keep their stored value — unless the kind or base
    /// URL changes: then give every value again (or remove it), as for the key. `null` for
    /// the whole field removes every header.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = extra_headers_schema)]
    pub extra_headers: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// `config.extraHeaders` as the document states it, as strict as the server: header-name
/// tokens (at most 64 characters) mapped to printable-ASCII values (1–1024 characters, no
/// CR/LF) or `null`, at most 10 of them, `null` for the whole field.
fn extra_headers_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some(
            "Gateway: extra headers, `{\"Header-Name\": \"value\"}` (write-only: values are sealed like keys and never returned; `config.extraHeaderNames` shows the names). At most 10, values up to 1 KiB of printable ASCII; `Host`, `Authorization`, hop-by-hop and `X-Forwarded-*` headers are refused. On `PATCH` a name with a value sets or replaces that header, a name with `null` removes it, names left out keep their stored value — unless the kind or base URL changes: then give every value again (or remove it), as for the key. `null` for the whole field removes every header.",
        ))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .pattern(Some("^[\\t\\x20-\\x7E]{1,1024}$")),
        ))
        .max_properties(Some(10))
        .write_only(true)
        .build()
}

impl ConfigInput {
    /// The extra headers as the operation takes them.
    fn headers(&mut self) -> ops::HeadersInput {
        let mut input = ops::HeadersInput::default();
        match self.extra_headers.take() {
            None => {}
            Some(None) => input.remove_all = true,
            Some(Some(map)) => {
                for (name, value) in map {
                    match value {
                        Some(v) => input.set.push((name, SecretString::from(v))),
                        None => input.remove.push(name),
                    }
                }
            }
        }
        input
    }
}

/// A provider to add. The key is write-only: `apiKey`, or `secretId` to share the key of
/// an existing secret of the org (only with providers of the same kind and base URL).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewProvider {
    /// The kind's slug (see `GET /api/v1/catalog`).
    #[schema(value_type = ProviderKind)]
    pub provider: String,
    /// Unique in the org, at most 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(min_length = 1)]
    pub default_model: String,
    /// `null` or absent: the kind's default (required for kinds without one).
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub config: Option<ConfigInput>,
    /// The API key (write-only: never returned).
    #[serde(default)]
    #[schema(write_only, format = Password)]
    pub api_key: Option<String>,
    /// An existing secret of the org (`sec_…`) whose key to share instead of `apiKey`.
    #[serde(default)]
    pub secret_id: Option<String>,
    /// Save even if the live check fails (status `unverified`); skips the check.
    #[serde(default)]
    pub save_unverified: bool,
}

impl NewProvider {
    /// The operation's input (the seed-compatible `POST /api/v1/ai-providers` shares it).
    pub fn into_input(self) -> Result<ops::ProviderInput, AppError> {
        let kind = kind(&self.provider)?;
        let mut config = self.config.unwrap_or_default();
        let extra_headers = config.headers();
        Ok(ops::ProviderInput {
            kind,
            name: self.name,
            default_model: self.default_model,
            base_url: self.base_url,
            deployment: config.deployment.flatten(),
            api_version: config.api_version.flatten(),
            region: config.region.flatten(),
            supports_tools: config.supports_tools.unwrap_or(false),
            key: super::key_input(self.api_key, self.secret_id)?,
            extra_headers,
            save_unverified: self.save_unverified,
        })
    }
}

/// The fields of a provider to change; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderPatch {
    /// A new kind (needs the key again).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = ProviderKind)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1)]
    pub default_model: Option<String>,
    /// A new base URL (needs the key again); `null`: the kind's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = ConfigInput)]
    pub config: Option<ConfigInput>,
    /// A new API key (write-only: never returned).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, write_only, format = Password)]
    pub api_key: Option<String>,
    /// An existing secret of the org (`sec_…`) whose key to share instead.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub secret_id: Option<String>,
    /// Save even if the live check fails (status `unverified`); skips the check.
    #[serde(default)]
    pub save_unverified: bool,
    /// `true`: remove the stored key (a change of its own; on the active provider the org
    /// goes back to the platform default).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub remove_key: Option<bool>,
}

impl ProviderPatch {
    /// The operation's patch (`ops::providers::patch_provider` lays it over the record).
    pub fn into_patch(self) -> Result<ops::ProviderPatch, AppError> {
        let mut config = self.config.unwrap_or_default();
        let extra_headers = config.headers();
        Ok(ops::ProviderPatch {
            kind: self.provider.as_deref().map(kind).transpose()?,
            name: self.name,
            default_model: self.default_model,
            base_url: self.base_url,
            deployment: config.deployment,
            api_version: config.api_version,
            region: config.region,
            supports_tools: config.supports_tools,
            key: super::key_input(self.api_key, self.secret_id)?,
            extra_headers,
            save_unverified: self.save_unverified,
            remove_key: self.remove_key == Some(true),
            lock_version: None,
        })
    }
}

/// What `POST …/test` answers: the check's outcome (never the key, never a header value)
/// and the provider with it recorded.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tested {
    pub ok: bool,
    /// Why it failed: `auth_rejected`, `model_not_found`, `rate_limited`,
    /// `quota_exhausted`, `bad_api_version`, `unreachable`, `timeout`, `tls`,
    /// `blocked_address` or `bad_response`; `null` when it passed.
    pub code: Option<String>,
    pub message: String,
    /// Wall time of the check.
    pub latency_ms: u64,
    pub provider: ProviderJson,
}

impl Tested {
    pub fn of(outcome: &CheckOutcome, provider: ProviderJson) -> Self {
        Self {
            ok: outcome.ok,
            code: outcome
                .code
                .filter(|_| !outcome.ok)
                .map(|c| c.as_str().to_owned()),
            message: outcome.message.clone(),
            latency_ms: u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX),
            provider,
        }
    }
}

/// What `POST …/providers/deactivate` answers.
#[derive(Serialize, utoipa::ToSchema, schemars::JsonSchema)]
pub struct Deactivated {
    /// Whether a provider was active (`false`: the platform default already served the org).
    pub changed: bool,
}
