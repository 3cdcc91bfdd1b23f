//! Four findings of the attacker's trial (issue 22), over the REST API and the operation
//! every transport (console, REST, MCP) calls: a key preview typed back as the key, an
//! unverified save of the active provider, bidi and invisible characters in names, and an
//! invitation outliving its inviter's rights.

use reqwest::Method;
use serde_json::json;
use switchboard::{
    models::membership::Role,
    ops::{
        Caller, OpError, RequestMeta,
        invitations::{self, Closed, CreateInvitation, Opened},
        members::{self, MembershipChange},
        orgs::{self, NewOrgInput},
        providers::{self, KeyInput},
    },
};

use super::{all_scopes, app_with_org, token};
use crate::{
    api::providers::{Recorder, counts, new_anthropic},
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock},
};

#[tokio::test]
async fn a_key_preview_typed_back_as_the_key_is_refused_everywhere() {
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &mock.uri(), GOOD_KEY)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let before = counts(&app).await;
    for preview in ["sk-ant-...WXYZ", "sk-ant-…WXYZ", "...WXYZ"] {
        let res = api
            .call(
                Method::PATCH,
                &format!("/providers/{id}"),
                &admin,
                Some(json!({"apiKey": preview, "saveUnverified": true})),
            )
            .await;
        assert_eq!(res.status, 400, "{preview}: {}", res.body);
        assert!(
            res.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("masked preview"),
            "{}",
            res.body
        );
        let res = api
            .call(
                Method::POST,
                "/providers",
                &admin,
                Some(json!({"provider": "anthropic", "name": "Copy", "defaultModel": "claude-sonnet-4-20250514",
                            "baseUrl": mock.uri(), "apiKey": preview, "saveUnverified": true})),
            )
            .await;
        assert_eq!(res.status, 400, "{preview}: {}", res.body);
    }
    assert_eq!(counts(&app).await, before, "nothing written");
    // The operation the console and MCP call refuses it too.
    let caller = Caller::in_org(
        &ada,
        org.clone(),
        switchboard::ops::Access::Admin,
        RequestMeta::default(),
    );
    let mut input = anthropic("Claude", &mock, KeyInput::New("sk-ant-...WXYZ".into()));
    input.save_unverified = true;
    let view = providers::get_provider(&app.state, &caller, &id)
        .await
        .unwrap();
    let err = providers::update_provider(&app.state, &caller, &id, view.lock_version, input)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OpError::Invalid {
                field: Some("api_key"),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unverified_save_of_the_active_provider_is_refused_with_422() {
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let created = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic("Claude", &mock.uri(), GOOD_KEY)),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let res = api
        .call(
            Method::POST,
            &format!("/providers/{id}/activate"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let before = counts(&app).await;
    let res = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"baseUrl": "http://127.0.0.1:9", "apiKey": GOOD_KEY, "saveUnverified": true})),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("active provider"), "{message}");
    assert_eq!(counts(&app).await, before, "nothing written");
    // Not active any more: the same save goes through, unverified.
    let res = api
        .call(Method::POST, "/providers/deactivate", &admin, None)
        .await;
    assert!(res.status.is_success(), "{}", res.body);
    let res = api
        .call(
            Method::PATCH,
            &format!("/providers/{id}"),
            &admin,
            Some(json!({"baseUrl": "http://127.0.0.1:9", "apiKey": GOOD_KEY, "saveUnverified": true})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

#[tokio::test]
async fn bidi_controls_and_invisible_characters_are_refused_in_names() {
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let before = counts(&app).await;
    let res = api
        .call(
            Method::POST,
            "/providers",
            &admin,
            Some(new_anthropic(
                "Claude\u{202E}txt.exe",
                &mock.uri(),
                GOOD_KEY,
            )),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.to_string().contains("U+202E"), "{}", res.body);
    let res = api
        .call(
            Method::POST,
            "/skills",
            &admin,
            Some(json!({"name": "Tone\u{200B}", "description": "", "instructions": "Be \u{202E} **brief**."})),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.to_string().contains("U+200B"), "{}", res.body);
    assert_eq!(counts(&app).await, before, "nothing written");
    // Markdown stays free; ZWJ in a name is kept.
    let res = api
        .call(
            Method::POST,
            "/skills",
            &admin,
            Some(json!({"name": "Dev 👩\u{200D}💻", "description": "", "instructions": "Be \u{202E} **brief**."})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    // Orgs (console setup, CLI) and tokens go through the same checks.
    let err = orgs::create_org(
        &app.state,
        &Caller::operator(None),
        NewOrgInput {
            slug: "evil".into(),
            name: "Evil\u{FEFF}".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("U+FEFF"), "{err}");
    let err = switchboard::ops::tokens::create_token(
        &app.state,
        &Caller::operator(Some(org.clone())),
        switchboard::ops::tokens::TokenInput {
            name: "ci\u{2066}".into(),
            scopes: all_scopes(),
            expires_in: None,
            owner_email: Some(ada.email.clone()),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("U+2066"), "{err}");
}

#[tokio::test]
async fn an_invitation_does_not_outlive_its_inviters_right_to_grant_it() {
    let (app, org, ada, _) = app_with_org().await;
    let bob = app.create_user("bob@acme.test", false).await;
    // bob joins as a second admin.
    members::add_member(
        &app.state,
        &Caller::operator(Some(org.clone())),
        members::AddMember {
            email: bob.email.clone(),
            role: Role::Admin,
        },
    )
    .await
    .unwrap();
    let as_admin = |u: &switchboard::models::user::User| {
        Caller::in_org(
            u,
            org.clone(),
            switchboard::ops::Access::Admin,
            RequestMeta::default(),
        )
    };
    // bob invites two people as admin, then is demoted by ada.
    let first = invitations::create_invitation(
        &app.state,
        &as_admin(&bob),
        CreateInvitation {
            email: "eve@else.test".into(),
            role: Role::Admin,
        },
    )
    .await
    .unwrap();
    use secrecy::ExposeSecret as _;
    let token = first.token.expose_secret().to_owned();
    assert!(matches!(
        invitations::look_up(&app.state, &token).await.unwrap(),
        Opened::Open(_)
    ));
    members::change_member(
        &app.state,
        &as_admin(&ada),
        bob.id,
        MembershipChange::Role(Role::Member),
    )
    .await
    .unwrap();
    // Revoked with the demotion, and audited.
    assert!(matches!(
        invitations::look_up(&app.state, &token).await.unwrap(),
        Opened::Closed(Closed::Revoked)
    ));
    let pending = invitations::list_invitations(&app.state, &as_admin(&ada))
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
    let mut conn = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel_async::RunQueryDsl as _;
    let n: N = diesel::sql_query(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'invitation.revoked' AND after->>'reason' LIKE '%no longer an admin%'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(n.n, 1);

    // An invitation whose inviter lost the right some other way (disabled): void at
    // acceptance, with a clear page.
    let second = invitations::create_invitation(
        &app.state,
        &as_admin(&ada),
        CreateInvitation {
            email: "zed@else.test".into(),
            role: Role::Member,
        },
    )
    .await
    .unwrap();
    let token = second.token.expose_secret().to_owned();
    diesel::sql_query("UPDATE users SET disabled = true WHERE email = 'ada@acme.test'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        invitations::look_up(&app.state, &token).await.unwrap(),
        Opened::Closed(Closed::Void)
    ));
    let page = app
        .get(
            &crate::helpers::client(),
            &format!("/invitations?token={token}"),
        )
        .await;
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("no longer valid"), "{html}");
}
