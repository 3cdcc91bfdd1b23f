//! System-prompt variants (DESIGN.md rule 7): which prompt the org's AI features use is
//! derived from the active provider's wire protocol. The texts ship with the project, one
//! file per variant under `prompts/`, compiled in.

use serde::Serialize;

use crate::providers::catalog::ProviderKind;

/// One system-prompt variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    Platform,
    AnthropicNative,
    OpenaiCompatible,
    GeminiNative,
    BedrockConverse,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 5] = [
        Variant::Platform,
        Variant::AnthropicNative,
        Variant::OpenaiCompatible,
        Variant::GeminiNative,
        Variant::BedrockConverse,
    ];

    /// The variant for the active provider's kind (`None`: the platform default).
    pub fn for_kind(kind: Option<ProviderKind>) -> Variant {
        match kind {
            None => Variant::Platform,
            Some(ProviderKind::Anthropic) => Variant::AnthropicNative,
            Some(ProviderKind::Google) => Variant::GeminiNative,
            Some(ProviderKind::Bedrock) => Variant::BedrockConverse,
            Some(
                ProviderKind::Openai
                | ProviderKind::Azure
                | ProviderKind::Xai
                | ProviderKind::Groq
                | ProviderKind::Ollama
                | ProviderKind::Gateway
                | ProviderKind::Custom,
            ) => Variant::OpenaiCompatible,
        }
    }

    /// The id shown and used in the API.
    pub fn id(self) -> &'static str {
        match self {
            Variant::Platform => "platform",
            Variant::AnthropicNative => "anthropic-native",
            Variant::OpenaiCompatible => "openai-compatible",
            Variant::GeminiNative => "gemini-native",
            Variant::BedrockConverse => "bedrock-converse",
        }
    }

    /// Why this variant goes with its providers.
    pub fn reason(self) -> &'static str {
        match self {
            Variant::Platform => {
                "No provider of your own is active: the platform's own prompt is used."
            }
            Variant::AnthropicNative => {
                "Your active provider speaks Anthropic's Messages API: the prompt uses its separate system field and XML-tagged context."
            }
            Variant::OpenaiCompatible => {
                "Your active provider speaks the OpenAI chat-completions protocol (OpenAI, Azure OpenAI, xAI, Groq, Ollama, gateways and self-hosted servers): the prompt is a plain system message and mentions tools only when they are offered."
            }
            Variant::GeminiNative => {
                "Your active provider is Google Gemini: the prompt is a system instruction and tools are declared functions."
            }
            Variant::BedrockConverse => {
                "Your active provider is Amazon Bedrock: the prompt goes in the Converse API's system block, tools in its tool configuration."
            }
        }
    }

    /// The prompt text.
    pub fn text(self) -> &'static str {
        match self {
            Variant::Platform => include_str!("../prompts/platform.md"),
            Variant::AnthropicNative => include_str!("../prompts/anthropic-native.md"),
            Variant::OpenaiCompatible => include_str!("../prompts/openai-compatible.md"),
            Variant::GeminiNative => include_str!("../prompts/gemini-native.md"),
            Variant::BedrockConverse => include_str!("../prompts/bedrock-converse.md"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_variant_with_its_own_text() {
        assert_eq!(Variant::for_kind(None), Variant::Platform);
        for kind in ProviderKind::ALL {
            assert_ne!(Variant::for_kind(Some(kind)), Variant::Platform, "{kind:?}");
        }
        let texts: std::collections::HashSet<_> = Variant::ALL.iter().map(|v| v.text()).collect();
        assert_eq!(texts.len(), Variant::ALL.len(), "one file per variant");
    }
}
