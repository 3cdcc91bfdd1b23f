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

/// Rows of every table an input could change (providers, secrets, skills, orgs, users,
/// tokens, invitations, key drafts, audit events), for "nothing written".
pub(crate) async fn everything(app: &crate::helpers::TestApp) -> Vec<i64> {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db().await;
    let mut out = Vec::new();
    for table in [
        "providers",
        "secrets",
        "skills",
        "orgs",
        "users",
        "api_tokens",
        "invitations",
        "key_drafts",
        "audit_events",
    ] {
        let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(&mut conn)
            .await
            .unwrap();
        out.push(n.n);
    }
    out
}

/// Items 3, 4 and 6 over MCP: the tools that take a key or a name refuse a masked preview
/// (400), an unverified save of the active provider (422) and bidi or invisible characters
/// in names (400 naming the character), and write nothing; ZWJ and LRM in names are kept.
#[tokio::test]
async fn over_mcp_previews_unverified_saves_of_the_active_provider_and_bidi_names_are_refused() {
    use super::mcp::{Mcp, assert_no_canary, bodies, create_args};
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let seen = bodies();
    let mcp = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );
    let created = mcp
        .ok("create-ai-provider", create_args(&mock, "Claude"))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let refused = |err: &serde_json::Value, status: u16, words: &str| {
        assert_eq!(err["error"]["status"], status, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{words}: {err}");
    };

    // Item 3: the masked preview typed back as the key.
    let before = everything(&app).await;
    for preview in ["sk-ant-...WXYZ", "sk-ant-…WXYZ", "...WXYZ"] {
        let err = mcp
            .call(
                "update-ai-provider",
                json!({"id": id, "apiKey": preview, "saveUnverified": true}),
            )
            .await
            .unwrap_err();
        refused(&err, 400, "masked preview");
        let mut args = create_args(&mock, "Copy");
        args["apiKey"] = json!(preview);
        args["saveUnverified"] = json!(true);
        let err = mcp.call("create-ai-provider", args).await.unwrap_err();
        refused(&err, 400, "masked preview");
    }
    assert_eq!(everything(&app).await, before, "nothing written");

    // Item 4: an unverified save of the active provider.
    mcp.ok("activate-ai-provider", json!({"id": id})).await;
    let before = everything(&app).await;
    let err = mcp
        .call(
            "update-ai-provider",
            json!({"id": id, "baseUrl": "http://127.0.0.1:9", "apiKey": GOOD_KEY,
                   "saveUnverified": true}),
        )
        .await
        .unwrap_err();
    refused(&err, 422, "active provider");
    assert_eq!(everything(&app).await, before, "nothing written");
    let settings = mcp.ok("get-ai-settings", json!({})).await;
    assert_eq!(
        settings["activeProvider"]["id"],
        id.as_str(),
        "still active"
    );
    assert_eq!(
        mcp.ok("get-ai-provider", json!({"id": id})).await["baseUrl"],
        mock.uri().as_str(),
        "unchanged"
    );

    // Item 6: bidi controls and invisible characters in names, on each tool that takes one.
    let skill = mcp
        .ok(
            "create-skill",
            json!({"name": "Tone", "description": "", "instructions": "Be brief.", "enabled": true}),
        )
        .await;
    let skill_id = skill["id"].as_str().unwrap().to_owned();
    let before = everything(&app).await;
    let mut evil = create_args(&mock, "Claude\u{202E}txt.exe");
    evil["saveUnverified"] = json!(true);
    refused(
        &mcp.call("create-ai-provider", evil).await.unwrap_err(),
        400,
        "U+202E",
    );
    refused(
        &mcp.call(
            "update-ai-provider",
            json!({"id": id, "name": "Claude\u{FEFF}"}),
        )
        .await
        .unwrap_err(),
        400,
        "U+FEFF",
    );
    refused(
        &mcp.call(
            "create-skill",
            json!({"name": "Tone\u{200B}2", "description": "", "instructions": "Be \u{202E} brief.",
                   "enabled": true}),
        )
        .await
        .unwrap_err(),
        400,
        "U+200B",
    );
    refused(
        &mcp.call(
            "update-skill",
            json!({"id": skill_id, "name": "\u{2067}Tone"}),
        )
        .await
        .unwrap_err(),
        400,
        "U+2067",
    );
    assert_eq!(everything(&app).await, before, "nothing written");
    // ZWJ (emoji) and LRM in names are kept; Markdown stays free.
    let dev = mcp
        .ok(
            "create-skill",
            json!({"name": "Dev 👩\u{200D}💻", "description": "", "instructions": "Be \u{202E} brief.",
                   "enabled": true}),
        )
        .await;
    assert_eq!(dev["name"], "Dev 👩\u{200D}💻");
    let renamed = mcp
        .ok(
            "update-skill",
            json!({"id": skill_id, "name": "Tone\u{200E}"}),
        )
        .await;
    assert_eq!(renamed["name"], "Tone\u{200E}");
    assert_no_canary(seen);
}
