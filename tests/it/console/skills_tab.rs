//! The Skills and Advanced tabs over HTTP: admins add, preview, edit, enable/disable and
//! delete skills (each audited); hostile Markdown and names render inert; sizes, duplicate
//! names, stale versions and unknown fields are refused with a message and write nothing;
//! members and support read without forms; the Advanced tab shows the prompt variant of the
//! active provider, its text, the policy and the enabled skills.

use crate::{
    helpers::{PASSWORD, TestApp, client},
    provider_ops::{GOOD_KEY, anthropic_mock, app_with_org},
};

const TAB: &str = "/orgs/acme/settings/ai/skills";
const NEW: &str = "/orgs/acme/settings/ai/skills/new";
const ADVANCED: &str = "/orgs/acme/settings/ai/advanced";

async fn admin_app() -> TestApp {
    let (app, _, _, _) = app_with_org().await;
    assert_eq!(
        app.login(&app.client, "ada@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    app
}

async fn html(app: &TestApp, http: &reqwest::Client, path: &str) -> String {
    let res = app.get(http, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn add(
    app: &TestApp,
    name: &str,
    description: &str,
    instructions: &str,
) -> reqwest::Response {
    app.post_form(
        &app.client,
        NEW,
        TAB,
        &[
            ("name", name),
            ("description", description),
            ("instructions", instructions),
            ("enabled", "on"),
            ("intent", "save"),
        ],
    )
    .await
}

async fn skill_count(app: &TestApp) -> i64 {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::skills;
    let mut conn = app.db().await;
    skills::table.count().get_result(&mut conn).await.unwrap()
}

/// The id of the skill whose card shows `name`.
fn skill_id(page: &str, name: &str) -> String {
    for (i, _) in page.match_indices("<article class=\"card skill") {
        let card = &page[i..];
        let card = &card[..card.find("</article>").unwrap()];
        if card.contains(&format!(">{name}</h3>")) {
            let at = card.find("id=\"skill-").unwrap() + 10;
            return card[at..at + 30].to_owned();
        }
    }
    panic!("no card for {name}");
}

fn lock_version_of(page: &str, id: &str) -> String {
    let card = &page[page.find(&format!("id=\"skill-{id}\"")).unwrap()..];
    let at = card.find("name=\"lock_version\" value=\"").unwrap() + 27;
    card[at..at + card[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn admins_add_preview_edit_toggle_and_delete_skills_with_audit() {
    let app = admin_app().await;
    assert!(
        html(&app, &app.client, TAB)
            .await
            .contains("No skills yet.")
    );

    // Preview renders the Markdown and saves nothing.
    let res = app
        .post_form(
            &app.client,
            NEW,
            TAB,
            &[
                ("name", "Tone"),
                ("instructions", "Answer **briefly**."),
                ("intent", "preview"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Preview (not saved)"));
    assert!(
        page.contains("<p>Answer <strong>briefly</strong>.</p>"),
        "{page}"
    );
    assert!(page.contains("value=\"Tone\""), "the input is kept");
    assert_eq!(skill_count(&app).await, 0);

    let res = add(&app, "Tone", "How to answer", "Answer **briefly**.").await;
    assert_eq!(res.status(), 303);
    let page = html(&app, &app.client, TAB).await;
    assert!(page.contains("Added the skill Tone."));
    assert!(page.contains("Instructions: 19 characters"));
    assert!(
        !page.contains("briefly"),
        "the list doesn't carry the instructions"
    );
    assert_eq!(app.audit_count("skill.created").await, 1);
    let id = skill_id(&page, "Tone");
    let shown = html(&app, &app.client, &format!("{TAB}/{id}")).await;
    assert!(
        shown.contains("<p>Answer <strong>briefly</strong>.</p>"),
        "{shown}"
    );

    // Edit: the form carries the stored values; saving records before and after.
    let edit = format!("{TAB}/{id}/edit");
    let form = html(&app, &app.client, &edit).await;
    assert!(form.contains("Answer **briefly**.</textarea>"));
    let path = format!("{TAB}/{id}");
    let res = app
        .post_form(
            &app.client,
            &edit,
            &path,
            &[
                ("name", "Tone of voice"),
                ("description", "How to answer"),
                ("instructions", "Answer in *one* paragraph."),
                ("enabled", "on"),
                ("lock_version", "0"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit_count("skill.updated").await, 1);

    // A stale version is a conflict that shows the current version.
    let res = app
        .post_form(
            &app.client,
            &edit,
            &path,
            &[
                ("name", "Overwrite"),
                ("instructions", "x"),
                ("lock_version", "0"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("Someone else changed this skill"));
    assert!(
        page.contains("value=\"Tone of voice\""),
        "the current version"
    );
    assert_eq!(app.audit_count("skill.updated").await, 1);

    // Disable, then enable again.
    let page = html(&app, &app.client, TAB).await;
    let version = lock_version_of(&page, &id);
    let toggle = format!("{TAB}/{id}/enabled");
    let res = app
        .post_form(
            &app.client,
            TAB,
            &toggle,
            &[("enabled", "false"), ("lock_version", &version)],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = html(&app, &app.client, TAB).await;
    assert!(page.contains("Tone of voice is disabled."));
    assert!(page.contains("<span class=\"badge\">Disabled</span>"));
    assert_eq!(app.audit_count("skill.disabled").await, 1);
    let res = app
        .post_form(
            &app.client,
            TAB,
            &toggle,
            &[("enabled", "true"), ("lock_version", &version)],
        )
        .await;
    assert_eq!(res.status(), 409, "stale toggle");

    let res = app
        .post_form(&app.client, TAB, &format!("{TAB}/{id}/delete"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(skill_count(&app).await, 0);
    assert_eq!(app.audit_count("skill.deleted").await, 1);
}

#[tokio::test]
async fn hostile_names_descriptions_and_markdown_render_inert() {
    let app = admin_app().await;
    let markdown = "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
                    [click](javascript:alert(3)) [data](data:text/html,hi)\n\n\
                    <a href=\"/x\" hx-post=\"/evil\" hx-trigger=\"load\">x</a>\n\n\
                    <p onclick=\"alert(4)\">p</p>";
    let res = add(
        &app,
        "<script>alert(5)</script>",
        "\"><img src=x onerror=alert(6)>",
        markdown,
    )
    .await;
    assert_eq!(res.status(), 303);
    let id = skill_id(
        &html(&app, &app.client, TAB).await,
        "&#60;script&#62;alert(5)&#60;/script&#62;",
    );
    let shown = format!("{TAB}/{id}");
    for path in [TAB, ADVANCED, shown.as_str()] {
        let page = html(&app, &app.client, path).await;
        // Raw tags and attributes only: the escaped text of the payload may show.
        for bad in [
            "<script>alert",
            "<img src=x",
            " onerror=alert(2)>",
            "href=\"javascript:",
            "href=\"data:",
            "hx-post=\"/evil\"",
            "<p onclick",
        ] {
            assert!(!page.contains(bad), "{path} contains {bad}");
        }
    }
    let page = html(&app, &app.client, TAB).await;
    assert!(
        page.contains("&#60;script&#62;alert(5)&#60;/script&#62;"),
        "the name is shown, escaped"
    );
}

#[tokio::test]
async fn bad_input_is_refused_next_to_its_field_and_writes_nothing() {
    let app = admin_app().await;
    assert_eq!(add(&app, "Tone", "", "Be brief.").await.status(), 303);

    let long = "x".repeat(20_001);
    let name_101 = "n".repeat(101);
    // Bad input is a 400; a name another skill has (any case) a 409, beside the name too.
    for (name, instructions, field, message) in [
        (
            "Long",
            long.as_str(),
            "sk-instructions-error",
            "20001 characters long; at most 20000",
        ),
        (
            "TONE",
            "Other.",
            "sk-name-error",
            "Another skill of this org is already called TONE.",
        ),
        ("", "Other.", "sk-name-error", "Give the skill a name."),
        (
            name_101.as_str(),
            "Other.",
            "sk-name-error",
            "at most 100 are allowed",
        ),
        (
            "Empty",
            "  ",
            "sk-instructions-error",
            "Write the instructions",
        ),
    ] {
        let res = add(&app, name, "", instructions).await;
        let status = if name == "TONE" { 409 } else { 400 };
        assert_eq!(res.status(), status, "{field} {message}");
        let page = res.text().await.unwrap();
        let at = page
            .find(&format!("id=\"{field}\""))
            .unwrap_or_else(|| panic!("{field}: {page}"));
        assert!(page[at..].contains(message), "{message}");
        assert!(page.contains("aria-invalid=\"true\""));
    }
    // Exactly the limit is fine.
    assert_eq!(
        add(&app, "Max", "", &"y".repeat(20_000)).await.status(),
        303
    );

    // An unknown field is refused, not dropped.
    let res = app
        .post_form(
            &app.client,
            NEW,
            TAB,
            &[("name", "X"), ("instructions", "y"), ("prompt", "z")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(skill_count(&app).await, 2);
    assert_eq!(app.audit_count("skill.created").await, 2);
}

#[tokio::test]
async fn members_and_support_read_skills_and_advanced_without_forms() {
    let app = admin_app().await;
    assert_eq!(add(&app, "Tone", "", "Be **brief**.").await.status(), 303);
    let id = skill_id(&html(&app, &app.client, TAB).await, "Tone");
    app.create_user("sam@support.test", true).await;
    for email in ["mia@acme.test", "sam@support.test"] {
        let http = client();
        assert_eq!(app.login(&http, email, PASSWORD).await.status(), 303);
        let page = html(&app, &http, TAB).await;
        assert!(
            !page.contains("<form method=\"post\" action=\"/orgs"),
            "{email}"
        );
        let shown = html(&app, &http, &format!("{TAB}/{id}")).await;
        assert!(shown.contains("<strong>brief</strong>"), "{email}");
        assert!(
            !shown.contains(&format!("{TAB}/{id}/edit")),
            "{email}: no edit link"
        );
        assert!(page.contains("id=\"tab-skills\"") && page.contains("id=\"tab-advanced\""));
        let page = html(&app, &http, ADVANCED).await;
        assert!(page.contains("<code id=\"prompt-variant\">platform</code>"));
        for path in [NEW.to_owned(), format!("{TAB}/{id}/edit")] {
            assert_eq!(app.get(&http, &path).await.status(), 403, "{email} {path}");
        }
        let token = app.csrf(&http, TAB).await;
        for path in [
            TAB.to_owned(),
            format!("{TAB}/{id}"),
            format!("{TAB}/{id}/enabled"),
            format!("{TAB}/{id}/delete"),
        ] {
            let res = http
                .post(app.url(&path))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("name", "Mine"),
                    ("instructions", "x"),
                    ("enabled", "false"),
                    ("lock_version", "0"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 403, "{email} {path}");
        }
    }
    assert_eq!(skill_count(&app).await, 1);
}

#[tokio::test]
async fn the_advanced_tab_follows_the_active_provider_and_lists_enabled_skills() {
    let app = admin_app().await;
    let page = html(&app, &app.client, ADVANCED).await;
    assert!(page.contains("<code id=\"prompt-variant\">platform</code>"));
    assert!(page.contains("You are the AI assistant of this platform"));
    assert!(page.contains("No enabled skills: nothing is appended."));
    assert!(page.contains("<code>fallback</code>"));

    assert_eq!(add(&app, "Tone", "", "Be brief.").await.status(), 303);
    assert_eq!(add(&app, "Off", "", "Never shown.").await.status(), 303);
    let tab = html(&app, &app.client, TAB).await;
    let off = skill_id(&tab, "Off");
    let version = lock_version_of(&tab, &off);
    let res = app
        .post_form(
            &app.client,
            TAB,
            &format!("{TAB}/{off}/enabled"),
            &[("enabled", "false"), ("lock_version", &version)],
        )
        .await;
    assert_eq!(res.status(), 303);

    let server = anthropic_mock().await;
    let res = app
        .post_form(
            &app.client,
            "/orgs/acme/settings/ai/provider",
            "/orgs/acme/settings/ai/providers",
            &[
                ("kind", "anthropic"),
                ("name", "Claude"),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &server.uri()),
                ("api_key", GOOD_KEY),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let provider = {
        use diesel::QueryDsl as _;
        use diesel_async::RunQueryDsl as _;
        use switchboard::db::schema::providers;
        let mut conn = app.db().await;
        providers::table
            .select(providers::id)
            .first::<String>(&mut conn)
            .await
            .unwrap()
    };
    let res = app
        .post_form(
            &app.client,
            "/orgs/acme/settings/ai/provider",
            &format!("/orgs/acme/settings/ai/providers/{provider}/activate"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);

    let page = html(&app, &app.client, ADVANCED).await;
    assert!(
        page.contains("<code id=\"prompt-variant\">anthropic-native</code>"),
        "{page}"
    );
    assert!(
        page.contains("Anthropic&#39;s Messages API") || page.contains("Anthropic's Messages API")
    );
    let prompt = &page[page.find("id=\"prompt-text\"").unwrap()..];
    assert!(
        prompt.contains("rules&#62;") || prompt.contains("rules&gt;"),
        "the prompt text, escaped"
    );
    assert!(!page.contains("<rules>"));
    assert!(page.contains("Claude (Anthropic, model claude-sonnet-4-20250514)"));
    let skills = &page[page.find("id=\"advanced-skills\"").expect("skills listed")..];
    assert!(skills.contains("Tone") && skills.contains("Be brief."));
    assert!(
        !page.contains("Never shown."),
        "a disabled skill is not appended"
    );
    assert!(!page.contains(GOOD_KEY));
}
