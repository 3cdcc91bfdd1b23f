//! The provider and secret models against a real migrated database: the constraints the
//! migration promises (composite foreign keys, per-org names) and the conditional updates.

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncPgConnection;
use switchboard::models::{
    org::Org,
    provider::{self, CheckStatus, NewProvider, Provider, ProviderChanges},
    secret::{self, NewSecret, SealedValue},
};

use crate::helpers::TestApp;

/// An app with orgs `acme` and `other`; returns their ids and a user id.
async fn arrange() -> (TestApp, i64, i64, i64) {
    let app = TestApp::spawn().await;
    let user = app.create_user("admin@acme.test", false).await;
    app.create_org("acme", &[]).await;
    app.create_org("other", &[]).await;
    let mut conn = app.db().await;
    let acme = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let other = Org::find_by_slug(&mut conn, "other")
        .await
        .unwrap()
        .unwrap();
    (app, acme.id, other.id, user.id)
}

/// A secret of `org_id` sealed under `key_id`, with arbitrary envelope bytes.
async fn add_secret(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    key_id: &str,
    preview: &str,
) -> secret::Secret {
    let id = secret::new_id();
    NewSecret {
        id: &id,
        org_id,
        key_id,
        version: 1,
        envelope: &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01],
        preview,
        last4: &preview[preview.len() - 4..],
        created_at: Utc::now(),
        created_by: None,
    }
    .insert(conn)
    .await
    .expect("insert secret")
}

/// Inserts an Anthropic provider named `name` (errors are the caller's to assert).
async fn add_provider(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    name: &str,
    secret_id: Option<&str>,
) -> diesel::QueryResult<Provider> {
    let id = provider::new_id();
    NewProvider {
        id: &id,
        org_id,
        name,
        kind: "anthropic",
        default_model: "claude-sonnet-4-5",
        base_url: None,
        config: &serde_json::json!({}),
        secret_id,
        check_status: CheckStatus::Unverified,
        check_code: None,
        check_message: None,
        checked_at: None,
        created_at: Utc::now(),
        created_by: None,
    }
    .insert(conn)
    .await
}

fn kind_of<T: std::fmt::Debug>(result: diesel::QueryResult<T>) -> DatabaseErrorKind {
    match result {
        Err(DieselError::DatabaseError(kind, _)) => kind,
        other => panic!("expected a database error, got {other:?}"),
    }
}

#[tokio::test]
async fn providers_list_and_find_with_their_key_preview() {
    let (app, acme, other, user) = arrange().await;
    let mut conn = app.db().await;
    let key = add_secret(&mut conn, acme, "k1", "sk-ant-...WXYZ").await;
    assert!(key.id.starts_with("sec_") && key.id.len() == 30);
    let keyed = add_provider(&mut conn, acme, "Claude", Some(&key.id))
        .await
        .unwrap();
    let keyless = add_provider(&mut conn, acme, "Local", None).await.unwrap();
    assert!(keyed.id.starts_with("aip_") && keyed.id.len() == 30);
    assert_eq!(keyed.check_status, CheckStatus::Unverified);
    assert_eq!(keyed.lock_version, 0);

    let (settings, list) = provider::list_for_org(&mut conn, acme, chrono::Utc::now())
        .await
        .unwrap()
        .expect("acme has settings");
    assert_eq!(settings.active_provider_id, None);
    let got: Vec<_> = list
        .iter()
        .map(|(p, k)| (p.id.as_str(), k.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (keyed.id.as_str(), Some("sk-ant-...WXYZ")),
            (keyless.id.as_str(), None)
        ]
    );
    let (_, others) = provider::list_for_org(&mut conn, other, chrono::Utc::now())
        .await
        .unwrap()
        .expect("the other org has settings");
    assert!(others.is_empty());
    assert_eq!(provider::count_for_org(&mut conn, acme).await.unwrap(), 2);

    let (found, preview) = provider::find(&mut conn, acme, &keyed.id)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        (found.name.as_str(), preview.as_deref()),
        ("Claude", Some("sk-ant-...WXYZ"))
    );
    assert!(
        provider::find(&mut conn, other, &keyed.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        provider::lock(&mut conn, acme, &keyed.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        secret::find(&mut conn, other, &key.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        secret::users(&mut conn, acme, &key.id).await.unwrap(),
        [(keyed.id.clone(), "Claude".to_owned())]
    );

    // set_check records the outcome without turning an open form into a conflict.
    let checked = provider::set_check(
        &mut conn,
        acme,
        &keyed.id,
        CheckStatus::Failed,
        Some("auth_rejected"),
        Some("401 from upstream"),
        Utc::now(),
    )
    .await
    .unwrap()
    .expect("updated");
    assert_eq!(checked.check_status, CheckStatus::Failed);
    assert_eq!(checked.check_code.as_deref(), Some("auth_rejected"));
    assert_eq!(checked.lock_version, 0);
    let unlinked = provider::set_secret(&mut conn, acme, &keyed.id, None, Some(user), Utc::now())
        .await
        .unwrap()
        .expect("updated");
    assert_eq!((unlinked.secret_id, unlinked.lock_version), (None, 1));
}

#[tokio::test]
async fn secret_debug_omits_the_envelope() {
    let (app, acme, _, _) = arrange().await;
    let mut conn = app.db().await;
    let key = add_secret(&mut conn, acme, "k1", "sk-...WXYZ").await;
    let debug = format!("{key:?}");
    assert!(debug.contains("envelope_len: 6"), "{debug}");
    assert!(!debug.contains("222") && !debug.contains("0xde"), "{debug}");
}

#[tokio::test]
async fn update_if_with_a_stale_lock_version_changes_nothing() {
    let (app, acme, _, user) = arrange().await;
    let mut conn = app.db().await;
    let p = add_provider(&mut conn, acme, "Claude", None).await.unwrap();
    let at = Utc::now();
    let first = ProviderChanges {
        name: Some("Claude prod"),
        base_url: Some(Some("https://llm.example.com")),
        ..ProviderChanges::new(Some(user), at)
    };
    let updated = provider::update_if(&mut conn, acme, &p.id, 0, &first)
        .await
        .unwrap()
        .expect("current version applies");
    assert_eq!(updated.lock_version, 1);
    assert_eq!(updated.name, "Claude prod");
    assert_eq!(updated.base_url.as_deref(), Some("https://llm.example.com"));
    assert_eq!(updated.updated_by, Some(user));

    let stale = ProviderChanges {
        name: Some("Overwritten"),
        base_url: Some(None),
        ..ProviderChanges::new(None, at)
    };
    let none = provider::update_if(&mut conn, acme, &p.id, 0, &stale)
        .await
        .unwrap();
    assert!(none.is_none(), "a stale version must not write");
    let (now, _) = provider::find(&mut conn, acme, &p.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.name, "Claude prod");
    assert_eq!(now.base_url.as_deref(), Some("https://llm.example.com"));
    assert_eq!(now.lock_version, 1);

    let cleared = provider::update_if(&mut conn, acme, &p.id, 1, &stale)
        .await
        .unwrap()
        .expect("current version applies");
    assert_eq!((cleared.base_url, cleared.updated_by), (None, None));
}

#[tokio::test]
async fn a_provider_cannot_link_a_secret_of_another_org() {
    let (app, acme, other, _) = arrange().await;
    let mut conn = app.db().await;
    let foreign = add_secret(&mut conn, other, "k1", "sk-...ABCD").await;
    let insert = add_provider(&mut conn, acme, "Claude", Some(&foreign.id)).await;
    assert!(matches!(
        kind_of(insert),
        DatabaseErrorKind::ForeignKeyViolation
    ));

    let p = add_provider(&mut conn, acme, "Claude", None).await.unwrap();
    let link =
        provider::set_secret(&mut conn, acme, &p.id, Some(&foreign.id), None, Utc::now()).await;
    assert!(matches!(
        kind_of(link),
        DatabaseErrorKind::ForeignKeyViolation
    ));
    let (now, preview) = provider::find(&mut conn, acme, &p.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.secret_id, preview, now.lock_version), (None, None, 0));
}

#[tokio::test]
async fn the_active_provider_cannot_be_deleted_until_deactivated() {
    let (app, acme, other, user) = arrange().await;
    let mut conn = app.db().await;
    let p = add_provider(&mut conn, acme, "Claude", None).await.unwrap();
    let before = provider::lock_settings(&mut conn, acme).await.unwrap();
    assert_eq!(before.active_provider_id, None);

    let settings = provider::set_active(&mut conn, acme, Some(&p.id), Some(user), Utc::now())
        .await
        .unwrap();
    assert_eq!(settings.active_provider_id.as_deref(), Some(p.id.as_str()));
    assert_eq!(settings.lock_version, before.lock_version + 1);
    assert_eq!(
        provider::active_provider_id(&mut conn, acme)
            .await
            .unwrap()
            .as_deref(),
        Some(p.id.as_str())
    );
    // Another org cannot activate it.
    let cross = provider::set_active(&mut conn, other, Some(&p.id), None, Utc::now()).await;
    assert!(matches!(
        kind_of(cross),
        DatabaseErrorKind::ForeignKeyViolation
    ));

    let refused = provider::delete(&mut conn, acme, &p.id).await;
    assert!(matches!(
        kind_of(refused),
        DatabaseErrorKind::ForeignKeyViolation
    ));
    assert!(
        provider::find(&mut conn, acme, &p.id)
            .await
            .unwrap()
            .is_some()
    );

    provider::set_active(&mut conn, acme, None, Some(user), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        provider::active_provider_id(&mut conn, acme).await.unwrap(),
        None
    );
    assert!(provider::delete(&mut conn, acme, &p.id).await.unwrap());
    assert!(!provider::delete(&mut conn, acme, &p.id).await.unwrap());
}

#[tokio::test]
async fn delete_if_unused_keeps_a_linked_secret() {
    let (app, acme, other, _) = arrange().await;
    let mut conn = app.db().await;
    let key = add_secret(&mut conn, acme, "k1", "sk-...WXYZ").await;
    let p = add_provider(&mut conn, acme, "Claude", Some(&key.id))
        .await
        .unwrap();

    assert!(
        !secret::delete_if_unused(&mut conn, acme, &key.id)
            .await
            .unwrap()
    );
    assert!(
        secret::find(&mut conn, acme, &key.id)
            .await
            .unwrap()
            .is_some()
    );

    provider::set_secret(&mut conn, acme, &p.id, None, None, Utc::now())
        .await
        .unwrap()
        .expect("unlinked");
    assert!(
        secret::users(&mut conn, acme, &key.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !secret::delete_if_unused(&mut conn, other, &key.id)
            .await
            .unwrap()
    );
    assert!(
        secret::delete_if_unused(&mut conn, acme, &key.id)
            .await
            .unwrap()
    );
    assert!(
        secret::find(&mut conn, acme, &key.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn rewrap_if_with_the_wrong_old_key_changes_nothing() {
    let (app, acme, _, _) = arrange().await;
    let mut conn = app.db().await;
    let a = add_secret(&mut conn, acme, "old", "sk-...AAAA").await;
    let b = add_secret(&mut conn, acme, "old", "sk-...BBBB").await;
    add_secret(&mut conn, acme, "new", "sk-...CCCC").await;
    assert_eq!(
        secret::distinct_key_ids(&mut conn).await.unwrap(),
        ["new", "old"]
    );
    let batch = secret::ids_not_under(&mut conn, "new", 10).await.unwrap();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(
        batch.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        secret::ids_not_under(&mut conn, "new", 1)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(
        !secret::rewrap_if(&mut conn, &a.id, "wrong", "new", b"x")
            .await
            .unwrap()
    );
    let same = secret::find(&mut conn, acme, &a.id).await.unwrap().unwrap();
    assert_eq!(
        (same.key_id.as_str(), same.envelope.as_slice()),
        ("old", a.envelope.as_slice())
    );
    assert_eq!(same.rotated_at, None);

    assert!(
        secret::rewrap_if(&mut conn, &a.id, "old", "new", b"rewrapped")
            .await
            .unwrap()
    );
    let moved = secret::find(&mut conn, acme, &a.id).await.unwrap().unwrap();
    assert_eq!(
        (moved.key_id.as_str(), moved.envelope.as_slice()),
        ("new", &b"rewrapped"[..])
    );
    assert!(moved.rotated_at.is_some());
    assert_eq!(
        secret::count_by_key(&mut conn).await.unwrap(),
        [("new".to_owned(), 2), ("old".to_owned(), 1)]
    );

    let value = SealedValue {
        key_id: "new",
        version: 1,
        envelope: b"fresh",
        preview: "sk-...DDDD",
        last4: "DDDD",
    };
    let replaced = secret::replace_value(&mut conn, acme, &b.id, &value)
        .await
        .unwrap()
        .expect("replaced");
    assert_eq!(
        (replaced.key_id.as_str(), replaced.last4.as_str()),
        ("new", "DDDD")
    );
}

#[tokio::test]
async fn provider_names_are_unique_per_org_case_insensitively() {
    let (app, acme, other, _) = arrange().await;
    let mut conn = app.db().await;
    add_provider(&mut conn, acme, "Claude", None).await.unwrap();
    let dup = add_provider(&mut conn, acme, "CLAUDE", None).await;
    assert!(matches!(kind_of(dup), DatabaseErrorKind::UniqueViolation));
    add_provider(&mut conn, other, "claude", None)
        .await
        .expect("the same name in another org");
    assert_eq!(provider::count_for_org(&mut conn, acme).await.unwrap(), 1);
}
