//! A settings change is one transaction: when a later part of a PATCH fails, nothing of
//! the earlier parts is applied and no audit event is written.

use crate::api::traffic::SendChecked as _;
use std::time::Duration;

use diesel_async::{RunQueryDsl as _, SimpleAsyncConnection as _};
use reqwest::Method;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use super::{
    all_scopes, app_with_org,
    providers::{Recorder, counts, new_anthropic},
    token,
};
use crate::provider_ops::{GOOD_KEY, anthropic_mock};

/// Makes PostgreSQL refuse to record `action`: the part of a change that writes it fails
/// inside the transaction, after the parts before it were written.
async fn refuse_audit_action(app: &crate::helpers::TestApp, action: &str) {
    let mut conn = app.db().await;
    conn.batch_execute(&format!(
        "CREATE FUNCTION refuse_action() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'test: % refused', NEW.action; END $$; \
         CREATE TRIGGER refuse_action BEFORE INSERT ON audit_events FOR EACH ROW \
         WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_action();"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn when_the_second_part_fails_the_first_is_not_applied() {
    let (app, org, ada, _) = app_with_org().await;
    let anthropic = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let claude = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &anthropic.uri(), GOOD_KEY)),
        )
        .await;
    assert_eq!(claude.status, 201, "{}", claude.body);
    let claude_id = claude.body["id"].as_str().unwrap().to_owned();
    refuse_audit_action(&app, "insights.enabled").await;
    let before = api.call(Method::GET, "/ai-settings", &admin, None).await;
    let rows = counts(&app).await;

    // Policy, then Insights (refused): the policy is not kept.
    let failed = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", before.etag())
                .json(&json!({"routingPolicy": "strict", "insightsEnabled": true})),
        )
        .await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    // Activation (its live check passes), then Insights (refused): Claude is not active.
    let failed = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"activeProviderId": claude_id, "insightsEnabled": true})),
        )
        .await;
    assert_eq!(failed.status, 500, "{}", failed.body);

    let after = api.call(Method::GET, "/ai-settings", &admin, None).await;
    assert_eq!(after.body, before.body, "nothing of either change applied");
    assert_eq!(after.etag(), before.etag());
    assert_eq!(counts(&app).await, rows, "no audit event written");
    assert_eq!(app.audit_count("routing_policy.changed").await, 0);
    assert_eq!(app.audit_count("provider.activated").await, 0);

    // The same change without the fault applies whole.
    let mut conn = app.db().await;
    diesel::sql_query("DROP TRIGGER refuse_action ON audit_events")
        .execute(&mut conn)
        .await
        .unwrap();
    let ok = api
        .send(
            api.req(Method::PATCH, "/ai-settings", Some(&admin))
                .header("if-match", before.etag())
                .json(
                    &json!({"activeProviderId": claude_id, "routingPolicy": "strict",
                               "insightsEnabled": true}),
                ),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["activeProvider"]["id"], claude_id.as_str());
    assert_eq!(ok.body["routingPolicy"], "strict");
    assert_eq!(ok.body["insightsEnabled"], true);
    assert_eq!(counts(&app).await.2, rows.2 + 3);
}

#[tokio::test]
async fn a_change_made_meanwhile_by_someone_else_stops_the_whole_change() {
    let (app, org, ada, _) = app_with_org().await;
    // A provider whose live check takes a while: another change lands meanwhile.
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", GOOD_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "id": "msg_01", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-20250514",
                    "content": [{"type": "text", "text": "Hi"}],
                    "stop_reason": "max_tokens", "stop_sequence": null,
                    "usage": {"input_tokens": 8, "output_tokens": 1}}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&slow)
        .await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let claude = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &slow.uri(), GOOD_KEY)),
        )
        .await;
    assert_eq!(claude.status, 201, "{}", claude.body);
    let claude_id = claude.body["id"].as_str().unwrap().to_owned();
    let checks_before = slow.received_requests().await.unwrap().len();

    let change = {
        let url = app.url("/api/v1/orgs/acme/ai-settings");
        let admin = admin.clone();
        let body = json!({"activeProviderId": claude_id, "insightsEnabled": true});
        tokio::spawn(async move {
            reqwest::Client::new()
                .patch(url)
                .bearer_auth(admin)
                .json(&body)
                .send_checked()
                .await
                .unwrap()
        })
    };
    // Once its live check is under way, someone else changes the policy.
    while slow.received_requests().await.unwrap().len() == checks_before {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let meanwhile = api
        .call(
            Method::PATCH,
            "/ai-settings",
            &admin,
            Some(json!({"routingPolicy": "strict"})),
        )
        .await;
    assert_eq!(meanwhile.status, 200, "{}", meanwhile.body);
    let rows = counts(&app).await;

    let res = change.await.unwrap();
    assert_eq!(res.status(), 409);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body.to_string()
            .contains("changed these settings meanwhile"),
        "{body}"
    );
    let now = api.call(Method::GET, "/ai-settings", &admin, None).await;
    assert!(now.body["activeProvider"].is_null(), "{}", now.body);
    assert_eq!(now.body["insightsEnabled"], false);
    assert_eq!(now.body["routingPolicy"], "strict");
    assert_eq!(now.etag(), meanwhile.etag());
    assert_eq!(counts(&app).await, rows);
    assert_eq!(app.audit_count("provider.activated").await, 0);
}
