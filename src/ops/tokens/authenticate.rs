//! A presented bearer token → the [`Caller`] it acts as.

use crate::{
    models::{api_token, release},
    ops::{Access, Actor, Caller, OpError, OpResult, RequestMeta, Scope, ScopeSet},
    state::AppState,
};

use super::{SERVICE_SCOPES, TOKEN_PREFIX, TokenKind};

/// Why a presented token does not authenticate (one answer for all: the client learns
/// nothing about which tokens exist).
const REJECTED: &str = "The API token is missing, malformed, expired or revoked.";

/// Authenticates a presented bearer token: the [`Caller`] it acts as, in its own org, with
/// its scopes cut to its creator's current access — except a service token, which is the
/// org's: its own (service) scopes whatever became of its creator. Costs one SELECT (and, at most once a
/// minute per token, one UPDATE of `last_used_at`): the token's rows, or — while this
/// instance remembers them (`models::route_cache`) — the primary-key read of the org's epoch
/// that shows them unchanged.
pub async fn authenticate(
    state: &AppState,
    presented: &str,
    meta: RequestMeta,
) -> OpResult<Caller> {
    let hash = presented_hash(presented)?;
    let mut conn = state.pool.get().await?;
    let cache = &state.route_cache;
    let mut remembered = None;
    if let Some((org_id, epoch, row)) = cache.token(&hash) {
        if release::org_epoch(&mut conn, org_id).await? == Some(epoch) {
            remembered = Some((row, epoch));
        } else {
            cache.forget(&hash);
        }
    }
    let (row, epoch) = match remembered {
        Some((row, epoch)) => (row, Some(epoch)),
        None => {
            let (row, epoch) = api_token::by_hash(&mut conn, &hash)
                .await?
                .ok_or_else(|| OpError::Unauthenticated(REJECTED.to_owned()))?;
            if let Some(epoch) = epoch {
                cache.put_token(hash, epoch, row.clone());
            }
            (row, epoch)
        }
    };
    let now = state.clock.now();
    let stamped = api_token::use_due(&row.0, now);
    let mut caller = caller_of(state, &mut conn, row, meta).await?;
    if stamped {
        cache.used(&hash, now);
    }
    caller.epoch = epoch;
    Ok(caller)
}

/// The SHA-256 a presented token is looked up by; a malformed one is rejected here.
pub fn presented_hash(presented: &str) -> OpResult<[u8; 32]> {
    let well_formed = presented.starts_with(TOKEN_PREFIX)
        && presented.len() <= 64
        && presented[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(OpError::Unauthenticated(REJECTED.to_owned()));
    }
    Ok(crate::crypto::sha256(presented.as_bytes()))
}

/// The [`Caller`] a token found by its hash acts as (see [`authenticate`]), for a caller
/// that read the token's row in a statement of its own (route resolution reads it with the
/// routing inputs). Touches `last_used_at` at most once a minute.
pub async fn caller_of(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    (token, org, user, role): api_token::Presented,
    meta: RequestMeta,
) -> OpResult<Caller> {
    let now = state.clock.now();
    let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > now);
    let service = token.kind == TokenKind::Service.as_str();
    if !live || (user.disabled && !service) {
        return Err(OpError::Unauthenticated(REJECTED.to_owned()));
    }
    if api_token::use_due(&token, now) {
        api_token::touch(conn, token.id, now).await?;
    }
    let granted = ScopeSet::of(
        &token
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect::<Vec<_>>(),
    );
    // The creator's access now, by the same table as a console session (support staff
    // can't create tokens: they are never members, so no role means no access).
    let (access, scopes) = if service {
        (None, granted.intersect(ScopeSet::of(&SERVICE_SCOPES)))
    } else {
        let access = Access::of(role, false);
        let scopes = access.map_or(ScopeSet::EMPTY, |a| granted.intersect(a.scopes()));
        (access, scopes)
    };
    Ok(Caller {
        actor: Actor::Token {
            id: token.id,
            user_id: user.id,
            label: if service {
                format!("{} (service token, created by {})", token.name, user.email)
            } else {
                format!("{} ({})", token.name, user.email)
            },
        },
        org: Some(org),
        access,
        scopes,
        meta,
        epoch: None,
    })
}
