//! The support console and support staff's read-only visits: every org listed and
//! searchable with its mode, providers and last change; every tab of two orgs readable
//! without forms or key previews; every unsafe request refused even with a valid CSRF
//! token; one `support.viewed` per org per session-hour in the org's trail.

use secrecy::SecretString;
use switchboard::{
    models::{membership::Role, org::Org},
    ops::{
        Access, Caller, RequestMeta,
        providers::{self as ops, KeyInput},
    },
};

use super::audit_trail::event_ids;
use crate::{
    helpers::{PASSWORD, TestApp, client, location, meta_csrf},
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock, app_with_org},
};

/// Every tab a support user opens, per org.
fn tabs(org: &str) -> Vec<String> {
    ["provider", "skills", "insights", "advanced", "audit"]
        .iter()
        .map(|t| format!("/orgs/{org}/settings/ai/{t}"))
        .collect()
}

/// Every unsafe route of the org's console (the route table's POSTs), for provider `id`
/// and member `uid`.
fn unsafe_routes(org: &str, id: &str, uid: i64) -> Vec<String> {
    let base = format!("/orgs/{org}/settings");
    let mut routes = vec![
        format!("{base}/ai/providers"),
        format!("{base}/ai/providers/{id}"),
        format!("{base}/ai/provider/deactivate"),
        format!("{base}/ai/provider/routing-policy"),
        format!("{base}/ai/insights"),
        format!("{base}/ai/skills"),
        format!("{base}/ai/skills/skl_01JZZZZZZZZZZZZZZZZZZZZZZZ"),
        format!("{base}/ai/skills/skl_01JZZZZZZZZZZZZZZZZZZZZZZZ/enabled"),
        format!("{base}/ai/skills/skl_01JZZZZZZZZZZZZZZZZZZZZZZZ/delete"),
        format!("{base}/members"),
        format!("{base}/members/invitations"),
        format!("{base}/members/invitations/1/revoke"),
        format!("{base}/members/{uid}/role"),
        format!("{base}/members/{uid}/remove"),
    ];
    routes.extend(
        ["test", "activate", "delete", "remove-key"]
            .map(|a| format!("{base}/ai/providers/{id}/{a}")),
    );
    routes
}

/// The part of a page below the top bar (which holds the log-out form).
fn main_part(html: &str) -> &str {
    &html[html.find("<main").expect("a main element")..]
}

async fn count_views(app: &TestApp, slug: &str) -> i64 {
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::{audit_events, orgs};
    audit_events::table
        .inner_join(orgs::table)
        .filter(orgs::slug.eq(slug))
        .filter(audit_events::action.eq("support.viewed"))
        .count()
        .get_result(&mut app.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn support_reads_every_tab_of_any_org_read_only_and_is_recorded_once_per_hour() {
    let (app, acme, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    let bob = app.create_user("bob@beta.test", false).await;
    app.create_org("beta", &[(&bob, Role::Admin)]).await;
    let beta = Org::find_by_slug(&mut app.db().await, "beta")
        .await
        .unwrap()
        .unwrap();
    let mut ids = Vec::new();
    for (org, admin) in [(&acme, &ada), (&beta, &bob)] {
        let caller = Caller::in_org(admin, org.clone(), Access::Admin, RequestMeta::default());
        let key = KeyInput::New(SecretString::from(GOOD_KEY.to_owned()));
        let p = ops::create_provider(&app.state, &caller, anthropic("Primary", &server, key))
            .await
            .unwrap();
        ids.push(p.id);
    }
    let acme_admin = Caller::in_org(&ada, acme.clone(), Access::Admin, RequestMeta::default());
    ops::activate_provider(&app.state, &acme_admin, &ids[0])
        .await
        .unwrap();
    let preview = "sk-ant-...WXYZ";
    app.create_user("sam@support.test", true).await;
    let sam = client();
    assert_eq!(
        app.login(&sam, "sam@support.test", PASSWORD).await.status(),
        303
    );

    // The console: both orgs, their mode, provider count, last change; search narrows it.
    let res = app.get(&sam, "/support/orgs").await;
    assert_eq!(res.status(), 200);
    let list = res.text().await.unwrap();
    let acme_row = &list[list.find("id=\"org-acme\"").unwrap()..];
    let acme_row = &acme_row[..acme_row.find("</tr>").unwrap()];
    assert!(
        acme_row.contains("Anthropic · claude-sonnet-4-20250514"),
        "{acme_row}"
    );
    assert!(
        acme_row.contains("<td>1</td>") && !acme_row.contains("never"),
        "{acme_row}"
    );
    let beta_row = &list[list.find("id=\"org-beta\"").unwrap()..];
    assert!(beta_row[..beta_row.find("</tr>").unwrap()].contains("Platform default"));
    let found = app
        .get(&sam, "/support/orgs?q=BET")
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("id=\"org-beta\"") && !found.contains("id=\"org-acme\""));
    let found = app
        .get(&sam, "/support/orgs?q=acme")
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("id=\"org-acme\"") && !found.contains("id=\"org-beta\""));
    let nothing = app
        .get(&sam, "/support/orgs?q=100%25")
        .await
        .text()
        .await
        .unwrap();
    assert!(nothing.contains("No org"), "% is matched literally");
    assert_eq!(app.get(&sam, "/support/orgs?q=%07").await.status(), 400);
    // Not for admins.
    let ada_http = client();
    app.login(&ada_http, "ada@acme.test", PASSWORD).await;
    assert_eq!(app.get(&ada_http, "/support/orgs").await.status(), 404);

    for (org, id, uid) in [("acme", &ids[0], mia.id), ("beta", &ids[1], bob.id)] {
        assert_eq!(
            location(&app.get(&sam, &format!("/orgs/{org}/settings/ai")).await),
            format!("/orgs/{org}/settings/ai/provider")
        );
        for tab in tabs(org) {
            for hx in [false, true] {
                let mut req = sam.get(app.url(&tab));
                if hx {
                    req = req.header("HX-Request", "true");
                }
                let res = req.send().await.unwrap();
                assert_eq!(res.status(), 200, "{tab}");
                let body = res.text().await.unwrap();
                let body = if hx { body.as_str() } else { main_part(&body) };
                assert!(
                    !body.contains("method=\"post\""),
                    "{tab}: no form that changes anything"
                );
                assert!(!body.contains("hx-post"), "{tab}");
                assert!(
                    !body.contains(preview) && !body.contains(GOOD_KEY),
                    "{tab}: no preview"
                );
            }
        }
        let token = meta_csrf(&app.get(&sam, &tabs(org)[0]).await.text().await.unwrap()).unwrap();
        for path in unsafe_routes(org, id, uid) {
            let res = sam
                .post(app.url(&path))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("enabled", "true"),
                    ("role", "admin"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "POST {path}");
        }
        for tab in tabs(org) {
            for method in [
                reqwest::Method::PUT,
                reqwest::Method::PATCH,
                reqwest::Method::DELETE,
            ] {
                let res = sam
                    .request(method.clone(), app.url(&tab))
                    .header("X-CSRF-Token", &token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 403, "{method} {tab}");
            }
        }
    }
    // Nothing changed; each org has exactly one view for this session-hour.
    assert_eq!(app.audit_count("provider.deleted").await, 0);
    assert_eq!(count_views(&app, "acme").await, 1);
    assert_eq!(count_views(&app, "beta").await, 1);

    // Within the hour: still one. An hour after the recorded view: a second.
    for _ in 0..2 {
        app.clock.advance(std::time::Duration::from_secs(20 * 60));
        assert_eq!(app.get(&sam, &tabs("acme")[0]).await.status(), 200);
    }
    assert_eq!(count_views(&app, "acme").await, 1);
    app.clock.advance(std::time::Duration::from_secs(20 * 60));
    assert_eq!(app.get(&sam, &tabs("acme")[1]).await.status(), 200);
    assert_eq!(app.get(&sam, &tabs("acme")[2]).await.status(), 200);
    assert_eq!(count_views(&app, "acme").await, 2);
    assert_eq!(count_views(&app, "beta").await, 1);

    // The org's admins read it in their trail.
    let ada_http = client();
    app.login(&ada_http, "ada@acme.test", PASSWORD).await;
    let trail = app
        .get(&ada_http, "/orgs/acme/settings/ai/audit?family=support")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(event_ids(&trail).len(), 2);
    assert_eq!(trail.matches("Support viewed your settings").count(), 2);
    assert!(trail.contains("sam@support.test"));
}
