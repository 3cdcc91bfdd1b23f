//! Destructive actions ask first, framed errors, the support banner and the words people
//! read (issue 17, items 3, 6, 7, 8), in a real headless Chromium. With JavaScript each of
//! the seven destructive actions opens a modal `<dialog>`: focus starts on Cancel and stays
//! inside (Tab wraps), Escape cancels (nothing changes, focus is back on the trigger), the
//! confirm button performs it. Without JavaScript each trigger is a link to its
//! confirmation page, whose form performs it. One browser per mode, one org each: lean,
//! the browser suite shares CI's ten minutes.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::json;

use crate::browser::{Browser, JavaScript};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::{GOOD_KEY, anthropic_mock, app_with_org};

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const SKILLS: &str = "/orgs/acme/settings/ai/skills";
const MEMBERS: &str = "/orgs/acme/settings/members";
const TOKENS: &str = "/orgs/acme/settings/tokens";

/// WebDriver key codes.
const TAB: &str = "\u{E004}";
const ESCAPE: &str = "\u{E00C}";

/// Presses the destructive trigger `trigger` and confirms: in the dialog with JavaScript,
/// on the confirmation page without. Used by other browser tests too.
pub(crate) async fn press_and_confirm(browser: &Browser, js: JavaScript, trigger: &str) {
    browser.find(trigger).await.click().await.unwrap();
    let confirm = match js {
        JavaScript::On => "dialog#confirm-dialog[open] #confirm-dialog-confirm",
        JavaScript::Off => "#confirm-submit",
    };
    browser.find(confirm).await.click().await.unwrap();
}

/// Org `acme` with something to destroy of every kind: providers Claude (active, verified)
/// and Spare (a key, saved unverified), the skill Tone, the token deploy, an invitation for
/// new@acme.test and the member mia. The admin ada is logged in on `app.client`.
pub(crate) async fn org_with_everything() -> (TestApp, wiremock::MockServer) {
    let (app, _, _, _) = app_with_org().await;
    app.create_user("sue@support.test", true).await;
    let c = &app.client;
    assert_eq!(app.login(c, "ada@acme.test", PASSWORD).await.status(), 303);
    let server = anthropic_mock().await;
    let uri = server.uri();
    for (name, base, extra) in [
        ("Claude", uri.as_str(), None),
        (
            "Spare",
            "http://127.0.0.1:9",
            Some(("save_unverified", "true")),
        ),
    ] {
        let mut fields = vec![
            ("kind", "anthropic"),
            ("name", name),
            ("default_model", "claude-sonnet-4-20250514"),
            ("base_url", base),
            ("api_key", GOOD_KEY),
        ];
        fields.extend(extra);
        let res = app
            .post_form(c, PROVIDER, "/orgs/acme/settings/ai/providers", &fields)
            .await;
        assert_eq!(res.status(), 303, "saving {name}");
    }
    let tab = app.get(c, PROVIDER).await.text().await.unwrap();
    let claude = provider_id(&tab, "Claude");
    let activate = format!("/orgs/acme/settings/ai/providers/{claude}/activate");
    assert_eq!(
        app.post_form(c, PROVIDER, &activate, &[]).await.status(),
        303
    );
    let res = app
        .post_form(
            c,
            "/orgs/acme/settings/ai/skills/new",
            SKILLS,
            &[
                ("name", "Tone"),
                ("description", "House style"),
                ("instructions", "Plain words."),
                ("enabled", "on"),
                ("intent", "save"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "skill: {}", res.status());
    let res = app
        .post_form(
            c,
            TOKENS,
            TOKENS,
            &[
                ("name", "deploy"),
                ("scope", "aiProviders:list"),
                ("expires", "30d"),
            ],
        )
        .await;
    assert!(res.status().is_success(), "token: {}", res.status());
    let res = app
        .post_form(
            c,
            MEMBERS,
            "/orgs/acme/settings/members/invitations",
            &[("email", "new@acme.test"), ("role", "member")],
        )
        .await;
    assert!(res.status().is_success(), "invitation: {}", res.status());
    (app, server)
}

/// The id of the provider card named `name` on the Provider tab's HTML.
pub(crate) fn provider_id(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("-name\">{name}</h3>"))
        .unwrap_or_else(|| panic!("no card {name}"));
    let start = html[..at].rfind("id=\"provider-").expect("card id") + "id=\"provider-".len();
    html[start..at].to_owned()
}

/// One destructive action: where its trigger is, the trigger, the question asked, and
/// what shows it was done.
struct Action {
    page: &'static str,
    trigger: &'static str,
    question: &'static str,
    done: &'static str,
}

const ACTIONS: [Action; 7] = [
    Action {
        page: PROVIDER,
        trigger: "a[data-confirm='Remove the key of Spare?']",
        question: "Remove the key of Spare?",
        done: "Removed the key of Spare.",
    },
    Action {
        page: PROVIDER,
        trigger: "a[data-confirm='Delete Spare?']",
        question: "Delete Spare?",
        done: "Deleted Spare.",
    },
    Action {
        page: PROVIDER,
        trigger: "a[data-confirm='Deactivate Claude?']",
        question: "Deactivate Claude?",
        done: "Back on the platform default.",
    },
    Action {
        page: SKILLS,
        trigger: "a[data-confirm='Delete the skill Tone?']",
        question: "Delete the skill Tone?",
        done: "Deleted the skill Tone.",
    },
    Action {
        page: TOKENS,
        trigger: "#tokens a[data-confirm^='Revoke the token deploy']",
        question: "Revoke the token deploy",
        done: "Revoked the token deploy",
    },
    Action {
        page: MEMBERS,
        trigger: "a[data-confirm='Revoke the invitation for new@acme.test?']",
        question: "Revoke the invitation for new@acme.test?",
        done: "Invitation for new@acme.test revoked",
    },
    Action {
        page: MEMBERS,
        trigger: "a[data-confirm='Remove mia@acme.test from Org acme?']",
        question: "Remove mia@acme.test from Org acme?",
        done: "Removed mia@acme.test",
    },
];

/// The id of the focused element.
async fn focused(browser: &Browser) -> String {
    browser
        .execute("return document.activeElement && (document.activeElement.id || document.activeElement.getAttribute('data-confirm') || document.activeElement.tagName)")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every audit event of the app.
async fn events(app: &TestApp) -> i64 {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::audit_events;
    let mut conn = app.db().await;
    audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("count audit events")
}

async fn press(browser: &Browser, key: &str) {
    let active = browser.client.active_element().await.expect("focus");
    active.send_keys(key).await.expect("key");
}

async fn dialog_open(browser: &Browser) -> bool {
    browser
        .execute("var d = document.getElementById('confirm-dialog'); return !!(d && d.open)")
        .await
        .as_bool()
        .unwrap_or(false)
}

async fn flash_says(browser: &Browser, done: &str) {
    browser
        .eventually(done, || async {
            // At the top of the page, or on the acted-on card (its notice).
            let script = format!(
                "return Array.from(document.querySelectorAll('.flash.ok, .notice.ok'))\
                   .some(e => e.textContent.includes({done:?}))"
            );
            browser.execute(&script).await.as_bool().unwrap_or(false)
        })
        .await;
}

#[tokio::test]
async fn with_javascript_every_destructive_action_asks_in_a_dialog() {
    let (app, _server) = org_with_everything().await;
    let browser = Browser::start(JavaScript::On).await;
    browser.log_in(&app, "ada@acme.test").await;
    for (i, a) in ACTIONS.iter().enumerate() {
        browser.goto(&app.url(a.page)).await;
        let before = events(&app).await;
        // Open, look, Tab around, Escape: nothing happens, focus is back on the trigger.
        browser.find(a.trigger).await.click().await.unwrap();
        browser.find("dialog#confirm-dialog[open]").await;
        assert!(
            browser
                .text("#confirm-dialog-title")
                .await
                .contains(a.question),
            "{}",
            a.question
        );
        assert_eq!(
            focused(&browser).await,
            "confirm-dialog-cancel",
            "{}",
            a.question
        );
        if i == 0 {
            browser
                .assert_accessible("the confirmation dialog open")
                .await;
        }
        for _ in 0..3 {
            press(&browser, TAB).await;
            let inside = browser
                .execute("return document.getElementById('confirm-dialog').contains(document.activeElement)")
                .await;
            assert_eq!(inside, true, "focus stays in the dialog: {}", a.question);
        }
        press(&browser, ESCAPE).await;
        browser
            .eventually("Escape closes the dialog", || async {
                !dialog_open(&browser).await
            })
            .await;
        assert!(
            focused(&browser)
                .await
                .starts_with(a.question.trim_end_matches('?')),
            "focus back on the trigger of {}",
            a.question
        );
        assert_eq!(
            events(&app).await,
            before,
            "Escape changed nothing: {}",
            a.question
        );
        // Again, and confirm.
        press_and_confirm(&browser, JavaScript::On, a.trigger).await;
        flash_says(&browser, a.done).await;
        assert!(!dialog_open(&browser).await);
        assert!(
            browser.text_now(a.trigger).await.is_none(),
            "{} is gone",
            a.question
        );
    }
    browser.assert_accessible("the members page after").await;
    browser.assert_no_console_errors("the dialogs").await;
    browser.close().await;
    assert_eq!(app.audit_count("provider.deleted").await, 1);
    assert_eq!(app.audit_count("skill.deleted").await, 1);
}

#[tokio::test]
async fn without_javascript_every_destructive_action_has_a_confirmation_page() {
    let (app, _server) = org_with_everything().await;
    let browser = Browser::start(JavaScript::Off).await;
    browser.log_in(&app, "ada@acme.test").await;
    for a in &ACTIONS {
        browser.goto(&app.url(a.page)).await;
        let href = browser
            .find(a.trigger)
            .await
            .attr("href")
            .await
            .unwrap()
            .expect("the trigger is a link");
        browser.find(a.trigger).await.click().await.unwrap();
        browser
            .eventually("the confirmation page", || async {
                browser.path().await == href
            })
            .await;
        assert!(
            browser.text("#confirm-heading").await.contains(a.question),
            "{}",
            a.question
        );
        browser.assert_accessible(a.question).await;
        browser.find("#confirm-submit").await.click().await.unwrap();
        flash_says(&browser, a.done).await;
        assert_eq!(browser.path().await, a.page, "back where it was asked");
    }
    browser.close().await;
    assert_eq!(app.audit_count("token.revoked").await, 1);
    assert_eq!(app.audit_count("invitation.revoked").await, 1);
}

/// Every page of the org that an admin, a member or support staff reads — refusals
/// included — names no scope identifier and no server variable; support staff see the
/// banner on each; a mistyped address is a 404 in the org's frame with links back.
#[tokio::test]
async fn framed_404_support_banner_and_no_technical_words() {
    let (app, _server) = org_with_everything().await;
    let browser = Browser::start(JavaScript::On).await;
    let pages = [
        PROVIDER,
        SKILLS,
        "/orgs/acme/settings/ai/insights",
        "/orgs/acme/settings/ai/advanced",
        "/orgs/acme/settings/ai/audit",
        MEMBERS,
        "/orgs/acme/settings/ai/nonsense",
        "/orgs/acme/settings/ai/skills/no-such-skill",
        // Refused for members (admins see the page itself).
        TOKENS,
        "/orgs/acme/settings/ai/provider/new",
    ];
    for (who, support) in [
        ("ada@acme.test", false),
        ("mia@acme.test", false),
        ("sue@support.test", true),
    ] {
        browser.goto(&app.url("/login")).await;
        browser.find("#email").await.send_keys(who).await.unwrap();
        browser
            .find("#password")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        browser
            .find("form[action='/login'] button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
        browser
            .eventually("logged in", || async { browser.path().await != "/login" })
            .await;
        for page in pages {
            // Admins may see the tokens page, which lists scopes by design.
            if page == TOKENS && who == "ada@acme.test" {
                continue;
            }
            browser.goto(&app.url(page)).await;
            browser.find("main").await;
            let text = browser
                .execute("return document.body.innerText")
                .await
                .as_str()
                .unwrap()
                .to_owned();
            for word in [
                "SWITCHBOARD_",
                "aiProviders:",
                "settings:",
                "skills:",
                "audit:read",
                "members:",
                "tokens:manage",
                "it needs",
            ] {
                assert!(
                    !text.contains(word),
                    "{who} on {page} reads {word:?}:\n{text}"
                );
            }
            let banner = browser.text_now("#support-banner").await;
            match support {
                true => assert!(
                    banner.as_deref().is_some_and(|b| b.contains(
                        "You are viewing Org acme as support staff. This visit is recorded in Org acme's audit trail."
                    )),
                    "{page}: {banner:?}"
                ),
                false => assert!(banner.is_none(), "{who} on {page}"),
            }
            if page.contains("nonsense") || page.contains("no-such") {
                assert!(
                    browser
                        .text("#error-heading")
                        .await
                        .contains("Page not found")
                );
                browser.find(".org-head").await;
                browser
                    .find("#error-links a[href='/orgs/acme/settings/ai']")
                    .await;
            }
        }
        if support {
            browser.goto(&app.url(PROVIDER)).await;
            assert!(
                browser
                    .text(PROVIDER_HEADING)
                    .await
                    .contains("This org's providers")
            );
            browser
                .find("#support-banner a[href='/support/orgs']")
                .await;
        }
        crate::browser::log_out(&browser).await;
    }
    // The 403s and 404s visited on purpose log as failed loads; nothing else may.
    let errors: Vec<_> = browser
        .console()
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" && e["source"] != "network")
        .collect();
    assert!(
        errors.is_empty(),
        "console errors during the sweep: {errors:?}"
    );
    browser.close().await;
}

const PROVIDER_HEADING: &str = "#providers-heading";

/// The screenshots issue 17 asks to look at (dialog, confirmation page, framed 404, support
/// banner at 1280×900 and 390×844), into `SCREENSHOTS_DIR` or `target/tmp/issue17`. Not
/// run by default: `cargo test --test it browser_confirm::screenshots -- --ignored`.
#[tokio::test]
#[ignore = "writes screenshots to look at (SCREENSHOTS_DIR); run on purpose when the look changes"]
async fn screenshots() {
    let (app, _server) = org_with_everything().await;
    let dir = std::env::var_os("SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("issue17"));
    std::fs::create_dir_all(&dir).unwrap();
    for js in [JavaScript::On, JavaScript::Off] {
        let browser = Browser::start(js).await;
        browser.log_in(&app, "ada@acme.test").await;
        for size in [(1280, 900), (390, 844)] {
            browser
                .cdp(
                    "Emulation.setDeviceMetricsOverride",
                    json!({ "width": size.0, "height": size.1, "deviceScaleFactor": 1, "mobile": size.0 < 600 }),
                )
                .await;
            match js {
                JavaScript::On => {
                    browser.goto(&app.url(PROVIDER)).await;
                    browser
                        .find(ACTIONS[2].trigger)
                        .await
                        .click()
                        .await
                        .unwrap();
                    browser.find("dialog#confirm-dialog[open]").await;
                    shot(&browser, &dir, "dialog", size.0).await;
                    press(&browser, ESCAPE).await;
                    browser
                        .goto(&app.url("/orgs/acme/settings/ai/nonsense"))
                        .await;
                    shot(&browser, &dir, "framed-404", size.0).await;
                }
                JavaScript::Off => {
                    browser.goto(&app.url(PROVIDER)).await;
                    let href = browser
                        .find(ACTIONS[2].trigger)
                        .await
                        .attr("href")
                        .await
                        .unwrap()
                        .unwrap();
                    browser.goto(&app.url(&href)).await;
                    shot(&browser, &dir, "confirmation-page", size.0).await;
                }
            }
        }
        if js == JavaScript::Off {
            crate::browser::log_out(&browser).await;
            browser.goto(&app.url("/login")).await;
            browser
                .find("#email")
                .await
                .send_keys("sue@support.test")
                .await
                .unwrap();
            browser
                .find("#password")
                .await
                .send_keys(PASSWORD)
                .await
                .unwrap();
            browser
                .find("form[action='/login'] button[type=submit]")
                .await
                .click()
                .await
                .unwrap();
            browser
                .eventually("logged in", || async { browser.path().await != "/login" })
                .await;
            for size in [(1280, 900), (390, 844)] {
                browser
                    .cdp(
                        "Emulation.setDeviceMetricsOverride",
                        json!({ "width": size.0, "height": size.1, "deviceScaleFactor": 1, "mobile": size.0 < 600 }),
                    )
                    .await;
                browser.goto(&app.url(PROVIDER)).await;
                shot(&browser, &dir, "support-banner", size.0).await;
            }
        }
        browser.close().await;
    }
}

async fn shot(browser: &Browser, dir: &std::path::Path, name: &str, width: u32) {
    let shot = browser
        .cdp("Page.captureScreenshot", json!({ "format": "png" }))
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64");
    std::fs::write(dir.join(format!("{name}-{width}.png")), bytes).unwrap();
}
