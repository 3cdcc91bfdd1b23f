//! Login, logout, sessions and their revocation.

use crate::helpers::{PASSWORD, TestApp, client, location};

#[tokio::test]
async fn admin_logs_in_and_reaches_the_insights_tab() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let res = app.get(&app.client, "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    let res = app
        .get(&app.client, "/orgs/acme/settings/ai/insights")
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Insights are off"), "{body}");
}
