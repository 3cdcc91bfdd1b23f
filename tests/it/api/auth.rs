//! Who may call the API: bearer tokens (live, expired, revoked, malformed, another org's),
//! scopes cut to the creator's current access, and the 401/404 JSON errors.

use crate::api::traffic::SendChecked as _;
use chrono::TimeDelta;
use serde_json::Value;
use switchboard::{
    models::membership::{self, Role},
    ops::{Caller, Scope, tokens},
};

use super::{all_scopes, app_with_org, http, token};

#[tokio::test]
async fn tokens_authenticate_until_they_expire_or_are_revoked() {
    let (app, org, ada, _) = app_with_org().await;
    let live = token(&app, &org, &ada, &all_scopes(), None).await;
    let short = token(&app, &org, &ada, &all_scopes(), Some(TimeDelta::hours(1))).await;
    let url = app.url("/api/v1/catalog");
    let c = http();

    let ok = c.get(&url).bearer_auth(&live).send_checked().await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["kinds"].as_array().unwrap().len(), 10);

    for (auth, why) in [
        (None, "no token"),
        (Some("swb_nope".to_owned()), "unknown token"),
        (Some("not-a-token".to_owned()), "malformed"),
    ] {
        let mut req = c.get(&url);
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        let res = req.send_checked().await.unwrap();
        assert_eq!(res.status(), 401, "{why}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{why}");
    }
    let basic = c
        .get(&url)
        .header("authorization", "Basic YWRhOnB3")
        .send_checked()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    app.clock.advance(std::time::Duration::from_secs(7200));
    let expired = c
        .get(&url)
        .bearer_auth(&short)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401, "expired");
    let still = c.get(&url).bearer_auth(&live).send_checked().await.unwrap();
    assert_eq!(still.status(), 200);

    let admin = Caller::operator(Some(org.clone()));
    let listed = tokens::list_tokens(&app.state, &admin).await.unwrap();
    assert_eq!(listed.len(), 2);
    let live_row = listed.iter().find(|t| t.expires_at.is_none()).unwrap();
    assert!(live_row.last_used_at.is_some(), "use is recorded");
    tokens::revoke_token(&app.state, &admin, live_row.id)
        .await
        .unwrap();
    let revoked = c.get(&url).bearer_auth(&live).send_checked().await.unwrap();
    assert_eq!(revoked.status(), 401, "revoked");
    assert_eq!(app.audit_count("token.created").await, 2);
    assert_eq!(app.audit_count("token.revoked").await, 1);
}

#[tokio::test]
async fn a_token_is_only_stored_as_its_hash_and_is_shown_once() {
    let (app, org, ada, _) = app_with_org().await;
    let secret = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;
    assert!(secret.starts_with("swb_") && secret.len() >= 40);
    let dump = crate::canary::scan(&app).await;
    assert!(!dump.contains(&secret[4..]), "the token is stored in clear");
    let listed = tokens::list_tokens(&app.state, &Caller::operator(Some(org)))
        .await
        .unwrap();
    assert_eq!(listed[0].prefix, &secret[..8]);
    assert_eq!(listed[0].scopes, ["aiProviders:list"]);
}

#[tokio::test]
async fn scopes_are_cut_to_the_creators_current_access() {
    let (app, org, ada, mia) = app_with_org().await;
    // A member cannot be given write scopes.
    let refused = tokens::create_token(
        &app.state,
        &Caller::operator(Some(org.clone())),
        tokens::TokenInput {
            name: "too much".to_owned(),
            scopes: vec![Scope::AiProvidersCreate],
            expires_in: None,
            owner_email: Some(mia.email.clone()),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.field(), Some("scopes"));

    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    let caller = tokens::authenticate(&app.state, &admin_token, Default::default())
        .await
        .unwrap();
    assert!(caller.may(Scope::AiProvidersCreate) && caller.may(Scope::AuditRead));

    let mut conn = app.db().await;
    membership::set_role(&mut conn, org.id, ada.id, Role::Member)
        .await
        .unwrap();
    let demoted = tokens::authenticate(&app.state, &admin_token, Default::default())
        .await
        .unwrap();
    assert!(demoted.may(Scope::AiProvidersList) && demoted.may(Scope::SettingsGet));
    assert!(!demoted.may(Scope::AiProvidersCreate) && !demoted.may(Scope::AuditRead));
    assert!(!demoted.sees_key_preview());

    membership::remove(&mut conn, org.id, ada.id).await.unwrap();
    let removed = tokens::authenticate(&app.state, &admin_token, Default::default())
        .await
        .unwrap();
    assert_eq!(removed.scopes, switchboard::ops::ScopeSet::EMPTY);
}

#[tokio::test]
async fn another_orgs_token_finds_nothing_and_the_document_is_public() {
    let (app, org, ada, _) = app_with_org().await;
    let bob = app.create_user("bob@other.test", false).await;
    app.create_org("other", &[(&bob, Role::Admin)]).await;
    let acme = token(&app, &org, &ada, &all_scopes(), None).await;
    let c = http();
    let res = c
        .get(app.url("/api/v1/orgs/other/nothing-here"))
        .bearer_auth(&acme)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let doc = c
        .get(app.url("/api/v1/openapi.json"))
        .send_checked()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    let doc: Value = doc.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/catalog"]["get"].is_object());
}
