//! The provider endpoints over real HTTP with bearer tokens, against the wiremock Anthropic
//! server: the whole lifecycle, ETag/If-Match, key linking by secret id, what a member
//! token sees, the console session with its CSRF header — and the canary key in no answer.

mod recorder;

use crate::api::traffic::SendChecked as _;
use reqwest::Method;
use serde_json::json;
use switchboard::ops::{
    Caller,
    providers::{self as ops, KeyInput},
};

pub use recorder::{MEMBER_SCOPES, Recorder, counts, new_anthropic};

use super::{all_scopes, app_with_org, http, token};
use crate::{
    helpers::{PASSWORD, TestApp, client},
    provider_ops::{BAD_KEY, GOOD_KEY, anthropic, anthropic_mock},
};

#[tokio::test]
async fn a_provider_lives_its_whole_life_through_the_api_without_its_key_ever_coming_back() {
    let (app, org, ada, mia) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let member = token(&app, &org, &mia, &MEMBER_SCOPES, None).await;
    let mut api = Recorder::new(&app);
    let uri = mock.uri();

    // A key the provider refuses: 422 with the check's code, and nothing written.
    let before = counts(&app).await;
    let refused = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &uri, BAD_KEY)),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.error_code(), "unprocessable");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("auth_rejected")
    );
    assert_eq!(counts(&app).await, before, "a failed check writes nothing");

    // The good key: 201 with ETag and Location, the masked preview, never the key.
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &uri, GOOD_KEY)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let p = &created.body;
    let id = p["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("aip_") && id.len() == 30, "{id}");
    assert_eq!(created.etag(), format!("\"v{}\"", p["lockVersion"]));
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/orgs/acme/providers/{id}").as_str()
    );
    assert_eq!(p["orgId"], "acme");
    assert_eq!(p["provider"], "anthropic");
    assert_eq!(p["name"], "Claude");
    assert_eq!(p["defaultModel"], "claude-sonnet-4-20250514");
    assert_eq!(p["baseUrl"], uri.as_str());
    assert_eq!(p["config"], json!({}), "anthropic has no extra fields");
    assert_eq!(p["keySet"], true);
    assert_eq!(p["keyPreview"], "sk-ant-...WXYZ");
    assert_eq!(p["lastCheck"]["status"], "ok");
    assert!(p["lastCheck"]["checkedAt"].is_string());
    assert_eq!(p["active"], false);
    let secret_id = p["secretId"].as_str().unwrap().to_owned();
    assert!(secret_id.starts_with("sec_"));
    assert_eq!(app.audit_count("provider.created").await, 1);

    // List and get, as the admin and as a member: the member sees that a key is set and
    // nothing of it.
    let listed = api.call(Method::GET, "/providers", &admin, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["providers"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["providers"][0]["keyPreview"], "sk-ant-...WXYZ");
    let got = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.etag(), created.etag());
    assert_eq!(got.body, created.body);
    for path in ["/providers".to_owned(), format!("/providers/{id}")] {
        let seen = api.call(Method::GET, &path, &member, None).await;
        assert_eq!(seen.status, 200, "{path}");
        let p = match seen.body.get("providers") {
            Some(list) => list[0].clone(),
            None => seen.body.clone(),
        };
        assert_eq!(p["keySet"], true, "{path}");
        assert!(p.get("keyPreview").is_none(), "{path}: {p}");
        assert_eq!(p["secretId"], secret_id.as_str());
    }
    let denied = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &member,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.error_code(), "forbidden");

    // A stale If-Match: 412 and nothing changed.
    let before = counts(&app).await;
    let stale = api
        .send(
            api.req(Method::PATCH, &format!("/providers/{id}"), Some(&admin))
                .header("if-match", "\"v999\"")
                .json(&json!({"name": "Stale"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.error_code(), "precondition_failed");
    assert_eq!(counts(&app).await, before);
    let unchanged = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(unchanged.body["name"], "Claude");

    // A new name with the right If-Match: the key stays, the version moves on.
    let renamed = api
        .send(
            api.req(Method::PATCH, &format!("/providers/{id}"), Some(&admin))
                .header("if-match", created.etag())
                .json(&json!({"name": "Claude (prod)"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Claude (prod)");
    assert_eq!(renamed.body["secretId"], secret_id.as_str());
    assert_eq!(renamed.body["keyPreview"], "sk-ant-...WXYZ");
    assert_ne!(renamed.etag(), created.etag());
    assert_eq!(
        renamed.etag(),
        format!("\"v{}\"", renamed.body["lockVersion"])
    );
    // The old ETag is stale now.
    let old = api
        .send(
            api.req(Method::PATCH, &format!("/providers/{id}"), Some(&admin))
                .header("if-match", created.etag())
                .json(&json!({"name": "Old"})),
        )
        .await;
    assert_eq!(old.status, 412);

    // Another base URL without the key: refused, so a saved key never goes to another host.
    let before = counts(&app).await;
    let moved = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"baseUrl": "http://127.0.0.1:9"})),
        )
        .await;
    assert_eq!(moved.status, 422, "{}", moved.body);
    assert!(
        moved.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("key again")
    );
    assert_eq!(counts(&app).await, before);

    // A second provider sharing the key by secret id; an unknown or foreign secret is a 422
    // (well-formed, refused by the org's state).
    let mut linked = new_anthropic("Claude (batch)", &uri, "");
    linked.as_object_mut().unwrap().remove("apiKey");
    linked["secretId"] = json!(secret_id);
    let second = api
        .call(Method::POST, "/providers", &admin, Some(linked.clone()))
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["secretId"], secret_id.as_str());
    assert_eq!(second.body["keyPreview"], "sk-ant-...WXYZ");
    let second_id = second.body["id"].as_str().unwrap().to_owned();
    let foreign = foreign_secret(&app, &mock).await;
    for (bad, why) in [
        ("sec_nope".to_owned(), "unknown"),
        (foreign, "another org's"),
    ] {
        let mut body = linked.clone();
        body["name"] = json!(format!("Linked {why}"));
        body["secretId"] = json!(bad);
        let before = counts(&app).await;
        let res = api
            .call(Method::POST, "/providers", &admin, Some(body))
            .await;
        assert_eq!(res.status, 422, "{why}: {}", res.body);
        assert!(
            res.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("secret"),
            "{why}"
        );
        assert_eq!(counts(&app).await, before, "{why}");
    }
    let both = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(
                json!({"provider": "anthropic", "name": "Both", "defaultModel": "m",
                        "baseUrl": uri, "apiKey": GOOD_KEY, "secretId": secret_id}),
            ),
        )
        .await;
    assert_eq!(both.status, 400);

    // Test: the outcome and the provider with it recorded.
    let tested = api
        .call(Method::POST, &format!("/providers/{id}/test"), &admin, None)
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert_eq!(tested.body["ok"], true);
    assert!(tested.body["code"].is_null());
    assert!(
        tested.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(tested.body["provider"]["id"], id.as_str());
    assert_eq!(tested.body["provider"]["lastCheck"]["status"], "ok");
    assert_eq!(app.audit_count("provider.tested").await, 1);

    // Activate, then deletion is refused while it is active.
    let activated = api
        .call(
            Method::POST,
            &format!("/providers/{id}/activate"),
            &admin,
            None,
        )
        .await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    assert_eq!(activated.body["active"], true);
    let refused = api
        .call(Method::DELETE, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.error_code(), "conflict");

    // Removing the key of the linked provider leaves the first one's key alone.
    let removed = api
        .call(
            Method::PATCH,
            &format!("/providers/{second_id}"),
            &admin,
            Some(json!({"removeKey": true})),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["keySet"], false);
    assert!(removed.body["secretId"].is_null());
    let first = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(first.body["secretId"], secret_id.as_str());
    let mixed = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"removeKey": true, "name": "x"})),
        )
        .await;
    assert_eq!(mixed.status, 422, "{}", mixed.body);

    // Deactivate; then the delete goes through, If-Match honoured.
    let off = api
        .call(Method::POST, "/providers/deactivate", &admin, None)
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(off.body["changed"], true);
    let again = api
        .call(Method::POST, "/providers/deactivate", &admin, None)
        .await;
    assert_eq!(again.body["changed"], false);
    let current = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(current.body["active"], false);
    let stale_delete = api
        .send(
            api.req(Method::DELETE, &format!("/providers/{id}"), Some(&admin))
                .header("if-match", "\"v999\""),
        )
        .await;
    assert_eq!(stale_delete.status, 412);
    let deleted = api
        .send(
            api.req(Method::DELETE, &format!("/providers/{id}"), Some(&admin))
                .header("if-match", current.etag()),
        )
        .await;
    assert_eq!(deleted.status, 204);
    let gone = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error_code(), "not_found");
    assert_eq!(app.audit_count("provider.deleted").await, 1);

    api.assert_never_saw(GOOD_KEY);
    api.assert_never_saw(BAD_KEY);
    api.assert_never_saw(&GOOD_KEY[7..]);
}

/// The secret id of a provider of another org (`other`).
async fn foreign_secret(app: &TestApp, mock: &wiremock::MockServer) -> String {
    let bob = app.create_user("bob@other.test", false).await;
    app.create_org(
        "other",
        &[(&bob, switchboard::models::membership::Role::Admin)],
    )
    .await;
    let mut conn = app.db().await;
    let other = switchboard::models::org::Org::find_by_slug(&mut conn, "other")
        .await
        .unwrap()
        .unwrap();
    let key = KeyInput::New(secrecy::SecretString::from(GOOD_KEY.to_owned()));
    let view = ops::create_provider(
        &app.state,
        &Caller::operator(Some(other)),
        anthropic("Theirs", mock, key),
    )
    .await
    .unwrap();
    view.secret_id.unwrap()
}

#[tokio::test]
async fn activation_behind_a_failing_check_is_a_422_that_changes_nothing() {
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let mut body = new_anthropic("Unverified", &mock.uri(), BAD_KEY);
    body["saveUnverified"] = json!(true);
    let saved = api
        .call(Method::POST, "/providers", &admin, Some(body))
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert_eq!(saved.body["lastCheck"]["status"], "unverified");
    let id = saved.body["id"].as_str().unwrap();

    let before = counts(&app).await;
    let res = api
        .call(
            Method::POST,
            &format!("/providers/{id}/activate"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.error_code(), "unprocessable");
    assert_eq!(counts(&app).await, before);
    let after = api
        .call(Method::GET, &format!("/providers/{id}"), &admin, None)
        .await;
    assert_eq!(after.body["active"], false);

    // Testing it reports the failure as an answer, not an error.
    let tested = api
        .call(Method::POST, &format!("/providers/{id}/test"), &admin, None)
        .await;
    assert_eq!(tested.status, 200);
    assert_eq!(tested.body["ok"], false);
    assert_eq!(tested.body["code"], "auth_rejected");
    assert_eq!(tested.body["provider"]["lastCheck"]["status"], "failed");
    api.assert_never_saw(BAD_KEY);
}

#[tokio::test]
async fn a_console_session_calls_the_api_with_its_cookie_and_needs_the_csrf_header_to_change_anything()
 {
    let (app, _org, _ada, _) = app_with_org().await;
    let browser = client();
    let login = app.login(&browser, "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status(), 303);
    let mut api = Recorder::with_client(&app, browser.clone());

    let listed = api.send(api.req(Method::GET, "/providers", None)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["providers"], json!([]));

    let before = counts(&app).await;
    let no_token = api
        .send(api.req(Method::POST, "/providers/deactivate", None))
        .await;
    assert_eq!(no_token.status, 403);
    assert_eq!(no_token.error_code(), "forbidden");
    let patch = json!({"routingPolicy": "strict"});
    let no_token = api
        .send(api.req(Method::PATCH, "/ai-settings", None).json(&patch))
        .await;
    assert_eq!(no_token.status, 403);
    assert_eq!(
        counts(&app).await,
        before,
        "a refused request writes nothing"
    );

    let csrf = app.csrf(&browser, "/orgs/acme/settings/ai/provider").await;
    let ok = api
        .send(
            api.req(Method::POST, "/providers/deactivate", None)
                .header("x-csrf-token", &csrf),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let ok = api
        .send(
            api.req(Method::PATCH, "/ai-settings", None)
                .header("x-csrf-token", &csrf)
                .json(&patch),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["routingPolicy"], "strict");
    assert_eq!(app.audit_count("routing_policy.changed").await, 1);

    // Without any credentials the API answers 401, never a redirect to the login page.
    let anonymous = Recorder::new(&app)
        .send(http().get(app.url("/api/v1/orgs/acme/providers")))
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn two_patches_at_once_without_if_match_give_one_save_and_one_conflict() {
    let (app, org, ada, _) = app_with_org().await;
    // A slow provider: both requests read the record before either writes it.
    let slow = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v1/messages"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_millis(400))
                .set_body_json(json!({
                    "id": "msg_01", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-20250514",
                    "content": [{"type": "text", "text": "Hi"}],
                    "stop_reason": "max_tokens", "stop_sequence": null,
                    "usage": {"input_tokens": 8, "output_tokens": 1}})),
        )
        .mount(&slow)
        .await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &slow.uri(), GOOD_KEY)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/providers/{}", created.body["id"].as_str().unwrap());

    let send = |name: &'static str| {
        api.req(Method::PATCH, &path, Some(&admin))
            .json(&json!({ "name": name }))
            .send_checked()
    };
    let (a, b) = tokio::join!(send("Left"), send("Right"));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "one save, one conflict");
    assert_eq!(app.audit_count("provider.updated").await, 1);
}
