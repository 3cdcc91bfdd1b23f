//! Scheduled re-checks (issue 9): with the test clock moved past the interval, due
//! providers are checked again against a wiremock Anthropic endpoint on loopback; an active
//! provider that starts failing gets exactly one `provider.check_failed` and a "needs
//! attention" banner on every tab for admins (not members), and stays active; two instances
//! on one database check each provider once per interval.

use std::time::Duration;

use switchboard::{db, ops::providers::recheck_due, state::AppState};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{PASSWORD, TestApp, client},
    provider_ops::{GOOD_KEY, anthropic_mock, app_with_org},
};

const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);
const SEVEN_HOURS: Duration = Duration::from_secs(7 * 3600);
const TABS: [&str; 4] = ["provider", "skills", "insights", "advanced"];

async fn admin_app() -> TestApp {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    app
}

/// Adds an Anthropic provider `name` at `server` through the form; returns its id.
async fn add(app: &TestApp, server: &MockServer, name: &str) -> String {
    let res = app
        .post_form(
            &app.client,
            "/orgs/acme/settings/ai/provider",
            "/orgs/acme/settings/ai/providers",
            &[
                ("kind", "anthropic"),
                ("name", name),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &server.uri()),
                ("api_key", GOOD_KEY),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "add {name}");
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::providers;
    let mut conn = app.db().await;
    providers::table
        .filter(providers::name.eq(name))
        .select(providers::id)
        .first(&mut conn)
        .await
        .unwrap()
}

/// Makes `server` reject every key from now on.
async fn start_failing(server: &MockServer) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"}})))
        .mount(server)
        .await;
}

/// A client logged in as `email` now (moving the clock by hours ends earlier sessions).
async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let http = client();
    assert_eq!(app.login(&http, email, PASSWORD).await.status(), 303);
    http
}

async fn page(app: &TestApp, http: &reqwest::Client, tab: &str) -> String {
    let res = app
        .get(http, &format!("/orgs/acme/settings/ai/{tab}"))
        .await;
    assert_eq!(res.status(), 200, "{tab}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn an_active_provider_that_starts_failing_alerts_once_and_stays_active() {
    let app = admin_app().await;
    let server = anthropic_mock().await;
    let id = add(&app, &server, "Claude").await;
    let res = app
        .post_form(
            &app.client,
            "/orgs/acme/settings/ai/provider",
            &format!("/orgs/acme/settings/ai/providers/{id}/activate"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);

    // Checked moments ago: nothing is due.
    let report = recheck_due(&app.state, SIX_HOURS).await.unwrap();
    assert_eq!(report.checked, 0, "{report:?}");

    app.clock.advance(SEVEN_HOURS);
    let report = recheck_due(&app.state, SIX_HOURS).await.unwrap();
    assert_eq!((report.checked, report.failed, report.alerts), (1, 0, 0));
    let ada = logged_in(&app, "ada@acme.test").await;
    assert!(
        !page(&app, &ada, "provider")
            .await
            .contains("needs-attention")
    );

    start_failing(&server).await;
    app.clock.advance(SEVEN_HOURS);
    let report = recheck_due(&app.state, SIX_HOURS).await.unwrap();
    assert_eq!((report.checked, report.failed, report.alerts), (1, 1, 1));
    assert_eq!(app.audit_count("provider.check_failed").await, 1);
    let ada = logged_in(&app, "ada@acme.test").await;
    for tab in TABS {
        let html = page(&app, &ada, tab).await;
        assert!(html.contains("id=\"needs-attention\""), "banner on {tab}");
        assert!(html.contains("Your active provider Claude failed its last live check"));
    }
    let provider = page(&app, &ada, "provider").await;
    assert!(
        provider.contains("Your provider: Claude"),
        "nothing switched by itself"
    );
    assert!(!provider.contains(GOOD_KEY));

    // Members see no banner.
    let http = logged_in(&app, "mia@acme.test").await;
    for tab in TABS {
        assert!(
            !page(&app, &http, tab).await.contains("needs-attention"),
            "{tab}"
        );
    }

    // Still failing at the next interval: checked again, no second event.
    app.clock.advance(SEVEN_HOURS);
    let report = recheck_due(&app.state, SIX_HOURS).await.unwrap();
    assert_eq!((report.checked, report.failed, report.alerts), (1, 1, 0));
    assert_eq!(app.audit_count("provider.check_failed").await, 1);
}

#[tokio::test]
async fn two_instances_on_one_database_check_each_provider_once_per_interval() {
    let app = admin_app().await;
    let server = anthropic_mock().await;
    for name in ["One", "Two", "Three", "Four", "Five"] {
        add(&app, &server, name).await;
    }
    // A second instance: its own pool and state over the same database and clock.
    let other = AppState::new(
        (*app.state.config).clone(),
        db::pool(&app.db_url, 4).unwrap(),
        app.clock.clone(),
        1,
    )
    .await
    .unwrap();
    let before = server.received_requests().await.unwrap().len();

    app.clock.advance(SEVEN_HOURS);
    let (a, b) = tokio::join!(
        recheck_due(&app.state, SIX_HOURS),
        recheck_due(&other, SIX_HOURS)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.checked + b.checked, 5, "{a:?} {b:?}");
    assert_eq!(a.skipped + b.skipped, 0);
    let after = server.received_requests().await.unwrap().len();
    assert_eq!(after - before, 5, "one check per provider");

    // Within the interval again: nothing due on either instance.
    let (a, b) = tokio::join!(
        recheck_due(&app.state, SIX_HOURS),
        recheck_due(&other, SIX_HOURS)
    );
    assert_eq!(a.unwrap().checked + b.unwrap().checked, 0);
    assert_eq!(server.received_requests().await.unwrap().len(), after);
    assert_eq!(app.audit_count("provider.check_failed").await, 0);
}

/// Issue 23: with a one-minute interval each provider is re-checked every minute, not every
/// five (the claim's lease used to outlive the written result), and two instances between
/// them still hit the upstream once per provider per minute.
#[tokio::test]
async fn a_one_minute_interval_rechecks_every_minute_across_two_instances() {
    const MINUTE: Duration = Duration::from_secs(60);
    let app = admin_app().await;
    let server = anthropic_mock().await;
    for name in ["One", "Two", "Three"] {
        add(&app, &server, name).await;
    }
    let other = AppState::new(
        (*app.state.config).clone(),
        db::pool(&app.db_url, 4).unwrap(),
        app.clock.clone(),
        1,
    )
    .await
    .unwrap();
    let before = server.received_requests().await.unwrap().len();
    for pass in 1..=4 {
        app.clock.advance(MINUTE + Duration::from_secs(1));
        let (a, b) = tokio::join!(recheck_due(&app.state, MINUTE), recheck_due(&other, MINUTE));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.checked + b.checked, 3, "pass {pass}: {a:?} {b:?}");
        let hits = server.received_requests().await.unwrap().len() - before;
        assert_eq!(hits, 3 * pass, "upstream hits after pass {pass}");
        // Half a minute later (the next pass comes 61 s after that) nothing is due yet on either instance.
        app.clock.advance(Duration::from_secs(30));
        let (a, b) = tokio::join!(recheck_due(&app.state, MINUTE), recheck_due(&other, MINUTE));
        assert_eq!(a.unwrap().checked + b.unwrap().checked, 0, "pass {pass}");
    }
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("switchboard_rechecks_total{outcome=\"passed\"}"),
        "{metrics}"
    );
}
