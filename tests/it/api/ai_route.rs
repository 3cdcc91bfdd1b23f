//! `GET /api/v1/orgs/{org}/ai/route`: the key goes only to a service token with `ai:release`,
//! only when the org's own provider serves the feature, never into the trail; the platform
//! route carries no key; strict fails closed; a release decided on settings changed since
//! writes nothing. (Keyless answers, versions, 304s and release buckets: `route_cache.rs`.)

use crate::api::traffic::SendChecked as _;
use chrono::Utc;
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use secrecy::SecretString;
use serde_json::Value;
use switchboard::{
    db::schema::{audit_events, org_ai_settings},
    models::{
        membership::{self, Role},
        org::Org,
        provider, release,
        user::User,
    },
    ops::{
        Access, Action, Actor, Caller, RequestMeta, Scope, Target, audit,
        providers::{self as ops, KeyInput, ProviderInput},
        tokens,
    },
    providers::ProviderKind,
};

use super::{all_scopes, app_with_org, http, token};
use crate::{
    helpers::{PASSWORD, TestApp},
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock},
};

pub(super) const ROUTE: &str = "/api/v1/orgs/acme/ai/route";

pub(super) fn admin(ada: &User, org: &Org) -> Caller {
    Caller::in_org(ada, org.clone(), Access::Admin, RequestMeta::default())
}

/// An active Anthropic provider whose key is [`GOOD_KEY`] (checked against `server`).
pub(super) async fn active_anthropic(
    app: &TestApp,
    org: &Org,
    ada: &User,
    server: &wiremock::MockServer,
) -> String {
    let caller = admin(ada, org);
    let p = ops::create_provider(
        &app.state,
        &caller,
        anthropic("Claude", server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    ops::activate_provider(&app.state, &caller, &p.id)
        .await
        .unwrap();
    p.id
}

pub(super) async fn get(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    http()
        .get(app.url(&format!("{ROUTE}{query}")))
        .bearer_auth(token)
        .send_checked()
        .await
        .unwrap()
}

pub(super) async fn released(app: &TestApp) -> Vec<(String, String, Option<Value>)> {
    let mut conn = app.db().await;
    audit_events::table
        .filter(audit_events::action.eq("credential.released"))
        .order(audit_events::id.asc())
        .select((
            audit_events::actor_kind,
            audit_events::target,
            audit_events::after,
        ))
        .load(&mut conn)
        .await
        .unwrap()
}

/// A service token with `ai:resolve` and `ai:release`, made by an operator (as
/// `switchboard token create --service` makes it) for `ada`.
pub(super) async fn release_token(app: &TestApp, org: &Org, ada: &User) -> String {
    use secrecy::ExposeSecret as _;
    tokens::create_token_of_kind(
        &app.state,
        &Caller::operator(Some(org.clone())),
        tokens::TokenInput {
            name: "billing service".to_owned(),
            scopes: vec![Scope::AiResolve, Scope::AiRelease],
            expires_in: None,
            owner_email: Some(ada.email.clone()),
        },
        tokens::TokenKind::Service,
    )
    .await
    .expect("create a release token")
    .secret
    .expose_secret()
    .to_owned()
}

fn every_scope_but_resolve() -> Vec<Scope> {
    all_scopes()
        .into_iter()
        .filter(|s| *s != Scope::AiResolve)
        .collect()
}

#[tokio::test]
async fn a_byo_route_releases_the_key_to_an_ai_release_token_and_records_it_without_the_key() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let resolver = release_token(&app, &org, &ada).await;

    let res = get(&app, &resolver, "?feature=summaries").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["feature"], "summaries");
    assert_eq!(body["servedBy"], "byo");
    assert_eq!(body["provider"]["id"], id.as_str());
    assert_eq!(body["provider"]["provider"], "anthropic");
    assert_eq!(body["provider"]["baseUrl"], server.uri().as_str());
    assert_eq!(body["provider"]["model"], "claude-sonnet-4-20250514");
    assert!(body["provider"]["config"].is_object());
    assert_eq!(body["credential"]["apiKey"], GOOD_KEY);
    assert_eq!(body["credentialWithheld"], false);

    // A tool-using feature: Anthropic has tool calling, so the same provider serves it.
    let res = get(&app, &resolver, "?feature=assistant").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["credential"]["apiKey"], GOOD_KEY);

    // One event for the (token, key, hour): the token, the first feature, the provider;
    // never the key.
    let token_id = tokens::list_tokens(&app.state, &Caller::operator(Some(org.clone())))
        .await
        .unwrap()[0]
        .id;
    let events = released(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, target, after) = &events[0];
    assert_eq!(kind, "token");
    assert_eq!(target, &format!("provider:{id}"));
    let after = after.as_ref().unwrap();
    assert_eq!(after["feature"], "summaries");
    assert_eq!(after["tokenId"], token_id.to_string());
    assert!(after["token"].as_str().unwrap().contains("ada@acme.test"));
    let dump = crate::canary::scan(&app).await;
    for spelling in crate::canary::spellings(GOOD_KEY) {
        assert!(!dump.contains(&spelling), "the key is stored: {spelling}");
    }
    // The trail as the API shows it to an admin token holds no key either.
    let reader = token(&app, &org, &ada, &[Scope::AuditRead], None).await;
    let trail = http()
        .get(app.url("/api/v1/orgs/acme/audit-events?family=api"))
        .bearer_auth(&reader)
        .send_checked()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(trail.contains("credential.released") && !trail.contains(GOOD_KEY));
}

#[tokio::test]
async fn without_ai_resolve_or_from_a_session_nothing_is_released() {
    let (app, org, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    active_anthropic(&app, &org, &ada, &server).await;

    let reader = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;
    let everything_else = token(&app, &org, &ada, &every_scope_but_resolve(), None).await;
    let member = token(&app, &org, &mia, &[Scope::AiProvidersList], None).await;
    for (who, t) in [
        ("a read token", &reader),
        ("an admin token with every other scope", &everything_else),
        ("a member's token", &member),
    ] {
        let res = get(&app, t, "?feature=summaries").await;
        assert_eq!(res.status(), 403, "{who}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{who}");
        let text = res.text().await.unwrap();
        assert!(!text.contains(GOOD_KEY), "{who}");
        assert!(text.contains("\"forbidden\""), "{who}: {text}");
    }

    // A console admin holds every scope, but keys go to tokens only.
    let browser = crate::helpers::client();
    assert_eq!(
        app.login(&browser, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let res = browser
        .get(app.url(&format!("{ROUTE}?feature=summaries")))
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.text().await.unwrap().contains(GOOD_KEY));

    // A resolver whose creator is demoted to member loses ai:resolve at once.
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    assert_eq!(
        get(&app, &resolver, "?feature=summaries").await.status(),
        200
    );
    let mut conn = app.db().await;
    membership::set_role(&mut conn, org.id, ada.id, Role::Member)
        .await
        .unwrap();
    assert_eq!(
        get(&app, &resolver, "?feature=summaries").await.status(),
        403
    );
    assert!(
        released(&app).await.is_empty(),
        "an ai:resolve token without ai:release receives no key"
    );
}

#[tokio::test]
async fn the_platform_route_names_no_provider_and_carries_no_key() {
    let (app, org, ada, _) = app_with_org().await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let res = get(&app, &resolver, "?feature=triage").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, max-age=30");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["servedBy"], "platform");
    assert_eq!(body["credentialWithheld"], false, "nothing to withhold");
    assert_eq!(body["reasonCode"], "no_provider");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("platform default")
    );
    assert!(body.get("provider").is_none() && body.get("credential").is_none());
    assert!(released(&app).await.is_empty());

    for (query, expect) in [
        ("?feature=chat", "There is no feature"),
        ("", "Name the feature"),
        ("?feature=", "Name the feature"),
    ] {
        let res = get(&app, &resolver, query).await;
        assert_eq!(res.status(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expect), "{message}");
        assert!(
            message.contains("summaries") && message.contains("fix_proposals"),
            "lists the ids: {message}"
        );
    }
}

/// An active self-hosted (OpenAI-compatible) provider without tool calling, with a key;
/// saved unverified and activated in the database (activation's live check is not what
/// this tests).
async fn active_custom_without_tools(app: &TestApp, org: &Org, ada: &User) -> String {
    let p = ops::create_provider(
        &app.state,
        &admin(ada, org),
        ProviderInput {
            kind: ProviderKind::Custom,
            name: "vLLM".to_owned(),
            default_model: "llama-3.1-8b".to_owned(),
            base_url: Some("http://127.0.0.1:9/v1".to_owned()),
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::New(SecretString::from("vllm-CANARY-local-key-0001".to_owned())),
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .unwrap();
    let mut conn = app.db().await;
    provider::set_active(&mut conn, org.id, Some(&p.id), None, Utc::now())
        .await
        .unwrap();
    p.id
}

async fn set_policy(app: &TestApp, org: &Org, policy: &str) {
    let mut conn = app.db().await;
    diesel::update(org_ai_settings::table.find(org.id))
        .set((
            org_ai_settings::routing_policy.eq(policy),
            org_ai_settings::lock_version.eq(org_ai_settings::lock_version + 1),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn strict_fails_closed_for_tool_use_on_a_provider_without_it() {
    let (app, org, ada, _) = app_with_org().await;
    let id = active_custom_without_tools(&app, &org, &ada).await;
    let resolver = release_token(&app, &org, &ada).await;

    set_policy(&app, &org, "strict").await;
    let res = get(&app, &resolver, "?feature=assistant").await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["cache-control"], "no-store");
    // SDKs retry a 409 unless told not to: a strict refusal is final until an admin acts.
    assert_eq!(res.headers()["x-should-retry"], "false");
    let text = res.text().await.unwrap();
    assert!(!text.contains("vllm-CANARY"), "no key with a refusal");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["reasonCode"], "strict_unavailable", "{body}");
    assert_eq!(body["error"]["askAgain"], false, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("assistant") && message.contains("policy strict"),
        "{message}"
    );
    assert!(released(&app).await.is_empty(), "nothing released");

    // A plain feature still runs on the org's provider, with its key.
    let body: Value = get(&app, &resolver, "?feature=summaries")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["servedBy"], "byo");
    assert_eq!(body["provider"]["id"], id.as_str());
    assert_eq!(body["provider"]["baseUrl"], "http://127.0.0.1:9/v1");
    assert_eq!(body["credential"]["apiKey"], "vllm-CANARY-local-key-0001");

    // Fallback: the platform serves tool use, and the answer carries no key at all.
    set_policy(&app, &org, "fallback").await;
    let res = get(&app, &resolver, "?feature=assistant").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["servedBy"], "platform");
    assert_eq!(body["reasonCode"], "tools_fallback");
    assert!(body.get("credential").is_none() && body.get("provider").is_none());
    assert_eq!(released(&app).await.len(), 1, "only the summaries release");

    // Insights switched off: unavailable whatever the provider.
    let mut conn = app.db().await;
    diesel::update(org_ai_settings::table.find(org.id))
        .set(org_ai_settings::insights_enabled.eq(false))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        get(&app, &resolver, "?feature=insights").await.status(),
        409
    );
}

#[tokio::test]
async fn a_release_decided_on_settings_changed_since_writes_nothing() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let resolver = release_token(&app, &org, &ada).await;
    let caller = tokens::authenticate(&app.state, &resolver, Default::default())
        .await
        .unwrap();
    let mut conn = app.db().await;
    let (settings, route, provider, secret) =
        release::routing_inputs(&mut conn, org.id, "summaries")
            .await
            .unwrap()
            .unwrap();
    assert!(route.is_none(), "summaries inherits");
    let provider = provider.unwrap();
    assert_eq!(provider.id, id);
    let secret_id = secret.map(|s| s.id).unwrap();
    assert_eq!(Some(&secret_id), provider.secret_id.as_ref());
    let read = release::ReadAt {
        org_id: org.id,
        settings_version: settings.lock_version,
        feature: "summaries",
        route_version: None,
        provider_id: &provider.id,
        provider_version: provider.lock_version,
        secret_id: &secret_id,
    };
    let &Actor::Token { id: token_id, .. } = &caller.actor else {
        unreachable!("a token's caller")
    };
    // Each attempt its own hour, so a held read always inserts a new bucket.
    let mut hour = release::hour_of(Utc::now());
    let mut bucket = || {
        hour += chrono::TimeDelta::hours(1);
        release::ReleaseKey {
            token_id,
            secret_id: secret_id.clone(),
            hour,
        }
    };

    let event = || {
        audit::event(
            &caller,
            Action::CredentialReleased,
            Target::Provider(id.clone()),
            None,
            None,
        )
    };

    // Deactivated between the read and the insert: nothing is appended.
    ops::deactivate(&app.state, &admin(&ada, &org))
        .await
        .unwrap();
    let written = release::record_release(&mut conn, &event(), read, &bucket())
        .await
        .unwrap();
    assert!(!written.held && !written.appended);
    // Active again, but the settings row moved on: still nothing.
    ops::activate_provider(&app.state, &admin(&ada, &org), &id)
        .await
        .unwrap();
    assert!(
        !release::record_release(&mut conn, &event(), read, &bucket())
            .await
            .unwrap()
            .held
    );
    assert!(released(&app).await.is_empty());
    // Read again: now it holds.
    let (settings, _, provider, _) = release::routing_inputs(&mut conn, org.id, "summaries")
        .await
        .unwrap()
        .unwrap();
    let provider = provider.unwrap();
    let fresh = release::ReadAt {
        settings_version: settings.lock_version,
        provider_version: provider.lock_version,
        ..read
    };
    let written = release::record_release(&mut conn, &event(), fresh, &bucket())
        .await
        .unwrap();
    assert!(written.held && written.appended);
    assert_eq!(released(&app).await.len(), 1);
    // A feature route written since the read (here: summaries turned off) also stops it.
    ops::set_feature_route(
        &app.state,
        &admin(&ada, &org),
        ops::SetRoute {
            feature: switchboard::routing::Feature::Summaries,
            choice: ops::RouteChoice::Off,
            lock_version: 0,
        },
    )
    .await
    .unwrap();
    assert!(
        !release::record_release(&mut conn, &event(), fresh, &bucket())
            .await
            .unwrap()
            .held
    );
    assert_eq!(released(&app).await.len(), 1);
}
