//! The seed-compatible surfaces (DESIGN.md "Seed-compatible surfaces", issue 24 item 1),
//! driven exactly as the documents in `../shared/seeds/` show them: seed 001's AI Providers
//! Module (`/api/v1/ai-providers`, its field names, its permission names as token scopes,
//! its MCP tools taking `aiProviderId`) and seed 002's custom LLM providers
//! (`/api/v1/llm-providers…`, snake_case, `key_set`/`last4`, `{ "ok": true }`, 409/422) —
//! with `SWITCHBOARD_COMPAT_APIS=on`; every path 404 without it; tokens only; another org's
//! `projectId` a 404; the canary key in no answer.

use std::{collections::BTreeSet, process::Stdio};

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use reqwest::Method;
use serde_json::{Value, json};
use switchboard::{
    db::schema::api_tokens,
    models::{membership::Role, org::Org, user::User},
    ops::{
        Caller,
        providers::{self as ops, KeyInput, ProviderInput},
    },
    providers::ProviderKind,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path, query_param},
};

use super::{
    all_scopes,
    mcp::{Mcp, bodies},
    providers::{MEMBER_SCOPES, Recorder, counts},
    schemathesis::python_tools,
    token,
};
use crate::{
    helpers::{MASTER_KEYS, PASSWORD, TestApp, client},
    provider_ops::{BAD_KEY, GOOD_KEY, anthropic, anthropic_mock},
};

/// The switch, on.
const ON: (&str, &str) = ("SWITCHBOARD_COMPAT_APIS", "on");
/// An Azure key the Azure mock accepts (a canary too).
const AZURE_KEY: &str = "CANARY-azure-0123456789abcdef0123WXAZ";

/// `acme` (admin ada, member mia) and `beta` (admin bob), checks allowed to loopback, the
/// switch as given.
async fn two_orgs(
    switch: &[(&'static str, &'static str)],
) -> (TestApp, Org, User, User, Org, User) {
    let mut vars = vec![("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")];
    vars.extend_from_slice(switch);
    let app = TestApp::spawn_with(&vars).await;
    let ada = app.create_user("ada@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    let bob = app.create_user("bob@beta.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin), (&mia, Role::Member)])
        .await;
    app.create_org("beta", &[(&bob, Role::Admin)]).await;
    let mut conn = app.db().await;
    let acme = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let beta = Org::find_by_slug(&mut conn, "beta").await.unwrap().unwrap();
    (app, acme, ada, mia, beta, bob)
}

/// A recorder of answers under `/api/v1`.
fn api(app: &TestApp) -> Recorder {
    let mut api = Recorder::new(app);
    api.base = app.url("/api/v1");
    api
}

/// `switchboard token create` as an operator would run it: the token on stdout.
async fn cli_token(app: &TestApp, email: &str, scopes: &str) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["token", "create", "--org", "acme", "--email", email])
        .args(["--scopes", scopes, "--name", "seed client"])
        .env("DATABASE_URL", &app.db_url)
        .env("SWITCHBOARD_MASTER_KEYS", MASTER_KEYS)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run switchboard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The scopes stored for the newest token.
async fn stored_scopes(app: &TestApp) -> Vec<String> {
    let mut conn = app.db().await;
    api_tokens::table
        .order(api_tokens::id.desc())
        .select(api_tokens::scopes)
        .first(&mut conn)
        .await
        .unwrap()
}

/// The keys of a JSON object.
fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// 001's data model, field for field.
const AI_PROVIDER_FIELDS: [&str; 10] = [
    "id",
    "projectId",
    "secretId",
    "name",
    "provider",
    "defaultModel",
    "baseUrl",
    "config",
    "createdAt",
    "updatedAt",
];

#[tokio::test]
async fn the_ai_providers_module_works_as_its_document_shows() {
    let (app, acme, _ada, _mia, _beta, _bob) = two_orgs(&[ON]).await;
    let mock = anthropic_mock().await;
    let uri = mock.uri();

    // The document's permission names are scopes `token create` accepts, stored as the
    // canonical ones.
    let (code, admin, err) = cli_token(
        &app,
        "ada@acme.test",
        "aiProviders:ListAiProviders,aiProviders:GetAiProvider,aiProviders:CreateAiProvider,aiProviders:UpdateAiProvider,aiProviders:DeleteAiProvider",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        stored_scopes(&app).await,
        [
            "aiProviders:list",
            "aiProviders:get",
            "aiProviders:create",
            "aiProviders:update",
            "aiProviders:delete"
        ]
    );
    let (code, lister, err) = cli_token(&app, "ada@acme.test", "aiProviders:ListAiProviders").await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli_token(&app, "ada@acme.test", "aiProviders:FlyAiProviders").await;
    assert_eq!(code, 2, "an unknown name is still a usage error: {err}");
    let mut api = api(&app);

    // Create provider: 201, the data model exactly, projectId the org's slug.
    let body = json!({
        "projectId": "acme",
        "name": "Claude",
        "provider": "anthropic",
        "defaultModel": "claude-sonnet-4-20250514",
        "baseUrl": uri,
        "apiKey": GOOD_KEY,
    });
    let created = api
        .call(Method::POST, "/ai-providers", &admin, Some(body.clone()))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let p = created.body.clone();
    assert_eq!(keys(&p), AI_PROVIDER_FIELDS.into_iter().collect());
    let id = p["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("aip_"), "{id}");
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/ai-providers/{id}").as_str()
    );
    assert_eq!(p["projectId"], "acme");
    assert!(p["secretId"].as_str().unwrap().starts_with("sec_"), "{p}");
    assert_eq!(p["provider"], "anthropic");
    assert_eq!(p["defaultModel"], "claude-sonnet-4-20250514");
    assert_eq!(p["baseUrl"], uri.as_str());
    assert_eq!(p["config"], Value::Null, "anthropic takes no configuration");

    // The native rules hold: a key the provider refuses is a 422 and nothing is written;
    // a field the document doesn't have is a 400; another org's projectId a 404.
    let before = counts(&app).await;
    let mut bad = body.clone();
    bad["name"] = json!("Other");
    bad["apiKey"] = json!(BAD_KEY);
    let refused = api
        .call(Method::POST, "/ai-providers", &admin, Some(bad))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.error_code(), "unprocessable");
    let mut unknown = body.clone();
    unknown["colour"] = json!("blue");
    let refused = api
        .call(Method::POST, "/ai-providers", &admin, Some(unknown))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    for project in ["beta", "nowhere"] {
        let mut other = body.clone();
        other["projectId"] = json!(project);
        let refused = api
            .call(Method::POST, "/ai-providers", &admin, Some(other))
            .await;
        assert_eq!(refused.status, 404, "{project}: {}", refused.body);
        assert_eq!(refused.error_code(), "not_found");
    }
    let mut wrong_type = body.clone();
    wrong_type["projectId"] = json!(7);
    let refused = api
        .call(Method::POST, "/ai-providers", &admin, Some(wrong_type))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(counts(&app).await, before, "no refusal wrote anything");

    // List providers: a bare array; ?projectId= of another org is a 404.
    let listed = api.call(Method::GET, "/ai-providers", &lister, None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body, json!([p]));
    let listed = api
        .call(Method::GET, "/ai-providers?projectId=acme", &lister, None)
        .await;
    assert_eq!(listed.status, 200);
    let listed = api
        .call(Method::GET, "/ai-providers?projectId=beta", &lister, None)
        .await;
    assert_eq!(listed.status, 404);

    // Get a provider; the lister lacks GetAiProvider: 403 naming the scope.
    let got = api
        .call(Method::GET, &format!("/ai-providers/{id}"), &admin, None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, p);
    let refused = api
        .call(Method::GET, &format!("/ai-providers/{id}"), &lister, None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aiProviders:get"),
        "{}",
        refused.body
    );
    let refused = api
        .call(Method::POST, "/ai-providers", &lister, Some(body.clone()))
        .await;
    assert_eq!(refused.status, 403);
    let missing = api
        .call(
            Method::GET,
            "/ai-providers/aip_00000000000000000000000000",
            &admin,
            None,
        )
        .await;
    assert_eq!(missing.status, 404);

    // Update provider: partial; projectId may be sent but can't name another org; a new
    // baseUrl needs the key again (DESIGN rule 4).
    let path = format!("/ai-providers/{id}");
    let renamed = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"projectId": "acme", "name": "Claude (prod)"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Claude (prod)");
    assert_eq!(renamed.body["secretId"], p["secretId"], "the key stays");
    let moved = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"projectId": "beta", "name": "Stolen"})),
        )
        .await;
    assert_eq!(moved.status, 404);
    let redirected = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"baseUrl": "http://127.0.0.2:9"})),
        )
        .await;
    assert_eq!(redirected.status, 422, "{}", redirected.body);

    // The active provider: delete is a 409; PATCH keeps its rules (a refused check changes
    // nothing and it stays active); secretId: null unlinks the key and reverts the org.
    ops::activate_provider(&app.state, &Caller::operator(Some(acme.clone())), &id)
        .await
        .unwrap();
    let refused = api.call(Method::DELETE, &path, &admin, None).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.error_code(), "conflict");
    let refused = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"apiKey": BAD_KEY})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let unlinked = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"secretId": null})),
        )
        .await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.body);
    assert_eq!(unlinked.body["secretId"], Value::Null);
    let settings = ops::list_providers(&app.state, &Caller::operator(Some(acme.clone())))
        .await
        .unwrap();
    assert_eq!(
        settings.active, None,
        "removing the active key reverts the org"
    );

    // Delete provider: 204, then gone.
    let deleted = api.call(Method::DELETE, &path, &admin, None).await;
    assert_eq!(deleted.status, 204);
    let gone = api.call(Method::GET, &path, &admin, None).await;
    assert_eq!(gone.status, 404);

    api.assert_never_saw(GOOD_KEY);
    api.assert_never_saw(BAD_KEY);
    api.assert_never_saw("CANARY");
}

#[tokio::test]
async fn the_tokens_page_accepts_the_documents_permission_names() {
    let (app, _, _, _, _, _) = two_orgs(&[]).await;
    let browser = client();
    assert_eq!(
        app.login(&browser, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let page = "/orgs/acme/settings/tokens";
    let res = app
        .post_form(
            &browser,
            page,
            page,
            &[
                ("name", "seed client"),
                ("scope", "aiProviders:ListAiProviders"),
                ("scope", "aiProviders:GetAiProvider"),
                ("scope", "aiProviders:list"),
                ("expires", "30d"),
            ],
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    assert_eq!(
        stored_scopes(&app).await,
        ["aiProviders:list", "aiProviders:get"],
        "stored as the canonical scopes, each once"
    );
}

/// An Azure OpenAI deployment `gpt4o` on loopback: a chat completion for [`AZURE_KEY`] with
/// api-version 2024-10-21.
async fn azure_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt4o/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", AZURE_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "model": "gpt-4o",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "p"},
                         "finish_reason": "length"}]})))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_llm_providers_api_works_as_its_document_shows() {
    let (app, acme, ada, mia, _beta, _bob) = two_orgs(&[ON]).await;
    let mock = anthropic_mock().await;
    let azure = azure_mock().await;
    let uri = mock.uri();
    let admin = token(&app, &acme, &ada, &all_scopes(), None).await;
    let member = token(&app, &acme, &mia, &MEMBER_SCOPES, None).await;
    let operator = Caller::operator(Some(acme.clone()));
    let mut api = api(&app);

    // The catalog: the document's five kinds, their required fields and example models.
    let catalog = api
        .call(Method::GET, "/llm-providers/catalog", &member, None)
        .await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    let kinds: Vec<&str> = catalog
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "openai",
            "anthropic",
            "gemini",
            "azure",
            "openai_compatible"
        ]
    );
    let entry = |kind: &str| {
        catalog
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind)
            .unwrap()
            .clone()
    };
    assert_eq!(
        entry("azure")["required_fields"],
        json!([
            "kind",
            "name",
            "model",
            "api_key",
            "endpoint",
            "api_version"
        ])
    );
    assert_eq!(
        entry("openai")["required_fields"],
        json!(["kind", "name", "model", "api_key"])
    );
    assert!(
        entry("openai_compatible")["required_fields"]
            .as_array()
            .unwrap()
            .contains(&json!("endpoint"))
    );
    assert!(
        !entry("gemini")["example_models"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // POST: required kind, name, model, api_key; key_set and last4, never the key.
    let claude = json!({
        "kind": "anthropic",
        "name": "Claude",
        "model": "claude-sonnet-4-20250514",
        "api_key": GOOD_KEY,
        "endpoint": uri,
    });
    let created = api
        .call(Method::POST, "/llm-providers", &admin, Some(claude.clone()))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let p = created.body.clone();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["kind"], "anthropic");
    assert_eq!(p["name"], "Claude");
    assert_eq!(p["model"], "claude-sonnet-4-20250514");
    assert_eq!(p["endpoint"], uri.as_str());
    assert_eq!(p["key_set"], true);
    assert_eq!(p["last4"], "WXYZ");
    assert_eq!(p["active"], false);
    assert!(
        p.get("api_key").is_none() && p.get("apiKey").is_none(),
        "{p}"
    );

    let before = counts(&app).await;
    // The body's form is a 400 (`api_key` is required by the document); what the kind
    // refuses of well-formed fields (no endpoint or API version for Azure) a 422, as
    // natively.
    for (body, status) in [
        (
            json!({"kind": "anthropic", "name": "No key", "model": "m", "endpoint": uri}),
            400,
        ),
        (
            json!({"kind": "bogus-sk-leak", "name": "x", "model": "m", "api_key": "k"}),
            400,
        ),
        (
            json!({"kind": "azure", "name": "Az", "model": "gpt-4o", "api_key": AZURE_KEY,
                   "api_version": "2024-10-21"}),
            422,
        ),
        (
            json!({"kind": "azure", "name": "Az", "model": "gpt-4o", "api_key": AZURE_KEY,
                   "endpoint": azure.uri()}),
            422,
        ),
        (
            json!({"kind": "anthropic", "name": "Bad", "model": "claude-sonnet-4-20250514",
                "api_key": BAD_KEY, "endpoint": uri}),
            422,
        ),
        (
            json!({"kind": "anthropic", "name": "x", "model": "m", "api_key": "k", "extra": 1}),
            400,
        ),
    ] {
        let refused = api
            .call(Method::POST, "/llm-providers", &admin, Some(body.clone()))
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.body);
        refused.error_code();
        assert!(
            !refused.body.to_string().contains("bogus-sk-leak"),
            "not echoed"
        );
    }
    assert_eq!(counts(&app).await, before, "no refusal wrote anything");

    // Azure with the deployment URL and api_version: checked live against the deployment.
    let az = api
        .call(
            Method::POST,
            "/llm-providers",
            &admin,
            Some(json!({
                "kind": "azure", "name": "Azure", "model": "gpt-4o", "api_key": AZURE_KEY,
                "endpoint": format!("{}/openai/deployments/gpt4o", azure.uri()),
                "api_version": "2024-10-21",
            })),
        )
        .await;
    assert_eq!(az.status, 201, "{}", az.body);
    assert_eq!(az.body["kind"], "azure");
    assert_eq!(
        az.body["endpoint"],
        format!("{}/openai/deployments/gpt4o", azure.uri()).as_str()
    );
    assert_eq!(az.body["api_version"], "2024-10-21");
    let az_id = az.body["id"].as_str().unwrap().to_owned();

    // GET: a bare array of every record; a member sees key_set but no last4 (rule 5).
    let listed = api.call(Method::GET, "/llm-providers", &admin, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(listed.body[0], p);
    let seen = api.call(Method::GET, "/llm-providers", &member, None).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body[0]["key_set"], true);
    assert!(seen.body[0].get("last4").is_none(), "{}", seen.body);

    // POST …/test: `{ "ok": true }`.
    let path = format!("/llm-providers/{id}");
    let tested = api
        .call(Method::POST, &format!("{path}/test"), &admin, None)
        .await;
    assert_eq!(
        (tested.status.as_u16(), tested.body.clone()),
        (200, json!({"ok": true}))
    );

    // PATCH: fields change; a new api_key rotates the key, checked live first (a refused
    // one is a 422 and nothing changes); a new endpoint needs the key again.
    let renamed = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"name": "Claude (prod)"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Claude (prod)");
    assert_eq!(renamed.body["last4"], "WXYZ");
    let refused = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"api_key": BAD_KEY})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let refused = api
        .call(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"endpoint": "http://127.0.0.2:9"})),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let refused = api
        .call(Method::PATCH, &path, &member, Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(refused.status, 403);

    // A provider whose key fails: test is 422 `{ok: false, error}`; activate is 422 and
    // changes nothing.
    let failing = ops::create_provider(
        &app.state,
        &operator,
        ProviderInput {
            save_unverified: true,
            ..anthropic("Stale", &mock, KeyInput::New(BAD_KEY.to_owned().into()))
        },
    )
    .await
    .unwrap();
    let failing_path = format!("/llm-providers/{}", failing.id);
    let tested = api
        .call(Method::POST, &format!("{failing_path}/test"), &admin, None)
        .await;
    assert_eq!(tested.status, 422, "{}", tested.body);
    assert_eq!(tested.body["ok"], false);
    assert!(
        tested.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        tested.body
    );
    assert_eq!(tested.body["code"], "auth_rejected");
    let refused = api
        .call(
            Method::POST,
            &format!("{failing_path}/activate"),
            &admin,
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);

    // Activate: exactly one active provider.
    let activated = api
        .call(Method::POST, &format!("{path}/activate"), &admin, None)
        .await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    assert_eq!(activated.body["active"], true);
    let activated = api
        .call(
            Method::POST,
            &format!("/llm-providers/{az_id}/activate"),
            &admin,
            None,
        )
        .await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    let listed = api.call(Method::GET, "/llm-providers", &admin, None).await;
    let active: Vec<&Value> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["id"], az_id.as_str());

    // DELETE: 409 while active; deactivate reverts to the defaults; then 204.
    let az_path = format!("/llm-providers/{az_id}");
    let refused = api.call(Method::DELETE, &az_path, &admin, None).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let deactivated = api
        .call(Method::POST, "/llm-providers/deactivate", &admin, None)
        .await;
    assert_eq!(deactivated.status, 200);
    assert_eq!(deactivated.body, json!({"ok": true, "changed": true}));
    let deleted = api.call(Method::DELETE, &az_path, &admin, None).await;
    assert_eq!(deleted.status, 204);
    let gone = api
        .call(Method::POST, &format!("{az_path}/test"), &admin, None)
        .await;
    assert_eq!(gone.status, 404);

    // Catalog kinds the document folds together: a Groq record is `openai_compatible`,
    // and sending that kind back is no change of kind (no key needed).
    let groq = ops::create_provider(
        &app.state,
        &operator,
        ProviderInput {
            kind: ProviderKind::Groq,
            name: "Groq".to_owned(),
            default_model: "llama-3.3-70b-versatile".to_owned(),
            base_url: None,
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::New("gsk_CANARY0123456789abcdefghij".to_owned().into()),
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .unwrap();
    let patched = api
        .call(
            Method::PATCH,
            &format!("/llm-providers/{}", groq.id),
            &admin,
            Some(json!({"kind": "openai_compatible"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["kind"], "openai_compatible");
    assert_eq!(patched.body["provider"], "groq");
    assert_eq!(
        patched.body["updated_at"],
        serde_json::to_value(groq.updated_at).unwrap(),
        "no change at all (not even a check)"
    );

    api.assert_never_saw(GOOD_KEY);
    api.assert_never_saw(BAD_KEY);
    api.assert_never_saw(AZURE_KEY);
    api.assert_never_saw("CANARY");
}

/// Every seed-compatible route, concrete.
const COMPAT_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/ai-providers"),
    ("post", "/api/v1/ai-providers"),
    ("get", "/api/v1/ai-providers/{aiProviderId}"),
    ("patch", "/api/v1/ai-providers/{aiProviderId}"),
    ("delete", "/api/v1/ai-providers/{aiProviderId}"),
    ("get", "/api/v1/llm-providers"),
    ("post", "/api/v1/llm-providers"),
    ("patch", "/api/v1/llm-providers/{id}"),
    ("delete", "/api/v1/llm-providers/{id}"),
    ("post", "/api/v1/llm-providers/{id}/activate"),
    ("post", "/api/v1/llm-providers/{id}/test"),
    ("post", "/api/v1/llm-providers/deactivate"),
    ("get", "/api/v1/llm-providers/catalog"),
];

fn concrete(path: &str) -> String {
    path.replace("{aiProviderId}", "aip_00000000000000000000000000")
        .replace("{id}", "aip_00000000000000000000000000")
}

async fn openapi(app: &TestApp) -> Value {
    super::http()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_the_switch_every_seed_path_is_404_and_undocumented() {
    let (app, acme, ada, _, _, _) = two_orgs(&[]).await;
    let admin = token(&app, &acme, &ada, &all_scopes(), None).await;
    for (m, p) in COMPAT_ROUTES {
        let res = super::http()
            .request(m.to_uppercase().parse().unwrap(), app.url(&concrete(p)))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{m} {p}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "no_endpoint", "{m} {p}");
    }
    let doc = openapi(&app).await;
    let text = doc["paths"].to_string();
    assert!(
        !text.contains("/api/v1/ai-providers") && !text.contains("/api/v1/llm-providers"),
        "off: not documented"
    );
}

#[tokio::test]
async fn with_the_switch_the_surfaces_take_tokens_only_and_only_their_orgs_records() {
    let (app, acme, ada, _, beta, bob) = two_orgs(&[ON]).await;
    let mock = anthropic_mock().await;
    let operator = Caller::operator(Some(acme.clone()));
    let view = ops::create_provider(
        &app.state,
        &operator,
        anthropic("Claude", &mock, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();

    // A logged-in console session (with its CSRF header) is refused: 401 on every route.
    let browser = client();
    assert_eq!(
        app.login(&browser, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let csrf = app.csrf(&browser, "/orgs/acme/settings/ai/provider").await;
    let mut api_session = Recorder::with_client(&app, browser.clone());
    api_session.base = app.url("");
    for (m, p) in COMPAT_ROUTES {
        let path = p
            .replace("{aiProviderId}", &view.id)
            .replace("{id}", &view.id);
        let res = api_session
            .send(
                api_session
                    .req(m.to_uppercase().parse().unwrap(), &path, None)
                    .header("x-csrf-token", &csrf)
                    .json(&json!({"name": "x"})),
            )
            .await;
        assert_eq!(res.status, 401, "{m} {path}: {}", res.body);
        assert_eq!(res.error_code(), "unauthenticated");
    }
    let native = api_session
        .send(api_session.req(Method::GET, "/api/v1/orgs/acme/providers", None))
        .await;
    assert_eq!(native.status, 200, "the native API still takes the session");

    // Another org's token sees none of acme's records, and can't name acme as its project.
    let other = token(&app, &beta, &bob, &all_scopes(), None).await;
    let mut api = api(&app);
    let listed = api.call(Method::GET, "/ai-providers", &other, None).await;
    assert_eq!(listed.body, json!([]));
    let listed = api.call(Method::GET, "/llm-providers", &other, None).await;
    assert_eq!(listed.body, json!([]));
    for (m, p) in [
        (Method::GET, format!("/ai-providers/{}", view.id)),
        (Method::PATCH, format!("/ai-providers/{}", view.id)),
        (Method::DELETE, format!("/ai-providers/{}", view.id)),
        (Method::PATCH, format!("/llm-providers/{}", view.id)),
        (Method::DELETE, format!("/llm-providers/{}", view.id)),
        (Method::POST, format!("/llm-providers/{}/test", view.id)),
        (Method::POST, format!("/llm-providers/{}/activate", view.id)),
    ] {
        let body = (m == Method::PATCH).then(|| json!({"name": "Mine"}));
        let res = api.call(m.clone(), &p, &other, body).await;
        assert_eq!(res.status, 404, "{m} {p}: {}", res.body);
    }
    let res = api
        .call(Method::GET, "/ai-providers?projectId=acme", &other, None)
        .await;
    assert_eq!(res.status, 404);
    let res = api
        .call(
            Method::POST,
            "/ai-providers",
            &other,
            Some(
                json!({"projectId": "acme", "name": "In", "provider": "anthropic",
                        "defaultModel": "m", "baseUrl": mock.uri(), "apiKey": GOOD_KEY}),
            ),
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.body);
    let still = ops::get_provider(&app.state, &operator, &view.id)
        .await
        .unwrap();
    assert_eq!(still.name, "Claude", "nothing changed");

    // The OpenAPI document lists both surfaces under their own tags, validates, and every
    // route it lists answers.
    let doc = openapi(&app).await;
    for (m, p) in COMPAT_ROUTES {
        let op = &doc["paths"][p][m];
        let tag = op["tags"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{m} {p}: {doc}"));
        let want = match p.contains("ai-providers") {
            true => "ai-providers (seed 001)",
            false => "llm-providers (seed 002)",
        };
        assert_eq!(tag, want, "{m} {p}");
        assert_eq!(
            op["responses"]["429"]["$ref"],
            "#/components/responses/TooManyRequests"
        );
    }
    for (path, link, param) in [
        ("/api/v1/ai-providers", "get_ai_provider", "aiProviderId"),
        ("/api/v1/llm-providers", "test_llm_provider", "id"),
    ] {
        let link = &doc["paths"][path]["post"]["responses"]["201"]["links"][link];
        assert_eq!(
            link["parameters"][param], "$response.body#/id",
            "{path}: {link}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = tokio::process::Command::new(python_tools().await.join("bin/openapi-spec-validator"))
        .arg(&file)
        .output()
        .await
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "the document with the seed surfaces does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = token(&app, &acme, &ada, &all_scopes(), None).await;
    for (m, p) in COMPAT_ROUTES {
        let res = super::http()
            .request(m.to_uppercase().parse().unwrap(), app.url(&concrete(p)))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        assert_ne!(body["error"]["code"], "no_endpoint", "{m} {p}: {status}");
        assert_ne!(status, 405, "{m} {p}");
    }
    api.assert_never_saw(GOOD_KEY);
    api_session.assert_never_saw(GOOD_KEY);
}

#[tokio::test]
async fn the_mcp_tools_take_ai_provider_id_as_the_module_names_it() {
    let (app, acme, ada, _, _, _) = two_orgs(&[]).await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &acme, &ada, &all_scopes(), None).await;
    let seen = bodies();
    let mcp = Mcp::new(&app, Some(&admin), seen);
    let created = mcp
        .ok(
            "create-ai-provider",
            json!({"name": "Claude", "provider": "anthropic",
                   "defaultModel": "claude-sonnet-4-20250514", "baseUrl": mock.uri(),
                   "apiKey": GOOD_KEY}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let got = mcp.ok("get-ai-provider", json!({"aiProviderId": id})).await;
    assert_eq!(got["name"], "Claude");
    let got = mcp.ok("get-ai-provider", json!({"id": id})).await;
    assert_eq!(got["name"], "Claude", "the first name still works");
    let updated = mcp
        .ok(
            "update-ai-provider",
            json!({"aiProviderId": id, "name": "Claude (prod)"}),
        )
        .await;
    assert_eq!(updated["name"], "Claude (prod)");
    let both = mcp
        .call("get-ai-provider", json!({"aiProviderId": id, "id": id}))
        .await
        .unwrap_err();
    assert_eq!(both["error"]["code"], "validation", "{both}");
    let deleted = mcp
        .ok("delete-ai-provider", json!({"aiProviderId": id}))
        .await;
    assert_eq!(deleted["deleted"], true);
    let tools = mcp.request("tools/list", json!({})).await;
    for name in [
        "get-ai-provider",
        "update-ai-provider",
        "delete-ai-provider",
        "test-ai-provider",
        "activate-ai-provider",
    ] {
        let tool = tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap();
        assert!(
            tool["inputSchema"]["required"]
                .as_array()
                .unwrap()
                .contains(&json!("aiProviderId")),
            "{tool}"
        );
    }
    for body in seen.lock().unwrap().iter() {
        assert!(!body.contains(GOOD_KEY), "{body}");
    }
}

/// schemathesis over the two surfaces alone, with the switch on (the project-wide run in
/// `schemathesis.rs` keeps the switch off): no server error, every answer documented.
#[tokio::test]
async fn schemathesis_finds_no_server_error_in_the_seed_surfaces() {
    let bin = python_tools().await.join("bin/schemathesis");
    let app = TestApp::spawn_with(&[
        ON,
        ("SWITCHBOARD_EGRESS_ALLOW", "none"),
        ("SWITCHBOARD_API_TOKEN_RATE", "0"),
        ("SWITCHBOARD_API_IP_RATE", "0"),
    ])
    .await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let acme = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let admin = token(&app, &acme, &ada, &all_scopes(), None).await;
    ops::create_provider(
        &app.state,
        &Caller::operator(Some(acme.clone())),
        ProviderInput {
            kind: ProviderKind::Openai,
            name: "Seeded".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: None,
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::New("sk-schemathesis-0000000000000000".to_owned().into()),
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .expect("seed a provider");
    let work = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(&bin)
        .current_dir(work.path())
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--url", &app.url("")])
        .args(["-H", &format!("Authorization: Bearer {admin}")])
        .args(["--include-path-regex", "^/api/v1/(ai|llm)-providers"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        // One worker: with two, CPython 3.11's parser, which hypothesis calls from each
        // worker thread to describe its strategies, now and then failed with "AST constructor
        // recursion depth mismatch" (a runtime error of the tool, not a finding).
        .args(["--max-examples", "20", "--workers", "1", "--seed", "11"])
        .args(["--generation-database", "none", "--no-color"])
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in ["/api/v1/ai-providers", "/api/v1/llm-providers"] {
        assert!(stdout.contains(path), "{path} not tested:\n{stdout}");
    }
}
