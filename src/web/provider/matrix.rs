//! The "What runs where" matrix of the Provider tab and the activation preview: one row per
//! AI feature with who serves it, the model and why, straight from [`routing::route`].

use crate::{
    ops::providers::{ProviderList, RouteChoice},
    routing::{self, Feature, Policy, Route, Settings},
};

/// Who serves the platform default (`SWITCHBOARD_PLATFORM_PROVIDER`), as shown.
pub struct Platform {
    pub kind_label: String,
    pub model: String,
}

/// One feature's row.
#[derive(Clone)]
pub struct MatrixRow {
    pub id: &'static str,
    pub label: &'static str,
    pub tools: bool,
    /// `byo`, `platform` or `unavailable` (a CSS class and a test hook).
    pub server: &'static str,
    pub served_by: String,
    pub model: String,
    pub reason: &'static str,
    /// The feature's route as it reads ("Inherit …", "Cheap (gpt-4o-mini)", "Off").
    pub route: String,
    /// The editor's choices (admins only; empty for everyone else).
    pub options: Vec<RouteOption>,
    /// The route's own model, for the editor's model field.
    pub route_model: String,
    /// Where the editor's preview is (`GET`).
    pub route_action: String,
}

/// One choice of a row's route control.
#[derive(Clone)]
pub struct RouteOption {
    /// `inherit`, `platform`, `off` or `provider:{id}`.
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The matrix for `settings`.
pub fn rows(settings: &Settings<'_>, platform: &Platform) -> Vec<MatrixRow> {
    routing::matrix(settings)
        .iter()
        .map(|(feature, route)| row(*feature, route, platform))
        .collect()
}

fn row(feature: Feature, route: &Route<'_>, platform: &Platform) -> MatrixRow {
    let (served_by, model) = match route {
        Route::Byo(active, _) => (
            format!("Your provider: {}", active.name),
            active.model.to_owned(),
        ),
        Route::Platform(_) => (
            format!("Platform ({})", platform.kind_label),
            platform.model.clone(),
        ),
        Route::Unavailable(_) => ("Unavailable".to_owned(), "—".to_owned()),
    };
    MatrixRow {
        id: feature.id(),
        label: feature.label(),
        tools: feature.needs_tools(),
        server: route.server(),
        served_by,
        model,
        reason: route.reason(),
        route: String::new(),
        options: Vec::new(),
        route_model: String::new(),
        route_action: String::new(),
    }
}

/// The rows whose server or model would change going from `now` to `next`, as
/// (row now, row then).
pub fn changes(
    now: &Settings<'_>,
    next: &Settings<'_>,
    platform: &Platform,
) -> Vec<(MatrixRow, MatrixRow)> {
    rows(now, platform)
        .into_iter()
        .zip(rows(next, platform))
        .filter(|(a, b)| a.served_by != b.served_by || a.model != b.model)
        .collect()
}

/// A choice of the policy switch.
pub struct PolicyChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
    pub checked: bool,
}

/// Both policies, `current` checked.
pub fn policy_choices(current: Policy) -> Vec<PolicyChoice> {
    Policy::ALL
        .into_iter()
        .map(|p| PolicyChoice {
            value: p.as_str(),
            label: p.label(),
            explanation: p.explanation(),
            checked: p == current,
        })
        .collect()
}

/// How `choice` reads: "Inherit", "Cheap (gpt-4o-mini)", "Platform", "Off".
pub fn describe(list: &ProviderList, choice: &RouteChoice) -> String {
    match choice {
        RouteChoice::Inherit => "Inherit (the active provider and the policy decide)".to_owned(),
        RouteChoice::Platform => "Platform default".to_owned(),
        RouteChoice::Off => "Off".to_owned(),
        RouteChoice::Provider { id, model } => {
            let p = list.providers.iter().find(|p| &p.id == id);
            let name = p.map_or(id.as_str(), |p| p.name.as_str());
            let model = model
                .as_deref()
                .or(p.map(|p| p.default_model.as_str()))
                .unwrap_or_default();
            format!("{name} ({model})")
        }
    }
}
