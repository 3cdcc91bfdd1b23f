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

    /// The feature's place in [`Feature::ALL`].
    pub fn index(self) -> usize {
        self as usize
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

/// How an org routes one feature (DESIGN.md rule 6, per-feature routes). `Inherit` is the
/// default: the active provider and the policy decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule<'a> {
    #[default]
    Inherit,
    /// One of the org's providers, with the model to use (its default or the route's own).
    Provider(Active<'a>),
    /// The platform default, even while a provider of the org's is active.
    Platform,
    /// Nobody: the feature is turned off for the org.
    Off,
}

impl Rule<'_> {
    /// The stored and submitted mode: `inherit`, `provider`, `platform` or `off`.
    pub fn mode(&self) -> &'static str {
        match self {
            Rule::Inherit => "inherit",
            Rule::Provider(_) => "provider",
            Rule::Platform => "platform",
            Rule::Off => "off",
        }
    }
}

/// The org's feature routes, one [`Rule`] per feature (indexed by [`Feature::index`]): a
/// fixed array, so a decision never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rules<'a>(pub [Rule<'a>; 9]);

impl<'a> Rules<'a> {
    /// Every feature `inherit`.
    pub const INHERIT: Rules<'static> = Rules([Rule::Inherit; 9]);

    /// The rule of `feature`.
    pub fn get(&self, feature: Feature) -> Rule<'a> {
        self.0[feature.index()]
    }

    /// These rules with `feature` set to `rule`.
    pub fn with(mut self, feature: Feature, rule: Rule<'a>) -> Self {
        self.0[feature.index()] = rule;
        self
    }
}

/// Everything a routing decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub policy: Policy,
    pub insights_enabled: bool,
    /// `None`: the platform default serves the org.
    pub active: Option<Active<'a>>,
    /// The org's per-feature routes.
    pub rules: Rules<'a>,
}

/// Why a feature is served where it is, or not at all: the one vocabulary of route answers
/// (`ai/route`'s `reasonCode`), relay refusals and What-runs-where. Each code says whether
/// a caller refused with it should give up or ask again ([`ReasonCode::ask_again`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Served: the org's active provider serves it (no route of its own).
    ActiveProvider,
    /// Served: a feature route names who serves it (one of the org's providers, or the
    /// platform).
    FeatureRoute,
    /// Served by the platform: no provider of the org's is active.
    NoProvider,
    /// Served by the platform: the serving provider lacks tool calling and the policy is
    /// `fallback`.
    ToolsFallback,
    /// Unavailable, give up: the serving provider lacks tool calling (or a route asks for
    /// the platform) and the policy is `strict`.
    StrictUnavailable,
    /// Unavailable, give up: Proactive AI Insights are off for the org.
    InsightsOff,
    /// Unavailable, give up: a feature route turned the feature off.
    FeatureOff,
    /// Refused by the relay, give up: the platform serves this feature, not the relay.
    ServedByPlatform,
    /// Refused by the relay, give up: the request names a model the route doesn't.
    ModelNotRouted,
    /// Changed, ask again: the org's settings changed while the answer was being decided.
    SettingsChanged,
}

impl ReasonCode {
    /// Every code.
    pub const ALL: [ReasonCode; 10] = [
        ReasonCode::ActiveProvider,
        ReasonCode::FeatureRoute,
        ReasonCode::NoProvider,
        ReasonCode::ToolsFallback,
        ReasonCode::StrictUnavailable,
        ReasonCode::InsightsOff,
        ReasonCode::FeatureOff,
        ReasonCode::ServedByPlatform,
        ReasonCode::ModelNotRouted,
        ReasonCode::SettingsChanged,
    ];

    /// The wire form (`feature_route`, `no_provider`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::ActiveProvider => "active_provider",
            ReasonCode::FeatureRoute => "feature_route",
            ReasonCode::NoProvider => "no_provider",
            ReasonCode::ToolsFallback => "tools_fallback",
            ReasonCode::StrictUnavailable => "strict_unavailable",
            ReasonCode::InsightsOff => "insights_off",
            ReasonCode::FeatureOff => "feature_off",
            ReasonCode::ServedByPlatform => "served_by_platform",
            ReasonCode::ModelNotRouted => "model_not_routed",
            ReasonCode::SettingsChanged => "settings_changed",
        }
    }

    /// Whether a caller refused with this code should ask again (the answer changed while
    /// it was decided) rather than give up (the feature is unavailable as configured).
    /// Codes of a served feature are neither: they are not refusals.
    pub fn ask_again(self) -> bool {
        matches!(self, ReasonCode::SettingsChanged)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who serves one feature, and why ([`ReasonCode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// One of the org's own providers, with the model to use: the active one
    /// ([`ReasonCode::ActiveProvider`]) or the one a route names
    /// ([`ReasonCode::FeatureRoute`]).
    Byo(Active<'a>, ReasonCode),
    /// The platform's provider.
    Platform(ReasonCode),
    /// Nobody: the feature fails closed.
    Unavailable(ReasonCode),
}

impl Route<'_> {
    /// `byo`, `platform` or `unavailable`.
    pub fn server(&self) -> &'static str {
        match self {
            Route::Byo(..) => "byo",
            Route::Platform(_) => "platform",
            Route::Unavailable(_) => "unavailable",
        }
    }

    /// Why, as a code.
    pub fn code(&self) -> ReasonCode {
        match self {
            Route::Byo(_, code) | Route::Platform(code) | Route::Unavailable(code) => *code,
        }
    }

    /// One sentence on why.
    pub fn reason(&self) -> &'static str {
        match self {
            Route::Byo(_, ReasonCode::FeatureRoute) => {
                "A feature route sends it to this provider of yours."
            }
            Route::Byo(..) => "Your active provider serves it.",
            Route::Platform(ReasonCode::FeatureRoute) => {
                "A feature route sends it to the platform default."
            }
            Route::Platform(ReasonCode::ToolsFallback) => {
                "Needs tool calling, which your provider doesn't support; policy fallback sends it to the platform."
            }
            Route::Platform(_) => {
                "No provider of your own is active: the platform default serves it."
            }
            Route::Unavailable(ReasonCode::InsightsOff) => {
                "Proactive AI Insights are off for this org."
            }
            Route::Unavailable(ReasonCode::FeatureOff) => {
                "A feature route turned it off for this org."
            }
            Route::Unavailable(_) => {
                "Needs tool calling, which your provider doesn't support; policy strict keeps it off the platform."
            }
        }
    }
}

/// Decides who serves `feature` now. A runtime error of the org's provider is not an
/// input: a feature routed to it fails closed and never retries on the platform's key.
/// Insights off wins over any route; then the feature's route; then (`inherit`) the active
/// provider and the policy.
pub fn route<'a>(settings: &Settings<'a>, feature: Feature) -> Route<'a> {
    if feature == Feature::Insights && !settings.insights_enabled {
        return Route::Unavailable(ReasonCode::InsightsOff);
    }
    match settings.rules.get(feature) {
        Rule::Inherit => {}
        Rule::Off => return Route::Unavailable(ReasonCode::FeatureOff),
        // Refused under strict when written; were one left over, strict wins.
        Rule::Platform => {
            return match settings.policy {
                Policy::Fallback => Route::Platform(ReasonCode::FeatureRoute),
                Policy::Strict => Route::Unavailable(ReasonCode::StrictUnavailable),
            };
        }
        Rule::Provider(p) => return served_by(p, ReasonCode::FeatureRoute, settings, feature),
    }
    let Some(active) = settings.active else {
        return Route::Platform(ReasonCode::NoProvider);
    };
    served_by(active, ReasonCode::ActiveProvider, settings, feature)
}

/// `provider` serves `feature` unless the feature needs tools it lacks (checked when a route
/// is written, but an edit of the provider may have turned tool calling off since).
fn served_by<'a>(
    provider: Active<'a>,
    code: ReasonCode,
    settings: &Settings<'a>,
    feature: Feature,
) -> Route<'a> {
    if feature.needs_tools() && !provider.can_use_tools() {
        return match settings.policy {
            Policy::Fallback => Route::Platform(ReasonCode::ToolsFallback),
            Policy::Strict => Route::Unavailable(ReasonCode::StrictUnavailable),
        };
    }
    Route::Byo(provider, code)
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
