//! The provider catalog: the ten kinds of DESIGN.md with everything a form, the
//! validation, the API (`GET /api/v1/catalog`) and the what-runs-where matrix need to
//! know about each. This table is the one source of truth; nothing else lists kinds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One kind of provider endpoint, serialised as its lowercase slug.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI.
    Openai,
    /// Anthropic.
    Anthropic,
    /// Google Gemini.
    Google,
    /// Azure OpenAI.
    Azure,
    /// xAI (Grok).
    Xai,
    /// Groq.
    Groq,
    /// Ollama.
    Ollama,
    /// Amazon Bedrock.
    Bedrock,
    /// An OpenAI-compatible API gateway.
    Gateway,
    /// A self-hosted OpenAI-compatible endpoint (vLLM, TGI, LiteLLM…).
    Custom,
}

impl ProviderKind {
    /// Every kind, in catalog order.
    pub const ALL: [ProviderKind; 10] = [
        ProviderKind::Openai,
        ProviderKind::Anthropic,
        ProviderKind::Google,
        ProviderKind::Azure,
        ProviderKind::Xai,
        ProviderKind::Groq,
        ProviderKind::Ollama,
        ProviderKind::Bedrock,
        ProviderKind::Gateway,
        ProviderKind::Custom,
    ];

    /// The slug stored in the database and used in URLs, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        self.entry().slug
    }

    /// The catalog entry of this kind.
    pub fn entry(self) -> &'static CatalogEntry {
        // CATALOG is in the order of ALL; a unit test keeps them aligned.
        &CATALOG[self as usize]
    }

    /// The kind's extra field called `name`, if it has one.
    pub fn extra_field(self, name: &str) -> Option<&'static ExtraField> {
        self.entry().extra_fields.iter().find(|f| f.name == name)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a slug that names no kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown provider kind {0:?}; expected one of: openai, anthropic, google, azure, xai, groq, ollama, bedrock, gateway, custom"
)]
pub struct UnknownKind(pub String);

impl FromStr for ProviderKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

/// Which wire protocol the live check of a kind speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Protocol {
    /// `GET {base}/models` with a Bearer key; the model must be listed.
    OpenaiCompatible,
    /// `POST {base}/v1/messages`, one token.
    Anthropic,
    /// `GET {base}/v1beta/models/{model}` with `x-goog-api-key`.
    Gemini,
    /// One-token chat completion on a deployment.
    Azure,
    /// `GET {base}/api/tags`; the model must be listed.
    Ollama,
    /// `GET {base}/foundation-models/{model}` with a Bedrock API key.
    Bedrock,
}

/// Whether and how a key is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeySpec {
    /// A key must be present to save or activate the provider.
    pub required: bool,
    /// The prefix every valid key starts with, when the provider has one.
    pub prefix: Option<&'static str>,
}

/// Where requests go when no base URL is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum BaseUrlSpec {
    /// The provider's public endpoint; the admin may override it.
    #[serde(rename_all = "camelCase")]
    Default {
        /// The default base URL.
        url: &'static str,
    },
    /// The admin must enter it (self-hosted, Azure resource endpoint, gateway).
    Required,
    /// Derived from the `region` field; the admin may override it.
    #[serde(rename_all = "camelCase")]
    FromRegion {
        /// The template, `{region}` replaced by the region.
        template: &'static str,
    },
}

/// What kind of input an extra field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FieldType {
    /// A single line of text.
    Text,
    /// A checkbox.
    Bool,
    /// A list of HTTP header names (values are secrets, entered separately).
    HeaderNames,
}

/// What a valid value of an extra field looks like; validation
/// ([`validate_extra_field`](crate::providers::check::validate_extra_field)) reads it
/// from here, so the catalog is the one source of field rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum FieldFormat {
    /// Letters, digits, `-`, `_` and `.`, at most `max` long, not only dots: safe as a
    /// path segment or query value.
    #[serde(rename_all = "camelCase")]
    PlainName {
        /// The longest value allowed.
        max: usize,
        /// What is expected, shown when the value does not fit.
        expected: &'static str,
    },
    /// An AWS region name such as `us-east-1`.
    AwsRegion,
    /// HTTP header names separated by commas or line breaks.
    HeaderNames,
    /// A checkbox value: `true`/`false`, `on`/`off` or `1`/`0`.
    Bool,
}

/// A kind-specific form field, stored in the provider's `config` JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraField {
    /// The form field name (`deployment`, `api_version`, …); in JSON the `config` key as
    /// the REST API and MCP take it (`deployment`, `apiVersion`, `supportsTools`, …).
    #[serde(serialize_with = "camel_case")]
    pub name: &'static str,
    /// The label shown in the form.
    pub label: &'static str,
    /// Whether the field must be filled in.
    pub required: bool,
    /// The input type.
    pub field_type: FieldType,
    /// What a valid value looks like.
    pub format: FieldFormat,
    /// One line of help under the field.
    pub help: &'static str,
}

/// A snake_case field name as the API's camelCase config key.
fn camel_case<S: serde::Serializer>(name: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    s.serialize_str(&out)
}

/// Whether the provider can serve tool-using features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Tools {
    /// The provider supports tool calling.
    Yes,
    /// Unknown in general: the admin says so with the `supports_tools` field.
    AdminSays,
}

/// Everything Switchboard knows about one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    /// The kind itself.
    pub kind: ProviderKind,
    /// The slug (same as `kind.as_str()`).
    pub slug: &'static str,
    /// Human name.
    pub label: &'static str,
    /// Key requirement and prefix.
    pub key: KeySpec,
    /// Base URL rule.
    pub base_url: BaseUrlSpec,
    /// Kind-specific fields.
    pub extra_fields: &'static [ExtraField],
    /// Example model names, for the form's placeholder and datalist.
    pub example_models: &'static [&'static str],
    /// Tool-calling capability.
    pub tools: Tools,
    /// Wire protocol of the live check.
    pub protocol: Protocol,
    /// One line describing what the live check does.
    pub live_check: &'static str,
}

/// The whole catalog, in the order of [`ProviderKind::ALL`].
pub fn catalog() -> &'static [CatalogEntry] {
    &CATALOG
}

const SUPPORTS_TOOLS: ExtraField = ExtraField {
    name: "supports_tools",
    label: "Supports tool calling",
    required: false,
    field_type: FieldType::Bool,
    format: FieldFormat::Bool,
    help: "Tick if the served model handles tool calls; otherwise tool-using features use the platform (policy fallback) or are unavailable.",
};

const fn required_key(prefix: Option<&'static str>) -> KeySpec {
    KeySpec {
        required: true,
        prefix,
    }
}

const OPTIONAL_KEY: KeySpec = KeySpec {
    required: false,
    prefix: None,
};

static CATALOG: [CatalogEntry; 10] = [
    CatalogEntry {
        kind: ProviderKind::Openai,
        slug: "openai",
        label: "OpenAI",
        key: required_key(Some("sk-")),
        base_url: BaseUrlSpec::Default {
            url: "https://api.openai.com/v1",
        },
        extra_fields: &[],
        example_models: &["gpt-4o", "gpt-4o-mini", "gpt-4.1"],
        tools: Tools::Yes,
        protocol: Protocol::OpenaiCompatible,
        live_check: "GET /models, model listed",
    },
    CatalogEntry {
        kind: ProviderKind::Anthropic,
        slug: "anthropic",
        label: "Anthropic",
        key: required_key(Some("sk-ant-")),
        base_url: BaseUrlSpec::Default {
            url: "https://api.anthropic.com",
        },
        extra_fields: &[],
        example_models: &["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"],
        tools: Tools::Yes,
        protocol: Protocol::Anthropic,
        live_check: "POST /v1/messages, max_tokens 1",
    },
    CatalogEntry {
        kind: ProviderKind::Google,
        slug: "google",
        label: "Google Gemini",
        key: required_key(None),
        base_url: BaseUrlSpec::Default {
            url: "https://generativelanguage.googleapis.com",
        },
        extra_fields: &[],
        example_models: &["gemini-2.5-pro", "gemini-2.5-flash"],
        tools: Tools::Yes,
        protocol: Protocol::Gemini,
        live_check: "GET /v1beta/models/{model} (key in header, never in URL)",
    },
    CatalogEntry {
        kind: ProviderKind::Azure,
        slug: "azure",
        label: "Azure OpenAI",
        key: required_key(None),
        base_url: BaseUrlSpec::Required,
        extra_fields: &[
            ExtraField {
                name: "deployment",
                label: "Deployment",
                required: true,
                field_type: FieldType::Text,
                format: FieldFormat::PlainName {
                    max: 64,
                    expected: "use letters, digits, '-', '_' or '.' (at most 64)",
                },
                help: "The deployment name in your Azure OpenAI resource.",
            },
            ExtraField {
                name: "api_version",
                label: "API version",
                required: true,
                field_type: FieldType::Text,
                format: FieldFormat::PlainName {
                    max: 40,
                    expected: "expected something like 2024-10-21 or 2025-01-01-preview",
                },
                help: "For example 2024-10-21 or 2025-01-01-preview.",
            },
        ],
        example_models: &["gpt-4o", "gpt-4o-mini"],
        tools: Tools::Yes,
        protocol: Protocol::Azure,
        live_check: "1-token chat on the deployment",
    },
    CatalogEntry {
        kind: ProviderKind::Xai,
        slug: "xai",
        label: "xAI (Grok)",
        key: required_key(Some("xai-")),
        base_url: BaseUrlSpec::Default {
            url: "https://api.x.ai/v1",
        },
        extra_fields: &[],
        example_models: &["grok-4", "grok-3-mini"],
        tools: Tools::Yes,
        protocol: Protocol::OpenaiCompatible,
        live_check: "GET /models, model listed",
    },
    CatalogEntry {
        kind: ProviderKind::Groq,
        slug: "groq",
        label: "Groq",
        key: required_key(Some("gsk_")),
        base_url: BaseUrlSpec::Default {
            url: "https://api.groq.com/openai/v1",
        },
        extra_fields: &[],
        example_models: &["llama-3.3-70b-versatile", "openai/gpt-oss-120b"],
        tools: Tools::Yes,
        protocol: Protocol::OpenaiCompatible,
        live_check: "GET /models, model listed",
    },
    CatalogEntry {
        kind: ProviderKind::Ollama,
        slug: "ollama",
        label: "Ollama",
        key: OPTIONAL_KEY,
        base_url: BaseUrlSpec::Required,
        extra_fields: &[SUPPORTS_TOOLS],
        example_models: &["llama3.1", "qwen2.5-coder:7b"],
        tools: Tools::AdminSays,
        protocol: Protocol::Ollama,
        live_check: "GET /api/tags, model listed",
    },
    CatalogEntry {
        kind: ProviderKind::Bedrock,
        slug: "bedrock",
        label: "Amazon Bedrock",
        key: required_key(None),
        base_url: BaseUrlSpec::FromRegion {
            template: "https://bedrock.{region}.amazonaws.com",
        },
        extra_fields: &[ExtraField {
            name: "region",
            label: "AWS region",
            required: true,
            field_type: FieldType::Text,
            format: FieldFormat::AwsRegion,
            help: "For example us-east-1. The key is a Bedrock API key.",
        }],
        example_models: &[
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "amazon.nova-pro-v1:0",
        ],
        tools: Tools::Yes,
        protocol: Protocol::Bedrock,
        live_check: "GET /foundation-models/{model}",
    },
    CatalogEntry {
        kind: ProviderKind::Gateway,
        slug: "gateway",
        label: "API gateway (OpenAI-compatible)",
        key: required_key(None),
        base_url: BaseUrlSpec::Required,
        extra_fields: &[
            ExtraField {
                name: "extra_headers",
                label: "Extra headers",
                required: false,
                field_type: FieldType::HeaderNames,
                format: FieldFormat::HeaderNames,
                help: "Headers the gateway needs besides Authorization (a tenant or team id, say); their values are stored sealed, like keys, and never shown again.",
            },
            SUPPORTS_TOOLS,
        ],
        example_models: &["gpt-4o", "claude-sonnet-4"],
        tools: Tools::AdminSays,
        protocol: Protocol::OpenaiCompatible,
        live_check: "GET /models",
    },
    CatalogEntry {
        kind: ProviderKind::Custom,
        slug: "custom",
        label: "Self-hosted (OpenAI-compatible: vLLM, TGI, LiteLLM…)",
        key: OPTIONAL_KEY,
        base_url: BaseUrlSpec::Required,
        extra_fields: &[SUPPORTS_TOOLS],
        example_models: &[
            "meta-llama/Llama-3.1-8B-Instruct",
            "Qwen/Qwen2.5-7B-Instruct",
        ],
        tools: Tools::AdminSays,
        protocol: Protocol::OpenaiCompatible,
        live_check: "GET /models, model listed",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_in_kind_order_and_slugs_round_trip() {
        for (i, kind) in ProviderKind::ALL.into_iter().enumerate() {
            assert_eq!(CATALOG[i].kind, kind);
            assert_eq!(kind.as_str().parse::<ProviderKind>(), Ok(kind));
            let json = serde_json::to_value(kind).expect("serialise kind");
            assert_eq!(json, serde_json::Value::String(kind.as_str().to_owned()));
        }
    }
}
