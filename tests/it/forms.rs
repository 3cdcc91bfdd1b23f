//! Forms that help (issue 18) over HTTP, without a browser: a failed save keeps the typed
//! key as a sealed draft that the next save uses (and drops); expired, foreign and
//! re-targeted drafts ask for the key again; "Load models" lists a wiremock endpoint's
//! models through the egress guard, never sends a stored key to a changed base URL, and
//! fails with the check taxonomy; the same list over REST and MCP, cached. No answer, log
//! line or table holds the key. (The same in Chromium: `browser_forms`.)

use std::time::Duration;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use serde_json::{Value, json};
use switchboard::{
    db::schema::{audit_events, key_drafts, providers, secrets},
    ops::Scope,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    api::{http, token},
    canary::{log_capture, scan, spellings},
    helpers::{PASSWORD, TestApp, client},
    provider_ops::app_with_org,
};

const TAB: &str = "/orgs/acme/settings/ai/provider";
const CREATE: &str = "/orgs/acme/settings/ai/providers";
const NEW_MODELS: &str = "/orgs/acme/settings/ai/provider/models";
/// An OpenAI key the mock accepts: a canary that must never come back.
pub const OPENAI_KEY: &str = "sk-CANARY-forms-0123456789abcdefWXYZ";
/// The model only the mock lists (no catalog names it).
pub const MOCK_ONLY: &str = "mock-only-model-7b";

/// An OpenAI-compatible endpoint: `GET /models` lists `MOCK_ONLY` and `gpt-4o` for
/// `key` (any caller when `None`); 401 for any other key.
pub async fn models_mock(key: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o", "object": "model"},
        {"id": MOCK_ONLY, "object": "model"},
    ]});
    let listed = Mock::given(method("GET")).and(path("/models"));
    let listed = match key {
        Some(key) => listed.and(header("authorization", format!("Bearer {key}").as_str())),
        None => listed,
    };
    listed
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/models"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                      "code": "invalid_api_key"}})))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// The add form of an OpenAI provider at `server` with `model` and `key`.
fn openai_form<'a>(server: &'a str, model: &'a str, key: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("kind", "openai"),
        ("name", "GPT"),
        ("default_model", model),
        ("base_url", server),
        ("api_key", key),
    ]
}

/// Every answer, headers and body, for the canary check at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    async fn keep(&mut self, res: reqwest::Response) -> (u16, String) {
        let status = res.status().as_u16();
        let headers = format!("{:?}", res.headers());
        let body = res.text().await.unwrap();
        self.0.push(format!("{headers}\n{body}"));
        (status, body)
    }

    fn assert_no_key(&self, key: &str) {
        for spelling in spellings(key) {
            for answer in &self.0 {
                assert!(
                    !answer.contains(&spelling),
                    "the key ({spelling}) in: {answer}"
                );
            }
        }
    }
}

/// The draft id in a form page.
fn draft_id(html: &str) -> Option<String> {
    let start = html.find("name=\"key_draft\" value=\"")? + 24;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_owned())
}

async fn drafts(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    key_drafts::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// `app_with_org` with ada logged in on `app.client`.
async fn admin_app(vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")];
    all.extend_from_slice(vars);
    let app = TestApp::spawn_with(&all).await;
    let ada = app.create_user("ada@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    use switchboard::models::membership::Role;
    app.create_org("acme", &[(&ada, Role::Admin), (&mia, Role::Member)])
        .await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    app
}

#[tokio::test]
async fn a_failed_save_keeps_the_key_and_the_next_save_uses_it_once() {
    let logs = log_capture();
    let app = admin_app(&[]).await;
    let server = models_mock(Some(OPENAI_KEY)).await;
    let uri = server.uri();
    let mut seen = Seen::default();

    // A wrong model: the check fails, the key is kept, never shown.
    let res = app
        .post_form(
            &app.client,
            TAB,
            CREATE,
            &openai_form(&uri, "gpt-4o-typo", OPENAI_KEY),
        )
        .await;
    let (status, html) = seen.keep(res).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("model_not_found"), "{html}");
    assert!(
        html.contains("Using the key you typed (…WXYZ) — replace"),
        "{html}"
    );
    let draft = draft_id(&html).expect("the form names the draft");
    assert!(draft.starts_with("kdr_"));
    assert_eq!(drafts(&app).await, 1);
    // The required marks are in the markup; with a draft the key field is not required.
    assert!(
        html.contains("id=\"pf-name\" name=\"name\" type=\"text\" value=\"GPT\" required"),
        "{html}"
    );
    assert!(!html.contains("id=\"pf-api_key\" name=\"api_key\" type=\"password\" required"));

    // Fix only the model; the key field stays blank: the draft is used, then dropped.
    let mut form = openai_form(&uri, "gpt-4o", "");
    form.push(("key_draft", &draft));
    let (status, _) = seen
        .keep(app.post_form(&app.client, TAB, CREATE, &form).await)
        .await;
    assert_eq!(status, 303);
    assert_eq!(drafts(&app).await, 0, "dropped on use");
    let mut conn = app.db().await;
    let previews: Vec<String> = secrets::table
        .select(secrets::preview)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(previews, ["sk-...WXYZ"], "sealed into one secret");
    let actions: Vec<String> = audit_events::table
        .select(audit_events::action)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(actions, ["provider.created"], "the draft is not audited");

    // Used once: the same draft again is gone, and says to type the key again.
    let mut again = openai_form(&uri, "gpt-4o", "");
    again[1] = ("name", "GPT 2");
    again.push(("key_draft", &draft));
    let (status, html) = seen
        .keep(app.post_form(&app.client, TAB, CREATE, &again).await)
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("type the key again"), "{html}");
    assert!(draft_id(&html).is_none());

    // The new-form page shows the key field required (openai needs a key).
    let (_, page) = seen
        .keep(
            app.get(
                &app.client,
                "/orgs/acme/settings/ai/provider/new?kind=openai",
            )
            .await,
        )
        .await;
    assert!(
        page.contains("name=\"api_key\" type=\"password\" required"),
        "{page}"
    );

    let stored = scan(&app).await;
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for spelling in spellings(OPENAI_KEY) {
        assert!(!stored.contains(&spelling), "the key in the database");
        assert!(!logged.contains(&spelling), "the key in the logs");
    }
    seen.assert_no_key(OPENAI_KEY);
}

#[tokio::test]
async fn expired_foreign_and_retargeted_drafts_ask_for_the_key_again() {
    let app = admin_app(&[]).await;
    let server = models_mock(Some(OPENAI_KEY)).await;
    let other = models_mock(None).await;
    let (uri, other_uri) = (server.uri(), other.uri());
    let fail = openai_form(&uri, "gpt-4o-typo", OPENAI_KEY);
    async fn keep(app: &TestApp, fail: &[(&str, &str)]) -> String {
        let html = app
            .post_form(&app.client, TAB, CREATE, fail)
            .await
            .text()
            .await
            .unwrap();
        draft_id(&html).expect("a draft")
    }

    // Expired: the app's clock moves 16 minutes on.
    let draft = keep(&app, &fail).await;
    app.clock.advance(Duration::from_secs(16 * 60));
    let mut form = openai_form(&uri, "gpt-4o", "");
    form.push(("key_draft", &draft));
    let res = app.post_form(&app.client, TAB, CREATE, &form).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("has expired; type the key again"), "{html}");
    assert!(
        html.contains("name=\"api_key\" type=\"password\" required"),
        "{html}"
    );
    assert_eq!(drafts(&app).await, 0, "an expired draft is dropped");

    // Foreign: another session of the same admin can't use it, and doesn't drop it.
    let draft = keep(&app, &fail).await;
    let elsewhere = client();
    app.login(&elsewhere, "ada@acme.test", PASSWORD).await;
    let mut form = openai_form(&uri, "gpt-4o", "");
    form.push(("key_draft", &draft));
    let res = app.post_form(&elsewhere, TAB, CREATE, &form).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("type the key again"));
    assert_eq!(drafts(&app).await, 1, "not another session's to drop");
    // Nor another form of the same session (the edit form of a provider).
    let mut conn = app.db().await;
    let res = app
        .post_form(&app.client, TAB, CREATE, &{
            let mut f = openai_form(&uri, "gpt-4o", OPENAI_KEY);
            f[1] = ("name", "Saved");
            f
        })
        .await;
    assert_eq!(res.status(), 303);
    let (id, version): (String, i32) = providers::table
        .select((providers::id, providers::lock_version))
        .first(&mut conn)
        .await
        .unwrap();
    let version = version.to_string();
    let mut edit = openai_form(&uri, "gpt-4o", "");
    edit[1] = ("name", "Saved");
    edit.push(("key_draft", &draft));
    edit.push(("lock_version", &version));
    let edit_path = format!("{CREATE}/{id}");
    let res = app.post_form(&app.client, TAB, &edit_path, &edit).await;
    // The edit form's own stored key would do, but the draft named is refused.
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("type the key again"));

    // Re-targeted: another base URL drops the draft; its mock never sees the key.
    let mut moved = openai_form(&other_uri, "gpt-4o", "");
    moved.push(("key_draft", &draft));
    let res = app.post_form(&app.client, TAB, CREATE, &moved).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(
        "The kind or base URL changed, so the key you typed for the old one was dropped"
    ));
    assert_eq!(drafts(&app).await, 0);
    assert!(other.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn load_models_lists_the_endpoint_and_keeps_the_typed_key() {
    let app = admin_app(&[]).await;
    let server = models_mock(Some(OPENAI_KEY)).await;
    let uri = server.uri();
    let mut seen = Seen::default();

    // The model field may be blank; the typed key is kept for the form that comes back.
    let (status, html) = seen
        .keep(
            app.post_form(
                &app.client,
                TAB,
                NEW_MODELS,
                &openai_form(&uri, "", OPENAI_KEY),
            )
            .await,
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("<option value=\"{MOCK_ONLY}\">")),
        "{html}"
    );
    assert!(
        html.contains("Loaded 2 models from the endpoint."),
        "{html}"
    );
    assert!(html.contains("id=\"provider-load-models\""));
    let draft = draft_id(&html).expect("the typed key is kept");

    // With htmx: the fragment, from the draft this time.
    let token = app.csrf(&app.client, TAB).await;
    let mut form = openai_form(&uri, "", "");
    form.push(("key_draft", &draft));
    let res = app
        .client
        .post(app.url(NEW_MODELS))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &token)
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, html) = seen.keep(res).await;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("<html"), "a fragment");
    assert!(html.contains(MOCK_ONLY));
    assert_eq!(
        draft_id(&html).as_deref(),
        Some(draft.as_str()),
        "the draft stays"
    );

    // A wrong key: auth_rejected, and nothing kept.
    let (status, html) = seen
        .keep(
            app.post_form(
                &app.client,
                TAB,
                NEW_MODELS,
                &openai_form(&uri, "", "sk-CANARY-wrong-key-0000000000"),
            )
            .await,
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("t load models: auth_rejected"), "{html}");
    assert!(draft_id(&html).is_none());
    // Azure lists no models: no button.
    let page = app
        .get(
            &app.client,
            "/orgs/acme/settings/ai/provider/new?kind=azure",
        )
        .await
        .text()
        .await
        .unwrap();
    // (The form's hx-disabled-elt names the button's id whether or not it is there.)
    assert!(!page.contains("id=\"provider-load-models\""));
    seen.assert_no_key(OPENAI_KEY);
    seen.assert_no_key("sk-CANARY-wrong-key-0000000000");
}

#[tokio::test]
async fn a_stored_key_is_never_sent_to_a_changed_base_url() {
    let app = admin_app(&[]).await;
    let home = models_mock(Some(OPENAI_KEY)).await;
    let elsewhere = models_mock(None).await;
    // A self-hosted provider (key optional) and an OpenAI one, both with the key stored.
    for (kind, name) in [("custom", "Local"), ("openai", "GPT")] {
        let home_uri = home.uri();
        let form = vec![
            ("kind", kind),
            ("name", name),
            ("default_model", "gpt-4o"),
            ("base_url", home_uri.as_str()),
            ("api_key", OPENAI_KEY),
        ];
        assert_eq!(
            app.post_form(&app.client, TAB, CREATE, &form)
                .await
                .status(),
            303
        );
    }
    let mut conn = app.db().await;
    let saved: Vec<(String, String, i32)> = providers::table
        .order(providers::name.asc())
        .select((providers::kind, providers::id, providers::lock_version))
        .load(&mut conn)
        .await
        .unwrap();
    let elsewhere_uri = elsewhere.uri();
    for (kind, id, version) in &saved {
        let version = version.to_string();
        let action = format!("{CREATE}/{id}/models");
        // Unchanged: the stored key goes home.
        let home_uri = home.uri();
        let form = vec![
            ("kind", kind.as_str()),
            ("name", "x"),
            ("default_model", ""),
            ("base_url", home_uri.as_str()),
            ("lock_version", version.as_str()),
        ];
        let res = app.post_form(&app.client, TAB, &action, &form).await;
        assert_eq!(res.status(), 200, "{kind}");
        assert!(res.text().await.unwrap().contains(MOCK_ONLY));
        // Changed base URL: never the stored key.
        let mut moved = form.clone();
        moved[3] = ("base_url", elsewhere_uri.as_str());
        let res = app.post_form(&app.client, TAB, &action, &moved).await;
        let html = res.text().await.unwrap();
        match kind.as_str() {
            // A key is optional here: listed without one.
            "custom" => assert!(html.contains(MOCK_ONLY), "{html}"),
            _ => assert!(
                html.contains("enter the key again to load models"),
                "{html}"
            ),
        }
    }
    let requests = elsewhere.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "only the keyless listing reached the new URL"
    );
    for r in &requests {
        assert!(
            r.headers.get("authorization").is_none(),
            "a key went to the new URL"
        );
        let all = format!("{:?}", r.headers);
        assert!(!all.contains("CANARY"), "{all}");
    }
}

#[tokio::test]
async fn listings_fail_with_the_check_taxonomy() {
    // Checks time out after 1 s here; the slow mock takes 3.
    let app = admin_app(&[("SWITCHBOARD_CHECK_TIMEOUT", "1")]).await;
    let slow = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": []}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&slow)
        .await;
    let uri = slow.uri();
    let res = app
        .post_form(
            &app.client,
            TAB,
            NEW_MODELS,
            &openai_form(&uri, "", OPENAI_KEY),
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("load models: timeout"), "{html}");
    assert!(!html.contains("CANARY"));

    // Refused by the egress guard: a loopback spelling the default policy blocks.
    let closed = TestApp::spawn().await;
    let ada = closed.create_user("ada@acme.test", false).await;
    closed
        .create_org(
            "acme",
            &[(&ada, switchboard::models::membership::Role::Admin)],
        )
        .await;
    closed
        .login(&closed.client, "ada@acme.test", PASSWORD)
        .await;
    let res = closed
        .post_form(
            &closed.client,
            TAB,
            NEW_MODELS,
            &openai_form("http://127.0.0.1:9/v1", "", OPENAI_KEY),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("load models: blocked_address")
    );
}

/// The MCP tool's answer: `Ok(structuredContent)` or `Err(error body)`.
async fn mcp_call(
    app: &TestApp,
    token: &str,
    tool: &str,
    arguments: Value,
) -> Result<Value, Value> {
    let res = http()
        .post(app.url("/mcp"))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("CANARY"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let result = &body["result"];
    match result["isError"].as_bool() {
        Some(true) => {
            Err(serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap())
        }
        _ => Ok(result["structuredContent"].clone()),
    }
}

#[tokio::test]
async fn rest_and_mcp_list_a_saved_providers_models_cached() {
    let (app, org, ada, mia) = app_with_org().await;
    app.login(&app.client, "ada@acme.test", PASSWORD).await;
    let server = models_mock(Some(OPENAI_KEY)).await;
    let uri = server.uri();
    assert_eq!(
        app.post_form(
            &app.client,
            TAB,
            CREATE,
            &openai_form(&uri, "gpt-4o", OPENAI_KEY)
        )
        .await
        .status(),
        303
    );
    let mut conn = app.db().await;
    let id: String = providers::table
        .select(providers::id)
        .first(&mut conn)
        .await
        .unwrap();
    let tester = token(&app, &org, &ada, &[Scope::AiProvidersTest], None).await;
    let url = app.url(&format!("/api/v1/orgs/acme/providers/{id}/models"));
    let before = server.received_requests().await.unwrap().len();

    let res = http().get(&url).bearer_auth(&tester).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["providerId"], id.as_str());
    assert_eq!(
        first["models"],
        json!([{"id": "gpt-4o"}, {"id": MOCK_ONLY}])
    );
    assert_eq!(first["cached"], false);
    let again: Value = http()
        .get(&url)
        .bearer_auth(&tester)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["cached"], true);
    assert_eq!(again["fetchedAt"], first["fetchedAt"]);
    let mcp = mcp_call(&app, &tester, "list-provider-models", json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(mcp["models"], first["models"]);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        before + 1,
        "cached"
    );
    // A few minutes on, the list is fetched again.
    app.clock.advance(Duration::from_secs(6 * 60));
    let later: Value = http()
        .get(&url)
        .bearer_auth(&tester)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["cached"], false);

    // The scope is aiProviders:test (the key goes out, as in a check).
    let reader = token(
        &app,
        &org,
        &mia,
        &[Scope::AiProvidersGet, Scope::AiProvidersList],
        None,
    )
    .await;
    let res = http().get(&url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        mcp_call(&app, &reader, "list-provider-models", json!({"id": id}))
            .await
            .unwrap_err()["error"]["code"],
        "forbidden"
    );
    let res = http()
        .get(app.url("/api/v1/orgs/acme/providers/aip_01JZZZZZZZZZZZZZZZZZZZZZZZ/models"))
        .bearer_auth(&tester)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // The endpoint fails: the taxonomy code, as REST and as MCP.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .mount(&server)
        .await;
    app.clock.advance(Duration::from_secs(6 * 60));
    let res = http().get(&url).bearer_auth(&tester).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unreachable", "{body}");
    let err = mcp_call(&app, &tester, "list-provider-models", json!({"id": id}))
        .await
        .unwrap_err();
    assert_eq!(err["error"]["code"], "unreachable", "{err}");
    assert_eq!(err["error"]["status"], 422);
}
