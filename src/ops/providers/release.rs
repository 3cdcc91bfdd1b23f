//! Route resolution (issue 11 item 4): which provider serves a feature of the platform
//! now, with the decrypted key when the org's own provider serves it, for the platform's AI
//! services calling with an `ai:resolve` token.
//!
//! - The decision is [`routing::route`]'s, the function behind the console's matrix, so the
//!   two can never disagree. `unavailable` fails closed (409); the platform route never
//!   carries a key (the platform's key is not Switchboard's to hand out).
//! - Cheap enough to ask per request: one statement reads the settings, the active provider
//!   and its sealed key; the key is opened in memory; a second statement appends
//!   `credential.released` **only while the read still holds** (the settings and the
//!   provider still at the versions read; `models::release::insert_if_unchanged`). With the
//!   token's own SELECT that is 3 statements and no `BEGIN`/`COMMIT`: a single-statement
//!   insert is its own transaction, and its condition gives what wrapping the read and the
//!   insert in one transaction would (at READ COMMITTED it would not even stop a concurrent
//!   deactivation between the two). The key leaves only after that event is committed.
//! - Keys go only to API tokens: a console session (whose admin holds every scope) is
//!   refused, so a person never reads a stored key back.

use secrecy::SecretString;

use super::view::{config_text, effective_base_url};
use crate::{
    crypto::secret as sealing,
    models::{provider::Provider, release},
    ops::{Action, Actor, Caller, Change, OpError, OpResult, Scope, Target, audit},
    providers::catalog::ProviderKind,
    routing::{self, Active, Feature, Policy, ReasonCode, Route, Rule, Rules, Settings},
    state::AppState,
};

/// How often a release is re-decided when an admin changes the settings between the read
/// and the audit insert, before the caller is told to ask again.
const ATTEMPTS: usize = 2;

/// The org's provider that serves a feature, as the platform's services need it.
#[derive(Debug, Clone)]
pub struct ServingProvider {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    /// Where requests go (the kind's default when none was entered).
    pub base_url: Option<String>,
    /// The model to use: the feature route's own, else the provider's default.
    pub model: String,
    /// Kind-specific settings (deployment, api_version, region, supports_tools); no secret.
    pub config: serde_json::Value,
}

/// Who serves the feature.
#[derive(Debug, Clone)]
pub enum Served {
    /// The org's own provider, with its key (`None` for a kind whose key is optional and
    /// none was stored: nothing was released then).
    Byo {
        provider: ServingProvider,
        key: Option<SecretString>,
    },
    /// The platform's provider; never with a key.
    Platform,
}

/// The routing decision for one feature.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub feature: Feature,
    pub served: Served,
    /// Why, as a code (the enum route answers, relay refusals and What-runs-where share).
    pub code: ReasonCode,
    /// One sentence on why (the console's words for the same decision).
    pub reason: &'static str,
}

/// Parses a feature id; an unknown one is a 400 that lists the valid ids.
pub fn parse_feature(id: Option<&str>) -> OpResult<Feature> {
    let id = id.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        OpError::invalid(
            "feature",
            format!("Name the feature: ?feature= one of {}.", feature_ids()),
        )
    })?;
    id.parse().map_err(|_| {
        OpError::invalid(
            "feature",
            format!(
                "There is no feature “{}”: use one of {}.",
                id.chars().take(64).collect::<String>(),
                feature_ids()
            ),
        )
    })
}

fn feature_ids() -> String {
    Feature::ALL.map(Feature::id).join(", ")
}

/// Who serves `feature` for the caller's org now (scope `ai:resolve`, API tokens only).
/// A BYO route opens the provider's key and records `credential.released` (feature, token;
/// never the key) before handing it out; `unavailable` is a 409 with the reason.
pub async fn resolve_route(
    state: &AppState,
    caller: &Caller,
    feature: Option<&str>,
) -> OpResult<Resolution> {
    let org = caller.require(Scope::AiResolve)?;
    let Actor::Token {
        id: token_id,
        label: token_label,
        ..
    } = &caller.actor
    else {
        return Err(OpError::Forbidden(
            "Route resolution hands out keys, so it answers API tokens with ai:resolve only, never a console session.".to_owned(),
        ));
    };
    let feature = parse_feature(feature)?;
    let mut conn = state.pool.get().await?;
    for _ in 0..ATTEMPTS {
        let (settings, route_row, provider, secret) =
            release::routing_inputs(&mut conn, org.id, feature.id())
                .await?
                .ok_or(OpError::NotFound)?;
        // The provider read is the route's when it names one, else the active one.
        let rule = match route_row.as_ref().map(|r| r.mode.as_str()) {
            None => Rule::Inherit,
            Some("platform") => Rule::Platform,
            Some("provider") => match provider.as_ref() {
                Some(p) => Rule::Provider(Active {
                    model: route_row
                        .as_ref()
                        .and_then(|r| r.model.as_deref())
                        .unwrap_or(&p.default_model),
                    ..active(p)
                }),
                None => Rule::Off,
            },
            // A CHECK admits only the three modes; were it another, fail closed.
            Some(_) => Rule::Off,
        };
        let inputs = Settings {
            // A CHECK admits only the two policies; were it ever another, fail closed.
            policy: settings.routing_policy.parse().unwrap_or(Policy::Strict),
            insights_enabled: settings.insights_enabled,
            active: match rule {
                Rule::Inherit => provider.as_ref().map(active),
                _ => None,
            },
            rules: Rules::INHERIT.with(feature, rule),
        };
        let route = routing::route(&inputs, feature);
        let reason = route.reason();
        let code = route.code();
        let (provider, model) = match route {
            Route::Unavailable(code) => {
                return Err(OpError::RouteRefused {
                    code,
                    message: format!(
                        "{} is unavailable for this org ({code}): {}",
                        feature.id(),
                        reason
                    ),
                });
            }
            Route::Platform(_) => {
                return Ok(Resolution {
                    feature,
                    served: Served::Platform,
                    code,
                    reason,
                });
            }
            Route::Byo(serving, _) => {
                let model = serving.model.to_owned();
                let provider = provider.ok_or_else(|| {
                    OpError::Internal(anyhow::anyhow!("a BYO route without its provider"))
                })?;
                (provider, model)
            }
        };
        let serving = ServingProvider {
            model,
            ..serving(&provider)
        };
        let Some(secret_id) = provider.secret_id.as_deref() else {
            return Ok(Resolution {
                feature,
                served: Served::Byo {
                    provider: serving,
                    key: None,
                },
                code,
                reason,
            });
        };
        let secret = secret.filter(|s| s.id == secret_id).ok_or_else(|| {
            OpError::Internal(anyhow::anyhow!(
                "provider {} links a missing secret",
                provider.id
            ))
        })?;
        // Fail closed: a key that can't be opened is never replaced by anything else.
        let key = sealing::open(
            &state.keyring,
            secret.org_id,
            &secret.id,
            &secret.key_id,
            secret.version,
            &secret.envelope,
        )
        .map_err(|e| {
            OpError::Conflict(format!(
                "{} is unavailable for this org: the stored key of {} can't be opened ({e}); an admin must enter it again.",
                feature.id(),
                provider.name
            ))
        })?;
        let event = audit::event(
            caller,
            Action::CredentialReleased,
            Target::Provider(provider.id.clone()),
            None,
            Some(
                Change::new()
                    .text("name", &provider.name)
                    .text("feature", feature.id())
                    .text("tokenId", token_id.to_string())
                    .text("token", token_label),
            ),
        );
        let read = release::ReadAt {
            org_id: org.id,
            settings_version: settings.lock_version,
            feature: feature.id(),
            route_version: route_row.as_ref().map(|r| r.lock_version),
            provider_id: &provider.id,
            provider_version: provider.lock_version,
        };
        if release::insert_if_unchanged(&mut conn, &event, read).await? {
            return Ok(Resolution {
                feature,
                served: Served::Byo {
                    provider: serving,
                    key: Some(key),
                },
                code,
                reason,
            });
        }
        // An admin changed the settings or the provider since the read: decide again.
    }
    Err(OpError::RouteRefused {
        code: ReasonCode::SettingsChanged,
        message: format!(
            "The org's AI settings changed while the route was resolved ({}); ask again.",
            ReasonCode::SettingsChanged
        ),
    })
}

/// The provider as routing sees it (as the Provider tab's view does).
fn active(p: &Provider) -> Active<'_> {
    Active {
        id: &p.id,
        name: &p.name,
        kind: kind(p),
        model: &p.default_model,
        supports_tools: p
            .config
            .get("supports_tools")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    }
}

fn kind(p: &Provider) -> ProviderKind {
    // The kind column's CHECK admits only catalog slugs.
    p.kind.parse().unwrap_or(ProviderKind::Custom)
}

fn serving(p: &Provider) -> ServingProvider {
    let kind = kind(p);
    let region = config_text(&p.config, "region");
    ServingProvider {
        id: p.id.clone(),
        name: p.name.clone(),
        kind,
        base_url: effective_base_url(kind, p.base_url.as_deref(), region.as_deref()),
        model: p.default_model.clone(),
        config: p.config.clone(),
    }
}
