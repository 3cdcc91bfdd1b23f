//! Audit trail trust against the database's superuser (issue 22): signed checkpoints catch
//! a rewrite with recomputed hashes and a truncation, the signing job never signs over
//! one, checkpoint lines that were forged, edited or removed are reported, a marked restore
//! is an acknowledged rollback, and the application's own connection cannot lift the
//! append-only triggers.

use std::{path::Path, process::Stdio};

use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use secrecy::ExposeSecret as _;
use switchboard::{crypto::signing::AuditSigner, ops::trail::signing};

use super::audit_trail::seed_events;
use crate::helpers::TestApp;

/// An app with a fresh signing key and checkpoint directory; returns the key entry.
async fn signed_app(dir: &Path) -> (TestApp, String) {
    let key = AuditSigner::generate_entry("t1").unwrap();
    let key = key.expose_secret().to_owned();
    let app = TestApp::spawn_with(&[
        ("SWITCHBOARD_AUDIT_SIGNING_KEY", &key),
        ("SWITCHBOARD_AUDIT_CHECKPOINTS", dir.to_str().unwrap()),
    ])
    .await;
    (app, key)
}

/// Runs the CLI against `app`'s database with the signing key and `dir` as its checkpoint
/// store.
async fn cli(app: &TestApp, key: &str, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD_AUDIT_CHECKPOINTS", dir)
        .env("DATABASE_URL", &app.db_url)
        .env("SWITCHBOARD_MASTER_KEYS", crate::helpers::MASTER_KEYS)
        .env("SWITCHBOARD_AUDIT_SIGNING_KEY", key)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run switchboard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

/// The attacker's connection: a superuser's, or the test fails loudly.
async fn superuser(app: &TestApp) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(&app.db_url)
        .await
        .expect("the attacker needs a database connection");
    let is_super: Flag =
        diesel::sql_query("SELECT rolsuper AS flag FROM pg_roles WHERE rolname = current_user")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert!(
        is_super.flag,
        "this test plays the database's superuser and needs a superuser connection \
         (the embedded cluster's `postgres`, or a DATABASE_URL of a superuser)"
    );
    conn
}

async fn run(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).await.unwrap();
}

async fn org_id(conn: &mut AsyncPgConnection, slug: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let row: Id = diesel::sql_query("SELECT id FROM orgs WHERE slug = $1")
        .bind::<Text, _>(slug)
        .get_result(conn)
        .await
        .unwrap();
    row.id
}

async fn event_id(conn: &mut AsyncPgConnection, org: i64, seq: i64) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let row: Id = diesel::sql_query("SELECT id FROM audit_events WHERE org_id = $1 AND seq = $2")
        .bind::<BigInt, _>(org)
        .bind::<BigInt, _>(seq)
        .get_result(conn)
        .await
        .unwrap();
    row.id
}

/// As the superuser: edits event `seq` of `org`, recomputes every later hash with the
/// database's own canonicaliser and moves the head, with the triggers lifted.
async fn rewrite(conn: &mut AsyncPgConnection, org: i64, seq: i64) {
    run(conn, "ALTER TABLE audit_events DISABLE TRIGGER USER").await;
    run(
        conn,
        &format!(
            "UPDATE audit_events SET after = '{{\"name\": \"forged\"}}' WHERE org_id = {org} AND seq = {seq}"
        ),
    )
    .await;
    run(
        conn,
        &format!(
            "DO $$ DECLARE r audit_events; h BYTEA; BEGIN \
               SELECT hash INTO h FROM audit_events WHERE org_id = {org} AND seq = {seq} - 1; \
               IF h IS NULL THEN h := '\\x' || repeat('00', 32); END IF; \
               FOR r IN SELECT * FROM audit_events WHERE org_id = {org} AND seq >= {seq} ORDER BY seq LOOP \
                 h := sha256(audit_event_canonical(r) || h); \
                 UPDATE audit_events SET hash = h WHERE id = r.id; \
               END LOOP; \
               UPDATE audit_chain_heads SET hash = h WHERE chain_id = {org}; \
             END $$"
        ),
    )
    .await;
    run(conn, "ALTER TABLE audit_events ENABLE TRIGGER USER").await;
}

async fn signed_rows(conn: &mut AsyncPgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM audit_signed_checkpoints")
        .get_result(conn)
        .await
        .unwrap();
    n.n
}

#[tokio::test]
async fn a_superuser_rewrite_is_named_and_never_signed_over() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = signed_app(dir.path()).await;
    app.create_org("acme", &[]).await;
    let mut db = superuser(&app).await;
    let acme = org_id(&mut db, "acme").await;
    // Checkpoints after events 2, 3 and 5.
    for n in [2, 1, 2] {
        seed_events(&mut db, "acme", n).await;
        let r = signing::sign_due(&app.state).await.unwrap();
        assert_eq!((r.signed, r.alerts.len()), (1, 0), "{r:?}");
    }
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one file for this instance");
    let checkpoints = dir.path().to_str().unwrap();
    let (code, out, err) = cli(
        &app,
        &key,
        dir.path(),
        &["audit", "verify", "--checkpoints", checkpoints],
    )
    .await;
    assert_eq!(code, 0, "an untouched chain passes: {err}");
    assert!(out.contains("3 signed checkpoints match"), "{out}");
    assert!(out.contains("external checkpoint store"), "{out}");

    // The superuser rewrites event #3 and every hash after it: the plain walk can't tell.
    rewrite(&mut db, acme, 3).await;
    let victim = event_id(&mut db, acme, 3).await;
    let (code, _, err) = cli(
        &app,
        &key,
        dir.path(),
        &["audit", "verify", "--checkpoints", checkpoints],
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("org acme: event {victim} (#3) differs")),
        "{err}"
    );
    // Without the external store, the database's own signed copies still catch it.
    let (code, _, err) = cli(&app, &key, dir.path(), &["audit", "verify"]).await;
    assert_ne!(code, 0);
    assert!(err.contains(&format!("event {victim} (#3)")), "{err}");

    // New events after the rewrite: the next signing pass refuses to sign over it.
    seed_events(&mut db, "acme", 1).await;
    let before = signed_rows(&mut db).await;
    let r = signing::sign_due(&app.state).await.unwrap();
    assert_eq!(r.signed, 0, "{r:?}");
    assert_eq!(r.alerts.len(), 1, "{r:?}");
    assert!(r.alerts[0].contains("org acme"), "{r:?}");
    assert_eq!(
        signed_rows(&mut db).await,
        before,
        "nothing signed over the rewrite"
    );
    // …and the Audit tab shows it to the org's admins.
    let admin = app.create_user("admin@acme.test", false).await;
    {
        let mut conn = app.db().await;
        switchboard::models::membership::add(
            &mut conn,
            acme,
            admin.id,
            switchboard::models::membership::Role::Admin,
        )
        .await
        .unwrap();
    }
    let res = app
        .login(&app.client, "admin@acme.test", crate::helpers::PASSWORD)
        .await;
    assert_eq!(res.status(), 303);
    let html = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"audit-signing-alert\""), "{html}");
    assert!(html.contains("Signing stopped at"), "{html}");
    assert!(!html.contains("The trail is unsigned"), "{html}");
}

#[tokio::test]
async fn truncation_is_named_and_a_marked_restore_is_an_acknowledged_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = signed_app(dir.path()).await;
    app.create_org("beta", &[]).await;
    let mut db = superuser(&app).await;
    let beta = org_id(&mut db, "beta").await;
    seed_events(&mut db, "beta", 4).await;
    assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    let checkpoints = dir.path().to_str().unwrap();

    // The superuser deletes the newest event and moves the head back.
    run(&mut db, "ALTER TABLE audit_events DISABLE TRIGGER USER").await;
    run(
        &mut db,
        &format!("DELETE FROM audit_events WHERE org_id = {beta} AND seq = 4"),
    )
    .await;
    run(
        &mut db,
        &format!(
            "UPDATE audit_chain_heads SET seq = 3, hash = (SELECT hash FROM audit_events WHERE org_id = {beta} AND seq = 3) WHERE chain_id = {beta}"
        ),
    )
    .await;
    run(&mut db, "ALTER TABLE audit_events ENABLE TRIGGER USER").await;
    let (code, _, err) = cli(
        &app,
        &key,
        dir.path(),
        &["audit", "verify", "--checkpoints", checkpoints],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("org beta: events #4–#4 are missing"), "{err}");
    seed_events(&mut db, "beta", 1).await;
    let r = signing::sign_due(&app.state).await.unwrap();
    assert_eq!((r.signed, r.alerts.len()), (0, 1), "not signed over: {r:?}");

    // An operator marks it a legitimate restore: the rollback is acknowledged.
    let (code, out, err) = cli(&app, &key, dir.path(), &["audit", "mark-restore"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("org beta at #4"), "{out}");
    let (code, out, err) = cli(
        &app,
        &key,
        dir.path(),
        &["audit", "verify", "--checkpoints", checkpoints],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("acknowledged: org beta: rolled back from #4"),
        "{err}"
    );
    assert!(out.contains("every hash matches"), "{out}");
    // Signing resumes from the marker.
    seed_events(&mut db, "beta", 1).await;
    let r = signing::sign_due(&app.state).await.unwrap();
    assert_eq!((r.signed, r.alerts.len()), (1, 0), "{r:?}");
}

#[tokio::test]
async fn forged_edited_and_missing_checkpoint_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = signed_app(dir.path()).await;
    app.create_org("acme", &[]).await;
    let mut db = superuser(&app).await;
    for _ in 0..3 {
        seed_events(&mut db, "acme", 1).await;
        assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    }
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let original = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 3);
    let dir_arg = dir.path().to_str().unwrap();
    let verify = async || {
        cli(
            &app,
            &key,
            dir.path(),
            &["audit", "verify", "--checkpoints", dir_arg],
        )
        .await
    };

    // Edited: the seq of the second line changed.
    let edited = lines[1].replace("\"seq\":2", "\"seq\":1");
    assert_ne!(edited, lines[1]);
    std::fs::write(&file, format!("{}\n{edited}\n{}\n", lines[0], lines[2])).unwrap();
    let (code, _, err) = verify().await;
    assert_ne!(code, 0);
    assert!(
        err.contains(":2: the checkpoint of org acme at #1") && err.contains("was edited"),
        "{err}"
    );

    // Forged: a well-formed line signed with another key under the same id.
    let other = AuditSigner::parse(&AuditSigner::generate_entry("t1").unwrap()).unwrap();
    let mut cp: switchboard::ops::trail::checkpoint::SignedCheckpoint =
        serde_json::from_str(lines[2]).unwrap();
    let forged = switchboard::ops::trail::checkpoint::SignedCheckpoint::sign(
        &other,
        "checkpoint",
        cp.chain,
        (
            cp.seq,
            &switchboard::ops::trail::checkpoint::unhex(&cp.head).unwrap(),
        ),
        cp.time().unwrap(),
        &switchboard::ops::trail::checkpoint::unhex(&cp.prev).unwrap(),
    );
    cp.signature = forged.signature;
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n{}\n",
            lines[0],
            lines[1],
            serde_json::to_string(&cp).unwrap()
        ),
    )
    .unwrap();
    let (code, _, err) = verify().await;
    assert_ne!(code, 0);
    assert!(err.contains("is forged or edited"), "{err}");

    // Missing: the middle line removed.
    std::fs::write(&file, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let (code, _, err) = verify().await;
    assert_ne!(code, 0);
    assert!(
        err.contains("the checkpoint of org acme at #2")
            && err.contains("is in no checkpoint file"),
        "{err}"
    );

    // Restored file: passes again.
    std::fs::write(&file, &original).unwrap();
    let (code, _, err) = verify().await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn the_applications_own_connection_cannot_lift_the_append_only_triggers() {
    let app = TestApp::spawn().await;
    assert_ne!(
        app.app_db_url, app.db_url,
        "the application must connect as its own role (run the tests on the embedded cluster)"
    );
    let mut pooled = app.state.pool.get().await.unwrap();
    let conn: &mut AsyncPgConnection = &mut pooled;
    let is_super: Flag =
        diesel::sql_query("SELECT rolsuper AS flag FROM pg_roles WHERE rolname = current_user")
            .get_result(&mut *conn)
            .await
            .unwrap();
    assert!(!is_super.flag, "the application's role is not a superuser");
    for sql in [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "UPDATE audit_events SET target = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "UPDATE audit_chain_heads SET seq = 0",
        "SELECT pg_read_file('PG_VERSION')",
    ] {
        let err = diesel::sql_query(sql)
            .execute(&mut *conn)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("must be owner") || text.contains("permission denied"),
            "{sql}: {text}"
        );
    }
    // It still owns (and may change) its other tables.
    diesel::sql_query("ALTER TABLE skills DISABLE TRIGGER USER")
        .execute(&mut *conn)
        .await
        .expect("the application owns its other tables");
}

#[tokio::test]
async fn without_a_signing_key_the_tab_says_the_trail_is_unsigned_and_shows_a_failed_full_check() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let mut db = superuser(&app).await;
    seed_events(&mut db, "acme", 3).await;
    let html = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"audit-unsigned\""), "{html}");
    assert!(html.contains("No full verification"), "{html}");
    assert!(
        html.contains("rechecked the events written since the last check"),
        "{html}"
    );

    // An old row edited naively; the scheduled full verification records the failure.
    let acme = org_id(&mut db, "acme").await;
    run(&mut db, "ALTER TABLE audit_events DISABLE TRIGGER USER").await;
    run(
        &mut db,
        &format!("UPDATE audit_events SET target = 'x' WHERE org_id = {acme} AND seq = 1"),
    )
    .await;
    run(&mut db, "ALTER TABLE audit_events ENABLE TRIGGER USER").await;
    let report = signing::verify_scheduled(&app.state, std::time::Duration::from_secs(86_400))
        .await
        .unwrap()
        .expect("the lease is free");
    assert!(!report.problems().is_empty());
    let html = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Full verification failed at"), "{html}");
    assert!(
        !html.contains("verified against the external checkpoint"),
        "{html}"
    );
    // Within the interval (this instance or another) it does not run again.
    assert!(
        signing::verify_scheduled(&app.state, std::time::Duration::from_secs(86_400))
            .await
            .unwrap()
            .is_none()
    );
}

/// Each instance appends only what it signed to its own `SWITCHBOARD_AUDIT_CHECKPOINTS`: the
/// scheduled full verification on an instance whose directory lacks another instance's
/// lines passes (without claiming the external store), while `audit verify --checkpoints`
/// over every directory passes and over directories that lack a line reports it.
#[tokio::test]
async fn the_scheduled_verification_does_not_take_other_instances_lines_for_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = signed_app(dir.path()).await;
    app.seed_and_login_admin().await;
    seed_events(&mut superuser(&app).await, "acme", 3).await;
    assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    // Another instance signed it: its line is in that instance's directory, not this one's.
    let other = tempfile::tempdir().unwrap();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let file = file.unwrap();
        std::fs::rename(file.path(), other.path().join(file.file_name())).unwrap();
    }
    let report = signing::verify_scheduled(&app.state, std::time::Duration::from_secs(86_400))
        .await
        .unwrap()
        .expect("the lease is free");
    assert!(report.problems().is_empty(), "{:?}", report.problems());
    let html = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Full verification of all 3 events passed"),
        "{html}"
    );
    assert!(html.contains("(not the external store)"), "{html}");
    // Every instance's metrics report the passing verification's age (issue 23, item 3).
    switchboard::jobs::audit::refresh_verification_age(&app.state).await;
    let metrics = app.get(&app.client, "/metrics").await.text().await.unwrap();
    let age = metrics
        .lines()
        .find(|l| l.starts_with("switchboard_audit_verification_age_seconds"))
        .unwrap_or_else(|| panic!("no verification age in {metrics}"));
    let seconds: f64 = age.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..120.0).contains(&seconds), "{age}");

    let (here, there) = (dir.path().to_str().unwrap(), other.path().to_str().unwrap());
    let (code, out, err) = cli(
        &app,
        &key,
        dir.path(),
        &[
            "audit",
            "verify",
            "--checkpoints",
            here,
            "--checkpoints",
            there,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cli(
        &app,
        &key,
        dir.path(),
        &["audit", "verify", "--checkpoints", here],
    )
    .await;
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("is in no checkpoint file"),
        "{out}{err}"
    );
}

/// Verification of a trail that is being written (the balancer suite's case: the scheduled
/// full verification ran while three instances served writes) reports no false failure:
/// with writers appending events and the signing job signing checkpoints all along, the
/// plain hash walk, `audit verify --checkpoints` and the scheduled verification all pass,
/// every time. They once read the chain's stored head in another statement after the walk
/// ("the chain's head is #N but the stored events end at #M"), and a checkpoint committed
/// between reading the files and the database's checkpoints was "in no checkpoint file".
#[tokio::test]
async fn verifying_a_trail_while_it_is_written_and_signed_reports_no_false_failure() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed},
    };
    let dir = tempfile::tempdir().unwrap();
    let (app, _key) = signed_app(dir.path()).await;
    app.create_org("acme", &[]).await;
    let mut db = superuser(&app).await;
    // Enough events that hashing the last batch takes a while (the old window).
    seed_events(&mut db, "acme", 1000).await;
    assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (url, stop, written) = (app.db_url.clone(), stop.clone(), written.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            while !AtomicBool::load(&stop, Relaxed) {
                seed_events(&mut conn, "acme", 1).await;
                written.fetch_add(1, Relaxed);
            }
        }));
    }
    let signed = Arc::new(AtomicUsize::new(0));
    {
        let (state, stop, signed) = (app.state.clone(), stop.clone(), signed.clone());
        tasks.push(tokio::spawn(async move {
            while !AtomicBool::load(&stop, Relaxed) {
                let r = signing::sign_due(&state).await.unwrap();
                assert!(r.alerts.is_empty(), "{r:?}");
                signed.fetch_add(r.signed, Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }));
    }
    let operator = switchboard::ops::Caller::operator(None);
    let dirs = [dir.path().to_path_buf()];
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < std::time::Duration::from_secs(8) {
        i += 1;
        let plain = switchboard::ops::trail::verify(&app.state, &operator, None)
            .await
            .unwrap();
        if let Some(b) = plain.broken {
            failures.push(format!("{i}: audit verify: {b:?}"));
        }
        let trust = signing::verify_trust(&app.state, &operator, &dirs, &[])
            .await
            .unwrap();
        for p in trust.problems() {
            failures.push(format!("{i}: audit verify --checkpoints: {p}"));
        }
        run(
            &mut db,
            "DELETE FROM job_leases WHERE name = 'audit.verify'",
        )
        .await;
        let scheduled = signing::verify_scheduled(&app.state, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the lease was freed");
        for p in scheduled.problems() {
            failures.push(format!("{i}: scheduled: {p}"));
        }
    }
    stop.store(true, Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        AtomicUsize::load(&written, Relaxed) > 100,
        "the writers wrote all along"
    );
    assert!(
        AtomicUsize::load(&signed, Relaxed) > 5,
        "the signing job signed all along"
    );
    assert!(i > 5, "{i} rounds of verification");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// An instance killed in the middle of appending a checkpoint line leaves the line cut short
/// (the checkpoint's database row never committed: the line is written first). `audit verify
/// --checkpoints` reports it as an incomplete write and passes; the instance's next
/// checkpoint is a whole line after it (not glued to it); but a cut line never stands in for
/// a checkpoint the database holds, and a whole line that is not a checkpoint is reported.
#[tokio::test]
async fn a_checkpoint_line_cut_short_by_a_kill_is_an_incomplete_write_not_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (app, key) = signed_app(dir.path()).await;
    app.create_org("acme", &[]).await;
    let mut db = superuser(&app).await;
    seed_events(&mut db, "acme", 2).await;
    assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let first = std::fs::read_to_string(&file).unwrap();
    assert_eq!(first.lines().count(), 1);
    // Killed in the middle of the next append: half a line, no newline, no database row.
    let cut = &first[..first.len() / 2];
    std::fs::write(&file, format!("{first}{cut}")).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let verify = async || {
        cli(
            &app,
            &key,
            dir.path(),
            &["audit", "verify", "--checkpoints", dir_arg],
        )
        .await
    };
    let (code, out, err) = verify().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("incomplete write: ") && err.contains(":2: an incomplete write"),
        "{err}"
    );
    assert!(out.contains("1 signed checkpoint match"), "{out}");

    // The instance's next checkpoint goes on a line of its own after the cut one.
    seed_events(&mut db, "acme", 1).await;
    assert_eq!(signing::sign_due(&app.state).await.unwrap().signed, 1);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], cut);
    serde_json::from_str::<switchboard::ops::trail::checkpoint::SignedCheckpoint>(lines[2])
        .expect("the new line is whole");
    let (code, out, err) = verify().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 signed checkpoints match"), "{out}");

    // A cut line never stands in for a checkpoint the database holds…
    let newest = lines[2];
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n{}\n",
            lines[0],
            lines[1],
            &newest[..newest.len() - 20]
        ),
    )
    .unwrap();
    let (code, out, err) = verify().await;
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("the checkpoint of org acme at #3")
            && err.contains("is in no checkpoint file"),
        "{err}"
    );
    // …and a whole line that is not a checkpoint is reported.
    std::fs::write(&file, format!("{text}{{\"kind\":\"checkpoint\"}}\n")).unwrap();
    let (code, out, err) = verify().await;
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains(":4: not a checkpoint line"), "{err}");
}
