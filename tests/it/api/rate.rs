//! Rate limits of `/api/v1` and `/mcp`: per token and per client IP, `429` with
//! `Retry-After` and the JSON error, and nothing reaches the handler once refused.

use crate::api::traffic::SendChecked as _;
use serde_json::Value;

use super::{all_scopes, http, token};
use crate::helpers::TestApp;
use switchboard::models::{membership::Role, org::Org};

async fn app(vars: &[(&str, &str)]) -> (TestApp, Org, switchboard::models::user::User) {
    let app = TestApp::spawn_with(vars).await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    (app, org, ada)
}

#[tokio::test]
async fn each_token_gets_its_own_bucket() {
    let (app, org, ada) = app(&[
        ("SWITCHBOARD_API_TOKEN_RATE", "1"),
        ("SWITCHBOARD_API_IP_RATE", "0"),
    ])
    .await;
    let first = token(&app, &org, &ada, &all_scopes(), None).await;
    let second = token(&app, &org, &ada, &all_scopes(), None).await;
    let c = http();
    let url = app.url("/api/v1/catalog");
    // A burst of twice the rate passes; the next request waits.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(c.get(&url).bearer_auth(&first).send().await.unwrap());
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(codes, [200, 200, 429]);
    let refused = statuses.pop().unwrap();
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Another token of the same client is not affected.
    let other = c
        .get(&url)
        .bearer_auth(&second)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // MCP shares the token's bucket.
    let mcp = c
        .post(app.url("/mcp"))
        .bearer_auth(&first)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send_checked()
        .await
        .unwrap();
    assert_eq!(mcp.status(), 429);
    // After the wait, the token works again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = c
        .get(&url)
        .bearer_auth(&first)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn each_client_ip_gets_a_bucket_whatever_tokens_it_sends() {
    let (app, org, ada) = app(&[
        ("SWITCHBOARD_API_TOKEN_RATE", "0"),
        ("SWITCHBOARD_API_IP_RATE", "2"),
    ])
    .await;
    let t = token(&app, &org, &ada, &all_scopes(), None).await;
    let c = http();
    let url = app.url("/api/v1/catalog");
    let before = app.audit_count("token.created").await;
    let mut codes = Vec::new();
    for i in 0..6 {
        // Made-up tokens count against the IP too: guessing costs the same as using.
        let res = match i % 2 {
            0 => c.get(&url).bearer_auth(&t).send().await.unwrap(),
            _ => c.get(&url).bearer_auth("swb_made_up").send().await.unwrap(),
        };
        codes.push(res.status().as_u16());
    }
    assert_eq!(codes, [200, 401, 200, 401, 429, 429]);
    // The console is not rate limited by the API's buckets.
    let page = app.get(&app.client, "/login").await;
    assert_eq!(page.status(), 200);
    assert_eq!(app.audit_count("token.created").await, before);
}
