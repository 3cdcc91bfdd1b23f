//! What the MCP tools take and give: input types whose JSON Schemas rmcp publishes in
//! `tools/list` (camelCase, unknown fields refused), and output types mirroring the REST
//! API's JSON (DESIGN.md "REST API": a provider is `keySet` and, for callers who may see
//! it, `keyPreview`; never the key).

use std::borrow::Cow;

use rmcp::{
    ErrorData,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    models::skill::SkillSummary,
    ops::{
        Caller,
        providers::{KeyInput, ProviderInput, ProviderList, ProviderView},
        settings::AiSettings,
    },
    providers::{ProviderKind, check::CheckOutcome},
    routing::{self, Feature, Policy, Route},
};

/// A tool's arguments, parsed into `T`. rmcp's own `Parameters` would answer a wrong type
/// with serde's message, which quotes the submitted value: a key sent in the wrong field
/// would come back. This one names the problem without the value. (The `tool` macro finds
/// the input schema by this type's name.)
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        serde_json::from_value(serde_json::Value::Object(arguments))
            .map(Parameters)
            .map_err(|e| ErrorData::invalid_params(describe(&e), None))
    }
}

/// serde's message without the submitted values (the API's redaction: quoted values become
/// `…`, only short names stay).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    format!(
        "The arguments are invalid: {}.",
        crate::api::json::redact_quoted(text)
    )
}

fn kind_schema(_: &mut SchemaGenerator) -> Schema {
    let kinds: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
    json_schema!({
        "type": "string",
        "enum": kinds,
        "description": "The provider kind (catalog slug)."
    })
}

/// One provider, by id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderId {
    /// The provider's id (from `list-ai-providers`).
    pub id: String,
}

/// A provider's kind-specific settings (only those its kind uses are kept).
#[derive(Debug, Default, Deserialize, JsonSchema)]
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
}

/// A new provider. A live check with the key runs before anything is saved, unless
/// `saveUnverified` is set.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateProvider {
    /// A name unique in the org.
    pub name: String,
    #[schemars(schema_with = "kind_schema")]
    pub provider: ProviderKind,
    /// The model requests use unless a feature asks for another.
    pub default_model: String,
    /// Where requests go; leave out for the kind's default.
    pub base_url: Option<String>,
    pub config: Option<ConfigInput>,
    /// The provider's API key (write-only: it is never shown again).
    pub api_key: Option<String>,
    /// Instead of `apiKey`: the id of another provider of the org (same kind and base URL)
    /// whose key to share.
    pub link_key_from: Option<String>,
    /// Save even when the live check fails (status `unverified`).
    #[serde(default)]
    pub save_unverified: bool,
}

/// A change to a provider: fields left out keep their value; an empty `baseUrl` or config
/// field clears it. Without `apiKey` or `linkKeyFrom` the stored key is kept (unless the
/// kind or base URL changes: then the key must be given again).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateProvider {
    /// The provider's id.
    pub id: String,
    /// The `lockVersion` you saw; a provider changed since is a conflict. Leave out to change
    /// the current version.
    pub lock_version: Option<i32>,
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "kind_schema")]
    pub provider: Option<ProviderKind>,
    pub default_model: Option<String>,
    pub base_url: Option<String>,
    pub config: Option<ConfigInput>,
    /// A new API key (write-only).
    pub api_key: Option<String>,
    /// The id of another provider of the org whose key to share.
    pub link_key_from: Option<String>,
    #[serde(default)]
    pub save_unverified: bool,
}

fn key_input(api_key: Option<String>, link_key_from: Option<String>) -> KeyInput {
    match (api_key, link_key_from) {
        (Some(key), _) => KeyInput::New(SecretString::from(key)),
        (None, Some(id)) => KeyInput::LinkFrom(id),
        (None, None) => KeyInput::Keep,
    }
}

impl CreateProvider {
    /// The operation's input.
    pub fn into_input(self) -> ProviderInput {
        let config = self.config.unwrap_or_default();
        ProviderInput {
            kind: self.provider,
            name: self.name,
            default_model: self.default_model,
            base_url: self.base_url,
            deployment: config.deployment,
            api_version: config.api_version,
            region: config.region,
            supports_tools: config.supports_tools.unwrap_or(false),
            key: key_input(self.api_key, self.link_key_from),
            save_unverified: self.save_unverified,
        }
    }
}

impl UpdateProvider {
    /// The operation's input: `current` with the given fields replaced.
    pub fn into_input(self, current: &ProviderView) -> ProviderInput {
        let config = self.config.unwrap_or_default();
        ProviderInput {
            kind: self.provider.unwrap_or(current.kind),
            name: self.name.unwrap_or_else(|| current.name.clone()),
            default_model: self
                .default_model
                .unwrap_or_else(|| current.default_model.clone()),
            base_url: self.base_url.or_else(|| current.base_url.clone()),
            deployment: config.deployment.or_else(|| current.deployment.clone()),
            api_version: config.api_version.or_else(|| current.api_version.clone()),
            region: config.region.or_else(|| current.region.clone()),
            supports_tools: config.supports_tools.unwrap_or(current.supports_tools),
            key: key_input(self.api_key, self.link_key_from),
            save_unverified: self.save_unverified,
        }
    }
}

/// The routing policy: what the platform may serve while the org's own provider is active.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyValue {
    /// Features the org's provider can't serve go to the platform.
    Fallback,
    /// Features the org's provider can't serve are unavailable.
    Strict,
}

impl From<PolicyValue> for Policy {
    fn from(p: PolicyValue) -> Self {
        match p {
            PolicyValue::Fallback => Policy::Fallback,
            PolicyValue::Strict => Policy::Strict,
        }
    }
}

impl From<Policy> for PolicyValue {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Fallback => PolicyValue::Fallback,
            Policy::Strict => PolicyValue::Strict,
        }
    }
}

/// A change to the AI settings: fields left out stay as they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateSettings {
    pub policy: Option<PolicyValue>,
    /// Proactive AI Insights on or off.
    pub insights_enabled: Option<bool>,
    /// The `lockVersion` you saw (from `get-ai-settings`); leave out to change the current
    /// version.
    pub lock_version: Option<i32>,
}

/// A provider as the REST API shows it (the same type): never the key.
pub use crate::api::providers::ProviderJson as ProviderOutput;

/// The output of `view` for `caller` (the view already holds only what the caller may see
/// of the key).
pub fn provider_output(caller: &Caller, view: &ProviderView) -> ProviderOutput {
    let org = caller.org.as_ref().map_or("", |o| o.slug.as_str());
    ProviderOutput::of(org, view)
}

/// The org's providers.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderListOutput {
    /// The active provider's id; `null`: the platform default serves the org.
    pub active_provider_id: Option<String>,
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

/// A live check's result: a failed check is a result, not an error.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestOutput {
    pub ok: bool,
    /// Why it failed (`auth_rejected`, `model_not_found`, `unreachable`, …); `null` when it
    /// passed.
    pub code: Option<String>,
    /// One sentence about the outcome.
    pub message: String,
    pub latency_ms: u64,
    /// The provider with the check recorded.
    pub provider: ProviderOutput,
}

impl TestOutput {
    pub fn of(caller: &Caller, view: ProviderView, outcome: CheckOutcome) -> Self {
        Self {
            ok: outcome.ok,
            code: outcome.code.map(|c| c.as_str().to_owned()),
            message: outcome.message,
            latency_ms: u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX),
            provider: provider_output(caller, &view),
        }
    }
}

/// A deleted provider.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedOutput {
    pub id: String,
    pub deleted: bool,
}

/// The way back to the platform default.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeactivatedOutput {
    /// `false` when the platform default already served the org.
    pub changed: bool,
}

/// The org's active provider.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveOutput {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub model: String,
}

/// Who serves one AI feature now.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureOutput {
    /// The feature's id (as `ai/route?feature=` takes it).
    pub feature: String,
    pub label: String,
    /// `byo` (the org's provider), `platform` or `unavailable`.
    pub server: String,
    pub reason: String,
    /// The serving provider's id when `server` is `byo`.
    pub provider_id: Option<String>,
}

fn feature_output(feature: Feature, route: Route<'_>) -> FeatureOutput {
    FeatureOutput {
        feature: feature.id().to_owned(),
        label: feature.label().to_owned(),
        server: route.server().to_owned(),
        reason: route.reason().to_owned(),
        provider_id: match route {
            Route::Byo(active) => Some(active.id.to_owned()),
            _ => None,
        },
    }
}

/// The org's AI settings and what follows from them.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsOutput {
    /// `null`: the platform default serves the org.
    pub active_provider: Option<ActiveOutput>,
    pub policy: PolicyValue,
    pub insights_enabled: bool,
    /// The system-prompt variant the AI features use.
    pub prompt_variant: String,
    /// What runs where: every AI feature and who serves it now.
    pub features: Vec<FeatureOutput>,
    /// The settings' version, for `update-ai-settings`' `lockVersion`.
    pub lock_version: i32,
}

impl SettingsOutput {
    pub fn of(settings: &AiSettings) -> Self {
        let list = &settings.providers;
        let routing = list.routing();
        Self {
            active_provider: list.active_provider().map(|a| ActiveOutput {
                id: a.id.clone(),
                name: a.name.clone(),
                provider: a.kind.as_str().to_owned(),
                model: a.default_model.clone(),
            }),
            policy: list.policy.into(),
            insights_enabled: list.insights_enabled,
            prompt_variant: settings.variant.id().to_owned(),
            features: routing::matrix(&routing)
                .into_iter()
                .map(|(f, r)| feature_output(f, r))
                .collect(),
            lock_version: settings.lock_version(),
        }
    }
}

/// One skill, without its instructions.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillOutput {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// Characters in the instructions.
    pub chars: i32,
    pub lock_version: i32,
}

/// The org's skills by name.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillListOutput {
    pub skills: Vec<SkillOutput>,
}

impl SkillListOutput {
    pub fn of(skills: Vec<SkillSummary>) -> Self {
        Self {
            skills: skills
                .into_iter()
                .map(|s| SkillOutput {
                    id: s.id,
                    name: s.name,
                    description: s.description,
                    enabled: s.enabled,
                    chars: s.chars,
                    lock_version: s.lock_version,
                })
                .collect(),
        }
    }
}
