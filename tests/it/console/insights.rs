//! The Insights tab end to end: full page vs fragment, toggling with and without htmx,
//! optimistic locking, and the audit event written in the same transaction.

use diesel_async::RunQueryDsl as _;

use crate::helpers::{INSIGHTS, TestApp, location, meta_csrf};

fn lock_version(html: &str) -> String {
    let at = html
        .find("name=\"lock_version\" value=\"")
        .expect("lock_version field")
        + 27;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn full_page_and_fragment_come_from_one_template() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let full = app.get(&app.client, INSIGHTS).await;
    assert_eq!(full.headers()["vary"], "HX-Request");
    let csp = full.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let full = full.text().await.unwrap();
    assert!(full.starts_with("<!doctype html>"));
    assert!(full.contains("<meta name=\"csrf-token\""));
    assert!(full.contains("hx-headers='{\"X-CSRF-Token\""));

    let frag = app
        .client
        .get(app.url(INSIGHTS))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(frag.headers()["vary"], "HX-Request");
    let frag = frag.text().await.unwrap();
    assert!(!frag.contains("<html") && !frag.contains("<head"), "{frag}");
    assert!(frag.contains("id=\"insights-status\"") && frag.contains("class=\"tabs\""));
    // The fragment is exactly the page's content block.
    assert!(
        full.contains(frag.trim()),
        "fragment and page drifted apart"
    );
    // A history restore asks for the whole page.
    let restore = app
        .client
        .get(app.url(INSIGHTS))
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .unwrap();
    assert!(restore.text().await.unwrap().starts_with("<!doctype html>"));
}

#[tokio::test]
async fn a_plain_form_post_toggles_and_redirects_back_with_a_flash() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let res = app.turn_insights_on(&app.client).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), INSIGHTS);
    assert!(app.insights_enabled("acme").await);
    let page = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    assert!(page.contains("Insights are on"));
    assert!(page.contains("Proactive AI Insights are now on."), "flash");
    assert!(page.contains("Last changed by admin@acme.test"), "{page}");
    let again = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    assert!(!again.contains("are now on."), "a flash shows once");
    assert_eq!(app.audit_count("insights.enabled").await, 1);
}

#[tokio::test]
async fn an_htmx_post_returns_the_tab_fragment_and_audits_both_directions() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let page = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    let token = meta_csrf(&page).unwrap();
    let mut version = lock_version(&page);
    for enabled in ["true", "false"] {
        let res = app
            .client
            .post(app.url(INSIGHTS))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", &token)
            .form(&[("enabled", enabled), ("lock_version", version.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let frag = res.text().await.unwrap();
        assert!(!frag.contains("<html"));
        let word = if enabled == "true" { "on" } else { "off" };
        assert!(frag.contains(&format!("Insights are {word}")), "{frag}");
        assert!(frag.contains(&format!("Proactive AI Insights are now {word}.")));
        // Rendered from the row the update returned: the change is already ours.
        assert!(frag.contains("Last changed by admin@acme.test"), "{frag}");
        version = lock_version(&frag);
    }
    assert_eq!(version, "2");
    assert_eq!(app.audit_count("insights.enabled").await, 1);
    assert_eq!(app.audit_count("insights.disabled").await, 1);
    // The fragment carried the message; nothing was queued for the next page.
    let page = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    assert!(
        page.contains("Insights are off") && !page.contains("are now"),
        "{page}"
    );
    // Each event records the state it replaced.
    let mut conn = app.db().await;
    let trail: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> =
        diesel::sql_query(
            "SELECT action, before, after FROM audit_events WHERE action LIKE 'insights.%' ORDER BY id",
        )
        .load::<Trail>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.action, t.before, t.after))
        .collect();
    let on = serde_json::json!({ "insightsEnabled": true });
    let off = serde_json::json!({ "insightsEnabled": false });
    assert_eq!(
        trail,
        vec![
            (
                "insights.enabled".to_owned(),
                Some(off.clone()),
                Some(on.clone())
            ),
            ("insights.disabled".to_owned(), Some(on), Some(off)),
        ]
    );

    let audit = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(audit.contains("insights.enabled") && audit.contains("insights.disabled"));
}

#[derive(diesel::QueryableByName)]
struct Trail {
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
    before: Option<serde_json::Value>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
    after: Option<serde_json::Value>,
}

/// Posts `enabled=false` at `lock_version` 0 as a plain form, or as htmx when `hx`.
async fn post_off_at_version_0(app: &TestApp, hx: bool) -> reqwest::Response {
    let token = meta_csrf(&app.get(&app.client, INSIGHTS).await.text().await.unwrap()).unwrap();
    let mut req = app.client.post(app.url(INSIGHTS)).form(&[
        ("enabled", "false"),
        ("lock_version", "0"),
        ("csrf_token", &token),
    ]);
    if hx {
        req = req.header("HX-Request", "true");
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn setting_the_switch_to_where_it_is_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    for hx in [false, true] {
        let res = post_off_at_version_0(&app, hx).await;
        let body = if hx {
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        } else {
            assert_eq!(res.status(), 303);
            app.get(&app.client, INSIGHTS).await.text().await.unwrap()
        };
        assert!(body.contains("Nothing to change."), "{body}");
        assert_eq!(lock_version(&body), "0", "no write, no new version");
    }
    assert!(!app.insights_enabled("acme").await);
    assert_eq!(app.audit_count("insights.enabled").await, 0);
    assert_eq!(app.audit_count("insights.disabled").await, 0);
}

#[tokio::test]
async fn a_stale_lock_version_is_a_conflict_not_an_overwrite() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let other = crate::helpers::client();
    app.login(&other, "admin@acme.test", crate::helpers::PASSWORD)
        .await;
    // Both admins loaded the page at version 0; the other one switches insights on first.
    let res = app.turn_insights_on(&other).await;
    assert_eq!(res.status(), 303);
    // Our admin's form is still at version 0 and asks for off: without and with htmx.
    for hx in [false, true] {
        let res = post_off_at_version_0(&app, hx).await;
        assert_eq!(res.status(), 409);
        let body = res.text().await.unwrap();
        assert!(body.contains("Someone else changed this setting"), "{body}");
        assert!(body.contains("Insights are on"), "shows the current state");
    }
    assert!(app.insights_enabled("acme").await, "not overwritten");
    assert_eq!(app.audit_count("insights.disabled").await, 0);
}

#[tokio::test]
async fn a_failed_audit_write_rolls_the_change_back() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    // Make the audit insert fail inside the database.
    let mut conn = app.db().await;
    diesel::sql_query(
        "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let res = app.turn_insights_on(&app.client).await;
    assert_eq!(res.status(), 500);
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("audit store unavailable"),
        "internal errors are not shown: {body}"
    );
    assert!(
        !app.insights_enabled("acme").await,
        "setting unchanged when its audit event fails"
    );
}

#[tokio::test]
async fn bad_input_gets_a_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let token = meta_csrf(&app.get(&app.client, INSIGHTS).await.text().await.unwrap()).unwrap();
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![("enabled", "maybe"), ("lock_version", "0")], 400),
        (vec![("enabled", "true"), ("lock_version", "zero")], 400),
        (vec![("enabled", "true")], 400),
        (vec![("lock_version", "0")], 400),
    ];
    for (fields, status) in cases {
        let mut fields = fields.clone();
        fields.push(("csrf_token", &token));
        let res = app
            .client
            .post(app.url(INSIGHTS))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{fields:?}");
    }
    // Oversized bodies are refused, with the token in a header or in the body.
    let big = "x".repeat(70 * 1024);
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .header("X-CSRF-Token", &token)
        .form(&[
            ("enabled", "true"),
            ("lock_version", "0"),
            ("pad", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .form(&[
            ("csrf_token", token.as_str()),
            ("enabled", "true"),
            ("lock_version", "0"),
            ("pad", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // A JSON body to a form endpoint.
    let res = app
        .client
        .post(app.url(INSIGHTS))
        .header("X-CSRF-Token", &token)
        .json(&serde_json::json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(!app.insights_enabled("acme").await);
    assert_eq!(app.audit_count("insights.enabled").await, 0);
}
