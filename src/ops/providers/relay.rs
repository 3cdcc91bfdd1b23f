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

use super::release::{Decided, DecidedRoute, ServingProvider, decide, open_key, serving};
use crate::{
    models::release,
    ops::{Actor, Caller, OpError, OpResult, Scope},
    routing::{Feature, ReasonCode},
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
    let (
        DecidedRoute {
            decided,
            code,
            reason,
        },
        provider,
    ) = decide(feature, &settings, route_row.as_ref(), provider);
    let model = match decided {
        Decided::Unavailable(code) => {
            return Err(OpError::RouteRefused {
                code,
                message: format!(
                    "{} is unavailable for this org ({code}): {reason}",
                    feature.id()
                ),
            });
        }
        Decided::Platform => {
            let code = ReasonCode::ServedByPlatform;
            return Err(OpError::RouteRefused {
                code,
                message: format!(
                    "The platform serves {} for this org ({code}: {reason}), not the org's own provider; the relay carries only calls to the org's provider.",
                    feature.id(),
                ),
            });
        }
        Decided::Byo(model) => model,
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
            Some(open_key(state, feature, &provider.name, &secret)?)
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
