//! Provider operations called directly (as every transport calls them), against a real
//! database and a wiremock server speaking Anthropic's Messages API on loopback.

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use secrecy::SecretString;
use serde_json::json;
use switchboard::{
    db::schema::{audit_events, org_ai_settings, providers, secrets},
    models::{membership::Role, org::Org, user::User},
    ops::{
        Access, Caller, OpError, RequestMeta,
        providers::{self as ops, KeyDisplay, KeyInput, ProviderInput},
    },
    providers::ProviderKind,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::TestApp;

/// The key the mock accepts: a canary that must never show up anywhere in clear.
pub const GOOD_KEY: &str = "sk-ant-CANARY-api03-4f1c9e7a2b3d5e6f7a8b9c0dWXYZ";
/// A well-formed key the mock rejects.
pub const BAD_KEY: &str = "sk-ant-CANARY-api03-0000000000000000000000000000";

/// An Anthropic endpoint on loopback: 200 for [`GOOD_KEY`], 401 for any other key.
pub async fn anthropic_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", GOOD_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-20250514", "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": {"input_tokens": 8, "output_tokens": 1}})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"}})))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// A test app whose checks may reach loopback, with org `acme` (admin ada, member mia).
pub async fn app_with_org() -> (TestApp, Org, User, User) {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let ada = app.create_user("ada@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin), (&mia, Role::Member)])
        .await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    (app, org, ada, mia)
}

fn caller(user: &User, org: &Org, access: Access) -> Caller {
    Caller::in_org(user, org.clone(), access, RequestMeta::default())
}

/// An Anthropic provider at `server` with `key`.
pub fn anthropic(name: &str, server: &MockServer, key: KeyInput) -> ProviderInput {
    ProviderInput {
        kind: ProviderKind::Anthropic,
        name: name.to_owned(),
        default_model: "claude-sonnet-4-20250514".to_owned(),
        base_url: Some(server.uri()),
        deployment: None,
        api_version: None,
        region: None,
        supports_tools: false,
        key,
        extra_headers: Default::default(),
        save_unverified: false,
    }
}

fn new_key(key: &str) -> KeyInput {
    KeyInput::New(SecretString::from(key.to_owned()))
}

async fn count(app: &TestApp) -> (i64, i64, i64) {
    let mut conn = app.db().await;
    let p = providers::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let s = secrets::table.count().get_result(&mut conn).await.unwrap();
    let a = audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    (p, s, a)
}

async fn active(app: &TestApp, org: &Org) -> Option<String> {
    let mut conn = app.db().await;
    org_ai_settings::table
        .find(org.id)
        .select(org_ai_settings::active_provider_id)
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failed_check_saves_nothing_and_a_passing_one_seals_the_key() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);

    let refused = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key(BAD_KEY)),
    )
    .await;
    match refused {
        Err(OpError::CheckFailed(outcome)) => {
            assert_eq!(outcome.code.unwrap().as_str(), "auth_rejected");
            assert!(!format!("{outcome:?}").contains("CANARY"), "{outcome:?}");
        }
        other => panic!("expected a failed check, got {other:?}"),
    }
    assert_eq!(count(&app).await, (0, 0, 0), "nothing written");

    let wrong_prefix = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key("sk-proj-abc")),
    )
    .await;
    // Well-formed, but not the kind's prefix: 422.
    assert!(
        matches!(
            wrong_prefix,
            Err(OpError::Unprocessable {
                field: Some("api_key"),
                ..
            })
        ),
        "{wrong_prefix:?}"
    );
    let too_long = "sk-ant-".to_owned() + &"a".repeat(5000);
    let refused = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key(&too_long)),
    )
    .await;
    assert!(matches!(
        refused,
        Err(OpError::Invalid {
            field: Some("api_key"),
            ..
        })
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "bad input never reaches the network"
    );

    let saved = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();
    assert!(
        saved.id.starts_with("aip_") && saved.secret_id.as_deref().unwrap().starts_with("sec_")
    );
    assert_eq!(saved.key, KeyDisplay::Preview("sk-ant-...WXYZ".to_owned()));
    assert_eq!(saved.last_check.status.as_str(), "ok");
    assert_eq!(count(&app).await, (1, 1, 1));

    // Members see that a key is set, never its preview.
    let mia = app.create_user("m2@acme.test", false).await;
    let member = caller(&mia, &org, Access::Member);
    let listed = ops::list_providers(&app.state, &member).await.unwrap();
    assert_eq!(listed.providers[0].key, KeyDisplay::Set);

    // Saved without verifying: a failing key is stored, marked unverified.
    let mut unverified = anthropic("Claude (staging)", &server, new_key(BAD_KEY));
    unverified.save_unverified = true;
    let saved = ops::create_provider(&app.state, &admin, unverified)
        .await
        .unwrap();
    assert_eq!(saved.last_check.status.as_str(), "unverified");
}

#[tokio::test]
async fn editing_keeps_the_key_unless_the_host_changes_and_stale_edits_conflict() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let p = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();

    // Blank key: the stored one is kept (the check runs with it and passes).
    let mut rename = anthropic("Claude prod", &server, KeyInput::Keep);
    rename.default_model = "claude-3-5-haiku-20241022".to_owned();
    let edited = ops::update_provider(&app.state, &admin, &p.id, p.lock_version, rename)
        .await
        .unwrap();
    assert_eq!(
        (edited.name.as_str(), edited.lock_version),
        ("Claude prod", p.lock_version + 1)
    );
    assert_eq!(edited.secret_id, p.secret_id);

    // The same form again, at the old version: a conflict, nothing overwritten.
    let stale = ops::update_provider(
        &app.state,
        &admin,
        &p.id,
        p.lock_version,
        anthropic("Other", &server, KeyInput::Keep),
    )
    .await;
    assert!(matches!(stale, Err(OpError::Conflict(_))), "{stale:?}");

    // A new base URL with the stored key: refused, the key must be entered again.
    let other = MockServer::start().await;
    let moved = ops::update_provider(
        &app.state,
        &admin,
        &p.id,
        edited.lock_version,
        anthropic("Claude prod", &other, KeyInput::Keep),
    )
    .await;
    assert!(
        matches!(
            moved,
            Err(OpError::Unprocessable {
                field: Some("api_key"),
                ..
            })
        ),
        "{moved:?}"
    );
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "the key never went there"
    );
    let current = ops::get_provider(&app.state, &admin, &p.id).await.unwrap();
    assert_eq!(current.name, "Claude prod");
}

#[tokio::test]
async fn activation_needs_a_passing_check_and_delete_and_key_removal_respect_it() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let good = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Good", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();
    let mut bad = anthropic("Bad", &server, new_key(BAD_KEY));
    bad.save_unverified = true;
    let bad = ops::create_provider(&app.state, &admin, bad).await.unwrap();

    let refused = ops::activate_provider(&app.state, &admin, &bad.id).await;
    assert!(
        matches!(refused, Err(OpError::CheckFailed(_))),
        "{refused:?}"
    );
    assert_eq!(active(&app, &org).await, None, "nothing changed");

    let activated = ops::activate_provider(&app.state, &admin, &good.id)
        .await
        .unwrap();
    assert!(activated.active);
    let deleted = ops::delete_provider(&app.state, &admin, &good.id).await;
    assert!(matches!(deleted, Err(OpError::Conflict(_))), "{deleted:?}");

    // Removing the active provider's key reverts to the platform default, recorded.
    let (removed, reverted) = ops::remove_key(&app.state, &admin, &good.id).await.unwrap();
    assert!(reverted);
    assert_eq!((removed.key, removed.active), (KeyDisplay::None, false));
    assert_eq!(active(&app, &org).await, None);
    assert_eq!(app.audit_count("provider.key_removed").await, 1);
    assert_eq!(app.audit_count("provider.deactivated").await, 1);
    let keyless = ops::activate_provider(&app.state, &admin, &good.id).await;
    assert!(
        matches!(keyless, Err(OpError::Unprocessable { .. })),
        "{keyless:?}"
    );

    ops::delete_provider(&app.state, &admin, &good.id)
        .await
        .unwrap();
    assert!(matches!(
        ops::get_provider(&app.state, &admin, &good.id).await,
        Err(OpError::NotFound)
    ));
    assert!(
        !ops::deactivate(&app.state, &admin).await.unwrap(),
        "already on the platform"
    );
}

#[tokio::test]
async fn a_linked_key_is_shared_by_reference_and_deleted_with_its_last_user() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let first = ops::create_provider(
        &app.state,
        &admin,
        anthropic("First", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();
    let second = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Second", &server, KeyInput::LinkFrom(first.id.clone())),
    )
    .await
    .unwrap();
    assert_eq!(second.secret_id, first.secret_id);
    assert_eq!(second.shared_with, vec!["First".to_owned()]);
    assert_eq!(count(&app).await.1, 1, "one secret for both");

    ops::delete_provider(&app.state, &admin, &first.id)
        .await
        .unwrap();
    assert_eq!(count(&app).await.1, 1, "still used by Second");
    ops::remove_key(&app.state, &admin, &second.id)
        .await
        .unwrap();
    assert_eq!(count(&app).await.1, 0, "its last user let it go");
}

#[tokio::test]
async fn members_are_refused_every_provider_change_and_nothing_is_written() {
    let (app, org, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let p = ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();
    let before = count(&app).await;
    let member = caller(&mia, &org, Access::Member);
    let state = &app.state;
    let forbidden =
        |r: Result<(), OpError>| assert!(r.as_ref().is_err_and(OpError::is_forbidden), "{r:?}");
    forbidden(
        ops::create_provider(state, &member, anthropic("X", &server, new_key(GOOD_KEY)))
            .await
            .map(drop),
    );
    forbidden(
        ops::update_provider(
            state,
            &member,
            &p.id,
            p.lock_version,
            anthropic("X", &server, KeyInput::Keep),
        )
        .await
        .map(drop),
    );
    forbidden(ops::test_provider(state, &member, &p.id).await.map(drop));
    forbidden(
        ops::activate_provider(state, &member, &p.id)
            .await
            .map(drop),
    );
    forbidden(ops::deactivate(state, &member).await.map(drop));
    forbidden(ops::remove_key(state, &member, &p.id).await.map(drop));
    forbidden(ops::delete_provider(state, &member, &p.id).await);
    assert_eq!(count(&app).await, before);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "only the admin's save was checked"
    );
}

#[tokio::test]
async fn twenty_concurrent_activations_leave_exactly_one_active_and_a_consistent_trail() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let mut ids = Vec::new();
    for i in 0..20 {
        let mut input = anthropic(&format!("Claude {i}"), &server, new_key(GOOD_KEY));
        input.save_unverified = true;
        ids.push(
            ops::create_provider(&app.state, &admin, input)
                .await
                .unwrap()
                .id,
        );
    }
    let runs = ids.iter().map(|id| {
        let (state, admin) = (app.state.clone(), admin.clone());
        let id = id.clone();
        tokio::spawn(async move {
            ops::activate_provider(&state, &admin, &id)
                .await
                .map(|v| v.id)
        })
    });
    for run in futures_util::future::join_all(runs).await {
        run.unwrap().unwrap();
    }
    let now_active = active(&app, &org).await.expect("one provider is active");
    let mut conn = app.db().await;
    let trail: Vec<(Option<serde_json::Value>, Option<serde_json::Value>)> = audit_events::table
        .filter(audit_events::action.eq("provider.activated"))
        .order(audit_events::id.asc())
        .select((audit_events::before, audit_events::after))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(trail.len(), 20);
    // Each activation saw the one before it: the chain of before → after is unbroken.
    let mut previous = serde_json::Value::Null;
    for (before, after) in &trail {
        assert_eq!(before.as_ref().unwrap()["activeProvider"], previous);
        previous = after.as_ref().unwrap()["activeProvider"].clone();
    }
    assert_eq!(previous, json!(now_active));
}

#[tokio::test]
async fn bad_input_is_refused_on_its_field_and_writes_nothing() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let long_key = format!("sk-ant-{}", "k".repeat(4100));
    type Mutation = Box<dyn Fn(&mut ProviderInput)>;
    // (field, a 400 of form rather than a 422 of the checker, the change)
    let cases: Vec<(&str, bool, Mutation)> = vec![
        ("name", true, Box::new(|i| i.name = "n".repeat(101))),
        ("name", true, Box::new(|i| i.name = "  ".to_owned())),
        (
            "name",
            true,
            Box::new(|i| i.name = "bad\u{7}name".to_owned()),
        ),
        (
            "default_model",
            false,
            Box::new(|i| i.default_model = "claude\u{0}x".to_owned()),
        ),
        (
            "default_model",
            false,
            Box::new(|i| i.default_model = "m".repeat(300)),
        ),
        (
            "base_url",
            false,
            Box::new(|i| i.base_url = Some("http://user:pw@127.0.0.1:9".to_owned())),
        ),
        (
            "base_url",
            false,
            Box::new(|i| i.base_url = Some("http://127.0.0.1:9/v1?x=1".to_owned())),
        ),
        (
            "base_url",
            false,
            Box::new(|i| i.base_url = Some("http://127.0.0.1:9/#frag".to_owned())),
        ),
        (
            "base_url",
            false,
            Box::new(|i| i.base_url = Some("ftp://127.0.0.1/".to_owned())),
        ),
        (
            "base_url",
            false,
            Box::new(|i| i.base_url = Some("not a url".to_owned())),
        ),
        (
            "api_key",
            true,
            Box::new(move |i| i.key = KeyInput::New(long_key.clone().into())),
        ),
        ("api_key", false, Box::new(|i| i.key = KeyInput::Keep)),
        (
            "link_from",
            false,
            Box::new(|i| i.key = KeyInput::LinkFrom("aip_nope".to_owned())),
        ),
    ];
    for (field, form, mutate) in cases {
        let mut input = anthropic("Claude", &server, new_key(GOOD_KEY));
        mutate(&mut input);
        let result = ops::create_provider(&app.state, &admin, input).await;
        // The name's form and the key's size are 400; what the checker refuses of a
        // provider's fields (model, base URL, a key the kind needs, a provider to link
        // with) is 422 (docs/DECISIONS.md "What the server refuses, and with which status").
        assert!(
            match &result {
                Err(e @ OpError::Invalid { .. }) => form && e.field() == Some(field),
                Err(e @ OpError::Unprocessable { .. }) => !form && e.field() == Some(field),
                _ => false,
            },
            "{field}: {result:?}"
        );
    }
    // Azure needs its deployment and api_version; Bedrock a region.
    let mut azure = anthropic("Azure", &server, new_key("azure-key"));
    azure.kind = ProviderKind::Azure;
    let result = ops::create_provider(&app.state, &admin, azure).await;
    assert!(
        matches!(
            result,
            Err(OpError::Unprocessable {
                field: Some("deployment"),
                ..
            })
        ),
        "{result:?}"
    );
    let mut bedrock = anthropic("Bedrock", &server, new_key("bedrock-key"));
    (bedrock.kind, bedrock.base_url) = (ProviderKind::Bedrock, None);
    let result = ops::create_provider(&app.state, &admin, bedrock).await;
    assert!(
        matches!(
            result,
            Err(OpError::Unprocessable {
                field: Some("region"),
                ..
            })
        ),
        "{result:?}"
    );

    assert_eq!(count(&app).await, (0, 0, 0), "nothing written");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing sent"
    );
}

#[tokio::test]
async fn a_stored_key_that_does_not_open_is_a_clear_error_naming_the_secret() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    let a = ops::create_provider(
        &app.state,
        &admin,
        anthropic("A", &server, new_key(GOOD_KEY)),
    )
    .await
    .unwrap();
    // B's key is one the mock rejects: saved without verifying.
    let mut b = anthropic("B", &server, new_key(BAD_KEY));
    b.save_unverified = true;
    let b = ops::create_provider(&app.state, &admin, b).await.unwrap();
    let (sa, sb) = (a.secret_id.clone().unwrap(), b.secret_id.clone().unwrap());

    // Swap the two envelopes: each now sits under the other's id (the AAD binds the id).
    let mut conn = app.db().await;
    diesel::sql_query(format!(
        "UPDATE secrets SET envelope = CASE id WHEN '{sa}' THEN (SELECT envelope FROM secrets WHERE id = '{sb}') \
         ELSE (SELECT envelope FROM secrets WHERE id = '{sa}') END WHERE id IN ('{sa}', '{sb}')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    for (p, secret) in [(&a, &sa), (&b, &sb)] {
        let result = ops::test_provider(&app.state, &admin, &p.id).await;
        match result {
            Err(OpError::Unprocessable {
                field: Some("api_key"),
                message,
            }) => {
                assert!(message.contains(secret.as_str()), "{message}");
                assert!(!message.contains("CANARY"), "{message}");
            }
            other => panic!("expected a clear error, got {other:?}"),
        }
    }
    // A key id no ring has: the same clear refusal, never a trial decryption.
    diesel::sql_query(format!(
        "UPDATE secrets SET key_id = 'nope' WHERE id = '{sa}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let result = ops::activate_provider(&app.state, &admin, &a.id).await;
    assert!(
        matches!(&result, Err(OpError::Unprocessable { message, .. }) if message.contains("nope") && message.contains(sa.as_str())),
        "{result:?}"
    );
    assert_eq!(active(&app, &org).await, None);
}

#[tokio::test]
async fn delete_racing_activate_never_leaves_a_dangling_active_provider() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = caller(&ada, &org, Access::Admin);
    for round in 0..8 {
        let p = ops::create_provider(
            &app.state,
            &admin,
            anthropic(&format!("P{round}"), &server, new_key(GOOD_KEY)),
        )
        .await
        .unwrap();
        let (s1, s2, a1, a2) = (
            app.state.clone(),
            app.state.clone(),
            admin.clone(),
            admin.clone(),
        );
        let (id1, id2) = (p.id.clone(), p.id.clone());
        let activate =
            tokio::spawn(async move { ops::activate_provider(&s1, &a1, &id1).await.map(drop) });
        let delete = tokio::spawn(async move { ops::delete_provider(&s2, &a2, &id2).await });
        let (activated, deleted) = (activate.await.unwrap(), delete.await.unwrap());
        // Exactly one wins: either it was deleted first (activation finds nothing), or it
        // is active and the delete is refused.
        match (&activated, &deleted) {
            (Err(OpError::NotFound), Ok(())) => assert_eq!(active(&app, &org).await, None),
            (Ok(()), Err(OpError::Conflict(_))) => {
                assert_eq!(active(&app, &org).await.as_deref(), Some(p.id.as_str()));
                ops::deactivate(&app.state, &admin).await.unwrap();
            }
            (Ok(()), Ok(())) => panic!("deleted while active: {activated:?} {deleted:?}"),
            other => panic!("round {round}: {other:?}"),
        }
    }
}
