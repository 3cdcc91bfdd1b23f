//! What runs where (DESIGN.md rule 6): every combination of the active provider's kind, its
//! `supports_tools` setting, the routing policy and the Insights switch, against the route
//! of every feature. The expected column is written out by hand, not computed: one letter
//! per feature in `Feature::ALL` order (assistant, insights, cicd_generation,
//! incident_analysis, summaries, stack_descriptions, triage, severity_grading,
//! fix_proposals):
//! - `B` the org's own provider,
//! - `D` the platform, because no provider of the org's is active,
//! - `F` the platform, because the provider lacks tool calling and the policy is fallback,
//! - `X` unavailable, because the provider lacks tool calling and the policy is strict,
//! - `I` unavailable, because Insights are off.

use switchboard::providers::ProviderKind;
use switchboard::routing::{
    Active, Feature, Policy, ReasonCode, Route, Rules, Settings, matrix, route,
};

type Row = (Option<&'static str>, bool, &'static str, bool, &'static str);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // kind, supports_tools, policy, insights, expected
    (None, false, "fallback", true, "DDDDDDDDD"),
    (None, false, "strict", true, "DDDDDDDDD"),
    (None, false, "fallback", false, "DIDDDDDDD"),
    (None, false, "strict", false, "DIDDDDDDD"),
    (Some("openai"), false, "fallback", true, "BBBBBBBBB"),
    (Some("openai"), false, "fallback", false, "BIBBBBBBB"),
    (Some("openai"), false, "strict", true, "BBBBBBBBB"),
    (Some("openai"), false, "strict", false, "BIBBBBBBB"),
    (Some("openai"), true, "fallback", true, "BBBBBBBBB"),
    (Some("openai"), true, "fallback", false, "BIBBBBBBB"),
    (Some("openai"), true, "strict", true, "BBBBBBBBB"),
    (Some("openai"), true, "strict", false, "BIBBBBBBB"),
    (Some("anthropic"), false, "fallback", true, "BBBBBBBBB"),
    (Some("anthropic"), false, "fallback", false, "BIBBBBBBB"),
    (Some("anthropic"), false, "strict", true, "BBBBBBBBB"),
    (Some("anthropic"), false, "strict", false, "BIBBBBBBB"),
    (Some("anthropic"), true, "fallback", true, "BBBBBBBBB"),
    (Some("anthropic"), true, "fallback", false, "BIBBBBBBB"),
    (Some("anthropic"), true, "strict", true, "BBBBBBBBB"),
    (Some("anthropic"), true, "strict", false, "BIBBBBBBB"),
    (Some("google"), false, "fallback", true, "BBBBBBBBB"),
    (Some("google"), false, "fallback", false, "BIBBBBBBB"),
    (Some("google"), false, "strict", true, "BBBBBBBBB"),
    (Some("google"), false, "strict", false, "BIBBBBBBB"),
    (Some("google"), true, "fallback", true, "BBBBBBBBB"),
    (Some("google"), true, "fallback", false, "BIBBBBBBB"),
    (Some("google"), true, "strict", true, "BBBBBBBBB"),
    (Some("google"), true, "strict", false, "BIBBBBBBB"),
    (Some("azure"), false, "fallback", true, "BBBBBBBBB"),
    (Some("azure"), false, "fallback", false, "BIBBBBBBB"),
    (Some("azure"), false, "strict", true, "BBBBBBBBB"),
    (Some("azure"), false, "strict", false, "BIBBBBBBB"),
    (Some("azure"), true, "fallback", true, "BBBBBBBBB"),
    (Some("azure"), true, "fallback", false, "BIBBBBBBB"),
    (Some("azure"), true, "strict", true, "BBBBBBBBB"),
    (Some("azure"), true, "strict", false, "BIBBBBBBB"),
    (Some("xai"), false, "fallback", true, "BBBBBBBBB"),
    (Some("xai"), false, "fallback", false, "BIBBBBBBB"),
    (Some("xai"), false, "strict", true, "BBBBBBBBB"),
    (Some("xai"), false, "strict", false, "BIBBBBBBB"),
    (Some("xai"), true, "fallback", true, "BBBBBBBBB"),
    (Some("xai"), true, "fallback", false, "BIBBBBBBB"),
    (Some("xai"), true, "strict", true, "BBBBBBBBB"),
    (Some("xai"), true, "strict", false, "BIBBBBBBB"),
    (Some("groq"), false, "fallback", true, "BBBBBBBBB"),
    (Some("groq"), false, "fallback", false, "BIBBBBBBB"),
    (Some("groq"), false, "strict", true, "BBBBBBBBB"),
    (Some("groq"), false, "strict", false, "BIBBBBBBB"),
    (Some("groq"), true, "fallback", true, "BBBBBBBBB"),
    (Some("groq"), true, "fallback", false, "BIBBBBBBB"),
    (Some("groq"), true, "strict", true, "BBBBBBBBB"),
    (Some("groq"), true, "strict", false, "BIBBBBBBB"),
    (Some("ollama"), false, "fallback", true, "FFFFBBBBB"),
    (Some("ollama"), false, "fallback", false, "FIFFBBBBB"),
    (Some("ollama"), false, "strict", true, "XXXXBBBBB"),
    (Some("ollama"), false, "strict", false, "XIXXBBBBB"),
    (Some("ollama"), true, "fallback", true, "BBBBBBBBB"),
    (Some("ollama"), true, "fallback", false, "BIBBBBBBB"),
    (Some("ollama"), true, "strict", true, "BBBBBBBBB"),
    (Some("ollama"), true, "strict", false, "BIBBBBBBB"),
    (Some("bedrock"), false, "fallback", true, "BBBBBBBBB"),
    (Some("bedrock"), false, "fallback", false, "BIBBBBBBB"),
    (Some("bedrock"), false, "strict", true, "BBBBBBBBB"),
    (Some("bedrock"), false, "strict", false, "BIBBBBBBB"),
    (Some("bedrock"), true, "fallback", true, "BBBBBBBBB"),
    (Some("bedrock"), true, "fallback", false, "BIBBBBBBB"),
    (Some("bedrock"), true, "strict", true, "BBBBBBBBB"),
    (Some("bedrock"), true, "strict", false, "BIBBBBBBB"),
    (Some("gateway"), false, "fallback", true, "FFFFBBBBB"),
    (Some("gateway"), false, "fallback", false, "FIFFBBBBB"),
    (Some("gateway"), false, "strict", true, "XXXXBBBBB"),
    (Some("gateway"), false, "strict", false, "XIXXBBBBB"),
    (Some("gateway"), true, "fallback", true, "BBBBBBBBB"),
    (Some("gateway"), true, "fallback", false, "BIBBBBBBB"),
    (Some("gateway"), true, "strict", true, "BBBBBBBBB"),
    (Some("gateway"), true, "strict", false, "BIBBBBBBB"),
    (Some("custom"), false, "fallback", true, "FFFFBBBBB"),
    (Some("custom"), false, "fallback", false, "FIFFBBBBB"),
    (Some("custom"), false, "strict", true, "XXXXBBBBB"),
    (Some("custom"), false, "strict", false, "XIXXBBBBB"),
    (Some("custom"), true, "fallback", true, "BBBBBBBBB"),
    (Some("custom"), true, "fallback", false, "BIBBBBBBB"),
    (Some("custom"), true, "strict", true, "BBBBBBBBB"),
    (Some("custom"), true, "strict", false, "BIBBBBBBB"),
];

fn letter(route: &Route<'_>) -> char {
    match route {
        Route::Byo(_, ReasonCode::ActiveProvider) => 'B',
        Route::Platform(ReasonCode::NoProvider) => 'D',
        Route::Platform(ReasonCode::ToolsFallback) => 'F',
        Route::Unavailable(ReasonCode::StrictUnavailable) => 'X',
        Route::Unavailable(ReasonCode::InsightsOff) => 'I',
        other => panic!("no letter for {other:?} without routes"),
    }
}

#[test]
fn every_combination_routes_as_the_table_says() {
    // Every kind appears with both settings of the switch, both policies, Insights on and
    // off: 10 × 2 × 2 × 2 rows, plus the platform default's 4.
    assert_eq!(TABLE.len(), 84);
    for kind in ProviderKind::ALL {
        let rows = TABLE.iter().filter(|r| r.0 == Some(kind.as_str())).count();
        assert_eq!(rows, 8, "{kind:?} rows");
    }
    for &(kind, supports_tools, policy, insights, expected) in TABLE {
        let active = kind.map(|k| Active {
            id: "aip_x",
            name: "Ours",
            kind: k.parse().unwrap(),
            model: "m-1",
            supports_tools,
        });
        let settings = Settings {
            policy: policy.parse().unwrap(),
            insights_enabled: insights,
            active,
            rules: Rules::INHERIT,
        };
        let got: String = matrix(&settings).iter().map(|(_, r)| letter(r)).collect();
        assert_eq!(
            got, expected,
            "kind {kind:?}, supports_tools {supports_tools}, policy {policy}, insights {insights}"
        );
        for (i, feature) in Feature::ALL.into_iter().enumerate() {
            let r = route(&settings, feature);
            assert_eq!(letter(&r), expected.as_bytes()[i] as char, "{feature}");
            // The org's provider serves with its own model, never another's.
            if let Route::Byo(a, _) = r {
                assert_eq!((a.id, a.model), ("aip_x", "m-1"));
            }
        }
    }
}

#[test]
fn ids_and_policies_parse_strictly() {
    let ids: Vec<&str> = Feature::ALL.iter().map(|f| f.id()).collect();
    assert_eq!(
        ids,
        [
            "assistant",
            "insights",
            "cicd_generation",
            "incident_analysis",
            "summaries",
            "stack_descriptions",
            "triage",
            "severity_grading",
            "fix_proposals"
        ]
    );
    assert!("Assistant".parse::<Feature>().is_err());
    assert!("".parse::<Feature>().is_err());
    assert_eq!("strict".parse::<Policy>(), Ok(Policy::Strict));
    assert!(" strict".parse::<Policy>().is_err());
}

/// Per-feature routes (issue 20): a route overrides the active provider and the policy for
/// its feature only; Insights off wins over any route; tool use still needs tools; a
/// platform route under strict is unavailable (refused when written; strict wins).
#[test]
fn routes_decide_their_own_feature_and_nothing_else() {
    use switchboard::routing::Rule;
    let ours = Active {
        id: "aip_ours",
        name: "Ours",
        kind: ProviderKind::Anthropic,
        model: "claude",
        supports_tools: false,
    };
    let cheap = Active {
        id: "aip_cheap",
        name: "Cheap",
        kind: ProviderKind::Custom,
        model: "small-model",
        supports_tools: false,
    };
    let rules = Rules::INHERIT
        .with(Feature::Summaries, Rule::Provider(cheap))
        .with(Feature::Triage, Rule::Platform)
        .with(Feature::Insights, Rule::Provider(ours))
        .with(Feature::FixProposals, Rule::Off)
        .with(Feature::Assistant, Rule::Provider(cheap));
    let mut settings = Settings {
        policy: Policy::Fallback,
        insights_enabled: true,
        active: Some(ours),
        rules,
    };
    let code = |s: &Settings<'_>, f| route(s, f).code();
    assert_eq!(
        route(&settings, Feature::Summaries),
        Route::Byo(cheap, ReasonCode::FeatureRoute)
    );
    assert_eq!(
        route(&settings, Feature::Triage),
        Route::Platform(ReasonCode::FeatureRoute)
    );
    assert_eq!(
        route(&settings, Feature::FixProposals),
        Route::Unavailable(ReasonCode::FeatureOff)
    );
    assert_eq!(code(&settings, Feature::Insights), ReasonCode::FeatureRoute);
    assert_eq!(
        route(&settings, Feature::StackDescriptions),
        Route::Byo(ours, ReasonCode::ActiveProvider)
    );
    // A routed provider without tools: the policy decides, as for the active one.
    assert_eq!(
        code(&settings, Feature::Assistant),
        ReasonCode::ToolsFallback
    );
    settings.policy = Policy::Strict;
    assert_eq!(
        route(&settings, Feature::Assistant),
        Route::Unavailable(ReasonCode::StrictUnavailable)
    );
    assert_eq!(
        route(&settings, Feature::Triage),
        Route::Unavailable(ReasonCode::StrictUnavailable)
    );
    // Insights off wins over its route.
    settings.insights_enabled = false;
    assert_eq!(
        route(&settings, Feature::Insights),
        Route::Unavailable(ReasonCode::InsightsOff)
    );
    // Routes apply without an active provider too.
    settings.active = None;
    assert_eq!(
        code(&settings, Feature::Summaries),
        ReasonCode::FeatureRoute
    );
    assert_eq!(
        code(&settings, Feature::StackDescriptions),
        ReasonCode::NoProvider
    );
    // Only a changed answer asks again; every unavailable code gives up.
    for c in ReasonCode::ALL {
        assert_eq!(c.ask_again(), c == ReasonCode::SettingsChanged, "{c}");
    }
}
