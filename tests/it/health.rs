//! The health loop (issue 21 item 4): outcomes reported to `POST …/ai/outcomes` (and
//! recorded by the relay through `ops::health::record`) become per-minute counters; a
//! failure on the provider's side schedules one immediate re-check per provider per minute
//! across instances (two instances racing ⇒ one check on the wiremock provider); the
//! failed re-check marks the provider "needs attention" (audited once), shown on the
//! Provider tab to admins and, read-only, to members; a passing Test clears it (audited
//! once). Counters hold no key (canary); Prometheus has aggregates with no org label.

use std::time::Duration;

use chrono::Timelike as _;
use diesel::QueryDsl as _;
use diesel_async::RunQueryDsl as _;
use serde_json::{Value, json};
use switchboard::{
    db::schema::{provider_usage, providers},
    models::{membership::Role, org::Org, user::User},
    ops::{
        Access, Caller, RequestMeta, Scope,
        health::{self, CallOutcome},
        providers::{self as ops, KeyInput},
    },
    providers::check::FailureCode,
    routing::Feature,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::{
    api::{http, token, traffic::SendChecked as _},
    helpers::{PASSWORD, TestApp, client},
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock, app_with_org},
};

const OUTCOMES: &str = "/api/v1/orgs/acme/ai/outcomes";
const TAB: &str = "/orgs/acme/settings/ai/provider";

/// A provider "Claude" of `org` at `server` (checked with [`GOOD_KEY`]); its id.
async fn claude(app: &TestApp, org: &Org, ada: &User, server: &MockServer) -> String {
    let caller = Caller::in_org(ada, org.clone(), Access::Admin, RequestMeta::default());
    ops::create_provider(
        &app.state,
        &caller,
        anthropic("Claude", server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap()
    .id
}

async fn report(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    http()
        .post(app.url(OUTCOMES))
        .bearer_auth(token)
        .json(&body)
        .send_checked()
        .await
        .unwrap()
}

/// Checks sent to the provider so far.
async fn checks(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/messages")
        .count()
}

/// Flushes this instance's counters and waits until `calls` calls are in the table (the
/// background job may be flushing the same sums meanwhile).
async fn counted(app: &TestApp, calls: i64) -> Vec<(String, String, String, i64, i64, i64, i64)> {
    for _ in 0..100 {
        health::flush(&app.state).await.unwrap();
        let mut conn = app.db().await;
        let rows: Vec<(String, String, String, i64, i64, i64, i64)> = provider_usage::table
            .order((provider_usage::outcome, provider_usage::code))
            .select((
                provider_usage::feature,
                provider_usage::outcome,
                provider_usage::code,
                provider_usage::calls,
                provider_usage::latency_ms_max,
                provider_usage::input_tokens,
                provider_usage::output_tokens,
            ))
            .load(&mut conn)
            .await
            .unwrap();
        if rows.iter().map(|r| r.3).sum::<i64>() >= calls {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{calls} calls never reached the counters");
}

async fn attention_since(app: &TestApp, id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut conn = app.db().await;
    providers::table
        .find(id)
        .select(providers::attention_since)
        .first(&mut conn)
        .await
        .unwrap()
}

async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let http = client();
    assert_eq!(app.login(&http, email, PASSWORD).await.status(), 303);
    http
}

async fn tab(app: &TestApp, http: &reqwest::Client) -> String {
    let res = app.get(http, TAB).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// Makes `server` refuse every key (a 401, as Anthropic answers a revoked key).
async fn start_failing(server: &MockServer) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"}})))
        .mount(server)
        .await;
}

/// Makes `server` accept [`GOOD_KEY`] again.
async fn start_passing(server: &MockServer) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", GOOD_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-20250514", "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": {"input_tokens": 8, "output_tokens": 1}})))
        .mount(server)
        .await;
}

fn minute_now() -> (u32, u32) {
    let now = chrono::Utc::now();
    (now.hour(), now.minute())
}

/// Waits until the wall clock is early in a minute, so what must happen "in one minute"
/// does (the lease is per minute of the clock).
async fn early_in_a_minute() {
    let second = chrono::Utc::now().second();
    if second > 40 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }
}

#[tokio::test]
async fn reported_and_relayed_outcomes_become_per_minute_counters_without_the_key() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let id = claude(&app, &org, &ada, &server).await;
    let service = token(&app, &org, &ada, &[Scope::AiResolve], None).await;

    for body in [
        json!({"feature": "summaries", "providerId": id, "status": 200, "latencyMs": 120,
               "inputTokens": 100, "outputTokens": 20}),
        json!({"feature": "summaries", "providerId": id, "status": 200, "latencyMs": 340,
               "inputTokens": 50, "outputTokens": 5}),
        json!({"feature": "summaries", "providerId": id, "status": 429, "code": "rate_limited",
               "latencyMs": 15}),
    ] {
        let res = report(&app, &service, body).await;
        assert_eq!(res.status(), 202);
    }
    // The relay's path: the same loop, called in-process.
    health::record(
        &app.state,
        CallOutcome {
            org_id: org.id,
            feature: Feature::Triage,
            provider_id: id.clone(),
            status: Some(404),
            code: None,
            latency: Duration::from_millis(7),
            input_tokens: None,
            output_tokens: None,
        },
    );

    let rows = counted(&app, 4).await;
    let row = |outcome: &str, code: &str| {
        rows.iter()
            .find(|r| r.1 == outcome && r.2 == code)
            .unwrap_or_else(|| panic!("no {outcome}/{code} row in {rows:?}"))
            .clone()
    };
    assert_eq!(
        row("ok", ""),
        ("summaries".into(), "ok".into(), "".into(), 2, 340, 150, 25)
    );
    assert_eq!(row("client_error", "rate_limited").3, 1);
    assert_eq!(row("client_error", "http_404").0, "triage");
    assert_eq!(rows.len(), 3, "{rows:?}");

    // Client errors are not the provider's failure: no re-check was asked for.
    let pass = health::run_rechecks(&app.state).await.unwrap();
    assert_eq!(pass.checked + pass.skipped, 0, "{pass:?}");

    // Canary: nothing in the counters (or the tab) holds the key.
    let mut conn = app.db().await;
    let dump: Vec<String> =
        diesel::sql_query("SELECT row_to_json(u)::text AS t FROM provider_usage u")
            .load::<Text>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.t)
            .collect();
    assert_eq!(dump.len(), 3);
    assert!(
        dump.iter()
            .all(|r| !r.contains(GOOD_KEY) && !r.contains("CANARY"))
    );

    // The tab: calls, error rate and last error in words, for members too.
    let mia = logged_in(&app, "mia@acme.test").await;
    let html = tab(&app, &mia).await;
    assert!(
        html.contains("4 calls in the last 24 hours, 50.0% failed"),
        "{html}"
    );
    assert!(html.contains("Last error: HTTP 404") || html.contains("Last error: rate limited"));
    assert!(!html.contains("provider-attention"));
    assert!(!html.contains(GOOD_KEY));

    // Prometheus: aggregates by provider kind and outcome class, no org anywhere.
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("switchboard_provider_calls_total{kind=\"anthropic\",outcome=\"ok\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "switchboard_provider_calls_total{kind=\"anthropic\",outcome=\"client_error\"} 2"
    ));
    assert!(!metrics.contains("acme") && !metrics.contains("org="));
    assert!(!metrics.contains(&id));
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

#[tokio::test]
async fn bad_outcomes_are_refused_and_count_nothing() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let id = claude(&app, &org, &ada, &server).await;
    // Another org's provider.
    app.create_org("globex", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let globex = Org::find_by_slug(&mut conn, "globex")
        .await
        .unwrap()
        .unwrap();
    let theirs = claude(&app, &globex, &ada, &server).await;
    let service = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let reader = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;

    let ok = json!({"feature": "summaries", "providerId": id, "status": 200, "latencyMs": 1});
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    for (why, body, status) in [
        ("unknown feature", with("feature", json!("poetry")), 400),
        ("unknown code", with("code", json!("on_fire")), 400),
        ("status out of range", with("status", json!(600)), 400),
        ("negative latency", with("latencyMs", json!(-1)), 400),
        (
            "latency over a day",
            with("latencyMs", json!(86_400_001u64)),
            400,
        ),
        (
            "a failure code on a success",
            with("code", json!("timeout")),
            422,
        ),
        ("unknown field", with("prompt", json!("hello")), 400),
        (
            "no latency",
            json!({"feature": "summaries", "providerId": id}),
            400,
        ),
        (
            "another org's provider",
            with("providerId", json!(theirs)),
            404,
        ),
        (
            "no such provider",
            with("providerId", json!("aip_01JDQ7ZK5V8Q6C3W0M2N4P6R8T")),
            404,
        ),
    ] {
        let res = report(&app, &service, body).await;
        assert_eq!(res.status(), status, "{why}");
    }
    let res = report(&app, &reader, ok.clone()).await;
    assert_eq!(res.status(), 403, "a token without ai:resolve");
    let res = http()
        .post(app.url(OUTCOMES))
        .json(&ok)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    health::flush(&app.state).await.unwrap();
    let n: i64 = provider_usage::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing refused was counted");
}

#[tokio::test]
async fn failures_recheck_once_per_minute_across_instances_and_need_attention_until_a_check_passes()
{
    let (app, org, ada, _) = app_with_org().await;
    let other = TestApp::spawn_sharing(&app, &[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let server = anthropic_mock().await;
    let id = claude(&app, &org, &ada, &server).await;
    let service = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    start_failing(&server).await;
    early_in_a_minute().await;
    let started = minute_now();

    // Both instances see failed calls at once; both (and their jobs) race to re-check.
    let failure = json!({"feature": "assistant", "providerId": id, "status": 401,
                         "code": "auth_rejected", "latencyMs": 80});
    let (a, b) = tokio::join!(
        report(&app, &service, failure.clone()),
        report(&other, &service, failure.clone())
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
    let (a, b) = tokio::join!(
        health::run_rechecks(&app.state),
        health::run_rechecks(&other.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.checked + b.checked <= 1, "{a:?} {b:?}");
    let mut since = None;
    for _ in 0..100 {
        since = attention_since(&app, &id).await;
        if since.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(since.is_some(), "the failed re-check marks it");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = checks(&server).await;
    if minute_now() == started {
        assert_eq!(n, 1, "one re-check across both instances");
    } else {
        assert!((1..=2).contains(&n), "one re-check per minute: {n}");
    }
    assert_eq!(app.audit_count("provider.needs_attention").await, 1);

    // More failures in the same minute: no second re-check; in any case no second event.
    let res = report(&app, &service, failure.clone()).await;
    assert_eq!(res.status(), 202);
    let pass = health::run_rechecks(&app.state).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    if minute_now() == started {
        assert_eq!(pass.checked, 0, "{pass:?}");
        assert_eq!(checks(&server).await, 1);
    } else {
        // A loaded machine took us into the next minute: one more re-check is due.
        assert!(checks(&server).await <= 2);
    }
    assert_eq!(app.audit_count("provider.needs_attention").await, 1);

    // The tab: the banner and the card say so; admins get the way out, members read only.
    let ada_http = logged_in(&app, "ada@acme.test").await;
    let html = tab(&app, &ada_http).await;
    assert!(html.contains("id=\"provider-attention\""), "{html}");
    assert!(html.contains(&format!("href=\"#provider-{id}\">Claude</a>")));
    assert!(html.contains(&format!("id=\"provider-{id}-attention\"")));
    assert!(html.contains("press Test"));
    assert!(!html.contains(GOOD_KEY));
    let mia = logged_in(&app, "mia@acme.test").await;
    let html = tab(&app, &mia).await;
    assert!(html.contains("id=\"provider-attention\""));
    assert!(html.contains("An admin of the org can fix it."));
    assert!(!html.contains("press Test") && !html.contains("data-busy=\"Checking…\""));

    // Prometheus: the gauge and the re-checks, no org.
    health::refresh_gauge(&app.state).await.unwrap();
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("switchboard_providers_needing_attention 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("acme") && !metrics.contains("org="));

    // Fixed at the provider; the admin presses Test: cleared, audited once.
    start_passing(&server).await;
    let test = format!("/orgs/acme/settings/ai/providers/{id}/test");
    for _ in 0..2 {
        let res = app.post_form(&ada_http, TAB, &test, &[]).await;
        assert!(res.status().is_success() || res.status().is_redirection());
    }
    assert_eq!(attention_since(&app, &id).await, None);
    assert_eq!(app.audit_count("provider.attention_cleared").await, 1);
    let html = tab(&app, &ada_http).await;
    assert!(!html.contains("provider-attention"));
    let trail = app
        .get(&ada_http, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(trail.contains("needs attention: its calls failed and a re-check failed too"));
    assert!(trail.contains("passed a check again"));
    drop(other);
}

#[tokio::test]
async fn a_passing_immediate_recheck_finds_nothing_to_flag() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let id = claude(&app, &org, &ada, &server).await;
    early_in_a_minute().await;
    // A timeout the provider has recovered from by the time it is re-checked.
    health::record(
        &app.state,
        CallOutcome {
            org_id: org.id,
            feature: Feature::Summaries,
            provider_id: id.clone(),
            status: None,
            code: Some(FailureCode::Timeout),
            latency: Duration::from_secs(30),
            input_tokens: None,
            output_tokens: None,
        },
    );
    let _ = health::run_rechecks(&app.state).await.unwrap();
    for _ in 0..100 {
        if checks(&server).await >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The save's check, then the immediate re-check.
    assert_eq!(checks(&server).await, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(attention_since(&app, &id).await, None);
    assert_eq!(app.audit_count("provider.needs_attention").await, 0);
    assert_eq!(app.audit_count("provider.attention_cleared").await, 0);
}
