//! What the provider and settings tools take and give: input types whose JSON Schemas rmcp
//! publishes in `tools/list` (camelCase, unknown fields refused, the REST API's field names:
//! `secretId`, `routingPolicy`), and the REST API's own JSON types as outputs (a provider is
//! `keySet` and, for callers who may see it, `keyPreview`; never the key).

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    ops::{
        Caller,
        providers::{self as ops, KeyInput, ProviderInput, ProviderList, ProviderView},
    },
    providers::ProviderKind,
    routing::Policy,
};

pub use crate::api::providers::{Deactivated, ProviderJson as ProviderOutput, Tested};
pub use crate::api::settings::AiSettingsJson;

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    let kinds: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
    json_schema!({
        "type": "string",
        "enum": kinds,
        "description": "The provider kind (catalog slug)."
    })
}

fn policy_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["fallback", "strict"],
        "description": "`fallback`: features the org's provider can't serve run on the platform's; `strict`: they are unavailable."
    })
}

/// One record, by id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordId {
    /// The record's id (`skl_…` from `list-skills`).
    #[schemars(length(min = 1))]
    pub id: String,
}

/// One AI provider, by id, named as the AI Providers Module (seed 001) names it:
/// `aiProviderId`. `id`, the name these tools took first, is still accepted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderId {
    /// The provider's id (`aip_…` from `list-ai-providers`).
    #[serde(alias = "id")]
    #[schemars(length(min = 1))]
    pub ai_provider_id: String,
}

/// A provider's kind-specific settings (only those its kind uses are kept); on update, an
/// empty string clears a field.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigInput {
    /// Azure OpenAI: the deployment name.
    pub deployment: Option<String>,
    /// Azure OpenAI: the API version.
    pub api_version: Option<String>,
    /// Amazon Bedrock: the AWS region.
    pub region: Option<String>,
    /// Ollama, gateway and custom: whether the model can call tools.
    pub supports_tools: Option<bool>,
    /// Gateway: extra headers sent with every request, `{"Header-Name": "value"}`
    /// (write-only: values are sealed like keys and never shown; a provider's
    /// `config.extraHeaderNames` lists the names). At most 10; `Host`, `Authorization`,
    /// hop-by-hop and `X-Forwarded-*` headers are refused. On update, a header given with an
    /// empty string is removed, one left out keeps its value — unless the kind or base URL
    /// changes: then give every value again (or remove it), as for the key.
    pub extra_headers: Option<BTreeMap<String, String>>,
}

impl ConfigInput {
    /// The extra headers as the operation takes them: an empty value removes a header.
    fn headers(&mut self) -> ops::HeadersInput {
        let mut input = ops::HeadersInput::default();
        for (name, value) in self.extra_headers.take().unwrap_or_default() {
            match value.is_empty() {
                true => input.remove.push(name),
                false => input.set.push((name, SecretString::from(value))),
            }
        }
        input
    }
}

/// A new provider. A live check with the key runs before anything is saved, unless
/// `saveUnverified` is set.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateProvider {
    /// A name unique in the org.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    #[schemars(schema_with = "kind_schema")]
    pub provider: ProviderKind,
    /// The model requests use unless a feature asks for another.
    #[schemars(length(min = 1))]
    pub default_model: String,
    /// Where requests go; leave out for the kind's default.
    pub base_url: Option<String>,
    pub config: Option<ConfigInput>,
    /// The provider's API key (write-only: it is never shown again).
    pub api_key: Option<String>,
    /// Instead of `apiKey`: an existing secret of the org (`sec_…`, a provider's
    /// `secretId`) whose key to share (only with providers of the same kind and base URL).
    pub secret_id: Option<String>,
    /// Save even when the live check fails (status `unverified`).
    #[serde(default)]
    pub save_unverified: bool,
}

/// A change to a provider: fields left out keep their value; an empty `baseUrl` or config
/// field clears it. Without `apiKey` or `secretId` the stored key is kept (unless the kind
/// or base URL changes: then the key must be given again).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateProvider {
    /// The provider's id (`aip_…`), named as the AI Providers Module names it (`id` is
    /// accepted too).
    #[serde(alias = "id")]
    #[schemars(length(min = 1))]
    pub ai_provider_id: String,
    /// The `lockVersion` you saw; a provider changed since is a conflict. Leave out to change
    /// the current version.
    pub lock_version: Option<i32>,
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "kind_schema")]
    pub provider: Option<ProviderKind>,
    #[schemars(length(min = 1))]
    pub default_model: Option<String>,
    pub base_url: Option<String>,
    pub config: Option<ConfigInput>,
    /// A new API key (write-only).
    pub api_key: Option<String>,
    /// An existing secret of the org (`sec_…`) whose key to share instead.
    pub secret_id: Option<String>,
    #[serde(default)]
    pub save_unverified: bool,
    /// `true`: remove the stored key (a change of its own: send it without other fields).
    #[serde(default)]
    pub remove_key: bool,
}

/// Where a key comes from: `apiKey` (typed), `secretId` (an existing secret), or neither.
fn key_input(api_key: Option<String>, secret_id: Option<String>) -> Result<KeyInput, AppError> {
    match (api_key, secret_id) {
        (Some(_), Some(_)) => Err(AppError::Validation(
            "Send either apiKey or secretId, not both.".to_owned(),
        )),
        (Some(key), None) => Ok(KeyInput::New(SecretString::from(key))),
        (None, Some(id)) => Ok(KeyInput::LinkSecret(id)),
        (None, None) => Ok(KeyInput::Keep),
    }
}

impl CreateProvider {
    /// The operation's input.
    pub fn into_input(self) -> Result<ProviderInput, AppError> {
        let mut config = self.config.unwrap_or_default();
        let extra_headers = config.headers();
        Ok(ProviderInput {
            kind: self.provider,
            name: self.name,
            default_model: self.default_model,
            base_url: self.base_url,
            deployment: config.deployment,
            api_version: config.api_version,
            region: config.region,
            supports_tools: config.supports_tools.unwrap_or(false),
            key: key_input(self.api_key, self.secret_id)?,
            extra_headers,
            save_unverified: self.save_unverified,
        })
    }
}

impl UpdateProvider {
    /// The operation's patch (`ops::providers::patch_provider` lays it over the record).
    pub fn into_patch(self) -> Result<(String, ops::ProviderPatch), AppError> {
        let mut config = self.config.unwrap_or_default();
        let extra_headers = config.headers();
        let patch = ops::ProviderPatch {
            kind: self.provider,
            name: self.name,
            default_model: self.default_model,
            base_url: self.base_url.map(Some),
            deployment: config.deployment.map(Some),
            api_version: config.api_version.map(Some),
            region: config.region.map(Some),
            supports_tools: config.supports_tools,
            key: key_input(self.api_key, self.secret_id)?,
            extra_headers,
            save_unverified: self.save_unverified,
            remove_key: self.remove_key,
            lock_version: self.lock_version,
        };
        Ok((self.ai_provider_id, patch))
    }
}

/// A change to the AI settings: fields left out stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateSettings {
    #[serde(default, deserialize_with = "policy")]
    #[schemars(schema_with = "policy_schema")]
    pub routing_policy: Option<Policy>,
    /// Proactive AI Insights on or off.
    pub insights_enabled: Option<bool>,
    /// The `lockVersion` you saw (from `get-ai-settings`); leave out to change the current
    /// version.
    pub lock_version: Option<i32>,
}

/// A routing policy, without echoing a wrong value.
fn policy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Policy>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom("routingPolicy: expected fallback or strict"))
}

/// A provider as the REST API shows it, for `caller` (the view already holds only what the
/// caller may see of the key).
pub fn provider_output(caller: &Caller, view: &ProviderView) -> ProviderOutput {
    let org = caller.org.as_ref().map_or("", |o| o.slug.as_str());
    ProviderOutput::of(org, view)
}

/// The org's providers.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderListOutput {
    /// The active provider's id; left out: the platform default serves the org.
    pub active_provider_id: Option<String>,
    /// Oldest first.
    pub providers: Vec<ProviderOutput>,
}

impl ProviderListOutput {
    pub fn of(caller: &Caller, list: ProviderList) -> Self {
        Self {
            active_provider_id: list.active,
            providers: list
                .providers
                .into_iter()
                .map(|p| provider_output(caller, &p))
                .collect(),
        }
    }
}

/// A deleted record.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedOutput {
    pub id: String,
    pub deleted: bool,
}

/// A feature's route to set (DESIGN.md rule 6).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetFeatureRoute {
    /// The feature id: assistant, insights, cicd_generation, incident_analysis, summaries,
    /// stack_descriptions, triage, severity_grading or fix_proposals.
    #[schemars(length(min = 1))]
    pub feature: String,
    /// inherit (no route), provider, platform or off.
    #[schemars(length(min = 1))]
    pub mode: String,
    /// The org's provider (`aip_…`; mode provider only).
    pub provider_id: Option<String>,
    /// A model that provider lists (mode provider only); leave out for its default model.
    pub model: Option<String>,
    /// The route's `lockVersion` you saw (from `get-ai-settings`' `featureRoutes`; 0: no
    /// route yet); leave out to change the current one.
    pub lock_version: Option<i32>,
}

/// A feature whose route to clear.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClearFeatureRoute {
    /// The feature id (as for set-feature-route).
    #[schemars(length(min = 1))]
    pub feature: String,
    /// The route's `lockVersion` you saw; leave out to clear the current one.
    pub lock_version: Option<i32>,
}

/// A feature to resolve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteFeature {
    /// The feature id: assistant, insights, cicd_generation, incident_analysis, summaries,
    /// stack_descriptions, triage, severity_grading or fix_proposals.
    #[schemars(length(min = 1))]
    pub feature: String,
}

/// A reported outcome, counted.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeAccepted {
    /// Always `true`: counted in the org's per-minute usage (written within seconds).
    pub accepted: bool,
}
