//! What the relay (`src/relay`, issue 21 item 1) needs from the operations: for the caller's
//! org and one feature, who serves it now and, when the org's own provider does, that
//! provider and its opened key — so the key is used by Switchboard and never leaves it.
//!
//! - The decision is [`routing::route`]'s, as for route answers
//!   (`ops::providers::release`) and the console's matrix, so the three never disagree.
//! - Cheap enough for every relayed call: one statement reads the settings, the feature's
//!   route, the serving provider and its sealed key (`models::release::routing_inputs`); the
//!   key is opened in memory. No audit event: the key is not released to anyone (the health
//!   loop counts the calls, `ops::health`), so no `ai:release` is needed either.
//! - API tokens only, with `ai:relay`: a console session is refused (the relay's transport
//!   answers a session 401 before it gets here).

use secrecy::SecretString;

use super::release::ServingProvider;
use super::view::{config_text, effective_base_url};
use crate::{
    crypto::secret as sealing,
    models::{provider::Provider, release},
    ops::{Actor, Caller, OpError, OpResult, Scope},
    providers::catalog::ProviderKind,
    routing::{self, Active, Feature, Policy, ReasonCode, Route, Rule, Rules, Settings},
    state::AppState,
};

/// The org's provider that serves the feature, with what the relay sends it.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    pub feature: Feature,
    pub provider: ServingProvider,
    /// The provider's key (`None` for a kind whose key is optional and none was stored).
    /// Never leaves Switchboard: the relay puts it in the provider's own header.
    pub key: Option<SecretString>,
    /// Why this provider (`active_provider` or `feature_route`).
    pub code: ReasonCode,
}

/// Who serves `feature` for the caller's org now, for the relay (scope `ai:relay`, API
/// tokens only). The platform's route is refused (`served_by_platform`: the relay carries
/// only the org's own provider's calls), as is an unavailable one (its reason code); both
/// are [`OpError::RouteRefused`] so the transport can say whether to ask again.
pub async fn relay_target(
    state: &AppState,
    caller: &Caller,
    feature: Feature,
) -> OpResult<RelayTarget> {
    let org = caller.require(Scope::AiRelay)?;
    if !matches!(caller.actor, Actor::Token { .. }) {
        return Err(OpError::Forbidden(
            "The relay answers API tokens with ai:relay only, never a console session.".to_owned(),
        ));
    }
    let mut conn = state.pool.get().await?;
    let (settings, route_row, provider, secret) =
        release::routing_inputs(&mut conn, org.id, feature.id())
            .await?
            .ok_or(OpError::NotFound)?;
    drop(conn);
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
    let code = route.code();
    let model = match route {
        Route::Unavailable(code) => {
            return Err(OpError::RouteRefused {
                code,
                message: format!(
                    "{} is unavailable for this org ({code}): {}",
                    feature.id(),
                    route.reason()
                ),
            });
        }
        Route::Platform(_) => {
            let code = ReasonCode::ServedByPlatform;
            return Err(OpError::RouteRefused {
                code,
                message: format!(
                    "The platform serves {} for this org ({code}: {}), not the org's own provider; the relay carries only calls to the org's provider.",
                    feature.id(),
                    route.reason()
                ),
            });
        }
        Route::Byo(serving, _) => serving.model.to_owned(),
    };
    let provider = provider
        .ok_or_else(|| OpError::Internal(anyhow::anyhow!("a BYO route without its provider")))?;
    let key = match provider.secret_id.as_deref() {
        None => None,
        Some(secret_id) => {
            let secret = secret.filter(|s| s.id == secret_id).ok_or_else(|| {
                OpError::Internal(anyhow::anyhow!(
                    "provider {} links a missing secret",
                    provider.id
                ))
            })?;
            // Fail closed: a key that can't be opened is never replaced by anything else.
            Some(
                sealing::open(
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
                })?,
            )
        }
    };
    Ok(RelayTarget {
        feature,
        provider: ServingProvider {
            model,
            ..serving(&provider)
        },
        key,
        code,
    })
}

/// The provider as routing sees it (as route answers and the Provider tab's view do).
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
