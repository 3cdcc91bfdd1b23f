//! What the relay (`src/relay`, issue 21 item 1) needs from the operations: for the caller's
//! org and one feature, who serves it now and, when the org's own provider does, that
//! provider and its opened key — so the key is used by Switchboard and never leaves it.
//!
//! - The decision is [`routing::route`]'s, as for route answers
//!   (`ops::providers::release`) and the console's matrix, so the three never disagree.
//! - Cheap enough for every relayed call: one statement reads the presented token with the
//!   settings, the feature's route, the serving provider and its sealed key — or, while this
//!   instance remembers them and the org's epoch is unchanged, only the epoch
//!   (`release::token_caller`, as route answers); the key is opened in memory. No audit event: the key is not released to anyone (the health
//!   loop counts the calls, `ops::health`), so no `ai:release` is needed either.
//! - API tokens only, with `ai:relay`: a console session is refused (the relay's transport
//!   answers a session 401 before it gets here).

use secrecy::SecretString;

use super::release::{
    Decided, DecidedRoute, ServingProvider, decide, open_key, own_org, parse_feature, serving,
    token_caller,
};
use crate::{
    models::release,
    ops::{Actor, Caller, OpError, OpResult, RequestMeta, Scope, tokens},
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

/// The caller a presented token acts as and who serves `feature_id` for its org now, for a
/// relayed call on `/relay/orgs/{org_slug}/features/{feature_id}/…`, judged in the relay's
/// order: a token that is unknown, revoked or expired 401, another org's 404, no `ai:relay`
/// 403, a feature that isn't one 400, then the route ([`relay_target`]). One statement.
pub async fn relay_for_token(
    state: &AppState,
    presented: &str,
    org_slug: &str,
    feature_id: &str,
    meta: RequestMeta,
) -> OpResult<(Caller, RelayTarget)> {
    let hash = tokens::presented_hash(presented)?;
    let parsed = parse_feature(Some(feature_id));
    let mut conn = state.pool.get().await?;
    let read = match parsed {
        Ok(feature) => token_caller(state, &mut conn, &hash, feature, meta.clone()).await?,
        Err(_) => None,
    };
    drop(conn);
    let Some((caller, inputs)) = read else {
        // An unknown token, or a feature that isn't one: the order of every token path.
        let caller = tokens::authenticate(state, presented, meta).await?;
        own_org(&caller, org_slug)?;
        caller.require(Scope::AiRelay)?;
        parse_feature(Some(feature_id))?;
        return Err(OpError::NotFound);
    };
    own_org(&caller, org_slug)?;
    let feature = parsed?;
    let target = relay_target(state, &caller, feature, inputs)?;
    Ok((caller, target))
}

/// Who serves `feature` for the caller's org now, for the relay (scope `ai:relay`, API
/// tokens only), decided on `inputs` (read with the token: `None` when the org has no
/// settings row). The platform's route is refused (`served_by_platform`: the relay carries
/// only the org's own provider's calls), as is an unavailable one (its reason code); both
/// are [`OpError::RouteRefused`] so the transport can say whether to ask again.
pub fn relay_target(
    state: &AppState,
    caller: &Caller,
    feature: Feature,
    inputs: Option<release::RoutingInputs>,
) -> OpResult<RelayTarget> {
    caller.require(Scope::AiRelay)?;
    if !matches!(caller.actor, Actor::Token { .. }) {
        return Err(OpError::Forbidden(
            "The relay answers API tokens with ai:relay only, never a console session.".to_owned(),
        ));
    }
    let (settings, route_row, provider, secret) = inputs.ok_or(OpError::NotFound)?;
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
