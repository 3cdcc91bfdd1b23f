//! Route resolution (issue 11 item 4, issue 21 item 3): which provider serves a feature of
//! the platform now, for the platform's AI services calling with an `ai:resolve` token.
//!
//! - The decision is [`routing::route`]'s, the function behind the console's matrix, so the
//!   two can never disagree. `unavailable` fails closed (409); the platform route never
//!   carries a key (the platform's key is not Switchboard's to hand out).
//! - **Keyless by default**: the key is in the answer only for a token with `ai:release`
//!   (granted by an operator on the CLI); otherwise the answer says `credentialWithheld` and
//!   names the relay's URL, where the key is injected without leaving Switchboard.
//! - **Versioned**: every answer carries a `version` (its `ETag`), a hash of everything that
//!   decides it — the settings row, the feature's route, the serving provider and its secret,
//!   whether the caller receives keys, the relay's URL, this build. A caller that presents
//!   the current version gets [`Answer::NotModified`]: nothing opened, nothing written.
//! - **Cheap**: one statement reads the presented token with its creator and role, and the
//!   settings, the feature's route, the provider and its sealed key
//!   ([`resolve_route_for_token`]); a keyless answer or a 304 stops there.
//! - **A release** (the key in the answer) is recorded once per (token, secret, hour): one
//!   statement inserts the bucket's row and, only when it is new, appends the chained
//!   `credential.released` — and only while the read still holds (settings, route, provider
//!   and secret at the versions read); the key leaves only after that commit. Later releases
//!   of the same bucket cost no statement: the instance remembers the bucket and counts the
//!   call in memory; [`flush_release_counts`] adds the counts to the row every few seconds.
//! - Route answers go only to API tokens: a console session (whose admin holds every scope)
//!   is refused, so a person never reads a stored key back.

use base64::Engine as _;
use secrecy::SecretString;

use super::view::{config_text, effective_base_url};
use crate::{
    crypto::secret as sealing,
    models::{
        ai_settings::OrgAiSettings,
        feature_route::FeatureRoute,
        provider::Provider,
        release::{self, ReleaseKey},
        secret::Secret,
    },
    ops::{
        Action, Actor, Caller, Change, OpError, OpResult, RequestMeta, Scope, Target, audit, tokens,
    },
    providers::catalog::ProviderKind,
    routing::{self, Active, Feature, Policy, ReasonCode, Route, Rule, Rules, Settings},
    state::AppState,
};

/// How often a release is re-decided when an admin changes the settings between the read
/// and the release, before the caller is told to ask again.
const ATTEMPTS: usize = 2;

/// How often the per-call release counts are added to `route_releases`.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// The org's own provider, with its key when the caller holds `ai:release` (`None`
    /// otherwise, or for a kind whose key is optional and none was stored).
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
    /// The org's provider has a key and the caller may not receive it (no `ai:release`).
    pub credential_withheld: bool,
    /// Where the relay serves this feature for the org (`SWITCHBOARD_RELAY_URL`, else the
    /// public URL, + `/relay/orgs/{org}/features/{feature}`); `None` when neither is set.
    pub relay_url: Option<String>,
    /// The answer's version (its `ETag`, quoted).
    pub version: String,
}

impl Resolution {
    /// Whether the answer holds a key (it must not be cached then).
    pub fn carries_key(&self) -> bool {
        matches!(&self.served, Served::Byo { key: Some(_), .. })
    }
}

/// A route answer: the whole of it, or "the version you hold is current".
#[derive(Debug, Clone)]
pub enum Answer {
    Full(Resolution),
    /// `If-None-Match` named the current version: nothing was opened or written.
    NotModified {
        version: String,
        /// Whether the full answer would hold a key (it is `no-store` then).
        carries_key: bool,
    },
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
/// `if_none_match` is the request's `If-None-Match`: naming the current version gives
/// [`Answer::NotModified`]. A BYO route to a token with `ai:release` opens the provider's
/// key and records the release (once per token, secret and hour) before handing it out;
/// `unavailable` is a 409 with the reason.
pub async fn resolve_route(
    state: &AppState,
    caller: &Caller,
    feature: Option<&str>,
    if_none_match: Option<&str>,
) -> OpResult<Answer> {
    let mut conn = state.pool.get().await?;
    answer(state, caller, &mut conn, feature, None, if_none_match).await
}

/// [`resolve_route`] for a presented bearer token on `/orgs/{org_slug}/…`: the token's row and
/// the routing inputs as [`token_caller`] reads them (one statement), then exactly the
/// checks of `tokens::authenticate` (revoked, expired, disabled creator, scopes cut to the
/// creator's access unless a service token) and of the API's token extractor (a token of
/// another org is a 404) — so a route answer costs one statement.
pub async fn resolve_route_for_token(
    state: &AppState,
    presented: &str,
    org_slug: &str,
    meta: RequestMeta,
    feature: Option<&str>,
    if_none_match: Option<&str>,
) -> OpResult<Answer> {
    let hash = tokens::presented_hash(presented)?;
    let Ok(parsed) = parse_feature(feature) else {
        // The token answers first (401, 404, 403 before 400), as on every route.
        let caller = tokens::authenticate(state, presented, meta).await?;
        own_org(&caller, org_slug)?;
        return resolve_route(state, &caller, feature, if_none_match).await;
    };
    let mut conn = state.pool.get().await?;
    let Some((caller, inputs)) =
        token_caller(state, &mut conn, &hash, parsed, meta.clone()).await?
    else {
        // Unknown: the one rejection every token path gives.
        tokens::authenticate(state, presented, meta).await?;
        return Err(OpError::NotFound);
    };
    own_org(&caller, org_slug)?;
    answer(
        state,
        &caller,
        &mut conn,
        feature,
        Some(inputs),
        if_none_match,
    )
    .await
}

/// The caller a presented token (hashed `hash`) acts as, with the routing inputs of
/// `feature` of its org (`None` inside: the org has no settings row), for route answers and
/// the relay. One statement: while this instance remembers the token and the org's epoch is
/// unchanged (`models::route_cache`), a primary-key read of the epoch; otherwise the token's
/// row and the inputs (`release::token_and_routing_inputs`), remembered for the next call.
/// Then the checks of `tokens::caller_of`, every time. `None` for an unknown token.
pub(crate) async fn token_caller(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    hash: &[u8; 32],
    feature: Feature,
    meta: RequestMeta,
) -> OpResult<Option<(Caller, Option<release::RoutingInputs>)>> {
    let id = feature.id();
    let mut remembered = None;
    if let Some(r) = state.route_cache.get(hash, id) {
        if release::org_epoch(conn, r.org_id).await? == Some(r.epoch) {
            remembered = Some((r.presented, r.inputs, Some(r.epoch)));
        } else {
            state.route_cache.forget(hash);
        }
    }
    let (presented, inputs, epoch) = match remembered {
        Some(read) => read,
        None => {
            let Some(read) = release::token_and_routing_inputs(conn, hash, id).await? else {
                return Ok(None);
            };
            if let Some(epoch) = read.epoch {
                state.route_cache.put(
                    *hash,
                    id,
                    epoch,
                    read.presented.clone(),
                    read.inputs.clone(),
                );
            }
            (read.presented, read.inputs, read.epoch)
        }
    };
    let now = state.clock.now();
    let stamped = crate::models::api_token::use_due(&presented.0, now);
    let mut caller = tokens::caller_of(state, conn, presented, meta).await?;
    if stamped {
        state.route_cache.used(hash, now);
    }
    caller.epoch = epoch;
    Ok(Some((caller, inputs)))
}

/// A token of another org than the path's: 404, as the API's token extractor says it.
pub(crate) fn own_org(caller: &Caller, org_slug: &str) -> OpResult<()> {
    match &caller.org {
        Some(org) if org.slug == org_slug => Ok(()),
        _ => Err(OpError::NotFound),
    }
}

/// The answer for `caller`; `read` holds the routing inputs already read (`Some(None)`: the
/// org has no settings row), else they are read here.
async fn answer(
    state: &AppState,
    caller: &Caller,
    conn: &mut diesel_async::AsyncPgConnection,
    feature: Option<&str>,
    mut read: Option<Option<release::RoutingInputs>>,
    if_none_match: Option<&str>,
) -> OpResult<Answer> {
    let org = caller.require(Scope::AiResolve)?;
    let Actor::Token {
        id: token_id,
        label: token_label,
        ..
    } = &caller.actor
    else {
        return Err(OpError::Forbidden(
            "Route resolution answers API tokens with ai:resolve only, never a console session."
                .to_owned(),
        ));
    };
    let feature = parse_feature(feature)?;
    let releases = caller.scopes.contains(Scope::AiRelease);
    let relay_url = state
        .config
        .route_answers
        .relay_base(state.config.public_url.as_ref())
        .map(|base| format!("{base}/relay/orgs/{}/features/{}", org.slug, feature.id()));
    for _ in 0..ATTEMPTS {
        let inputs = match read.take() {
            Some(inputs) => inputs,
            None => release::routing_inputs(conn, org.id, feature.id()).await?,
        };
        let (settings, route_row, provider, secret) = inputs.ok_or(OpError::NotFound)?;
        let (
            DecidedRoute {
                decided,
                code,
                reason,
            },
            provider,
        ) = decide(feature, &settings, route_row.as_ref(), provider);
        let (provider, model) = match decided {
            Decided::Unavailable(code) => {
                return Err(OpError::RouteRefused {
                    code,
                    message: format!(
                        "{} is unavailable for this org ({code}): {}",
                        feature.id(),
                        reason
                    ),
                });
            }
            Decided::Platform => (None, None),
            Decided::Byo(model) => {
                let provider = provider.ok_or_else(|| {
                    OpError::Internal(anyhow::anyhow!("a BYO route without its provider"))
                })?;
                (Some(provider), Some(model))
            }
        };
        // The key the answer would carry: the provider's own secret, if it has one.
        let secret = match provider.as_ref().and_then(|p| p.secret_id.as_deref()) {
            Some(secret_id) => Some(secret.filter(|s| s.id == secret_id).ok_or_else(|| {
                OpError::Internal(anyhow::anyhow!("a provider links a missing secret"))
            })?),
            None => None,
        };
        let carries_key = releases && secret.is_some();
        let version = version(&Inputs {
            feature,
            org_slug: &org.slug,
            settings: &settings,
            route: route_row.as_ref(),
            provider: provider.as_ref(),
            model: model.as_deref(),
            secret: secret.as_ref(),
            releases,
            relay_url: relay_url.as_deref(),
        });
        if if_none_match.is_some_and(|header| matches_version(header, &version)) {
            return Ok(Answer::NotModified {
                version,
                carries_key,
            });
        }
        let resolution = |served| Resolution {
            feature,
            served,
            code,
            reason,
            credential_withheld: secret.is_some() && !releases,
            relay_url: relay_url.clone(),
            version: version.clone(),
        };
        let Some(provider) = provider else {
            return Ok(Answer::Full(resolution(Served::Platform)));
        };
        let serving = ServingProvider {
            model: model.unwrap_or_else(|| provider.default_model.clone()),
            ..serving(&provider)
        };
        let (Some(secret), true) = (secret.as_ref(), releases) else {
            return Ok(Answer::Full(resolution(Served::Byo {
                provider: serving,
                key: None,
            })));
        };
        let key = open_key(state, feature, &provider.name, secret)?;
        let bucket = ReleaseKey {
            token_id: *token_id,
            secret_id: secret.id.clone(),
            hour: release::hour_of(state.clock.now()),
        };
        let full = |key| {
            Answer::Full(resolution(Served::Byo {
                provider: serving.clone(),
                key: Some(key),
            }))
        };
        // This instance recorded the bucket already: its event is committed; count the call.
        if state.releases.count_if_recorded(&bucket) {
            return Ok(full(key));
        }
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
                    .text("token", token_label)
                    .text("secretId", &secret.id)
                    .text("hour", bucket.hour.to_rfc3339()),
            ),
        );
        let read_at = release::ReadAt {
            org_id: org.id,
            settings_version: settings.lock_version,
            feature: feature.id(),
            route_version: route_row.as_ref().map(|r| r.lock_version),
            provider_id: &provider.id,
            provider_version: provider.lock_version,
            secret_id: &secret.id,
        };
        if release::record_release(conn, &event, read_at, &bucket)
            .await?
            .held
        {
            state.releases.recorded_and_count(bucket);
            return Ok(full(key));
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

/// The routing decision, without the borrowed provider (which the caller keeps).
pub(super) enum Decided {
    Unavailable(ReasonCode),
    Platform,
    /// The org's provider, with this model.
    Byo(String),
}

/// Decides `feature` on what [`release::routing_inputs`] read (route answers and the relay:
/// `routing::route`'s decision, so they and the console's matrix never disagree).
pub(super) fn decide(
    feature: Feature,
    settings: &OrgAiSettings,
    route_row: Option<&FeatureRoute>,
    provider: Option<Provider>,
) -> (DecidedRoute, Option<Provider>) {
    let decided = {
        // The provider read is the route's when it names one, else the active one.
        let rule = match route_row.map(|r| r.mode.as_str()) {
            None => Rule::Inherit,
            Some("platform") => Rule::Platform,
            Some("provider") => match provider.as_ref() {
                Some(p) => Rule::Provider(Active {
                    model: route_row
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
        DecidedRoute {
            reason: route.reason(),
            code: route.code(),
            decided: match route {
                Route::Unavailable(code) => Decided::Unavailable(code),
                Route::Platform(_) => Decided::Platform,
                Route::Byo(serving, _) => Decided::Byo(serving.model.to_owned()),
            },
        }
    };
    (decided, provider)
}

/// A decision with its reason.
pub(super) struct DecidedRoute {
    pub decided: Decided,
    pub code: ReasonCode,
    pub reason: &'static str,
}

/// Everything that decides a route answer, hashed into its version.
struct Inputs<'a> {
    feature: Feature,
    org_slug: &'a str,
    settings: &'a OrgAiSettings,
    route: Option<&'a FeatureRoute>,
    provider: Option<&'a Provider>,
    model: Option<&'a str>,
    secret: Option<&'a Secret>,
    releases: bool,
    relay_url: Option<&'a str>,
}

/// The version of the answer decided on `inputs`: 22 characters of URL-safe base64 of a
/// SHA-256 over every input (versions and the values the answer shows), this build's
/// version included (a new build may word an answer differently).
fn version(i: &Inputs<'_>) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(256);
    let s = i.settings;
    let _ = write!(
        text,
        "route-v1\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}s:{}:{}:{}:{:?}",
        env!("CARGO_PKG_VERSION"),
        i.feature.id(),
        i.org_slug,
        s.lock_version,
        s.routing_policy,
        s.insights_enabled,
        s.active_provider_id,
    );
    if let Some(r) = i.route {
        let _ = write!(
            text,
            "\u{1f}r:{}:{}:{:?}:{:?}",
            r.lock_version, r.mode, r.provider_id, r.model
        );
    }
    if let Some(p) = i.provider {
        let _ = write!(
            text,
            "\u{1f}p:{}:{}:{:?}:{}:{}:{}:{:?}",
            p.id, p.lock_version, i.model, p.name, p.kind, p.default_model, p.base_url
        );
        let _ = write!(text, "\u{1f}c:{}", p.config);
    }
    if let Some(k) = i.secret {
        let _ = write!(text, "\u{1f}k:{}:{}:{}", k.id, k.key_id, k.version);
    }
    let _ = write!(
        text,
        "\u{1f}release:{}\u{1f}relay:{:?}",
        i.releases, i.relay_url
    );
    let digest = crate::crypto::sha256(text.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Whether an `If-None-Match` value names `version` (weak comparison, as RFC 9110 has it
/// for `If-None-Match`; `*` matches any current answer).
pub fn matches_version(header: &str, version: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .strip_prefix("W/")
                .unwrap_or(tag)
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                == Some(version)
    })
}

/// Adds the calls counted in memory to their release rows (one statement). Counts a failed
/// write could not add are kept for the next flush.
pub async fn flush_release_counts(state: &AppState) -> OpResult<usize> {
    let counts = state.releases.take_counts(state.clock.now());
    if counts.is_empty() {
        return Ok(0);
    }
    let written = async {
        let mut conn = state.pool.get().await?;
        Ok::<_, OpError>(release::add_calls(&mut conn, &counts).await?)
    }
    .await;
    match written {
        Ok(n) => Ok(n),
        Err(e) => {
            state.releases.restore(counts);
            Err(e)
        }
    }
}

/// Flushes the release counts every [`FLUSH_EVERY`], for the life of the process.
pub async fn flush_release_counts_periodically(state: actix_web::web::Data<AppState>) {
    let mut ticks = tokio::time::interval(FLUSH_EVERY);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(e) = flush_release_counts(&state).await {
            tracing::warn!(error = %e, "route release counts not flushed (kept for the next try)");
        }
    }
}

/// At start-up: warns (once) while live tokens carry `ai:release`, i.e. services still take
/// provider keys out of Switchboard instead of calling the relay. Names the tokens by id
/// and org id only.
pub async fn warn_about_release_tokens(state: &AppState) -> OpResult<usize> {
    let mut conn = state.pool.get().await?;
    let tokens = release::release_tokens(&mut conn, state.clock.now()).await?;
    if !tokens.is_empty() {
        let named = tokens
            .iter()
            .take(20)
            .map(|(org, id, _)| format!("token {id} (org {org})"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(
            count = tokens.len(),
            "{} live API token(s) carry ai:release and receive provider keys in route answers: \
             {named}{}. Move those services to the relay (route answers' relayUrl as their \
             base_url, an ai:relay token as their key), then revoke the tokens or re-create them \
             without ai:release",
            tokens.len(),
            if tokens.len() > 20 { ", …" } else { "" },
        );
    }
    Ok(tokens.len())
}

/// Opens the serving provider's key in memory. Fails closed: a key that can't be opened is
/// never replaced by anything else.
pub(super) fn open_key(
    state: &AppState,
    feature: Feature,
    provider_name: &str,
    secret: &Secret,
) -> OpResult<SecretString> {
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
            "{} is unavailable for this org: the stored key of {provider_name} can't be opened ({e}); an admin must enter it again.",
            feature.id(),
        ))
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

pub(super) fn serving(p: &Provider) -> ServingProvider {
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
