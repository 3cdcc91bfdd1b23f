//! The console's layout in a real headless Chromium, at a phone's width (390×844, emulated
//! as a mobile device) and a desktop's (1280×900): every page an admin, a member and a
//! support user can reach — found by following the console's own links from `/`, one page
//! of each shape — plus the login, invitation and error pages and the one-time token and
//! invitation answers. On each, nothing scrolls sideways at 390 px (the document is no wider
//! than the viewport) and axe-core finds nothing at either width.
//!
//! The same tour makes the screenshots in `docs/screenshots/` when asked for:
//! `cargo test --test it browser_layout::screenshots -- --ignored` (see README). It is not
//! run by default and nothing compares the pictures: fonts differ between machines.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::json;
use wiremock::MockServer;

use crate::browser::{Browser, JavaScript, log_out};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::{GOOD_KEY, anthropic_mock, app_with_org};

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const TOKENS: &str = "/orgs/acme/settings/tokens";
const MEMBERS: &str = "/orgs/acme/settings/members";
const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);
/// Pages per user at most: the crawl follows one page of each shape, so this is a bound
/// against a link loop, not a sample.
const MOST_PAGES: usize = 40;

/// What the tour does on each page.
#[derive(Clone, Copy)]
enum Mode {
    /// Width and axe checks at both sizes.
    Check,
    /// The checks, and a JPEG of the page at both sizes into `docs/screenshots/`.
    Shoot,
}

/// Org `acme` as a busy org looks: Insights on, ten providers of several kinds (one
/// verified and active, the others saved without verifying against a closed loopback
/// port), two skills, two API tokens, a pending invitation and the audit trail all that
/// wrote; a support user. Everything over HTTP as the admin `ada`.
async fn busy_org() -> (TestApp, MockServer) {
    let (app, _, _, _) = app_with_org().await;
    app.create_user("sue@support.test", true).await;
    let c = &app.client;
    assert_eq!(app.login(c, "ada@acme.test", PASSWORD).await.status(), 303);
    assert_eq!(app.turn_insights_on(c).await.status(), 303);
    let server = anthropic_mock().await;
    let anthropic = server.uri();
    let closed = "http://127.0.0.1:9/v1";
    let providers: [&[(&str, &str)]; 10] = [
        &[
            ("kind", "anthropic"),
            ("name", "Claude for production"),
            ("default_model", "claude-sonnet-4-20250514"),
            ("base_url", &anthropic),
            ("api_key", GOOD_KEY),
        ],
        &[
            ("kind", "openai"),
            ("name", "OpenAI (research team)"),
            ("default_model", "gpt-4o-mini"),
            ("base_url", closed),
            ("api_key", "sk-proj-CANARY0123456789abcdefWXYZ"),
        ],
        &[
            ("kind", "azure"),
            ("name", "Azure West Europe"),
            ("default_model", "gpt-4o"),
            ("base_url", "http://127.0.0.1:9"),
            ("deployment", "gpt4o-prod-westeurope-deployment-0001"),
            ("api_version", "2024-10-21"),
            ("api_key", "0123456789abcdef0123456789abcdef"),
        ],
        &[
            ("kind", "ollama"),
            ("name", "Ollama on the build box"),
            ("default_model", "llama3.1:70b-instruct-q4_K_M"),
            ("base_url", "http://127.0.0.1:9"),
        ],
        &[
            ("kind", "custom"),
            ("name", "vLLM cluster"),
            (
                "default_model",
                "meta-llama/Meta-Llama-3.1-405B-Instruct-FP8",
            ),
            ("base_url", closed),
            ("supports_tools", "true"),
        ],
        &[
            ("kind", "groq"),
            ("name", "Groq"),
            ("default_model", "llama-3.3-70b-versatile"),
            ("base_url", closed),
            ("api_key", "gsk_CANARY0123456789abcdefWXYZ"),
        ],
        &[
            ("kind", "xai"),
            ("name", "Grok"),
            ("default_model", "grok-2-latest"),
            ("base_url", closed),
            ("api_key", "xai-CANARY0123456789abcdefWXYZ"),
        ],
        &[
            ("kind", "google"),
            ("name", "Gemini"),
            ("default_model", "gemini-2.0-flash"),
            ("base_url", closed),
            ("api_key", "AIzaCANARY0123456789abcdefWXYZ"),
        ],
        &[
            ("kind", "gateway"),
            ("name", "Company gateway"),
            ("default_model", "gpt-4o"),
            ("base_url", closed),
            ("api_key", "gw-CANARY0123456789abcdefWXYZ"),
        ],
        &[
            ("kind", "bedrock"),
            ("name", "Bedrock eu-central-1"),
            ("default_model", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
            ("base_url", "http://127.0.0.1:9"),
            ("region", "eu-central-1"),
            ("api_key", "bedrock-api-key-CANARY0123456789WXYZ"),
        ],
    ];
    for (i, fields) in providers.iter().enumerate() {
        let mut fields = fields.to_vec();
        if i > 0 {
            fields.push(("save_unverified", "true"));
        }
        let res = app
            .post_form(c, PROVIDER, "/orgs/acme/settings/ai/providers", &fields)
            .await;
        assert_eq!(res.status(), 303, "saving provider {fields:?}");
    }
    let tab = app.get(c, PROVIDER).await.text().await.unwrap();
    let first = card_ids(&tab)
        .into_iter()
        .find(|id| tab.contains(&format!("provider-{id}-name\">Claude for production")))
        .expect("the Anthropic card");
    let activate = format!("/orgs/acme/settings/ai/providers/{first}/activate");
    assert_eq!(
        app.post_form(c, PROVIDER, &activate, &[]).await.status(),
        303
    );
    for (name, instructions) in [
        (
            "Incident tone",
            "Write incident summaries in plain words, **newest first**.",
        ),
        ("Terraform style", "Prefer modules; pin provider versions."),
    ] {
        let res = app
            .post_form(
                c,
                "/orgs/acme/settings/ai/skills/new",
                "/orgs/acme/settings/ai/skills",
                &[
                    ("name", name),
                    ("description", "House style"),
                    ("instructions", instructions),
                    ("enabled", "on"),
                    ("intent", "save"),
                ],
            )
            .await;
        assert!(
            res.status().is_redirection(),
            "skill {name}: {}",
            res.status()
        );
    }
    for name in ["deploy pipeline", "incident bot"] {
        let res = app
            .post_form(
                c,
                TOKENS,
                TOKENS,
                &[
                    ("name", name),
                    ("scope", "aiProviders:list"),
                    ("scope", "settings:get"),
                    ("expires", "30d"),
                ],
            )
            .await;
        assert!(res.status().is_success(), "token {name}: {}", res.status());
    }
    invite(&app, "new.colleague.with.a.long.address@acme.test").await;
    (app, server)
}

/// Invites `email` as a member; the one-time link from the answer.
async fn invite(app: &TestApp, email: &str) -> String {
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            "/orgs/acme/settings/members/invitations",
            &[("email", email), ("role", "member")],
        )
        .await;
    assert!(res.status().is_success(), "invite: {}", res.status());
    let html = res.text().await.unwrap();
    let at = html.find("id=\"invitation-link\"").expect("the link");
    let value = &html[at..];
    let value = &value[value.find("value=\"").unwrap() + 7..];
    value[..value.find('"').unwrap()].replace("&amp;", "&")
}

/// The provider ids of the cards on a Provider tab.
fn card_ids(html: &str) -> Vec<String> {
    html.match_indices("id=\"provider-aip_")
        .map(|(at, _)| html[at + 13..at + 13 + 30].to_owned())
        .collect()
}

/// A link's shape: its path with every id-like segment (one with a digit, 6+ characters)
/// as `*` and no query; the crawl visits one page per shape.
fn shape(href: &str) -> String {
    let path = href.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .map(|s| {
            if s.len() >= 6 && s.chars().any(|c| c.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sets the emulated viewport; a phone is emulated as a mobile device (its page may zoom
/// out to fit content, which is what the width check must catch).
async fn viewport(browser: &Browser, (width, height): (u32, u32)) {
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1,
                    "mobile": width < 600 }),
        )
        .await;
}

/// Fails unless the document fits the layout viewport's width.
async fn assert_fits(browser: &Browser, what: &str) {
    let widths = browser
        .execute(
            "const d = document.documentElement;
             const wide = Array.from(document.querySelectorAll('body *'))
               .filter(e => e.getBoundingClientRect().right > d.clientWidth + 0.5)
               .slice(0, 5)
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                         (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
                         ' ' + Math.round(e.getBoundingClientRect().right) + 'px');
             return [d.scrollWidth, d.clientWidth, wide]",
        )
        .await;
    let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert_eq!(client, u64::from(PHONE.0), "layout viewport on {what}");
    assert!(
        scroll <= client,
        "{what} ({}) scrolls sideways at {} px: the document is {scroll} px wide; widest: {}",
        browser.path().await,
        PHONE.0,
        widths[2]
    );
}

/// Saves the current page as `{name}-{width}.jpg` in [`screenshots_dir`] (the whole page, up
/// to 2 400 px tall; JPEG keeps the files small). `SCREENSHOTS_FORMAT=png` writes PNG instead
/// (for image viewers that take only PNG; keep JPEG in the repository).
async fn shoot(browser: &Browser, name: &str, (width, height): (u32, u32)) {
    let full = browser
        .execute("return document.documentElement.scrollHeight")
        .await
        .as_u64()
        .unwrap_or(u64::from(height));
    let tall = full.clamp(u64::from(height), 2400);
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": tall, "deviceScaleFactor": 1,
                    "mobile": width < 600 }),
        )
        .await;
    let png = std::env::var("SCREENSHOTS_FORMAT").is_ok_and(|f| f == "png");
    let (format, params) = if png {
        ("png", json!({ "format": "png" }))
    } else {
        ("jpg", json!({ "format": "jpeg", "quality": 70 }))
    };
    let shot = browser.cdp("Page.captureScreenshot", params).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64 screenshot");
    let file = screenshots_dir().join(format!("{name}-{width}.{format}"));
    std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    viewport(browser, (width, height)).await;
}

/// `docs/screenshots/`, or `SCREENSHOTS_DIR` when set.
fn screenshots_dir() -> PathBuf {
    match std::env::var_os("SCREENSHOTS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"),
    }
}

/// A file name for a page: its shape's words.
fn page_name(role: &str, href: &str) -> String {
    let shape = shape(href);
    let words: Vec<&str> = shape
        .split('/')
        .filter(|s| !s.is_empty() && !matches!(*s, "orgs" | "acme" | "settings" | "ai" | "*"))
        .collect();
    let base = if words.is_empty() {
        "home".to_owned()
    } else {
        words.join("-")
    };
    format!("{role}-{base}")
}

/// Checks the current page at both widths (and shoots it when asked).
async fn check_page(browser: &Browser, mode: Mode, what: &str, name: &str) {
    viewport(browser, PHONE).await;
    assert_fits(browser, what).await;
    browser
        .assert_accessible(&format!("{what} at {} px", PHONE.0))
        .await;
    if let Mode::Shoot = mode {
        shoot(browser, name, PHONE).await;
    }
    viewport(browser, DESKTOP).await;
    browser
        .assert_accessible(&format!("{what} at {} px", DESKTOP.0))
        .await;
    if let Mode::Shoot = mode {
        shoot(browser, name, DESKTOP).await;
    }
    viewport(browser, PHONE).await;
}

/// Opens `path` at the phone's width and checks it.
async fn visit(browser: &Browser, app: &TestApp, mode: Mode, path: &str, name: &str) {
    viewport(browser, PHONE).await;
    browser.goto(&app.url(path)).await;
    check_page(browser, mode, path, name).await;
}

/// Logs `email` in through the form.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/login")).await;
    browser.find("#email").await.send_keys(email).await.unwrap();
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
        .eventually("a page after logging in", || async {
            browser.path().await != "/login"
        })
        .await;
}

/// Every page `email` reaches by following the console's links from `/` (one per shape,
/// never logging out or downloading), each checked; the shapes visited.
async fn crawl(browser: &Browser, app: &TestApp, mode: Mode, role: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from(["/".to_owned()]);
    seen.insert(shape("/"));
    let mut landed = BTreeSet::new();
    let mut visited = 0;
    while let Some(href) = queue.pop_front() {
        visited += 1;
        assert!(visited <= MOST_PAGES, "more than {MOST_PAGES} page shapes");
        viewport(browser, PHONE).await;
        browser.goto(&app.url(&href)).await;
        // A link may redirect (`/` to the org, or to support's org list): each page where
        // the browser lands is checked once.
        let path = browser.path().await;
        seen.insert(shape(&path));
        if landed.insert(shape(&path)) {
            check_page(browser, mode, &href, &page_name(role, &path)).await;
        }
        let links = browser
            .execute(
                "return Array.from(document.querySelectorAll('a[href]'))
                   .map(a => a.getAttribute('href'))",
            )
            .await;
        for link in links.as_array().into_iter().flatten() {
            let Some(link) = link.as_str() else { continue };
            let skip = !link.starts_with('/')
                || link.starts_with("/static/")
                || link.contains("/export.")
                || link.starts_with("/logout");
            if !skip && seen.insert(shape(link)) {
                queue.push_back(link.split('#').next().unwrap().to_owned());
            }
        }
    }
    seen
}

/// The whole tour: the three users' pages, the one-time answers, the anonymous pages.
async fn tour(mode: Mode) {
    let (app, _server) = busy_org().await;
    let invitation = invite(&app, "mo@acme.test").await;
    let browser = Browser::start(JavaScript::On).await;

    sign_in(&browser, &app, "ada@acme.test").await;
    let admin = crawl(&browser, &app, mode, "admin").await;
    for page in [
        "/orgs/acme/settings/ai/provider",
        "/orgs/acme/settings/ai/provider/new",
        "/orgs/acme/settings/ai/providers/*/edit",
        "/orgs/acme/settings/ai/providers/*/activate",
        "/orgs/acme/settings/ai/insights",
        "/orgs/acme/settings/ai/skills",
        "/orgs/acme/settings/ai/skills/new",
        "/orgs/acme/settings/ai/advanced",
        "/orgs/acme/settings/ai/audit",
        MEMBERS,
        TOKENS,
        "/account/password",
    ] {
        assert!(
            admin.contains(page),
            "the admin's crawl missed {page}: {admin:?}"
        );
    }
    // The one-time answers: a new token and a new invitation link.
    visit(&browser, &app, mode, TOKENS, "admin-tokens").await;
    browser
        .find("#token-name")
        .await
        .send_keys("a token with a rather long name")
        .await
        .unwrap();
    browser
        .find("#scope-aiProviders-list")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#create-token").await.click().await.unwrap();
    browser.find("#token-secret").await;
    check_page(&browser, mode, "the new token", "admin-token-created").await;
    // The Copy button appears with JavaScript and says what it did.
    browser
        .find("button[data-copy='token-secret']:not([hidden])")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the copy status", || async {
            browser
                .text_now("#token-secret-copied")
                .await
                .is_some_and(|t| !t.trim().is_empty())
        })
        .await;
    saved_card_is_shown(&browser, &app).await;
    visit(&browser, &app, mode, MEMBERS, "admin-members").await;
    browser
        .find("#invite-email")
        .await
        .send_keys("someone.else@acme.test")
        .await
        .unwrap();
    browser
        .find("#invite-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#invitation-link").await;
    check_page(
        &browser,
        mode,
        "the new invitation",
        "admin-invitation-created",
    )
    .await;
    log_out(&browser).await;

    sign_in(&browser, &app, "mia@acme.test").await;
    let member = crawl(&browser, &app, mode, "member").await;
    assert!(member.contains(PROVIDER), "{member:?}");
    log_out(&browser).await;

    sign_in(&browser, &app, "sue@support.test").await;
    let support = crawl(&browser, &app, mode, "support").await;
    assert!(support.contains("/support/orgs"), "{support:?}");
    assert!(
        support.contains("/orgs/acme/settings/ai/audit"),
        "{support:?}"
    );
    log_out(&browser).await;

    visit(&browser, &app, mode, "/login", "login").await;
    let invitation = invitation.trim_start_matches(&app.url(""));
    visit(&browser, &app, mode, invitation, "invitation").await;
    visit(&browser, &app, mode, "/orgs/nope/settings/ai", "not-found").await;
    browser.assert_no_console_errors("the layout tour").await;
    browser.close().await;
}

/// Saves a provider through the form with htmx: the tab comes back with the new card
/// marked as just saved, scrolled into the viewport.
async fn saved_card_is_shown(browser: &Browser, app: &TestApp) {
    viewport(browser, DESKTOP).await;
    browser
        .goto(&app.url("/orgs/acme/settings/ai/provider/new?kind=custom"))
        .await;
    for (field, value) in [
        ("#pf-name", "Just saved"),
        ("#pf-default_model", "qwen2.5"),
        ("#pf-base_url", "http://127.0.0.1:9/v1"),
    ] {
        browser.find(field).await.send_keys(value).await.unwrap();
    }
    browser
        .find("#pf-save_unverified")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#provider-save").await.click().await.unwrap();
    browser.find(".provider.just-saved").await;
    browser
        .eventually("the saved card in view", || async {
            browser
                .execute(
                    "const c = document.querySelector('.provider.just-saved');
                     const r = c.getBoundingClientRect();
                     return r.top >= 0 && r.top < window.innerHeight",
                )
                .await
                == true
        })
        .await;
    assert!(
        browser
            .text(".provider.just-saved h3")
            .await
            .contains("Just saved")
    );
    browser.assert_accessible("the tab after a save").await;
    viewport(browser, PHONE).await;
}

/// A save answers with the way to the new card: a plain post is sent to its anchor, htmx
/// gets it marked and a swap that shows it.
#[tokio::test]
async fn a_saved_provider_is_pointed_to_with_and_without_htmx() {
    let (app, _, _, _) = app_with_org().await;
    let c = &app.client;
    assert_eq!(app.login(c, "ada@acme.test", PASSWORD).await.status(), 303);
    let fields = [
        ("kind", "custom"),
        ("name", "Plain"),
        ("default_model", "qwen2.5"),
        ("base_url", "http://127.0.0.1:9/v1"),
        ("save_unverified", "true"),
    ];
    let res = app
        .post_form(c, PROVIDER, "/orgs/acme/settings/ai/providers", &fields)
        .await;
    assert_eq!(res.status(), 303);
    let location = crate::helpers::location(&res);
    // The redirect's target shows the message on the saved card (issue 17); a later visit
    // marks nothing.
    let tab = app.get(c, PROVIDER).await.text().await.unwrap();
    let id = card_ids(&tab).pop().expect("the saved card");
    assert_eq!(location, format!("{PROVIDER}#provider-{id}"));
    assert!(
        tab.contains(&format!("just-saved\" id=\"provider-{id}\"")),
        "the landing marks the saved card"
    );
    let later = app.get(c, PROVIDER).await.text().await.unwrap();
    assert!(!later.contains("just-saved"), "a later visit marks nothing");

    let token = app.csrf(c, PROVIDER).await;
    let mut fields = fields.to_vec();
    fields[1] = ("name", "With htmx");
    fields.push(("csrf_token", &token));
    let res = c
        .post(app.url("/orgs/acme/settings/ai/providers"))
        .header("HX-Request", "true")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let swap = res.headers()["hx-reswap"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let marked: Vec<&str> = html
        .matches("provider just-saved\" id=\"provider-")
        .collect();
    assert_eq!(marked.len(), 1, "exactly the new card is marked");
    let at = html.find("just-saved\" id=\"provider-").unwrap() + 25;
    let id = &html[at..at + 30];
    assert!(id.starts_with("aip_"), "{id}");
    assert_eq!(swap, format!("innerHTML show:#provider-{id}:top"));
}

#[tokio::test]
async fn every_page_fits_a_phone_and_axe_finds_nothing_at_either_width() {
    tour(Mode::Check).await;
}

/// Regenerates `docs/screenshots/` (not run by default; see README). Set `SCREENSHOTS_DIR`
/// to write elsewhere.
#[tokio::test]
#[ignore = "writes docs/screenshots/; run on purpose when the look changes"]
async fn screenshots() {
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg" || e == "png") {
            std::fs::remove_file(path).unwrap();
        }
    }
    tour(Mode::Shoot).await;
}

/// The width check can fail: a 600 px wide block on a phone is caught.
#[tokio::test]
async fn the_width_check_catches_a_page_wider_than_a_phone() {
    let app = TestApp::spawn().await;
    let browser = Browser::start(JavaScript::On).await;
    viewport(&browser, PHONE).await;
    browser.goto(&app.url("/login")).await;
    browser
        .execute(
            "const wide = document.createElement('pre');
             wide.textContent = 'x'.repeat(200);
             document.querySelector('main').append(wide); return true",
        )
        .await;
    let caught = tokio::spawn(async move {
        assert_fits(&browser, "the canary").await;
    })
    .await;
    assert!(caught.is_err(), "a 200-character <pre> must not fit 390 px");
}
