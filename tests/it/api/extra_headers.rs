//! Gateway extra headers (issue 24 item 4) through REST, MCP, the console and `keys
//! rotate`: names shown, values sealed and never in an answer, the audit trail, a log line
//! or a table in clear; sent by checks (the wiremock gateway only answers with them);
//! entered again after a base URL change; refused with a 400 when malformed, nothing written.

use std::process::Stdio;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use switchboard::{
    crypto::keyring::Keyring,
    db::schema::{providers, secrets},
    models::{membership::Role, org::Org},
    ops::{Access, Caller, RequestMeta, providers as ops},
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{
    all_scopes, app_with_org,
    mcp::{Mcp, bodies},
    providers::{Recorder, counts},
    token,
};
use crate::{
    canary::{log_capture, scan, spellings},
    helpers::{PASSWORD, TestApp},
};

/// The gateway's key (a canary).
const GW_KEY: &str = "gw-CANARY-key-0123456789abcdefWXYZ";
/// The tenant header value the gateway wants (a canary).
const TENANT: &str = "tenant-CANARY-4f1c9e7a2b3d5e6f";
/// A second header value (a canary).
const TEAM: &str = "team-CANARY-9a8b7c6d5e4f3a2b";
/// A value the gateway refuses, echoing it in its error body (a canary).
const ECHOED: &str = "echoed-CANARY-0a1b2c3d4e5f6a7b";

/// An OpenAI-compatible gateway on loopback: the model list only with the key and
/// `X-Tenant: TENANT`; a 403 that echoes the tenant for `X-Tenant: ECHOED`.
async fn gateway_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {GW_KEY}").as_str()))
        .and(header("x-tenant", TENANT))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "data": [{"id": "gpt-4o"}]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("x-tenant", ECHOED))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": {"message": format!("tenant {ECHOED} is not allowed here")}}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "missing tenant", "code": "invalid_api_key"}}),
        ))
        .with_priority(3)
        .mount(&server)
        .await;
    server
}

fn new_gateway(uri: &str, headers: Value) -> Value {
    json!({
        "provider": "gateway",
        "name": "Gateway",
        "defaultModel": "gpt-4o",
        "baseUrl": format!("{uri}/v1"),
        "apiKey": GW_KEY,
        "config": {"extraHeaders": headers, "supportsTools": true},
    })
}

/// How many requests `server` got carrying `x-tenant: value`.
async fn sent_with(server: &MockServer, name: &str, value: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers
                .get(name)
                .is_some_and(|v| v.as_bytes() == value.as_bytes())
        })
        .count()
}

async fn header_secrets(app: &TestApp) -> Vec<(Option<String>, serde_json::Value)> {
    let mut conn = app.db().await;
    providers::table
        .order(providers::created_at.asc())
        .select((providers::headers_secret_id, providers::config))
        .load(&mut conn)
        .await
        .unwrap()
}

fn assert_nowhere(text: &str, place: &str) {
    for value in [TENANT, TEAM, ECHOED] {
        for spelling in spellings(value) {
            assert!(!text.contains(&spelling), "{value} ({spelling}) in {place}");
        }
    }
}

#[tokio::test]
async fn rest_shows_names_sends_values_and_never_returns_them() {
    let logs = log_capture();
    let (app, _org, ada, mia) = app_with_org().await;
    let admin = token(&app, &_org, &ada, &all_scopes(), None).await;
    let member = token(&app, &_org, &mia, &super::providers::MEMBER_SCOPES, None).await;
    let server = gateway_mock().await;
    let uri = server.uri();
    let mut api = Recorder::new(&app);

    // Without the tenant the gateway refuses: 422, nothing written.
    let before = counts(&app).await;
    let refused = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_gateway(&uri, json!({}))),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(counts(&app).await, before);

    // With it: 201, the name shown, the value nowhere; the check sent it.
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_gateway(&uri, json!({"X-Tenant": TENANT}))),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["config"],
        json!({"supportsTools": true, "extraHeaderNames": ["X-Tenant"]})
    );
    assert_eq!(sent_with(&server, "x-tenant", TENANT).await, 1);
    let rows = header_secrets(&app).await;
    assert!(rows[0].0.as_deref().is_some_and(|s| s.starts_with("sec_")));
    assert_eq!(rows[0].1["extra_headers"], json!(["X-Tenant"]));
    let member_view = api
        .call(Method::GET, &format!("/providers/{id}"), &member, None)
        .await;
    assert_eq!(
        member_view.body["config"]["extraHeaderNames"],
        json!(["X-Tenant"])
    );

    // Another field changes: the stored header goes along with the check.
    let renamed = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"name": "Gateway prod"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(sent_with(&server, "x-tenant", TENANT).await, 2);
    let tested = api
        .call(Method::POST, &format!("/providers/{id}/test"), &admin, None)
        .await;
    assert_eq!(tested.body["ok"], true, "{}", tested.body);
    let listed = api
        .call(
            Method::GET,
            &format!("/providers/{id}/models"),
            &admin,
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(sent_with(&server, "x-tenant", TENANT).await, 4);

    // A new base URL with the key but not the header values: 422 on the headers, nothing
    // written (rule 4, as for the key).
    let other = gateway_mock().await;
    let before = counts(&app).await;
    let moved = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"baseUrl": format!("{}/v1", other.uri()), "apiKey": GW_KEY})),
        )
        .await;
    assert_eq!(moved.status, 422, "{}", moved.body);
    let message = moved.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("extra headers"), "{message}");
    assert_eq!(counts(&app).await, before);
    assert!(other.received_requests().await.unwrap().is_empty());

    // With the values entered again it moves, and they go to the new host only now.
    let moved = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({
                "baseUrl": format!("{}/v1", other.uri()),
                "apiKey": GW_KEY,
                "config": {"extraHeaders": {"X-Tenant": TENANT}},
            })),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(sent_with(&other, "x-tenant", TENANT).await, 1);
    let old_secret = header_secrets(&app).await[0].0.clone().unwrap();

    // Add one: both are sent; the old sealed value is replaced, not kept beside.
    let added = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"config": {"extraHeaders": {"X-Team": TEAM}}})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(
        added.body["config"]["extraHeaderNames"],
        json!(["X-Tenant", "X-Team"])
    );
    assert_eq!(sent_with(&other, "x-team", TEAM).await, 1);
    let mut conn = app.db().await;
    let gone: i64 = secrets::table
        .filter(secrets::id.eq(&old_secret))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(gone, 0, "the replaced headers secret is deleted");

    // Remove one by null, then all.
    let removed = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"config": {"extraHeaders": {"X-Team": null}}})),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.body["config"]["extraHeaderNames"],
        json!(["X-Tenant"])
    );
    let (_, secrets_before, _) = counts(&app).await;
    let cleared = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"config": {"extraHeaders": null}, "saveUnverified": true})),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["config"]["extraHeaderNames"], json!([]));
    assert_eq!(counts(&app).await.1, secrets_before - 1);
    assert_eq!(header_secrets(&app).await[0].0, None);

    // Delete: the provider's secrets go with it.
    let deleted = api
        .call(Method::DELETE, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(deleted.status, 204);

    // OpenAPI documents both sides: the write-only map in, the names out.
    let doc: Value = super::http()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    let input = &schemas["ConfigInput"]["properties"]["extraHeaders"];
    // The whole map is write-only, and its names and values as strict as the server.
    assert_eq!(input["writeOnly"], true, "{input}");
    assert!(input["propertyNames"]["pattern"].is_string(), "{input}");
    assert!(
        input["additionalProperties"]["pattern"].is_string(),
        "{input}"
    );
    assert_eq!(input["maxProperties"], 10, "{input}");
    let output = &schemas["ConfigJson"]["properties"]["extraHeaderNames"];
    assert!(output.to_string().contains("array"), "{output}");

    for value in [TENANT, TEAM] {
        api.assert_never_saw(value);
    }
    assert_nowhere(&scan(&app).await, "a table");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert_nowhere(&logged, "the logs");
}

#[tokio::test]
async fn bad_headers_are_a_400_and_nothing_is_written() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let server = gateway_mock().await;
    let uri = server.uri();
    let mut api = Recorder::new(&app);
    let many: serde_json::Map<String, Value> = (0..11)
        .map(|i| (format!("X-H{i}"), json!(TENANT)))
        .collect();
    let cases = [
        (json!({"Host": "evil.example"}), "Switchboard sets"),
        (json!({"Authorization": "Bearer x"}), "Switchboard sets"),
        (json!({"Content-Length": "1"}), "Switchboard sets"),
        (json!({"Connection": "close"}), "Switchboard sets"),
        (json!({"Keep-Alive": "1"}), "Switchboard sets"),
        (json!({"X-Forwarded-For": "10.0.0.1"}), "Switchboard sets"),
        (json!({"X Tenant": TENANT}), "not a header name"),
        (json!({"X-Tenant:": TENANT}), "not a header name"),
        // The API's edge refuses control characters in any JSON string before the operation.
        (
            json!({"X-Tenant": format!("{TENANT}\r\nInjected: yes")}),
            "control character",
        ),
        (json!({"X-Tenant": format!("{TENANT}-é")}), "can't carry"),
        (json!({"X-Tenant": "a".repeat(1025)}), "longer than"),
        (json!({"X-Tenant": ""}), "Enter a value"),
        (Value::Object(many), "at most 10"),
    ];
    for (headers, says) in cases {
        let before = counts(&app).await;
        let res = api
            .call(
                Method::POST,
                "/providers",
                &admin,
                Some(new_gateway(&uri, headers.clone())),
            )
            .await;
        assert_eq!(res.status, 400, "{headers}: {}", res.body);
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{headers}: {message}");
        assert_eq!(counts(&app).await, before, "{headers}");
    }
    // A kind without extra headers.
    let res = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(json!({
                "provider": "openai", "name": "GPT", "defaultModel": "gpt-4o",
                "baseUrl": format!("{uri}/v1"), "apiKey": "sk-CANARY-0123456789abcdef",
                "config": {"extraHeaders": {"X-Tenant": TENANT}},
            })),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(server.received_requests().await.unwrap().is_empty());
    api.assert_never_saw(TENANT);
}

#[tokio::test]
async fn mcp_creates_and_updates_headers_by_name() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let server = gateway_mock().await;
    let seen = bodies();
    let mcp = Mcp::new(&app, Some(&admin), seen);
    mcp.request("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
        .await;
    let created = mcp
        .ok(
            "create-ai-provider",
            json!({
                "name": "Gateway", "provider": "gateway", "defaultModel": "gpt-4o",
                "baseUrl": format!("{}/v1", server.uri()), "apiKey": GW_KEY,
                "config": {"extraHeaders": {"X-Tenant": TENANT}},
            }),
        )
        .await;
    assert_eq!(created["config"]["extraHeaderNames"], json!(["X-Tenant"]));
    assert_eq!(sent_with(&server, "x-tenant", TENANT).await, 1);
    let id = created["id"].as_str().unwrap().to_owned();

    // A bad name is a tool error; nothing changes.
    let bad = mcp
        .call(
            "update-ai-provider",
            json!({"aiProviderId": id, "config": {"extraHeaders": {"Host": "x"}}}),
        )
        .await
        .expect_err("Host is refused");
    assert!(bad.to_string().contains("Host"), "{bad}");

    let updated = mcp
        .ok(
            "update-ai-provider",
            json!({"aiProviderId": id, "config": {"extraHeaders": {"X-Team": TEAM}}}),
        )
        .await;
    assert_eq!(
        updated["config"]["extraHeaderNames"],
        json!(["X-Tenant", "X-Team"])
    );
    assert_eq!(sent_with(&server, "x-team", TEAM).await, 1);
    let removed = mcp
        .ok(
            "update-ai-provider",
            json!({"aiProviderId": id, "config": {"extraHeaders": {"X-Team": ""}}}),
        )
        .await;
    assert_eq!(removed["config"]["extraHeaderNames"], json!(["X-Tenant"]));

    // The tool's input schema names the field.
    let tools = mcp.request("tools/list", json!({})).await;
    let create = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "create-ai-provider")
        .unwrap()
        .to_string();
    assert!(create.contains("extraHeaders"), "{create}");

    for body in seen.lock().unwrap().iter() {
        assert!(!body.contains(TENANT) && !body.contains(TEAM), "{body}");
    }
}

/// Runs `switchboard keys rotate` on `db_url` with `master_keys`.
async fn rotate(db_url: &str, master_keys: &str) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", db_url)
        .env("SWITCHBOARD_MASTER_KEYS", master_keys)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run switchboard");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nowhere(&text, "the rotation's output");
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn keys_rotate_rewraps_them_and_they_open_with_the_old_key_retired() {
    let old = Keyring::generate_entry("old");
    let new = Keyring::generate_entry("new");
    let egress = ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8");
    let app =
        TestApp::spawn_with(&[egress, ("SWITCHBOARD_MASTER_KEYS", old.expose_secret())]).await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let org = {
        let mut conn = app.db().await;
        Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap()
    };
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let server = gateway_mock().await;
    let mut api = Recorder::new(&app);
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_gateway(&server.uri(), json!({"X-Tenant": TENANT}))),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let both = format!("{},{}", new.expose_secret(), old.expose_secret());
    let (code, out) = rotate(&app.db_url, &both).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rotated 2 secrets"), "key and headers: {out}");
    let mut conn = app.db().await;
    let under: Vec<String> = secrets::table
        .select(secrets::key_id)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(under, ["new", "new"]);

    // An instance that only knows the new key opens them, and a check sends them.
    let later = TestApp::spawn_sharing(
        &app,
        &[egress, ("SWITCHBOARD_MASTER_KEYS", new.expose_secret())],
    )
    .await;
    let opened = ops::extra_headers::open(&later.state, org.id, &id)
        .await
        .expect("open after rotation");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].0, "X-Tenant");
    assert_eq!(opened[0].1.expose_secret(), TENANT);
    let caller = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    let (_, outcome) = ops::test_provider(&later.state, &caller, &id)
        .await
        .unwrap();
    assert!(outcome.ok, "{}", outcome.message);
    assert_eq!(sent_with(&server, "x-tenant", TENANT).await, 2);
    // Another org's id opens nothing.
    assert!(
        ops::extra_headers::open(&later.state, org.id + 1000, &id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_console_adds_replaces_and_removes_headers_without_javascript() {
    const TAB: &str = "/orgs/acme/settings/ai/provider";
    const CREATE: &str = "/orgs/acme/settings/ai/providers";
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let server = gateway_mock().await;
    let base = format!("{}/v1", server.uri());
    let mut seen = Vec::new();
    let form = |value: &'static str| {
        vec![
            ("kind", "gateway"),
            ("name", "Gateway"),
            ("default_model", "gpt-4o"),
            ("base_url", base.as_str()),
            ("api_key", GW_KEY),
            ("hdr_name_0", "X-Tenant"),
            ("hdr_value_0", value),
            ("hdr_name_1", ""),
            ("hdr_value_1", ""),
        ]
    };

    // The new form has the fieldset.
    let page = app
        .get(
            &app.client,
            "/orgs/acme/settings/ai/provider/new?kind=gateway",
        )
        .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"pf-extra_headers\""), "{html}");
    assert!(html.contains("name=\"hdr_name_0\""), "{html}");

    // A value the gateway refuses and echoes: 422, the excerpt scrubbed, the name kept.
    let res = app.post_form(&app.client, TAB, CREATE, &form(ECHOED)).await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("[redacted]"),
        "the excerpt is scrubbed: {html}"
    );
    assert!(
        html.contains("value=\"X-Tenant\""),
        "the name comes back: {html}"
    );
    seen.push(html);

    // A name without a value: 400 on the headers.
    let mut no_value = form("");
    no_value.push(("hdr_name_2", "X-Team"));
    let res = app.post_form(&app.client, TAB, CREATE, &no_value).await;
    assert_eq!(res.status().as_u16(), 400);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Enter a value for the extra header"),
        "{html}"
    );
    assert!(html.contains("href=\"#pf-extra_headers\""), "{html}");
    seen.push(html);

    // The right value: saved.
    let res = app.post_form(&app.client, TAB, CREATE, &form(TENANT)).await;
    assert_eq!(res.status().as_u16(), 303);
    let rows = header_secrets(&app).await;
    assert_eq!(rows[0].1["extra_headers"], json!(["X-Tenant"]));
    let id: String = {
        let mut conn = app.db().await;
        providers::table
            .select(providers::id)
            .first(&mut conn)
            .await
            .unwrap()
    };

    // The edit form shows the name, never the value; saving it blank keeps the value.
    let edit = format!("{CREATE}/{id}/edit");
    let html = app.get(&app.client, &edit).await.text().await.unwrap();
    assert!(
        html.contains("New value for <code>X-Tenant</code>"),
        "{html}"
    );
    assert!(html.contains("name=\"hdr_stored_0\""), "{html}");
    seen.push(html.clone());
    let version = {
        let start = html.find("name=\"lock_version\" value=\"").unwrap() + 27;
        html[start..start + html[start..].find('"').unwrap()].to_owned()
    };
    let keep = vec![
        ("kind", "gateway"),
        ("name", "Gateway"),
        ("default_model", "gpt-4o"),
        ("base_url", base.as_str()),
        ("lock_version", version.as_str()),
        ("hdr_name_0", "X-Tenant"),
        ("hdr_stored_0", "true"),
        ("hdr_value_0", ""),
        ("hdr_name_1", "X-Team"),
        ("hdr_value_1", TEAM),
    ];
    let target = format!("{CREATE}/{id}");
    let res = app.post_form(&app.client, &edit, &target, &keep).await;
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    assert_eq!(sent_with(&server, "x-team", TEAM).await, 1);
    assert_eq!(
        header_secrets(&app).await[0].1["extra_headers"],
        json!(["X-Tenant", "X-Team"])
    );

    // Remove X-Team (ticked), keep X-Tenant.
    let html = app.get(&app.client, &edit).await.text().await.unwrap();
    let version = {
        let start = html.find("name=\"lock_version\" value=\"").unwrap() + 27;
        html[start..start + html[start..].find('"').unwrap()].to_owned()
    };
    let remove = vec![
        ("kind", "gateway"),
        ("name", "Gateway"),
        ("default_model", "gpt-4o"),
        ("base_url", base.as_str()),
        ("lock_version", version.as_str()),
        ("hdr_name_0", "X-Tenant"),
        ("hdr_stored_0", "true"),
        ("hdr_name_1", "X-Team"),
        ("hdr_stored_1", "true"),
        ("hdr_remove_1", "true"),
    ];
    let res = app.post_form(&app.client, &edit, &target, &remove).await;
    assert_eq!(res.status().as_u16(), 303, "{}", res.text().await.unwrap());
    assert_eq!(
        header_secrets(&app).await[0].1["extra_headers"],
        json!(["X-Tenant"])
    );
    let tab = app.get(&app.client, TAB).await.text().await.unwrap();
    seen.push(tab);
    for html in &seen {
        assert!(!html.contains(TENANT) && !html.contains(TEAM) && !html.contains(ECHOED));
    }
}
