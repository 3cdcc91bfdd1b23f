//! What a caller sees of a provider: never the key; a masked preview only for callers
//! who may see it (admins), "key set" for everyone else.

use chrono::{DateTime, Utc};

use diesel_async::AsyncPgConnection;

use crate::{
    models::feature_route::FeatureRoute,
    models::{
        org::Org,
        provider::{self, CheckStatus, Provider},
        secret,
    },
    ops::{Caller, OpError, OpResult},
    providers::catalog::{BaseUrlSpec, ProviderKind},
    routing::{Active, Feature, Policy, Rule, Rules, Settings},
};

use super::route_choice::{FeatureRouteView, RouteChoice};

/// How a provider's key is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDisplay {
    None,
    /// A key is stored; this caller doesn't see its preview.
    Set,
    /// The masked preview (`sk-ant-...WXYZ`), for admins.
    Preview(String),
}

/// The last live check.
#[derive(Debug, Clone)]
pub struct LastCheck {
    pub status: CheckStatus,
    pub code: Option<String>,
    pub message: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// What the health loop knows of a provider: whether it needs attention, and its calls of
/// the last 24 hours (only in lists; a single provider's view leaves them empty).
#[derive(Debug, Clone, Default)]
pub struct ProviderHealth {
    /// Since when its calls failed and a re-check confirmed it; `None`: no known trouble.
    pub attention_since: Option<DateTime<Utc>>,
    pub usage: crate::models::provider_health::Usage24h,
}

/// A provider as callers see it.
#[derive(Debug, Clone)]
pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub default_model: String,
    /// As entered; `None` = the kind's default.
    pub base_url: Option<String>,
    /// Where requests go (`None` only when the kind needs a base URL and has none).
    pub effective_base_url: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub region: Option<String>,
    pub supports_tools: bool,
    /// The names of the extra headers (gateway); their values are never shown.
    pub extra_header_names: Vec<String>,
    pub secret_id: Option<String>,
    pub key: KeyDisplay,
    /// Names of the org's other providers that use the same key.
    pub shared_with: Vec<String>,
    pub last_check: LastCheck,
    pub health: ProviderHealth,
    pub active: bool,
    pub lock_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The org's providers and which one is active.
#[derive(Debug, Clone)]
pub struct ProviderList {
    /// The active provider's id; `None` = the platform default.
    pub active: Option<String>,
    pub providers: Vec<ProviderView>,
    /// The org's routing policy and Insights switch (they decide what runs where).
    pub policy: Policy,
    pub insights_enabled: bool,
    /// The settings row's version, for the policy switch's form.
    pub settings_lock_version: i32,
    /// The features that are not `inherit`, in [`crate::routing::Feature::ALL`] order.
    pub routes: Vec<FeatureRouteView>,
}

impl ProviderList {
    /// The active provider's view, if one is active.
    pub fn active_provider(&self) -> Option<&ProviderView> {
        let id = self.active.as_deref()?;
        self.providers.iter().find(|p| p.id == id)
    }

    /// What routing would see with `id` active instead (for the activation preview).
    pub fn routing_with_active(&self, id: &str) -> Settings<'_> {
        Settings {
            active: self
                .providers
                .iter()
                .find(|p| p.id == id)
                .map(ProviderView::routing),
            ..self.routing()
        }
    }

    /// What routing needs to know, borrowed from this list.
    pub fn routing(&self) -> Settings<'_> {
        Settings {
            policy: self.policy,
            insights_enabled: self.insights_enabled,
            active: self.active_provider().map(ProviderView::routing),
            rules: self.rules(),
        }
    }
}

impl ProviderView {
    /// This provider as routing sees it.
    pub fn routing(&self) -> Active<'_> {
        Active {
            id: &self.id,
            name: &self.name,
            kind: self.kind,
            model: &self.default_model,
            supports_tools: self.supports_tools,
        }
    }
}

/// A text field of a provider's `config`.
pub(crate) fn config_text(config: &serde_json::Value, name: &str) -> Option<String> {
    config
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Where requests go: the entered base URL or the kind's default.
pub(crate) fn effective_base_url(
    kind: ProviderKind,
    base_url: Option<&str>,
    region: Option<&str>,
) -> Option<String> {
    if let Some(url) = base_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    match kind.entry().base_url {
        BaseUrlSpec::Default { url } => Some(url.to_owned()),
        BaseUrlSpec::FromRegion { template } => region.map(|r| template.replace("{region}", r)),
        BaseUrlSpec::Required => None,
    }
}

/// Builds the view of `p` for `caller`. `others` are the org's providers (for "shared with").
pub(crate) fn view(
    caller: &Caller,
    p: &Provider,
    preview: Option<&str>,
    active: Option<&str>,
    others: &[(String, String, Option<String>)],
) -> ProviderView {
    // The kind column's CHECK admits only catalog slugs.
    let kind: ProviderKind = p.kind.parse().unwrap_or(ProviderKind::Custom);
    let region = config_text(&p.config, "region");
    let key = match (&p.secret_id, preview) {
        (None, _) => KeyDisplay::None,
        (Some(_), Some(preview)) if caller.sees_key_preview() => {
            KeyDisplay::Preview(preview.to_owned())
        }
        (Some(_), _) => KeyDisplay::Set,
    };
    let shared_with = match &p.secret_id {
        Some(secret) => others
            .iter()
            .filter(|(id, _, s)| id != &p.id && s.as_deref() == Some(secret))
            .map(|(_, name, _)| name.clone())
            .collect(),
        None => Vec::new(),
    };
    ProviderView {
        id: p.id.clone(),
        name: p.name.clone(),
        kind,
        default_model: p.default_model.clone(),
        effective_base_url: effective_base_url(kind, p.base_url.as_deref(), region.as_deref()),
        base_url: p.base_url.clone(),
        deployment: config_text(&p.config, "deployment"),
        api_version: config_text(&p.config, "api_version"),
        region,
        supports_tools: p
            .config
            .get("supports_tools")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        extra_header_names: match p.headers_secret_id {
            Some(_) => names_of(&p.config),
            None => Vec::new(),
        },
        secret_id: p.secret_id.clone(),
        key,
        shared_with,
        last_check: LastCheck {
            status: p.check_status,
            code: p.check_code.clone(),
            message: p.check_message.clone(),
            checked_at: p.checked_at,
        },
        health: ProviderHealth {
            attention_since: p.attention_since,
            usage: Default::default(),
        },
        active: active == Some(p.id.as_str()),
        lock_version: p.lock_version,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// One provider as `caller` sees it.
pub(super) async fn view_of(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: &Org,
    id: &str,
) -> OpResult<ProviderView> {
    let (p, preview) = provider::find(conn, org.id, id)
        .await?
        .ok_or(OpError::NotFound)?;
    let active = provider::active_provider_id(conn, org.id).await?;
    let others: Vec<_> = match &p.secret_id {
        Some(secret_id) => secret::users(conn, org.id, secret_id)
            .await?
            .into_iter()
            .map(|(id, name)| (id, name, Some(secret_id.clone())))
            .collect(),
        None => Vec::new(),
    };
    Ok(view(
        caller,
        &p,
        preview.as_deref(),
        active.as_deref(),
        &others,
    ))
}

impl ProviderList {
    /// The route of `feature`, if it is not `inherit`.
    pub fn route_of(&self, feature: Feature) -> Option<&FeatureRouteView> {
        self.routes.iter().find(|r| r.feature == feature)
    }

    /// The version of `feature`'s route; 0 = no route (`inherit`).
    pub fn route_version(&self, feature: Feature) -> i32 {
        self.route_of(feature).map_or(0, |r| r.lock_version)
    }

    /// The routes as routing sees them.
    pub fn rules(&self) -> Rules<'_> {
        let mut rules = Rules::INHERIT;
        for r in &self.routes {
            rules = rules.with(r.feature, self.rule(&r.choice));
        }
        rules
    }

    /// `choice` as routing sees it (a provider this list doesn't hold: `inherit`).
    pub fn rule<'a>(&'a self, choice: &'a RouteChoice) -> Rule<'a> {
        match choice {
            RouteChoice::Inherit => Rule::Inherit,
            RouteChoice::Platform => Rule::Platform,
            RouteChoice::Off => Rule::Off,
            RouteChoice::Provider { id, model } => {
                match self.providers.iter().find(|p| &p.id == id) {
                    Some(p) => {
                        let mut active = p.routing();
                        if let Some(m) = model {
                            active.model = m;
                        }
                        Rule::Provider(active)
                    }
                    None => Rule::Inherit,
                }
            }
        }
    }

    /// What routing would see with `feature` routed to `choice` (the route preview).
    pub fn routing_with_route<'a>(
        &'a self,
        feature: Feature,
        choice: &'a RouteChoice,
    ) -> Settings<'a> {
        let now = self.routing();
        Settings {
            rules: now.rules.with(feature, self.rule(choice)),
            ..now
        }
    }
}

/// The views of `rows`, naming their providers from `providers`.
pub(crate) fn route_views(
    rows: &[FeatureRoute],
    providers: &[ProviderView],
) -> Vec<FeatureRouteView> {
    let mut views: Vec<_> = rows
        .iter()
        .filter_map(|row| {
            let feature = row.feature.parse::<Feature>().ok()?;
            let choice = RouteChoice::of(row);
            let provider_name = match &choice {
                RouteChoice::Provider { id, .. } => providers
                    .iter()
                    .find(|p| &p.id == id)
                    .map(|p| p.name.clone()),
                _ => None,
            };
            Some(FeatureRouteView {
                feature,
                choice,
                provider_name,
                lock_version: row.lock_version,
                updated_at: row.updated_at,
            })
        })
        .collect();
    views.sort_by_key(|v| v.feature.index());
    views
}

/// The header names a provider's `config` records, in order.
pub(crate) fn names_of(config: &serde_json::Value) -> Vec<String> {
    config
        .get("extra_headers") // extra_headers::FIELD (that module reads this one)
        .and_then(serde_json::Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
