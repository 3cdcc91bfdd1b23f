//! Backup and restore (issue 23, docs/DEPLOYMENT.md): `pg_dump` of a database holding
//! sealed provider keys, restored into a fresh database, opens every secret with the same
//! master keys — and fails closed without them: start-up refuses, and no envelope opens
//! under another key. The dump itself never holds a key in clear.

use std::{collections::HashMap, process::Stdio};

use chrono::Utc;
use diesel::{QueryDsl as _, SelectableHelper as _};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use secrecy::{ExposeSecret as _, SecretString};
use switchboard::{
    clock::Clock,
    config::Config,
    crypto::{keyring::Keyring, secret as envelope},
    db::{self, schema::secrets},
    models::{
        org::Org,
        secret::{self, NewSecret, Secret},
    },
    state::AppState,
};

use crate::helpers::{MASTER_KEYS, TestApp};

const CANARY: &str = "BACKUPCANARY";

fn pg_tool(name: &str) -> std::path::PathBuf {
    let dir = db::embedded::find_bindir().unwrap_or_else(|| {
        panic!("the backup test needs PostgreSQL's {name} (package postgresql)")
    });
    dir.join(name)
}

async fn run(program: std::path::PathBuf, args: &[&str]) -> Vec<u8> {
    let out = tokio::process::Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program:?}: {e}"));
    assert!(
        out.status.success(),
        "{program:?} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn config(master_keys: &str) -> Config {
    Config::from_lookup(|k| match k {
        "SWITCHBOARD_MASTER_KEYS" => Some(master_keys.to_owned()),
        "SWITCHBOARD_BIND" => Some("127.0.0.1:0".to_owned()),
        _ => None,
    })
    .unwrap()
}

#[tokio::test]
async fn a_pg_dump_restored_into_a_fresh_database_opens_with_the_same_master_keys_only() {
    let app = TestApp::spawn().await;
    app.create_org("acme", &[]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let ring = Keyring::parse(&SecretString::from(MASTER_KEYS)).unwrap();
    let mut seeded = HashMap::new();
    for i in 0..5 {
        let id = secret::new_id();
        let value = format!("sk-ant-{CANARY}-{i}-{}", ulid::Ulid::new());
        let sealed = envelope::seal(
            &ring,
            org.id,
            &id,
            &SecretString::from(value.clone()),
            Some("sk-ant-"),
        )
        .unwrap();
        NewSecret {
            id: &id,
            org_id: org.id,
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

    // Back up, as DEPLOYMENT.md says: a plain-SQL dump without owners.
    let dump = run(
        pg_tool("pg_dump"),
        &["--no-owner", "--no-privileges", "--dbname", &app.db_url],
    )
    .await;
    let dump_text = String::from_utf8_lossy(&dump);
    assert!(dump_text.contains("CREATE TABLE public.secrets"));
    assert!(!dump_text.contains(CANARY), "a key in clear in the dump");

    // Restore into a fresh database.
    let restored = format!(
        "sb_it_restore_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    diesel::sql_query(format!("CREATE DATABASE {restored}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let restored_url = app.db_url.replacen(&app.db_name, &restored, 1);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &dump).unwrap();
    run(
        pg_tool("psql"),
        &[
            "--quiet",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "--dbname",
            &restored_url,
            "--file",
            &file.path().display().to_string(),
        ],
    )
    .await;

    // With the same master keys: the instance starts and every secret opens.
    let state = AppState::new(
        config(MASTER_KEYS),
        db::pool(&restored_url, 2).unwrap(),
        Clock::default(),
        1,
    )
    .await
    .unwrap();
    switchboard::ops::master_keys::check_configured(&state)
        .await
        .expect("starts on the restored database");
    let mut restored_conn = AsyncPgConnection::establish(&restored_url).await.unwrap();
    let rows: Vec<Secret> = secrets::table
        .select(Secret::as_select())
        .load(&mut restored_conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), seeded.len());
    for row in &rows {
        let value = envelope::open(
            &state.keyring,
            row.org_id,
            &row.id,
            &row.key_id,
            row.version,
            &row.envelope,
        )
        .expect("opens with the same keys");
        assert_eq!(value.expose_secret(), seeded[&row.id]);
    }

    // Without them: start-up refuses (the key the secrets name is missing), and a key of
    // the same id but other bytes opens nothing.
    let other = Keyring::generate_entry("other");
    let without = AppState::new(
        config(other.expose_secret()),
        db::pool(&restored_url, 2).unwrap(),
        Clock::default(),
        1,
    )
    .await
    .unwrap();
    let refused = switchboard::ops::master_keys::check_configured(&without).await;
    let message = format!("{:#}", refused.expect_err("start-up refuses"));
    assert!(
        message.contains("test1"),
        "names the missing key: {message}"
    );
    let impostor = Keyring::generate_entry("test1");
    let impostor = Keyring::parse(&impostor).unwrap();
    for row in &rows {
        assert!(
            envelope::open(
                &impostor,
                row.org_id,
                &row.id,
                &row.key_id,
                row.version,
                &row.envelope
            )
            .is_err(),
            "opened under a different key"
        );
    }
    drop(state);
    drop(without);
    drop(restored_conn);
    diesel::sql_query(format!("DROP DATABASE {restored} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
