//! What a feature is routed to, as operations and transports see it: the choice
//! (`inherit`, a provider with an optional model, `platform`, `off`) and a route's view.

use chrono::{DateTime, Utc};

use crate::{
    models::feature_route::FeatureRoute,
    ops::{OpError, OpResult},
    routing::Feature,
};

/// The longest model name a route may carry (as a provider's default model).
pub const MAX_MODEL_CHARS: usize = 256;

/// What a feature is routed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChoice {
    /// No route: the active provider and the policy decide.
    Inherit,
    /// One of the org's providers; `model: None` = its default model.
    Provider { id: String, model: Option<String> },
    /// The platform default.
    Platform,
    /// Turned off.
    Off,
}

impl RouteChoice {
    /// `inherit`, `provider`, `platform` or `off`.
    pub fn mode(&self) -> &'static str {
        match self {
            RouteChoice::Inherit => "inherit",
            RouteChoice::Provider { .. } => "provider",
            RouteChoice::Platform => "platform",
            RouteChoice::Off => "off",
        }
    }

    /// Parses a submitted mode with its provider and model. A provider id or model with
    /// another mode is bad input; a blank model is the provider's default.
    pub fn parse(mode: &str, provider_id: Option<&str>, model: Option<&str>) -> OpResult<Self> {
        let provider_id = provider_id.map(str::trim).filter(|s| !s.is_empty());
        let model = model.map(str::trim).filter(|s| !s.is_empty());
        let choice = match mode.trim() {
            "inherit" => RouteChoice::Inherit,
            "platform" => RouteChoice::Platform,
            "off" => RouteChoice::Off,
            "provider" => {
                let id = provider_id.ok_or_else(|| {
                    OpError::invalid(
                        "provider_id",
                        "Choose the provider that serves this feature.",
                    )
                })?;
                if let Some(m) = model {
                    check_model(m)?;
                }
                return Ok(RouteChoice::Provider {
                    id: id.to_owned(),
                    model: model.map(str::to_owned),
                });
            }
            _ => {
                return Err(OpError::invalid(
                    "mode",
                    "The route's mode must be inherit, provider, platform or off.",
                ));
            }
        };
        if provider_id.is_some() || model.is_some() {
            return Err(OpError::invalid(
                "provider_id",
                format!(
                    "A provider and model go only with mode provider, not {}.",
                    choice.mode()
                ),
            ));
        }
        Ok(choice)
    }

    pub(crate) fn of(row: &FeatureRoute) -> Self {
        match (row.mode.as_str(), &row.provider_id) {
            ("provider", Some(id)) => RouteChoice::Provider {
                id: id.clone(),
                model: row.model.clone(),
            },
            ("platform", _) => RouteChoice::Platform,
            // A CHECK admits only the three modes with their provider; were it another,
            // fail closed.
            _ => RouteChoice::Off,
        }
    }
}

fn check_model(model: &str) -> OpResult<()> {
    if model.chars().count() > MAX_MODEL_CHARS || model.chars().any(char::is_control) {
        return Err(OpError::invalid(
            "model",
            format!(
                "A model name is at most {MAX_MODEL_CHARS} characters, without control characters."
            ),
        ));
    }
    Ok(())
}

/// One feature's route as callers see it (only features that are not `inherit`).
#[derive(Debug, Clone)]
pub struct FeatureRouteView {
    pub feature: Feature,
    pub choice: RouteChoice,
    /// The routed provider's name (`provider` only).
    pub provider_name: Option<String>,
    /// The route's version (its `ETag`): never 0, which means "no route".
    pub lock_version: i32,
    pub updated_at: DateTime<Utc>,
}
