//! What runs where (DESIGN.md rule 6): the platform's AI features, what each needs, and the
//! routing decision for one feature given the org's settings and its active provider.
//! Pure functions without I/O: the Provider tab's matrix, the activation preview, the
//! Advanced tab and route resolution all ask [`route`], so they can never disagree.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::providers::catalog::{ProviderKind, Tools};

/// One AI feature of the platform. The ids are the API's (`ai/route?feature=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Assistant,
    Insights,
    CicdGeneration,
    IncidentAnalysis,
    Summaries,
    StackDescriptions,
    Triage,
    SeverityGrading,
    FixProposals,
}

impl Feature {
    /// Every feature, in the order the matrix lists them (tool-using first).
    pub const ALL: [Feature; 9] = [
        Feature::Assistant,
        Feature::Insights,
        Feature::CicdGeneration,
        Feature::IncidentAnalysis,
        Feature::Summaries,
        Feature::StackDescriptions,
        Feature::Triage,
        Feature::SeverityGrading,
        Feature::FixProposals,
    ];

    /// The id used in URLs, JSON and the audit trail.
    pub fn id(self) -> &'static str {
        match self {
            Feature::Assistant => "assistant",
            Feature::Insights => "insights",
            Feature::CicdGeneration => "cicd_generation",
            Feature::IncidentAnalysis => "incident_analysis",
            Feature::Summaries => "summaries",
            Feature::StackDescriptions => "stack_descriptions",
            Feature::Triage => "triage",
            Feature::SeverityGrading => "severity_grading",
            Feature::FixProposals => "fix_proposals",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Feature::Assistant => "Agentic assistant",
            Feature::Insights => "AI insights",
            Feature::CicdGeneration => "CI/CD file generation",
            Feature::IncidentAnalysis => "Deploy and incident analysis",
            Feature::Summaries => "Summaries",
            Feature::StackDescriptions => "Stack descriptions",
            Feature::Triage => "Triage",
            Feature::SeverityGrading => "Severity grading",
            Feature::FixProposals => "Fix proposals",
        }
    }

    /// Whether the feature calls tools (and so needs a model that supports tool calling).
    pub fn needs_tools(self) -> bool {
        matches!(
            self,
            Feature::Assistant
                | Feature::Insights
                | Feature::CicdGeneration
                | Feature::IncidentAnalysis
        )
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A feature id no feature has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown feature \"{0}\"; features are: assistant, insights, cicd_generation, incident_analysis, summaries, stack_descriptions, triage, severity_grading, fix_proposals"
)]
pub struct UnknownFeature(pub String);

impl FromStr for Feature {
    type Err = UnknownFeature;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .into_iter()
            .find(|f| f.id() == s)
            .ok_or_else(|| UnknownFeature(s.chars().take(64).collect()))
    }
}

/// What happens to a feature the org's own provider can't serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The platform serves it (the org's data reaches the platform's provider for it).
    Fallback,
    /// Nothing serves it: the platform's key is never used while the org's provider is on.
    Strict,
}

impl Policy {
    pub const ALL: [Policy; 2] = [Policy::Fallback, Policy::Strict];

    /// The stored and submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Fallback => "fallback",
            Policy::Strict => "strict",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Policy::Fallback => "Fall back to the platform",
            Policy::Strict => "Strict: only your provider",
        }
    }

    /// One line on what choosing it means.
    pub fn explanation(self) -> &'static str {
        match self {
            Policy::Fallback => {
                "Features your provider can't serve (tool use on an endpoint without tool calling) run on the platform's provider."
            }
            Policy::Strict => {
                "Features your provider can't serve are unavailable: the platform's provider never sees your org's requests while yours is active."
            }
        }
    }
}

/// A routing policy that is neither `fallback` nor `strict`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the routing policy must be fallback or strict")]
pub struct UnknownPolicy;

impl FromStr for Policy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fallback" => Ok(Policy::Fallback),
            "strict" => Ok(Policy::Strict),
            _ => Err(UnknownPolicy),
        }
    }
}

/// The org's active provider, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: ProviderKind,
    pub model: &'a str,
    /// The provider's `supports_tools` setting (only read for kinds whose catalog entry
    /// leaves tool calling to the admin).
    pub supports_tools: bool,
}

impl Active<'_> {
    /// Whether this provider can serve tool-using features: the catalog says so, or, for
    /// ollama, gateway and custom, the admin does.
    pub fn can_use_tools(&self) -> bool {
        match self.kind.entry().tools {
            Tools::Yes => true,
            Tools::AdminSays => self.supports_tools,
        }
    }
}

/// Everything a routing decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub policy: Policy,
    pub insights_enabled: bool,
    /// `None`: the platform default serves the org.
    pub active: Option<Active<'a>>,
}

/// Why the platform serves a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformReason {
    /// No provider of the org's own is active.
    NoProvider,
    /// The org's provider lacks tool calling and the policy is `fallback`.
    ToolsFallback,
}

/// Why no one serves a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableReason {
    /// The org turned Proactive AI Insights off.
    InsightsDisabled,
    /// The org's provider lacks tool calling and the policy is `strict`.
    ToolsStrict,
}

/// Who serves one feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// The org's own provider, with its default model.
    Byo(Active<'a>),
    /// The platform's provider.
    Platform(PlatformReason),
    /// Nobody: the feature fails closed.
    Unavailable(UnavailableReason),
}

impl Route<'_> {
    /// `byo`, `platform` or `unavailable`.
    pub fn server(&self) -> &'static str {
        match self {
            Route::Byo(_) => "byo",
            Route::Platform(_) => "platform",
            Route::Unavailable(_) => "unavailable",
        }
    }

    /// One sentence on why.
    pub fn reason(&self) -> &'static str {
        match self {
            Route::Byo(_) => "Your active provider serves it.",
            Route::Platform(PlatformReason::NoProvider) => {
                "No provider of your own is active: the platform default serves it."
            }
            Route::Platform(PlatformReason::ToolsFallback) => {
                "Needs tool calling, which your provider doesn't support; policy fallback sends it to the platform."
            }
            Route::Unavailable(UnavailableReason::InsightsDisabled) => {
                "Proactive AI Insights are off for this org."
            }
            Route::Unavailable(UnavailableReason::ToolsStrict) => {
                "Needs tool calling, which your provider doesn't support; policy strict keeps it off the platform."
            }
        }
    }
}

/// Decides who serves `feature` now. A runtime error of the org's provider is not an
/// input: a feature routed to it fails closed and never retries on the platform's key.
pub fn route<'a>(settings: &Settings<'a>, feature: Feature) -> Route<'a> {
    if feature == Feature::Insights && !settings.insights_enabled {
        return Route::Unavailable(UnavailableReason::InsightsDisabled);
    }
    let Some(active) = settings.active else {
        return Route::Platform(PlatformReason::NoProvider);
    };
    if feature.needs_tools() && !active.can_use_tools() {
        return match settings.policy {
            Policy::Fallback => Route::Platform(PlatformReason::ToolsFallback),
            Policy::Strict => Route::Unavailable(UnavailableReason::ToolsStrict),
        };
    }
    Route::Byo(active)
}

/// The decision for every feature, in [`Feature::ALL`] order.
pub fn matrix<'a>(settings: &Settings<'a>) -> [(Feature, Route<'a>); 9] {
    Feature::ALL.map(|f| (f, route(settings, f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_ids_round_trip_and_unknown_ones_are_named() {
        for f in Feature::ALL {
            assert_eq!(f.id().parse::<Feature>(), Ok(f));
        }
        let err = "chat".parse::<Feature>().unwrap_err();
        assert!(err.to_string().contains("\"chat\""), "{err}");
        assert_eq!("Strict".parse::<Policy>(), Err(UnknownPolicy));
    }
}
