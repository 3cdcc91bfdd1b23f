//! The relay feeds the health loop (issue 21 "Done when": failures ⇒ re-check ⇒ needs
//! attention on the page): a relayed call the provider refuses is counted per minute with
//! its taxonomy code, schedules the immediate re-check, whose failure marks the provider
//! "needs attention" on the Provider tab — and no counter row holds the key.

use std::time::Duration;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use switchboard::{
    db::schema::{provider_usage, providers},
    ops::health,
    providers::ProviderKind,
};

use super::upstream::{Reply, Upstream};
use super::{KEY, Kind, http, world};
use crate::helpers::{PASSWORD, client};

#[tokio::test]
async fn a_refused_relayed_call_is_counted_rechecked_and_shown_as_needing_attention() {
    // The provider has revoked the key: every request is a 401, as Anthropic answers it.
    let upstream = Upstream::start(|_| {
        Reply::Json(
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
                .into(),
        )
    })
    .await;
    let kind = Kind {
        kind: ProviderKind::Anthropic,
        model: "claude-relay",
        deployment: None,
        key: Some(KEY),
        headers: &[],
    };
    let w = world(&[], kind, &upstream.url).await;
    let token = w.relay_token().await;
    upstream.seen.lock().unwrap().clear();

    let res = http()
        .post(format!("{}/v1/messages", w.base("summaries")))
        .header("x-api-key", &token)
        .header("content-type", "application/json")
        .body(r#"{"model":"claude-relay","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the provider's refusal passes through");
    assert_eq!(res.headers()["x-switchboard-error-code"], "auth_rejected");

    // Counted, with the taxonomy's code and nothing of the key.
    let mut conn = w.app.db().await;
    let mut rows: Vec<(String, String, String, i64)> = Vec::new();
    for _ in 0..50 {
        health::flush(&w.app.state).await.unwrap();
        rows = provider_usage::table
            .filter(provider_usage::provider_id.eq(&w.provider_id))
            .select((
                provider_usage::feature,
                provider_usage::outcome,
                provider_usage::code,
                provider_usage::calls,
            ))
            .load(&mut conn)
            .await
            .unwrap();
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (feature, outcome, code, calls) = &rows[0];
    assert_eq!(
        (feature.as_str(), code.as_str(), *calls),
        ("summaries", "auth_rejected", 1)
    );
    assert_ne!(outcome, "ok");
    assert!(!format!("{rows:?}").contains(KEY));

    // The failure asked for an immediate re-check (the job may already have run it); it
    // fails too, so the provider needs attention.
    health::run_rechecks(&w.app.state).await.unwrap();
    let mut since = None;
    for _ in 0..100 {
        since = providers::table
            .find(&w.provider_id)
            .select(providers::attention_since)
            .first::<Option<chrono::DateTime<chrono::Utc>>>(&mut conn)
            .await
            .unwrap();
        if since.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(since.is_some(), "the failed re-check marks the provider");
    assert!(
        upstream.requests().len() >= 2,
        "the re-check reached the provider"
    );
    assert_eq!(w.app.audit_count("provider.needs_attention").await, 1);

    // The admin sees it on the next page load.
    let ada = client();
    assert_eq!(
        w.app.login(&ada, "ada@acme.test", PASSWORD).await.status(),
        303
    );
    let res = w.app.get(&ada, "/orgs/acme/settings/ai/provider").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"provider-attention\""), "{html}");
    assert!(html.contains(&format!("id=\"provider-{}-attention\"", w.provider_id)));
    assert!(!html.contains(KEY));
}
