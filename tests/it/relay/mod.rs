//! The relay (issue 21 item 1) over real HTTP: a service's SDK call goes through
//! `/relay/orgs/{org}/features/{feature}/…` to a hand-written upstream on loopback
//! ([`upstream::Upstream`]), with the provider's key injected and never shown.

mod calls;
mod health;
mod refusals;
mod sdks;

mod troubles;
pub mod upstream;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use secrecy::SecretString;
use switchboard::{
    db::schema::org_ai_settings,
    models::{membership::Role, org::Org, user::User},
    ops::{
        Access, Caller, RequestMeta, Scope,
        providers::{self as ops, KeyInput, ProviderInput, extra_headers::HeadersInput},
    },
    providers::ProviderKind,
};

use crate::helpers::TestApp;

/// The provider's key: it must never show in an answer, a log line or the database.
pub const KEY: &str = "sk-ant-CANARY-relay-7f3a9c1e5b2d4f6a8c0e1357WXYZ";

/// A relay test's world: org `acme` (admin ada) whose active provider is at `upstream`,
/// and org `other` (admin bob).
pub struct World {
    pub app: TestApp,
    pub org: Org,
    pub ada: User,
    pub bob: User,
    pub provider_id: String,
}

/// What the provider looks like.
pub struct Kind {
    pub kind: ProviderKind,
    pub model: &'static str,
    pub deployment: Option<&'static str>,
    pub key: Option<&'static str>,
    /// A gateway's extra headers (name, value).
    pub headers: &'static [(&'static str, &'static str)],
}

impl Kind {
    pub fn openai() -> Self {
        Self {
            kind: ProviderKind::Custom,
            model: "gpt-relay",
            deployment: None,
            key: Some(KEY),
            headers: &[],
        }
    }

    /// An API gateway (OpenAI-compatible) with extra headers.
    pub fn gateway(headers: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            kind: ProviderKind::Gateway,
            model: "gpt-relay",
            deployment: None,
            key: Some(KEY),
            headers,
        }
    }
}

/// Starts the app (with `vars`; loopback allowed unless `vars` say otherwise) with an
/// active provider of `kind` at `base_url`.
pub async fn world(vars: &[(&str, &str)], kind: Kind, base_url: &str) -> World {
    let mut all = vec![("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")];
    for (k, v) in vars {
        all.retain(|(key, _)| key != k);
        all.push((k, v));
    }
    let app = TestApp::spawn_with(&all).await;
    let ada = app.create_user("ada@acme.test", false).await;
    let bob = app.create_user("bob@other.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    app.create_org("other", &[(&bob, Role::Admin)]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let caller = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    let p = ops::create_provider(
        &app.state,
        &caller,
        ProviderInput {
            kind: kind.kind,
            name: "Upstream".to_owned(),
            default_model: kind.model.to_owned(),
            base_url: Some(base_url.to_owned()),
            deployment: kind.deployment.map(str::to_owned),
            api_version: kind.deployment.map(|_| "2024-10-21".to_owned()),
            region: (kind.kind == ProviderKind::Bedrock).then(|| "us-east-1".to_owned()),
            supports_tools: true,
            key: match kind.key {
                Some(k) => KeyInput::New(SecretString::from(k.to_owned())),
                None => KeyInput::Keep,
            },
            extra_headers: HeadersInput {
                set: kind
                    .headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), SecretString::from((*v).to_owned())))
                    .collect(),
                ..Default::default()
            },
            save_unverified: true,
        },
    )
    .await
    .expect("create provider");
    activate(&app, &org, Some(&p.id)).await;
    World {
        app,
        org,
        ada,
        bob,
        provider_id: p.id,
    }
}

/// Makes `provider` the org's active one (`None`: the platform default), as activation
/// leaves it (without its live check, which tests of other things don't need).
pub async fn activate(app: &TestApp, org: &Org, provider: Option<&str>) {
    let mut conn = app.db().await;
    diesel::update(org_ai_settings::table.filter(org_ai_settings::org_id.eq(org.id)))
        .set((
            org_ai_settings::active_provider_id.eq(provider.map(str::to_owned)),
            org_ai_settings::lock_version.eq(org_ai_settings::lock_version + 1),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
}

impl World {
    /// A token of ada's in acme with `scopes`.
    pub async fn token(&self, scopes: &[Scope]) -> String {
        crate::api::token(&self.app, &self.org, &self.ada, scopes, None).await
    }

    /// A relay token of acme's.
    pub async fn relay_token(&self) -> String {
        self.token(&[Scope::AiRelay]).await
    }

    /// The relay URL of `feature` in acme (an SDK's base URL).
    pub fn base(&self, feature: &str) -> String {
        self.app
            .url(&format!("/relay/orgs/acme/features/{feature}"))
    }
}

/// A client that follows nothing.
pub fn http() -> reqwest::Client {
    crate::api::http()
}

/// Asserts an answer of the relay's own: `status`, `x-should-retry: false`, the API's JSON
/// error shape; returns the body.
pub async fn refused(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status(), status, "{:?}", res.headers());
    assert_eq!(res.headers()["x-should-retry"], "false");
    let text = res.text().await.unwrap();
    assert!(!text.contains(KEY), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

/// An OpenAI chat request naming `model`.
pub fn chat(model: &str, stream: bool) -> String {
    serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "line one\nline two"}],
    })
    .to_string()
}
