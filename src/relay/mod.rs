//! The relay (issue 21 item 1; DESIGN.md "Platform services: route, relay, health"):
//! `/relay/orgs/{org}/features/{feature}/…` carries a platform service's call to the
//! provider that serves the feature for the org, so the provider's key never leaves
//! Switchboard. The official SDKs work against it by changing their base URL and using a
//! Switchboard token (scope `ai:relay`) as their API key.
//!
//! One handler, in the order a call is judged: framing (CR/LF in the path or conflicting
//! Content-Length/Transfer-Encoding 400, no Content-Length 411, over the cap 413), the
//! token (401; a session cookie is never read), the org (another org's token 404), the
//! scope (403), the feature (400), the route (409 with its `reasonCode`), the protocol's
//! path allow-list (404), the token's concurrency (429) and the byte budget (503), the
//! body's model (409 `model_not_routed`); then the egress guard and the upstream. Every
//! refusal of its own carries `x-should-retry` and the API's JSON error shape. Bodies and
//! keys are never logged.

pub mod answer;
pub mod egress;
pub mod limits;
pub mod protocol;

use std::{borrow::Cow, sync::Arc, time::Instant};

use actix_web::{
    HttpRequest, HttpResponse,
    dev::HttpServiceFactory,
    http::{StatusCode, header},
    web,
};
use futures_util::StreamExt as _;
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret as _, SecretString};

use crate::{
    auth::context::request_meta,
    config::relay::RelaySettings,
    error::AppError,
    ops::{
        OpError,
        providers::{
            extra_headers as ops_extra_headers,
            relay::{RelayTarget, relay_for_token},
        },
    },
    providers::{check::Redactor, egress::EgressPolicy},
    state::AppState,
};
use answer::{Call, refusal};

/// The relay's shared parts: the guarded clients and the limits.
pub struct Relay {
    egress: egress::Egress,
    limits: Arc<limits::Limits>,
    max_body: usize,
}

impl Relay {
    /// Builds the relay under the server's egress policy and the relay settings.
    pub fn new(policy: EgressPolicy, settings: &RelaySettings) -> Self {
        Self {
            egress: egress::Egress::new(policy, settings.connect_timeout, settings.idle_timeout),
            limits: limits::Limits::new(settings.budget, settings.per_token),
            max_body: settings.max_body,
        }
    }
}

/// Whether `path` is the relay's (its errors are the API's JSON, and the console's edge
/// checks, made for forms and the API's own JSON, leave its bodies alone).
pub fn is_relay_path(path: &str) -> bool {
    path.starts_with("/relay/")
}

/// The relay's routes: every method of every path under a feature goes to the handler,
/// which refuses what is not relayed (404).
pub fn scope() -> impl HttpServiceFactory {
    web::scope("/relay")
        .route(
            "/orgs/{org}/features/{feature}/{tail:.*}",
            web::route().to(relay),
        )
        .default_service(web::to(not_relayed))
}

/// The answer to a path the relay does not carry: 404, not worth a retry.
pub async fn not_relayed() -> HttpResponse {
    refusal(
        StatusCode::NOT_FOUND,
        "not_found",
        "Not a relayed path: use /relay/orgs/{org}/features/{feature}/ followed by the provider's own path (e.g. chat/completions, v1/messages).",
        None,
        None,
    )
}

/// The Switchboard token of a relayed call, from whichever header the caller's SDK puts
/// its API key in. `Err` for an `Authorization` header that is not a bearer token.
fn presented_token(req: &HttpRequest) -> Option<Result<String, ()>> {
    let h = req.headers();
    if let Some(v) = h.get(header::AUTHORIZATION) {
        return Some(
            v.to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_owned())
                .ok_or(()),
        );
    }
    ["x-api-key", "api-key", "x-goog-api-key"]
        .into_iter()
        .find_map(|name| h.get(name))
        .map(|v| v.to_str().map(|t| t.trim().to_owned()).map_err(|_| ()))
}

/// An operation's error as the relay's refusal.
fn op_refusal(e: OpError) -> HttpResponse {
    if let OpError::RouteRefused { code, message } = &e {
        return refusal(StatusCode::CONFLICT, "conflict", message, Some(*code), None);
    }
    let app = AppError::from(e);
    let status = actix_web::ResponseError::status_code(&app);
    if let AppError::Internal(cause) = &app {
        tracing::error!(error = ?cause, "relay: internal error");
    }
    let retry = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5);
    refusal(status, app.code(), &app.public_message(), None, retry)
}

/// `%`-decoded `text`, or `None` when it holds a control character (CR/LF, NUL, …).
fn decoded_clean(text: &str) -> Option<String> {
    let bytes = percent_encoding_decode(text);
    let s = String::from_utf8(bytes).ok()?;
    (!s.chars().any(char::is_control)).then_some(s)
}

fn percent_encoding_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A gateway's extra headers for the call, opened (`ops::providers::extra_headers`): sent
/// after the credential, replacing any allowed header of the same name, and scrubbed from
/// any error body shown. Kinds that take none cost no statement.
async fn extra_headers(
    state: &AppState,
    org_id: i64,
    target: &RelayTarget,
) -> Result<Vec<(HeaderName, SecretString)>, OpError> {
    if !ops_extra_headers::takes_headers(target.provider.kind) {
        return Ok(Vec::new());
    }
    let opened = ops_extra_headers::open(state, org_id, &target.provider.id).await?;
    // Names were validated as header names when they were saved.
    Ok(opened
        .into_iter()
        .filter_map(|(name, value)| {
            HeaderName::from_bytes(name.as_bytes())
                .ok()
                .map(|n| (n, value))
        })
        .collect())
}

/// The relay's one handler.
pub async fn relay(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    relay: web::Data<Relay>,
) -> HttpResponse {
    let started = Instant::now();
    // Every relayed path takes GET (model lists) or POST (the calls); nothing else.
    if !matches!(req.method().as_str(), "GET" | "POST") {
        let mut res = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The relay takes GET (model lists) and POST (calls) only.",
            None,
            None,
        );
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
        return res;
    }
    // The raw path, split as the route matched it.
    let path = req.uri().path();
    let Some((org_slug, feature_id, tail)) = path
        .strip_prefix("/relay/orgs/")
        .and_then(|rest| rest.split_once("/features/"))
        .and_then(|(org, rest)| rest.split_once('/').map(|(f, tail)| (org, f, tail)))
    else {
        return not_relayed().await;
    };
    let (Some(org_slug), Some(feature_id), Some(tail)) = (
        decoded_clean(org_slug),
        decoded_clean(feature_id),
        decoded_clean(tail),
    ) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "validation",
            "The path holds a control character (such as CR or LF).",
            None,
            None,
        );
    };

    // Framing, before anything is read or anyone is asked.
    let h = req.headers();
    if h.contains_key(header::TRANSFER_ENCODING) && h.contains_key(header::CONTENT_LENGTH) {
        return refusal(
            StatusCode::BAD_REQUEST,
            "validation",
            "The request has both Content-Length and Transfer-Encoding; send Content-Length only.",
            None,
            None,
        );
    }
    let length = match h.get(header::CONTENT_LENGTH) {
        Some(v) => match v.to_str().ok().and_then(|v| v.trim().parse::<usize>().ok()) {
            Some(n) => Some(n),
            None => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    "The Content-Length is not a number.",
                    None,
                    None,
                );
            }
        },
        None => None,
    };
    let has_body = h.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|n| n > 0);
    let post = req.method() == actix_web::http::Method::POST;
    let length = match (length, post || has_body) {
        (Some(n), _) => n,
        (None, false) => 0,
        (None, true) => {
            return refusal(
                StatusCode::LENGTH_REQUIRED,
                "length_required",
                "The relay needs a Content-Length (a chunked body is not relayed).",
                None,
                None,
            );
        }
    };
    if length > relay.max_body {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!(
                "The body is over the relay's {} MiB limit.",
                relay.max_body / (1024 * 1024)
            ),
            None,
            None,
        );
    }

    // Who is asking: a token only. A session cookie is never read.
    let token = match presented_token(&req) {
        Some(Ok(token)) if !token.is_empty() => token,
        _ => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "The relay takes a Switchboard API token with ai:relay as the API key (Authorization: Bearer, x-api-key, api-key or x-goog-api-key).",
                None,
                None,
            );
        }
    };
    let (caller, target) =
        match relay_for_token(&state, &token, &org_slug, &feature_id, request_meta(&req)).await {
            Ok(read) => read,
            Err(e) => return op_refusal(e),
        };
    let (Some(org_id), crate::ops::Actor::Token { id: token_id, .. }) =
        (caller.org.as_ref().map(|o| o.id), &caller.actor)
    else {
        return op_refusal(OpError::NotFound);
    };
    let token_id = *token_id;
    let protocol = target.provider.kind.entry().protocol;
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(reqwest::Method::OPTIONS);
    let plan = match protocol::plan(
        protocol,
        &target.provider,
        &method,
        &tail,
        req.query_string(),
    ) {
        Ok(plan) => plan,
        Err(protocol::Refused::NotRelayed) => return not_relayed().await,
        Err(protocol::Refused::ModelNotRouted(model)) => {
            return model_not_routed(&model, &target.provider.model);
        }
        Err(protocol::Refused::NoBaseUrl) => {
            return refusal(
                StatusCode::CONFLICT,
                "conflict",
                "The serving provider has no usable base URL; an admin must enter one.",
                None,
                None,
            );
        }
    };

    // Limits: refuse at once rather than queue.
    let Some(slot) = relay.limits.enter(token_id) else {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "This token has as many relayed calls open as it may (SWITCHBOARD_RELAY_TOKEN_CONCURRENCY); try again when one ends.",
            None,
            Some(1),
        );
    };
    let Some(reserved) = relay.limits.reserve(length) else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The relay is holding as many request bytes as it may right now; try again shortly.",
            None,
            Some(1),
        );
    };
    let mut body = Vec::with_capacity(length);
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= length => body.extend_from_slice(&chunk),
            _ => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    "The body did not match its Content-Length, or broke off.",
                    None,
                    None,
                );
            }
        }
    }
    if body.len() != length {
        return refusal(
            StatusCode::BAD_REQUEST,
            "validation",
            "The body is shorter than its Content-Length.",
            None,
            None,
        );
    }
    if plan.model_in_body {
        #[derive(serde::Deserialize)]
        struct Named<'a> {
            #[serde(borrow)]
            model: Option<Cow<'a, str>>,
        }
        match serde_json::from_slice::<Named>(&body) {
            Ok(Named { model: Some(m) }) if m == target.provider.model => {}
            Ok(Named { model }) => {
                return model_not_routed(model.as_deref().unwrap_or(""), &target.provider.model);
            }
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    "The body is not a JSON object.",
                    None,
                    None,
                );
            }
        }
    }

    let extra = match extra_headers(&state, org_id, &target).await {
        Ok(extra) => extra,
        Err(e) => return op_refusal(e),
    };
    let mut call = Call::new(
        state.clone(),
        org_id,
        target.feature,
        target.provider.id.clone(),
        started,
    );
    call.slot = Some(slot);
    let client = match relay.egress.client_for(&plan.url) {
        Ok(client) => client,
        Err(blocked) => {
            call.code = Some(blocked.code);
            return answer::unreachable(blocked.code, &blocked.message);
        }
    };
    let headers = protocol::headers(protocol, req.headers(), target.key.as_ref(), &extra);
    let redactor = Redactor::new(
        target
            .key
            .iter()
            .map(|k| k.expose_secret())
            .chain(extra.iter().map(|(_, v)| v.expose_secret())),
    );
    let mut request = client.request(method, plan.url).headers(headers);
    if post {
        request = request.body(body);
    }
    let sent = request.send().await;
    drop(reserved);
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => {
            let failure = egress::classify(&e);
            call.code = Some(failure.code);
            tracing::warn!(
                provider = %target.provider.id,
                code = failure.code.as_str(),
                "relay: the provider could not be reached"
            );
            return answer::unreachable(failure.code, &redactor.scrub(&failure.message));
        }
    };
    if resp.status().is_redirection() {
        call.status = Some(resp.status().as_u16());
        call.code = Some(crate::providers::check::FailureCode::BadResponse);
        return answer::unreachable(
            crate::providers::check::FailureCode::BadResponse,
            &format!(
                "The provider answered a redirect (HTTP {}), which the relay does not follow; an admin must enter the final URL as the provider's base URL.",
                resp.status().as_u16()
            ),
        );
    }
    if !resp.status().is_success() {
        return answer::upstream_error(resp, &redactor, &mut call).await;
    }
    answer::stream(resp, call)
}

fn model_not_routed(asked: &str, routed: &str) -> HttpResponse {
    let asked: String = asked.chars().take(80).collect();
    refusal(
        StatusCode::CONFLICT,
        "conflict",
        &format!(
            "This feature is routed to model “{routed}”, not “{asked}” (model_not_routed); send model “{routed}”."
        ),
        Some(crate::routing::ReasonCode::ModelNotRouted),
        None,
    )
}
