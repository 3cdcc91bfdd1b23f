//! Master keys: `keys generate`, `keys rotate` (through the binary and the operation,
//! interrupted and resumed), and the start-up refusal when a stored secret names a master
//! key that is not configured. No run may print a secret value.

use std::{collections::HashMap, panic::AssertUnwindSafe, process::Stdio};

use chrono::Utc;
use diesel::{ExpressionMethods as _, QueryDsl as _, SelectableHelper as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use futures_util::FutureExt as _;
use secrecy::{ExposeSecret as _, SecretString};
use switchboard::{
    config::Config,
    crypto::{keyring::Keyring, secret as envelope},
    db::schema::{audit_events, secrets},
    models::{
        org::Org,
        secret::{self, NewSecret, SealedValue, Secret},
    },
    ops::{
        Caller, OpError,
        master_keys::{check_key_ids, rotate},
    },
    startup::{Application, Options},
};

use crate::helpers::TestApp;

/// Part of every seeded secret value; must never appear in any output.
const CANARY: &str = "CANARY";

/// Runs `switchboard args…` on `db_url` with `SWITCHBOARD_MASTER_KEYS=master_keys`; returns
/// (exit code, stdout, stderr).
async fn switchboard(db_url: &str, master_keys: &str, args: &[&str]) -> (i32, String, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("SWITCHBOARD_MASTER_KEYS", master_keys)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let out = child.wait_with_output().await.unwrap();
    let (out_text, err_text) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !out_text.contains(CANARY) && !err_text.contains(CANARY),
        "a secret value was printed: {out_text} {err_text}"
    );
    (out.status.code().unwrap_or(-1), out_text, err_text)
}

/// Two master keys, `new` and `old`, and rings over them.
struct Keys {
    new: SecretString,
    old: SecretString,
}

impl Keys {
    fn generate() -> Self {
        Self {
            new: Keyring::generate_entry("new"),
            old: Keyring::generate_entry("old"),
        }
    }

    /// `SWITCHBOARD_MASTER_KEYS` with `new` first (the primary), `old` still configured.
    fn both(&self) -> String {
        format!("{},{}", self.new.expose_secret(), self.old.expose_secret())
    }

    fn ring(entry: &SecretString) -> Keyring {
        Keyring::parse(entry).unwrap()
    }
}

/// An app whose keyring is `new,old`, with org `acme`; returns the org's id.
async fn arrange(keys: &Keys) -> (TestApp, i64) {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_MASTER_KEYS", &keys.both())]).await;
    app.create_org("acme", &[]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    (app, org.id)
}

/// Seals `n` canary values for `org_id` under the primary of `ring` and stores them;
/// returns secret id → value.
async fn seed(app: &TestApp, org_id: i64, ring: &Keyring, n: usize) -> HashMap<String, String> {
    let mut conn = app.db().await;
    let mut seeded = HashMap::new();
    for i in 0..n {
        let id = secret::new_id();
        let value = format!("sk-ant-{CANARY}-{i}-{}", ulid::Ulid::new());
        let sealed = envelope::seal(
            ring,
            org_id,
            &id,
            &SecretString::from(value.clone()),
            Some("sk-ant-"),
        )
        .unwrap();
        NewSecret {
            id: &id,
            org_id,
            key_id: &sealed.key_id,
            version: sealed.version,
            envelope: &sealed.envelope,
            preview: sealed.preview.as_str(),
            last4: &sealed.last4,
            created_at: Utc::now(),
            created_by: None,
        }
        .insert(&mut conn)
        .await
        .unwrap();
        seeded.insert(id, value);
    }
    seeded
}

async fn all_secrets(conn: &mut AsyncPgConnection) -> Vec<Secret> {
    secrets::table
        .order(secrets::id.asc())
        .select(Secret::as_select())
        .load(conn)
        .await
        .unwrap()
}

/// Asserts every secret opens to its seeded value with a ring holding only the key it names.
fn assert_all_open(rows: &[Secret], seeded: &HashMap<String, String>, keys: &Keys) {
    for row in rows {
        let entry = match row.key_id.as_str() {
            "new" => &keys.new,
            "old" => &keys.old,
            other => panic!("{} under unexpected key {other}", row.id),
        };
        let value = envelope::open(
            &Keys::ring(entry),
            row.org_id,
            &row.id,
            &row.key_id,
            row.version,
            &row.envelope,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value.expose_secret(), seeded[&row.id], "{}", row.id);
    }
}

/// The `secret.rotated` events as (org id, target, before, after).
async fn rotated_events(
    conn: &mut AsyncPgConnection,
) -> Vec<(Option<i64>, String, serde_json::Value, serde_json::Value)> {
    audit_events::table
        .filter(audit_events::action.eq("secret.rotated"))
        .order(audit_events::id.asc())
        .select((
            audit_events::org_id,
            audit_events::target,
            audit_events::before,
            audit_events::after,
        ))
        .load::<(Option<i64>, String, Option<_>, Option<_>)>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(org, target, before, after)| (org, target, before.unwrap(), after.unwrap()))
        .collect()
}

#[tokio::test]
async fn keys_rotate_rewraps_every_secret_under_the_primary_key() {
    let keys = Keys::generate();
    let (app, org_id) = arrange(&keys).await;
    let seeded = seed(&app, org_id, &Keys::ring(&keys.old), 5).await;
    let before = all_secrets(&mut app.db().await).await;

    let (code, out, err) = switchboard(
        &app.db_url,
        &keys.both(),
        &["keys", "rotate", "--batch", "2"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("rotated 5 secrets to master key 'new'"),
        "{out}"
    );
    assert!(err.contains("rotated 5/5"), "progress on stderr: {err}");

    let mut conn = app.db().await;
    let after = all_secrets(&mut conn).await;
    assert!(
        after
            .iter()
            .all(|s| s.key_id == "new" && s.rotated_at.is_some())
    );
    // Only the data key was re-wrapped: the value's nonce and ciphertext are the same bytes.
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.id, a.id);
        assert_eq!(b.envelope[72..], a.envelope[72..], "{}", a.id);
        assert_ne!(b.envelope[..72], a.envelope[..72], "{}", a.id);
        assert_eq!((&b.preview, &b.last4), (&a.preview, &a.last4));
    }
    // Every secret opens with a ring that no longer holds the old key.
    let new_only = Keys {
        new: keys.new.clone(),
        old: Keyring::generate_entry("old"),
    };
    assert_all_open(&after, &seeded, &new_only);

    let events = rotated_events(&mut conn).await;
    assert_eq!(events.len(), 5);
    for (row, (org, target, before, after)) in after.iter().zip(&events) {
        assert_eq!(*org, Some(org_id));
        assert_eq!(*target, format!("secret:{}", row.id));
        assert_eq!(*before, serde_json::json!({"keyId": "old"}));
        assert_eq!(*after, serde_json::json!({"keyId": "new"}));
    }

    let (code, out, err) = switchboard(&app.db_url, &keys.both(), &["keys", "rotate"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rotated 0 secrets"), "{out}");
    assert!(out.contains("5 already under it"), "{out}");
    assert_eq!(rotated_events(&mut conn).await.len(), 5);
}

#[tokio::test]
async fn an_interrupted_rotation_keeps_what_it_did_and_resumes() {
    let keys = Keys::generate();
    let (app, org_id) = arrange(&keys).await;
    let seeded = seed(&app, org_id, &Keys::ring(&keys.old), 5).await;
    let operator = Caller::operator(None);

    // The process "dies" right after the second row committed.
    let crashed = AssertUnwindSafe(rotate(&app.state, &operator, 1, |at| {
        if at.done() == 2 {
            panic!("simulated crash after two rows");
        }
    }))
    .catch_unwind()
    .await;
    assert!(crashed.is_err(), "the progress callback panicked");

    let mut conn = app.db().await;
    let rows = all_secrets(&mut conn).await;
    let under = |k: &str| rows.iter().filter(|s| s.key_id == k).count();
    assert_eq!((under("new"), under("old")), (2, 3));
    assert_all_open(&rows, &seeded, &keys);
    assert_eq!(rotated_events(&mut conn).await.len(), 2);

    let report = rotate(&app.state, &operator, 2, |_| {}).await.unwrap();
    assert_eq!((report.rotated, report.skipped, report.already), (3, 0, 2));
    let rows = all_secrets(&mut conn).await;
    assert!(rows.iter().all(|s| s.key_id == "new"));
    assert_all_open(&rows, &seeded, &keys);
    assert_eq!(rotated_events(&mut conn).await.len(), 5);
}

#[tokio::test]
async fn a_secret_changed_during_rotation_is_skipped_not_overwritten() {
    let keys = Keys::generate();
    let (app, org_id) = arrange(&keys).await;
    let mut seeded = seed(&app, org_id, &Keys::ring(&keys.old), 3).await;
    let mut ids: Vec<String> = seeded.keys().cloned().collect();
    ids.sort();
    // While the first row is being handled, an admin enters a new value for the last one
    // (sealed under the primary, as the console does).
    let last = ids[2].clone();
    let fresh = format!("sk-ant-{CANARY}-replaced-0123456789");
    let sealed = envelope::seal(
        &Keys::ring(&keys.new),
        org_id,
        &last,
        &SecretString::from(fresh.clone()),
        None,
    )
    .unwrap();
    let db_url = app.db_url.clone();
    let mut replace = Some(move || {
        // The callback is synchronous: do the edit on a thread with its own runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use diesel_async::AsyncConnection as _;
                let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
                let value = SealedValue {
                    key_id: &sealed.key_id,
                    version: sealed.version,
                    envelope: &sealed.envelope,
                    preview: sealed.preview.as_str(),
                    last4: &sealed.last4,
                };
                secret::replace_value(&mut conn, org_id, &last, &value)
                    .await
                    .unwrap()
                    .unwrap();
            });
        })
        .join()
        .unwrap();
    });

    let report = rotate(&app.state, &Caller::operator(None), 10, |at| {
        if at.done() == 1
            && let Some(edit) = replace.take()
        {
            edit();
        }
    })
    .await
    .unwrap();
    assert_eq!((report.rotated, report.skipped, report.already), (2, 1, 0));
    seeded.insert(ids[2].clone(), fresh);
    let rows = all_secrets(&mut app.db().await).await;
    assert!(rows.iter().all(|s| s.key_id == "new"));
    assert_all_open(&rows, &seeded, &keys);
    assert_eq!(rotated_events(&mut app.db().await).await.len(), 2);
}

#[tokio::test]
async fn a_master_key_that_is_not_configured_stops_start_up_and_rotation() {
    let keys = Keys::generate();
    let (app, org_id) = arrange(&keys).await;
    let seeded = seed(&app, org_id, &Keys::ring(&keys.old), 4).await;
    let gone_key = Keyring::generate_entry("gone");
    let gone = seed(&app, org_id, &Keys::ring(&gone_key), 1).await;
    let gone_id = gone.keys().next().unwrap().clone();

    // The server refuses to start, naming the key and how many secrets it seals.
    let config = Config::from_lookup(|k| match k {
        "SWITCHBOARD_BIND" => Some("127.0.0.1:0".to_owned()),
        "SWITCHBOARD_MASTER_KEYS" => Some(keys.both()),
        _ => None,
    })
    .unwrap();
    let refused = match Application::build(config, &app.db_url, Options::default()).await {
        Ok(_) => panic!("the server started with a secret under an unknown key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(refused.contains("'gone' (1 secret)"), "{refused}");
    assert!(refused.contains("SWITCHBOARD_MASTER_KEYS"), "{refused}");

    // So does every command that opens the state, rotation included.
    for args in [
        &["org", "create", "--slug", "other", "--name", "Other"][..],
        &["keys", "rotate"][..],
    ] {
        let (code, out, err) = switchboard(&app.db_url, &keys.both(), args).await;
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(err.starts_with("switchboard: "), "{err}");
        assert!(err.contains("'gone' (1 secret)"), "{args:?}: {err}");
    }
    assert!(
        Org::find_by_slug(&mut app.db().await, "other")
            .await
            .unwrap()
            .is_none()
    );

    // A rotation already running (state built before) stops at that row, naming it; the
    // rows before it stay rotated, the rows after it are untouched.
    let err = rotate(&app.state, &Caller::operator(None), 100, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, OpError::Unprocessable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&gone_id) && message.contains("'gone'"),
        "{message}"
    );
    let rows = all_secrets(&mut app.db().await).await;
    for row in rows.iter().filter(|r| r.id != gone_id) {
        let expected = if row.id < gone_id { "new" } else { "old" };
        assert_eq!(row.key_id, expected, "{}", row.id);
    }
    let known: Vec<Secret> = rows.into_iter().filter(|r| r.id != gone_id).collect();
    assert_all_open(&known, &seeded, &keys);

    // With the key configured again (after the primary), start-up passes and the rotation
    // finishes.
    let mut conn = app.db().await;
    let all_three = format!("{},{}", keys.both(), gone_key.expose_secret());
    let ring = Keyring::parse(&SecretString::from(all_three.clone())).unwrap();
    check_key_ids(&mut conn, &ring).await.unwrap();
    let (code, out, err) = switchboard(&app.db_url, &all_three, &["keys", "rotate"]).await;
    assert_eq!(code, 0, "{err}");
    let rows = all_secrets(&mut conn).await;
    let left = rows.iter().filter(|r| r.key_id != "new").count();
    assert_eq!(left, 0, "{out}");
    assert_eq!(rotated_events(&mut conn).await.len(), 5);
    let new_only = Keys::ring(&keys.new);
    let opened = envelope::open(
        &new_only,
        org_id,
        &gone_id,
        "new",
        1,
        &rows_envelope(&rows, &gone_id),
    );
    assert_eq!(opened.unwrap().expose_secret(), gone[&gone_id]);
}

fn rows_envelope(rows: &[Secret], id: &str) -> Vec<u8> {
    rows.iter().find(|r| r.id == id).unwrap().envelope.clone()
}

#[tokio::test]
async fn keys_generate_prints_a_fresh_entry_without_a_database() {
    // An unreachable database: `keys generate` must not need one.
    let nowhere = "postgres://nobody@127.0.0.1:1/none";
    let some_keys = crate::helpers::MASTER_KEYS;
    let (code, first, err) = switchboard(nowhere, some_keys, &["keys", "generate"]).await;
    assert_eq!(code, 0, "{err}");
    let first = first.trim().to_owned();
    assert_eq!(first.lines().count(), 1, "{first}");
    let ring = Keyring::parse(&SecretString::from(first.clone())).expect("a valid entry");
    let id = &ring.primary().id;
    let stamp = id.strip_prefix('k').expect("default id starts with k");
    assert!(
        stamp.len() == 15
            && stamp[..8].chars().all(|c| c.is_ascii_digit())
            && &stamp[8..9] == "-"
            && stamp[9..].chars().all(|c| c.is_ascii_digit()),
        "{id}"
    );
    assert!(err.contains("SWITCHBOARD_MASTER_KEYS"), "a hint: {err}");
    let key = first.split_once(':').unwrap().1;
    assert!(!err.contains(key), "the key is printed on stdout only");

    let (code, second, _) =
        switchboard(nowhere, some_keys, &["keys", "generate", "--id", "k2"]).await;
    assert_eq!(code, 0);
    let second = second.trim();
    assert!(second.starts_with("k2:"), "{second}");
    assert!(Keyring::parse(&SecretString::from(second.to_owned())).is_ok());
    assert_ne!(
        second.split_once(':').unwrap().1,
        key,
        "a new key each time"
    );

    let (code, out, err) =
        switchboard(nowhere, some_keys, &["keys", "generate", "--id", "no good"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.is_empty() && err.contains("key id"), "{err}");
}
