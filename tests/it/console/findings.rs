//! The findings of issue 22 over the console's plain-POST forms and the CLI (REST and MCP:
//! `api::findings`): a masked preview typed as the key is a 400, an unverified save of the
//! active provider a 422, bidi controls and invisible characters in names a 400 naming the
//! character (ZWJ, ZWNJ, LRM and RLM kept), each writing nothing; an invitation whose
//! inviter lost the right to grant it shows the void page and joins no one.

use crate::{
    api::findings::everything,
    helpers::{PASSWORD, TestApp, client, location, meta_csrf},
    provider_ops::{GOOD_KEY, anthropic_mock, app_with_org},
};

use super::cli::switchboard;

const TAB: &str = "/orgs/acme/settings/ai/provider";
const PROVIDERS: &str = "/orgs/acme/settings/ai/providers";
const SKILLS: &str = "/orgs/acme/settings/ai/skills";
const TOKENS: &str = "/orgs/acme/settings/tokens";
const MEMBERS: &str = "/orgs/acme/settings/members";

/// A form's fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn provider_form<'a>(uri: &'a str, name: &'a str, key: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("kind", "anthropic"),
        ("name", name),
        ("default_model", "claude-sonnet-4-20250514"),
        ("base_url", uri),
        ("api_key", key),
    ]
}

/// The answer's status and body.
async fn answer(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn provider_id(app: &TestApp) -> (String, i32) {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::providers;
    let mut conn = app.db().await;
    providers::table
        .select((providers::id, providers::lock_version))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_provider_form_refuses_a_preview_key_and_an_unverified_save_of_the_active_provider() {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let mock = anthropic_mock().await;
    let uri = mock.uri();
    let res = app
        .post_form(
            &app.client,
            TAB,
            PROVIDERS,
            &provider_form(&uri, "Claude", GOOD_KEY),
        )
        .await;
    assert_eq!(res.status(), 303);
    let (id, version) = provider_id(&app).await;
    let update = format!("{PROVIDERS}/{id}");
    let version = version.to_string();

    // Item 3: the preview, as shown on the card, typed back as the key; saving unverified.
    let before = everything(&app).await;
    for preview in ["sk-ant-...WXYZ", "sk-ant-…WXYZ", "...WXYZ"] {
        let mut form = provider_form(&uri, "Claude", preview);
        form.push(("save_unverified", "on"));
        let (status, body) = answer(app.post_form(&app.client, TAB, PROVIDERS, &form).await).await;
        assert_eq!(status, 400, "{preview}");
        assert!(body.contains("masked preview"), "{body}");
        form.push(("lock_version", &version));
        let (status, body) = answer(app.post_form(&app.client, TAB, &update, &form).await).await;
        assert_eq!(status, 400, "{preview}");
        assert!(body.contains("masked preview"), "{body}");
        assert!(body.contains("aria-invalid=\"true\""), "next to its field");
    }
    assert_eq!(
        everything(&app).await,
        before,
        "nothing written, no draft kept"
    );

    // Item 4: an unverified save of the active provider.
    let activate = format!("{update}/activate");
    assert_eq!(
        app.post_form(&app.client, TAB, &activate, &[])
            .await
            .status(),
        303
    );
    let (_, version) = provider_id(&app).await;
    let version = version.to_string();
    let before = everything(&app).await;
    let mut form = provider_form("http://127.0.0.1:9", "Claude", GOOD_KEY);
    form.push(("save_unverified", "on"));
    form.push(("lock_version", &version));
    let (status, body) = answer(app.post_form(&app.client, TAB, &update, &form).await).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("active provider"), "{body}");
    assert!(!body.contains(GOOD_KEY));
    // The refused key may be kept as a draft for the next save (the key was not the
    // problem); nothing else is written.
    let after = everything(&app).await;
    assert_eq!(after[..7], before[..7], "nothing written");
    assert_eq!(after[8], before[8], "nothing audited");
    let page = app.get(&app.client, TAB).await.text().await.unwrap();
    assert!(page.contains(&uri), "the stored base URL is unchanged");
}

#[tokio::test]
async fn console_forms_refuse_bidi_and_invisible_characters_in_names_and_keep_joiners() {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let mock = anthropic_mock().await;
    let uri = mock.uri();
    let new_skill = format!("{SKILLS}/new");
    let skill = |name: &'static str| {
        [
            ("name", name),
            ("description", ""),
            ("instructions", "Be \u{202E} **brief**."),
            ("enabled", "on"),
            ("intent", "save"),
        ]
    };
    assert_eq!(
        app.post_form(&app.client, &new_skill, SKILLS, &skill("Tone"))
            .await
            .status(),
        303
    );
    let skill_id: String = {
        use diesel::QueryDsl as _;
        use diesel_async::RunQueryDsl as _;
        use switchboard::db::schema::skills;
        let mut conn = app.db().await;
        skills::table
            .select(skills::id)
            .first(&mut conn)
            .await
            .unwrap()
    };

    let before = everything(&app).await;
    let mut cases: Vec<(String, String, Fields, &str)> = vec![
        (
            TAB.to_owned(),
            PROVIDERS.to_owned(),
            provider_form(&uri, "Claude\u{202E}txt.exe", GOOD_KEY),
            "U+202E",
        ),
        (
            new_skill.clone(),
            SKILLS.to_owned(),
            skill("Tone\u{200B}2").to_vec(),
            "U+200B",
        ),
        (
            format!("{SKILLS}/{skill_id}/edit"),
            format!("{SKILLS}/{skill_id}"),
            vec![
                ("name", "\u{2066}Tone"),
                ("instructions", "Be brief."),
                ("lock_version", "0"),
                ("intent", "save"),
            ],
            "U+2066",
        ),
        (
            TOKENS.to_owned(),
            TOKENS.to_owned(),
            vec![
                ("name", "ci\u{FEFF}"),
                ("expires", "30d"),
                ("scope", "settings:get"),
            ],
            "U+FEFF",
        ),
    ];
    for (page, path, fields, named) in cases.drain(..) {
        let (status, body) = answer(app.post_form(&app.client, &page, &path, &fields).await).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(named), "{path} names {named}: {body}");
    }
    // The provider form keeps the typed key as a sealed draft for the next save (the key
    // was not what was wrong); nothing else is written.
    let mut after = everything(&app).await;
    assert_eq!(after[7], before[7] + 1, "the key's draft");
    after[7] = before[7];
    assert_eq!(after, before, "nothing written");

    // ZWNJ (Persian), ZWJ (emoji), LRM and RLM are kept.
    for name in ["می\u{200C}خواهم", "Dev 👩\u{200D}💻", "a\u{200E}b\u{200F}c"] {
        assert_eq!(
            app.post_form(&app.client, &new_skill, SKILLS, &skill(name))
                .await
                .status(),
            303,
            "{name}"
        );
    }
    let page = app.get(&app.client, SKILLS).await.text().await.unwrap();
    assert!(page.contains("Dev 👩\u{200D}💻"));
    let res = app
        .post_form(
            &app.client,
            TOKENS,
            TOKENS,
            &[
                ("name", "ci 👩\u{200D}💻"),
                ("expires", "30d"),
                ("scope", "settings:get"),
            ],
        )
        .await;
    assert_eq!(res.status(), 201, "a token with a ZWJ in its name");
}

#[tokio::test]
async fn first_run_setup_and_invitation_sign_up_refuse_invisible_characters_in_names() {
    let app = TestApp::spawn().await;
    let token = app.setup_token.clone().unwrap();
    let page = app.get(&app.client, &format!("/setup?token={token}")).await;
    let csrf = meta_csrf(&page.text().await.unwrap()).unwrap();
    let form = |name: &'static str, org: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("token", token.clone()),
            ("name", name.to_owned()),
            ("email", "ada@acme.test".to_owned()),
            ("password", "a long enough passphrase".to_owned()),
            ("org_name", org.to_owned()),
            ("org_slug", "acme".to_owned()),
        ]
    };
    let before = everything(&app).await;
    for (fields, named) in [
        (form("Ada", "Acme\u{202D}"), "U+202D"),
        (form("Ada\u{2069}", "Acme"), "U+2069"),
    ] {
        let res = app
            .client
            .post(app.url("/setup"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let (status, body) = answer(res).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(named), "{named}: {body}");
    }
    assert_eq!(everything(&app).await, before, "nothing written");
    let res = app
        .client
        .post(app.url("/setup"))
        .form(&form("Ada", "می\u{200C}خواهم"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "ZWNJ kept");

    // An invitation's sign-up form.
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/invitations"),
            &[("email", "nina@new.test"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 201);
    let body = res.text().await.unwrap();
    let at = body.find("?token=").unwrap() + 7;
    let invitation = body[at..at + body[at..].find('"').unwrap()].to_owned();
    let link = format!("/invitations?token={invitation}");
    let nina = client();
    let before = everything(&app).await;
    let res = app
        .post_form(
            &nina,
            &link,
            "/invitations/sign-up",
            &[
                ("token", &invitation),
                ("name", "Nina\u{202E}"),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    let (status, body) = answer(res).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("U+202E"), "{body}");
    assert_eq!(everything(&app).await, before, "nothing written");
}

#[tokio::test]
async fn the_cli_refuses_invisible_characters_in_org_token_and_user_names() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let before = everything(&app).await;
    let pw = format!("{PASSWORD}\n");
    for (args, stdin, named) in [
        (
            vec!["org", "create", "--slug", "evil", "--name", "Evil\u{202E}"],
            "",
            "U+202E",
        ),
        (
            vec![
                "token",
                "create",
                "--org",
                "acme",
                "--email",
                "admin@acme.test",
                "--scopes",
                "settings:get",
                "--name",
                "ci\u{2066}",
            ],
            "",
            "U+2066",
        ),
        (
            vec![
                "user",
                "create",
                "--email",
                "zed@acme.test",
                "--name",
                "Zed\u{200B}",
                "--password-stdin",
            ],
            pw.as_str(),
            "U+200B",
        ),
    ] {
        let (code, out, err) = switchboard(&app, &args, stdin).await;
        assert_eq!(code, 1, "{args:?}: {out} {err}");
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
    }
    assert_eq!(everything(&app).await, before, "nothing written");
    let (code, _, err) = switchboard(
        &app,
        &[
            "org",
            "create",
            "--slug",
            "persian",
            "--name",
            "می\u{200C}خواهم",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "ZWNJ kept: {err}");
}

/// Item 5 on the console: an invitation sent by an admin who has since lost the right to
/// grant its role shows the void page, with words that say why, on the link and on the
/// forms that accept it; nobody joins. An admin demoted on the Members page takes their
/// pending invitations with them (the link says it was withdrawn).
#[tokio::test]
async fn an_invitation_from_an_admin_who_lost_the_right_shows_the_void_page_and_joins_nobody() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let bob = app.create_user("bob@acme.test", false).await;
    let cat = app.create_user("cat@acme.test", false).await;
    {
        use switchboard::models::{membership, org::Org};
        let mut conn = app.db().await;
        let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
        for u in [&bob, &cat] {
            membership::add(&mut conn, org.id, u.id, membership::Role::Admin)
                .await
                .unwrap();
        }
    }
    let invite = async |who: &reqwest::Client, email: &str| {
        let res = app
            .post_form(
                who,
                MEMBERS,
                &format!("{MEMBERS}/invitations"),
                &[("email", email), ("role", "admin")],
            )
            .await;
        assert_eq!(res.status(), 201);
        let body = res.text().await.unwrap();
        let at = body.find("?token=").unwrap() + 7;
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    let bob_client = client();
    assert_eq!(
        app.login(&bob_client, "bob@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let cat_client = client();
    assert_eq!(
        app.login(&cat_client, "cat@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    let from_bob = invite(&bob_client, "eve@else.test").await;
    let from_cat = invite(&cat_client, "zed@else.test").await;

    // bob is demoted on the Members page: his invitation is withdrawn with him.
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/role", bob.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", location(&res));
    let res = app
        .get(&client(), &format!("/invitations?token={from_bob}"))
        .await;
    let (status, body) = answer(res).await;
    assert_eq!(status, 410);
    assert!(body.contains("withdrawn by an admin"), "{body}");

    // cat loses the right some other way (her account is disabled): void at acceptance.
    {
        use diesel_async::RunQueryDsl as _;
        let mut conn = app.db().await;
        diesel::sql_query("UPDATE users SET disabled = true WHERE email = 'cat@acme.test'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let link = format!("/invitations?token={from_cat}");
    const VOID: &str = "This invitation is no longer valid: the admin who sent it can no \
                        longer grant that role in the org. Ask one of the org&#39;s admins for a \
                        new invitation.";
    let zed = client();
    let res = app.get(&zed, &link).await;
    let (status, body) = answer(res).await;
    assert_eq!(status, 410);
    assert!(body.contains("<h1>Invitation not valid</h1>"), "{body}");
    assert!(body.contains(VOID), "{body}");
    let before = everything(&app).await;
    // The sign-up form posted anyway (a page opened before the inviter lost the right).
    let csrf = app.csrf(&zed, "/login").await;
    let res = zed
        .post(app.url("/invitations/sign-up"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", from_cat.as_str()),
            ("name", "Zed"),
            ("password", PASSWORD),
            ("confirm_password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = answer(res).await;
    assert_eq!(status, 410);
    assert!(body.contains(VOID), "{body}");
    assert_eq!(everything(&app).await, before, "nobody joined");
}
