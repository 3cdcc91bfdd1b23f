//! The routing decision's cost (issue 9: under 1 µs per decision). Not a test: run with
//! `cargo bench --bench routing`. Times every (kind × supports_tools × policy × insights ×
//! routes × feature) decision many times over and prints ns per decision, best of five rounds.

use std::hint::black_box;
use std::time::Instant;

use switchboard::providers::ProviderKind;
use switchboard::routing::{Active, Feature, Policy, Rule, Rules, Settings, route};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut cases = Vec::new();
    for kind in ProviderKind::ALL {
        for supports_tools in [false, true] {
            for policy in Policy::ALL {
                for insights_enabled in [false, true] {
                    cases.push(Settings {
                        policy,
                        insights_enabled,
                        active: Some(Active {
                            id: "aip_01JBENCHBENCHBENCHBENCHBENC",
                            name: "Bench",
                            kind,
                            model: "m",
                            supports_tools,
                        }),
                        rules: Rules::INHERIT,
                    });
                    // The same with routes: summaries to another provider, triage to the
                    // platform, fix proposals off.
                    cases.push(Settings {
                        policy,
                        insights_enabled,
                        active: None,
                        rules: Rules::INHERIT
                            .with(
                                Feature::Summaries,
                                Rule::Provider(Active {
                                    id: "aip_01JBENCHROUTEROUTEROUTEROUT",
                                    name: "Routed",
                                    kind,
                                    model: "small",
                                    supports_tools,
                                }),
                            )
                            .with(Feature::Triage, Rule::Platform)
                            .with(Feature::FixProposals, Rule::Off),
                    });
                }
            }
        }
    }
    let rounds = 2_000;
    let decisions = rounds * cases.len() * Feature::ALL.len();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut byo = 0usize;
        for _ in 0..rounds {
            for settings in &cases {
                for feature in Feature::ALL {
                    if matches!(
                        route(black_box(settings), black_box(feature)),
                        switchboard::routing::Route::Byo(..)
                    ) {
                        byo += 1;
                    }
                }
            }
        }
        black_box(byo);
        best = best.min(start.elapsed().as_nanos() as f64 / decisions as f64);
    }
    println!(
        "routing: {decisions} decisions per round, best of 5: {best:.1} ns per decision (aim < 1000 ns)"
    );
}
