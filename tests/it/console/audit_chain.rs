//! Tamper evidence end to end: an event edited behind the database's back is named by
//! `switchboard audit verify` (and the Audit tab), and 20 concurrent writers in one org
//! leave one unbroken chain.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use switchboard::{
    models::org::Org,
    ops::{Action, Caller, Change, OpError, Target, audit},
};

use super::{
    audit_trail::{AUDIT, event_ids, seed_events},
    cli::switchboard,
};
use crate::helpers::TestApp;

/// Edits event `id`'s `after` as the table owner, with the append-only triggers lifted.
async fn tamper(app: &TestApp, id: i64) {
    let mut conn = app.db().await;
    for sql in [
        "ALTER TABLE audit_events DISABLE TRIGGER USER".to_owned(),
        format!("UPDATE audit_events SET after = '{{\"name\": \"forged\"}}' WHERE id = {id}"),
        "ALTER TABLE audit_events ENABLE TRIGGER USER".to_owned(),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
}

async fn nth_event_id(app: &TestApp, org: &str, seq: i64) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = app.db().await;
    let row: Id = diesel::sql_query(
        "SELECT e.id FROM audit_events e JOIN orgs o ON o.id = e.org_id WHERE o.slug = $1 AND e.seq = $2",
    )
    .bind::<diesel::sql_types::Text, _>(org)
    .bind::<BigInt, _>(seq)
    .get_result(&mut conn)
    .await
    .unwrap();
    row.id
}

#[tokio::test]
async fn verify_names_the_event_edited_behind_the_databases_back() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    app.create_org("beta", &[]).await;
    seed_events(&mut app.db().await, "acme", 300).await;
    seed_events(&mut app.db().await, "beta", 10).await;

    let (code, out, err) = switchboard(&app, &["audit", "verify"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("verified 310 audit events in 2 chains"),
        "{out}"
    );

    // A fresh chain, never verified, edited behind the triggers' back.
    app.create_org("gamma", &[]).await;
    seed_events(&mut app.db().await, "gamma", 300).await;
    let victim = nth_event_id(&app, "gamma", 120).await;
    tamper(&app, victim).await;
    let (code, _, err) = switchboard(&app, &["audit", "verify"], "").await;
    assert_ne!(code, 0);
    assert!(err.contains(&format!("broken at event {victim}:")), "{err}");
    assert!(err.contains("org gamma"), "{err}");
    let (code, _, err) = switchboard(&app, &["audit", "verify", "--org", "gamma"], "").await;
    assert_ne!(code, 0);
    assert!(err.contains(&format!("event {victim}")), "{err}");
    // The other orgs' chains are untouched.
    let (code, out, err) = switchboard(&app, &["audit", "verify", "--org", "beta"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified 10 audit events in 1 chain"), "{out}");

    // An edit in a chain the Audit tab has not verified yet shows on the tab.
    seed_events(&mut app.db().await, "acme", 20).await;
    let victim = nth_event_id(&app, "acme", 310).await;
    tamper(&app, victim).await;
    // The Audit tab, never viewed before, finds the break too.
    let html = app.get(&app.client, AUDIT).await.text().await.unwrap();
    assert!(html.contains("Tamper check failed"), "{html}");
    assert!(
        html.contains(&format!("event {victim} ")),
        "names the event"
    );
}

#[tokio::test]
async fn the_tab_verifies_incrementally_from_its_checkpoint() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    seed_events(&mut app.db().await, "acme", 40).await;
    let html = app.get(&app.client, AUDIT).await.text().await.unwrap();
    let newest = event_ids(&html)[0];
    assert!(
        html.contains(&format!("Chain verified up to event {newest}<")),
        "{html}"
    );
    seed_events(&mut app.db().await, "acme", 5).await;
    let html = app.get(&app.client, AUDIT).await.text().await.unwrap();
    let newest = event_ids(&html)[0];
    assert!(html.contains(&format!("Chain verified up to event {newest}<")));

    // An event on the page edited after the checkpoint passed it: the page's own window is
    // re-verified on every view.
    let shown = event_ids(&html)[10];
    tamper(&app, shown).await;
    let html = app.get(&app.client, AUDIT).await.text().await.unwrap();
    assert!(html.contains("Tamper check failed"), "{html}");
    assert!(html.contains(&format!("event {shown} ")));
}

#[tokio::test]
async fn twenty_concurrent_writers_in_one_org_never_fork_the_chain() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let org = Org::find_by_slug(&mut app.db().await, "acme")
        .await
        .unwrap()
        .unwrap();
    let mut writers = Vec::new();
    for w in 0..20 {
        let url = app.db_url.clone();
        let caller = Caller::operator(Some(org.clone()));
        writers.push(tokio::spawn(async move {
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            for i in 0..10 {
                conn.transaction::<_, OpError, _>(async |conn| {
                    audit::record(
                        conn,
                        &caller,
                        Action::InsightsEnabled,
                        Target::Org("acme".to_owned()),
                        None,
                        Some(Change::new().text("writer", format!("{w}-{i}"))),
                    )
                    .await?;
                    // Hold the transaction open a moment so the writers overlap.
                    diesel::sql_query("SELECT pg_sleep(0.002)")
                        .execute(conn)
                        .await?;
                    Ok(())
                })
                .await
                .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let (code, out, err) = switchboard(&app, &["audit", "verify", "--org", "acme"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified 200 audit events"), "{out}");
}
