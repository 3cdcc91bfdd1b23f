//! Every endpoint × every kind of caller ⇒ the status it must get. The table is written out
//! by hand (not computed from the scopes), so a change in who may do what shows up here.
//!
//! Columns: an admin's token with every scope; a member's token (its creator is a member,
//! so it carries the read scopes); an admin token of another org; an expired token; a
//! revoked token; an admin's token with every scope but the one the endpoint needs; no
//! token at all. Within a row the refusals run first and the admin last, so only the admin
//! changes anything.

use crate::api::traffic::SendChecked as _;
use chrono::TimeDelta;
use serde_json::{Value, json};
use switchboard::{
    models::membership::Role,
    ops::{
        Caller, Scope,
        providers::{self, KeyInput},
        skills::{self, SkillInput},
        tokens,
    },
};

use super::{all_scopes, app_with_org, http, token};
use crate::provider_ops::{GOOD_KEY, anthropic, anthropic_mock};

/// (method, path, body, the scope it needs, admin, member, other org, expired, revoked,
/// missing scope, no token).
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<Scope>,
    [u16; 7],
);

const ROWS: &[Row] = &[
    (
        "GET",
        "/api/v1/openapi.json",
        None,
        None,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/catalog",
        None,
        None,
        [200, 200, 200, 401, 401, 200, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/providers",
        None,
        Some(Scope::AiProvidersList),
        [200, 200, 404, 401, 401, 403, 401],
    ),
    (
        "POST",
        "/api/v1/orgs/acme/providers",
        Some("create"),
        Some(Scope::AiProvidersCreate),
        [201, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/providers/{p1}",
        None,
        Some(Scope::AiProvidersGet),
        [200, 200, 404, 401, 401, 403, 401],
    ),
    (
        "PATCH",
        "/api/v1/orgs/acme/providers/{p1}",
        Some(r#"{"name": "Renamed"}"#),
        Some(Scope::AiProvidersUpdate),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "POST",
        "/api/v1/orgs/acme/providers/{p1}/test",
        None,
        Some(Scope::AiProvidersTest),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "POST",
        "/api/v1/orgs/acme/providers/{p1}/activate",
        None,
        Some(Scope::AiProvidersActivate),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/ai/route?feature=summaries",
        None,
        Some(Scope::AiResolve),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "POST",
        "/api/v1/orgs/acme/providers/deactivate",
        None,
        Some(Scope::AiProvidersActivate),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "DELETE",
        "/api/v1/orgs/acme/providers/{p2}",
        None,
        Some(Scope::AiProvidersDelete),
        [204, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/ai-settings",
        None,
        Some(Scope::SettingsGet),
        [200, 200, 404, 401, 401, 403, 401],
    ),
    (
        "PATCH",
        "/api/v1/orgs/acme/ai-settings",
        Some(r#"{"insightsEnabled": true}"#),
        Some(Scope::SettingsUpdate),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/skills",
        None,
        Some(Scope::SkillsList),
        [200, 200, 404, 401, 401, 403, 401],
    ),
    (
        "POST",
        "/api/v1/orgs/acme/skills",
        Some(
            r#"{"name": "Tone", "description": "", "instructions": "Be brief.", "enabled": true}"#,
        ),
        Some(Scope::SkillsCreate),
        [201, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/skills/{s1}",
        None,
        Some(Scope::SkillsGet),
        [200, 200, 404, 401, 401, 403, 401],
    ),
    (
        "PATCH",
        "/api/v1/orgs/acme/skills/{s1}",
        Some(r#"{"enabled": false}"#),
        Some(Scope::SkillsUpdate),
        [200, 403, 404, 401, 401, 403, 401],
    ),
    (
        "DELETE",
        "/api/v1/orgs/acme/skills/{s2}",
        None,
        Some(Scope::SkillsDelete),
        [204, 403, 404, 401, 401, 403, 401],
    ),
    (
        "GET",
        "/api/v1/orgs/acme/audit-events",
        None,
        Some(Scope::AuditRead),
        [200, 403, 404, 401, 401, 403, 401],
    ),
];

const COLUMNS: [&str; 7] = [
    "admin",
    "member",
    "other org",
    "expired",
    "revoked",
    "missing scope",
    "no token",
];

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_the_table_says() {
    let (app, org, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    let operator = Caller::operator(Some(org.clone()));
    let p1 = providers::create_provider(
        &app.state,
        &operator,
        anthropic("First", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap()
    .id;
    let p2 = providers::create_provider(
        &app.state,
        &operator,
        anthropic("Second", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap()
    .id;
    let skill = |name: &str| SkillInput {
        name: name.to_owned(),
        description: String::new(),
        instructions: "Answer in English.".to_owned(),
        enabled: true,
    };
    let s1 = skills::create_skill(&app.state, &operator, skill("One"))
        .await
        .unwrap()
        .id;
    let s2 = skills::create_skill(&app.state, &operator, skill("Two"))
        .await
        .unwrap()
        .id;
    let create = json!({
        "name": "Third", "provider": "anthropic", "defaultModel": "claude-sonnet-4-20250514",
        "baseUrl": server.uri(), "apiKey": GOOD_KEY,
    })
    .to_string();

    let bob = app.create_user("bob@other.test", false).await;
    app.create_org("other", &[(&bob, Role::Admin)]).await;
    let mut conn = app.db().await;
    let other_org = switchboard::models::org::Org::find_by_slug(&mut conn, "other")
        .await
        .unwrap()
        .unwrap();
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let member_scopes: Vec<Scope> = all_scopes()
        .into_iter()
        .filter(|s| switchboard::ops::Access::Member.scopes().contains(*s))
        .collect();
    let member = token(&app, &org, &mia, &member_scopes, None).await;
    let other = token(&app, &other_org, &bob, &all_scopes(), None).await;
    let expired = token(&app, &org, &ada, &all_scopes(), Some(TimeDelta::minutes(5))).await;
    let revoked = token(&app, &org, &ada, &all_scopes(), None).await;
    let listed = tokens::list_tokens(&app.state, &operator).await.unwrap();
    tokens::revoke_token(&app.state, &operator, listed[0].id)
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_secs(600));

    let c = http();
    let mut failures = Vec::new();
    for (method, path, body, scope, expected) in ROWS {
        let path = path
            .replace("{p1}", &p1)
            .replace("{p2}", &p2)
            .replace("{s1}", &s1)
            .replace("{s2}", &s2);
        let missing = token(
            &app,
            &org,
            &ada,
            &all_scopes()
                .into_iter()
                .filter(|s| Some(*s) != *scope)
                .collect::<Vec<_>>(),
            None,
        )
        .await;
        let body = body.map(|b| match b {
            "create" => create.clone(),
            b => b.to_owned(),
        });
        let callers = [
            Some(&member),
            Some(&other),
            Some(&expired),
            Some(&revoked),
            Some(&missing),
            None,
            Some(&admin),
        ];
        let columns = [1, 2, 3, 4, 5, 6, 0];
        for (caller, column) in callers.into_iter().zip(columns) {
            let mut req = c.request(method.parse().unwrap(), app.url(&path));
            if let Some(t) = caller {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            let res = req.send_checked().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            assert!(
                !text.contains(GOOD_KEY) || path.contains("/ai/route"),
                "key in {method} {path}"
            );
            if status != expected[column] {
                failures.push(format!(
                    "{method} {path} as {}: {status}, expected {} ({text})",
                    COLUMNS[column], expected[column]
                ));
            }
            if status >= 400 && !path.ends_with("openapi.json") {
                let error: Value = serde_json::from_str(&text).unwrap_or_default();
                assert!(
                    error["error"]["code"].is_string() && error["error"]["message"].is_string(),
                    "{method} {path}: error body {text}"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
