//! The Audit tab over HTTP: keyset pages that stay exact while events arrive, filters in the
//! URL, readable diffs, the streamed export (same rows as the pages, bounded memory), and
//! 400s for bad input.

use std::collections::HashSet;

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use switchboard::models::membership::Role;

use crate::helpers::{PASSWORD, TestApp, client};

pub const AUDIT: &str = "/orgs/acme/settings/ai/audit";

/// Inserts `n` events into org `slug` (through the chain trigger, as every writer does):
/// odd ones `insights.enabled` by ada, even ones `provider.updated` by bob.
pub async fn seed_events(conn: &mut AsyncPgConnection, slug: &str, n: i64) {
    diesel::sql_query(
        "INSERT INTO audit_events (org_id, actor_kind, actor_label, action, target, before, after, ip, request_id) \
         SELECT o.id, 'user', CASE WHEN i % 2 = 1 THEN 'ada@acme.test' ELSE 'bob@acme.test' END, \
                CASE WHEN i % 2 = 1 THEN 'insights.enabled' ELSE 'provider.updated' END, \
                'provider:aip_' || i, jsonb_build_object('name', 'old ' || i), \
                jsonb_build_object('name', 'new ' || i), '127.0.0.1', 'req-' || i \
         FROM generate_series(1, $2) AS i, orgs o WHERE o.slug = $1",
    )
    .bind::<Text, _>(slug)
    .bind::<BigInt, _>(n)
    .execute(conn)
    .await
    .expect("seed events");
}

/// The event ids of a page, in order.
pub fn event_ids(html: &str) -> Vec<i64> {
    html.split("id=\"event-")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The "Older events" link of a page.
pub fn older_href(html: &str) -> Option<String> {
    let at = html.find("id=\"audit-more\"")?;
    let rest = &html[at..];
    let start = rest.find("href=\"")? + 6;
    let end = start + rest[start..].find('"')?;
    Some(unescape(&rest[start..end]))
}

/// Undoes askama's escaping of `&` in an attribute.
pub fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&")
}

/// Ids of the org's events with `action` in `actions` (all when empty), newest first.
async fn ids_in_db(app: &TestApp, actions: &[&str], max_seq: i64) -> Vec<i64> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = app.db().await;
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT e.id FROM audit_events e JOIN orgs o ON o.id = e.org_id WHERE o.slug = 'acme' \
         AND (cardinality($1::text[]) = 0 OR e.action = ANY($1)) AND e.seq <= $2 ORDER BY e.seq DESC",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(actions.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    .bind::<BigInt, _>(max_seq)
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

async fn seq_of(app: &TestApp, id: i64) -> i64 {
    use diesel::QueryDsl as _;
    use switchboard::db::schema::audit_events;
    let mut conn = app.db().await;
    audit_events::table
        .find(id)
        .select(audit_events::seq)
        .first(&mut conn)
        .await
        .unwrap()
}

/// Walks every page from `first` with `http`, returning the ids in order.
async fn walk(app: &TestApp, http: &reqwest::Client, first: &str) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut next = Some(first.to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        assert!(pages < 1_000, "the walk ends");
        let res = app.get(http, &path).await;
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        ids.extend(event_ids(&html));
        next = older_href(&html);
        pages += 1;
    }
    (ids, pages)
}

#[tokio::test]
async fn walking_every_page_while_events_arrive_shows_each_event_once() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    seed_events(&mut app.db().await, "acme", 1_000).await;

    // A writer keeps appending to the org while the pages are walked.
    let db_url = app.db_url.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            use diesel_async::AsyncConnection as _;
            let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
            let mut written = 0;
            while !std::sync::atomic::AtomicBool::load(&stop, std::sync::atomic::Ordering::Relaxed)
            {
                seed_events(&mut conn, "acme", 3).await;
                written += 3;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            written
        })
    };
    let (ids, pages) = walk(&app, &app.client, AUDIT).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0, "events arrived during the walk");

    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event shown twice");
    // Exactly the events that existed when page 1 was read: no gap, nothing extra.
    let top = seq_of(&app, ids[0]).await;
    assert_eq!(ids, ids_in_db(&app, &[], top).await);
    assert!(
        ids.len() >= 1_000 && pages >= 20,
        "{} events on {pages} pages",
        ids.len()
    );
}

#[tokio::test]
async fn filters_live_in_the_url_and_the_export_returns_the_same_rows() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    seed_events(&mut app.db().await, "acme", 230).await;
    let today = chrono::Utc::now().date_naive();

    // Family and actor: 115 provider events by bob, on 3 pages.
    let filtered = format!("{AUDIT}?family=provider&actor=Bob%40acme.test&from={today}&to={today}");
    let (ids, pages) = walk(&app, &app.client, &filtered).await;
    let top = seq_of(&app, ids[0]).await;
    assert_eq!(ids, ids_in_db(&app, &["provider.updated"], top).await);
    assert_eq!((ids.len(), pages), (115, 3));
    let page = app.get(&app.client, &filtered).await.text().await.unwrap();
    assert!(
        page.contains("<option value=\"provider\" selected>"),
        "the filter shows itself"
    );
    assert!(
        older_href(&page)
            .unwrap()
            .contains("family=provider&actor=bob%40acme.test"),
        "the Older link keeps the filter"
    );
    // A day with no events.
    let empty = app
        .get(
            &app.client,
            &format!("{AUDIT}?to={}", today.pred_opt().unwrap()),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(event_ids(&empty).is_empty() && empty.contains("No event matches"));

    // The export links carry the same filter; JSON Lines and CSV hold the same rows.
    let export = format!(
        "/orgs/acme/settings/ai/audit/export.jsonl?family=provider&actor=Bob%40acme.test&from={today}&to={today}"
    );
    assert!(unescape(&page).contains(&export.replace("Bob%40", "bob%40")));
    let res = app.get(&app.client, &export).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!(
            "audit-acme-provider-actor-bob_acme.test-from-{today}-to-{today}.jsonl"
        )),
        "{disposition}"
    );
    let body = res.text().await.unwrap();
    let exported: Vec<i64> = body
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        exported, ids,
        "the export holds exactly the filtered rows, newest first"
    );
    let csv = app
        .get(&app.client, &export.replace("export.jsonl", "export.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("id,seq,occurred_at,"));
    assert_eq!(csv.lines().count(), ids.len() + 1);
    assert_eq!(
        app.audit_count("audit.exported").await,
        2,
        "each export is audited"
    );
    let tab = app
        .get(&app.client, &format!("{AUDIT}?family=audit"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(event_ids(&tab).len(), 2);
    assert!(tab.contains("Exported the audit trail") && tab.contains("admin@acme.test"));
}

#[tokio::test]
async fn events_read_as_sentences_with_field_diffs_and_anchors() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let mut conn = app.db().await;
    diesel::sql_query(
        "INSERT INTO audit_events (org_id, actor_kind, actor_label, action, target, before, after, ip, request_id) \
         SELECT id, 'user', 'admin@acme.test', 'provider.updated', 'provider:aip_01', \
           '{\"name\": \"Main\", \"key\": \"sk-ant-...WXYZ\", \"default_model\": \"a\"}', \
           '{\"name\": \"Main\", \"key\": \"sk-ant-...ABCD\", \"default_model\": \"b\"}', '10.1.2.3', 'req-77' \
         FROM orgs WHERE slug = 'acme'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let html = app.get(&app.client, AUDIT).await.text().await.unwrap();
    let id = event_ids(&html)[0];
    assert!(
        html.contains(&format!("<a href=\"#event-{id}\"")),
        "anchor link"
    );
    assert!(html.contains("Edited provider “Main” (aip_01)"), "{html}");
    assert!(html.contains("10.1.2.3") && html.contains("req-77"));
    assert!(
        html.contains("2 fields changed"),
        "unchanged fields are left out"
    );
    assert!(
        html.contains("sk-ant-...WXYZ") && html.contains("sk-ant-...ABCD"),
        "admins see previews"
    );
    assert!(
        !html.contains("&quot;name&quot;") && !html.contains("\"name\":"),
        "no raw JSON"
    );
    assert!(
        html.contains("Chain verified up to event"),
        "chain status shown"
    );
}

#[tokio::test]
async fn bad_filters_cursors_and_ranges_are_refused_with_a_message() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    // A malformed value is a 400; well-formed dates whose range can't be (reversed, over a
    // year, open-ended from long ago) a 422.
    for (query, status, says) in [
        ("family=nope", 400, "no action family"),
        ("cursor=abc", 400, "cursor is malformed"),
        ("cursor=-4", 400, "cursor is malformed"),
        ("cursor=99999999999999999999999", 400, "cursor is malformed"),
        ("from=2026-13-01", 400, "not a date"),
        ("to=yesterday", 400, "not a date"),
        ("from=2024-01-01&to=2025-06-01", 422, "longer than a year"),
        ("from=2025-06-01&to=2025-01-01", 422, "starts after it ends"),
        ("from=2020-01-01", 422, "longer than a year"),
        // Caught at the edge, before the filter parser.
        ("actor=%01", 400, "contains a control character"),
    ] {
        for path in [AUDIT, "/orgs/acme/settings/ai/audit/export.csv"] {
            let res = app.get(&app.client, &format!("{path}?{query}")).await;
            assert_eq!(res.status(), status, "{path}?{query}");
            let body = res.text().await.unwrap();
            assert!(body.contains(says), "{path}?{query}: {body}");
        }
    }
    let res = app
        .get(&app.client, "/orgs/acme/settings/ai/audit/export.xml")
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.audit_count("audit.exported").await,
        0,
        "refused exports are not recorded"
    );
}

#[tokio::test]
async fn members_neither_see_nor_reach_the_audit_tab() {
    let app = TestApp::spawn().await;
    let admin = app.seed_and_login_admin().await;
    let mia = app.create_user("mia@acme.test", false).await;
    let mut conn = app.db().await;
    let org = switchboard::models::org::Org::find_by_slug(&mut conn, "acme")
        .await
        .unwrap()
        .unwrap();
    switchboard::models::membership::add(&mut conn, org.id, mia.id, Role::Member)
        .await
        .unwrap();
    let _ = admin;
    let http = client();
    assert_eq!(
        app.login(&http, "mia@acme.test", PASSWORD).await.status(),
        303
    );
    let page = app
        .get(&http, "/orgs/acme/settings/ai/insights")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"tab-audit\""), "the tab is hidden");
    for path in [AUDIT, "/orgs/acme/settings/ai/audit/export.csv"] {
        assert_eq!(app.get(&http, path).await.status(), 403, "{path}");
    }
    assert_eq!(app.audit_count("audit.exported").await, 0);
}

#[tokio::test]
async fn htmx_older_answers_just_the_next_rows() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    seed_events(&mut app.db().await, "acme", 120).await;
    let first = app.get(&app.client, AUDIT).await.text().await.unwrap();
    let older = older_href(&first).unwrap();
    let res = app
        .client
        .get(app.url(&older))
        .header("HX-Request", "true")
        .header("HX-Target", "audit-more")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let frag = res.text().await.unwrap();
    assert!(
        frag.trim_start().starts_with("<tr id=\"event-"),
        "rows only: {frag}"
    );
    assert!(
        !frag.contains("<table") || frag.contains("<details"),
        "no new table around the rows"
    );
    assert_eq!(event_ids(&frag).len(), 50);
    let plain = app.get(&app.client, &older).await.text().await.unwrap();
    assert_eq!(
        event_ids(&plain),
        event_ids(&frag),
        "the plain link shows the same page"
    );
    assert!(plain.contains("<html"));
}

/// Reads the export of 100 000 events while the test holds a lock that stops the server's
/// next batch query: the first bytes arrive and then the body stalls short of the end, so
/// the handler sends as it reads instead of collecting the whole trail first; after the
/// lock is released every event arrives.
#[tokio::test]
async fn a_large_export_streams_batch_by_batch() {
    use diesel_async::AsyncConnection as _;
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    seed_events(&mut app.db().await, "acme", 100_000).await;

    let mut res = app
        .get(&app.client, "/orgs/acme/settings/ai/audit/export.jsonl")
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("content-length").is_none(),
        "chunked, not sized up front"
    );
    let first = res.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());

    // Stop the server's queries: ACCESS EXCLUSIVE blocks the next batch's SELECT.
    let mut locker = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .await
        .unwrap();
    diesel::sql_query("LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let mut received = first.len();
    let mut lines = first.iter().filter(|b| **b == b'\n').count();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(2), res.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let chunk = chunk;
                received += chunk.len();
                lines += chunk.iter().filter(|b| **b == b'\n').count();
            }
            Ok(Ok(None)) => panic!("the whole export arrived while its queries were blocked"),
            Ok(Err(e)) => panic!("export failed: {e}"),
            Err(_) => break, // stalled: the server is waiting for its next batch
        }
    }
    assert!(
        lines < 100_000,
        "stalled after {lines} events ({received} bytes)"
    );
    diesel::sql_query("COMMIT")
        .execute(&mut locker)
        .await
        .unwrap();
    while let Some(chunk) = res.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(
        lines, 100_000,
        "every event exported once the lock was gone"
    );
}
