//! The console's interaction (issue 17, items 1, 2, 4 and 5) in a real headless Chromium:
//! one session with JavaScript, one without, each covering several items so the browser
//! suite stays short.
//!
//! With JavaScript: a keyboard-only add → test → activate of a third provider, counting the
//! Tab presses from the tab's first control (at most 15); while a slow wiremock holds each
//! live check the pressed button is disabled and says "Checking…" and its form is
//! `aria-busy`, and a second press sends nothing; after every action the outcome is inside
//! the viewport (on the card acted on, or as a toast) and read out through the live region,
//! and focus is on the acted-on control or the message; edit conflicts on the provider and
//! skill forms show the saved values beside what was typed, and the next save works.
//! Without JavaScript: each action's 303 lands on the acted-on card's anchor with its
//! message in view, and the conflict flow works as plain posts.
//!
//! With `SCREENSHOTS_DIR` set, the changed states are also saved as PNGs at 1280×900 and
//! 390×844 there (to look at; nothing compares them).

use std::time::Duration;

use base64::Engine as _;
use fantoccini::{
    actions::{InputSource as _, KeyAction, KeyActions},
    key::Key,
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::browser::{Browser, JavaScript};
use crate::helpers::{PASSWORD, TestApp};
use crate::provider_ops::{GOOD_KEY, app_with_org};

const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const SKILLS: &str = "/orgs/acme/settings/ai/skills";
const CREATE: &str = "/orgs/acme/settings/ai/providers";
/// How long the slow mock holds each live check: long enough to look at the button.
const HOLD: Duration = Duration::from_millis(1500);
/// A port nothing listens on: checks against it fail at once (unreachable).
const CLOSED: &str = "http://127.0.0.1:9/v1";
const MOST_TABS: usize = 15;

/// An Anthropic endpoint that answers after [`HOLD`]: 200 for [`GOOD_KEY`], 401 otherwise.
async fn slow_anthropic() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", GOOD_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "id": "msg_01", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-20250514",
                    "content": [{"type": "text", "text": "Hi"}],
                    "stop_reason": "max_tokens", "stop_sequence": null,
                    "usage": {"input_tokens": 8, "output_tokens": 1}}))
                .set_delay(HOLD),
        )
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

/// How many checks reached the mock so far.
async fn checks(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

/// Org `acme` with admin ada (`app.client` logged in as her) and `n` providers saved
/// without verifying against a closed port, named "Spare 1" … "Spare n".
async fn org_with_spares(n: usize) -> TestApp {
    let (app, _, _, _) = app_with_org().await;
    let c = &app.client;
    assert_eq!(app.login(c, "ada@acme.test", PASSWORD).await.status(), 303);
    add_spares(&app, 1..=n).await;
    app
}

async fn add_spares(app: &TestApp, which: std::ops::RangeInclusive<usize>) {
    for i in which {
        let name = format!("Spare {i}");
        let res = app
            .post_form(
                &app.client,
                PROVIDER,
                CREATE,
                &[
                    ("kind", "openai"),
                    ("name", &name),
                    ("default_model", "gpt-4o-mini"),
                    ("base_url", CLOSED),
                    ("api_key", "sk-proj-CANARY0123456789abcdefWXYZ"),
                    ("save_unverified", "true"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "saving {name}");
    }
}

/// The provider id of the card named `name` on the page.
async fn card_id(browser: &Browser, name: &str) -> String {
    let id = browser
        .execute(&format!(
            "const h = Array.from(document.querySelectorAll('#providers article.provider h3'))
               .find(h => h.textContent.trim() === {name:?});
             return h ? h.closest('article').id.replace('provider-', '') : null"
        ))
        .await;
    id.as_str()
        .unwrap_or_else(|| panic!("no card named {name}"))
        .to_owned()
}

/// Presses one key on whatever has focus (WebDriver actions, as a keyboard would).
async fn press(browser: &Browser, key: Key) {
    let c = char::from(key);
    let keys = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down { value: c })
        .then(KeyAction::Up { value: c });
    browser
        .client
        .perform_actions(keys)
        .await
        .expect("key press");
}

/// Types `text` into the focused field.
async fn type_here(browser: &Browser, text: &str) {
    let field = browser.client.active_element().await.expect("focus");
    field.send_keys(text).await.expect("typing");
}

/// Whether the focused element matches `css`.
async fn focus_is(browser: &Browser, css: &str) -> bool {
    browser
        .execute(&format!(
            "return !!document.activeElement && document.activeElement.matches({css:?})"
        ))
        .await
        == true
}

/// What has focus, for failure messages.
async fn focused(browser: &Browser) -> String {
    browser
        .execute(
            "const e = document.activeElement;
             return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' +
                        (e.textContent || '').trim().slice(0, 40) : 'nothing'",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Presses Tab until `css` has focus, adding the presses to `count`; fails past the limit.
async fn tab_to(browser: &Browser, css: &str, count: &mut usize) {
    let mut here = 0;
    while !focus_is(browser, css).await {
        assert!(
            here < 25,
            "Tab never reached {css} (now on {})",
            focused(browser).await
        );
        press(browser, Key::Tab).await;
        here += 1;
    }
    eprintln!("{here} Tab presses to {css}");
    *count += here;
}

/// Waits until focus is on `css` (after a swap).
async fn until_focus(browser: &Browser, css: &str) {
    let mut last = String::new();
    for _ in 0..300 {
        if focus_is(browser, css).await {
            return;
        }
        last = focused(browser).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("focus never reached {css}; it is on {last}");
}

/// Fails unless a visible element (`css`) that says `part` lies wholly inside the viewport.
async fn assert_in_view(browser: &Browser, css: &str, part: &str) {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = browser
            .execute(&format!(
                "const hits = Array.from(document.querySelectorAll({css:?}))
                   .filter(e => !e.closest('[hidden]') && e.textContent.includes({part:?}));
                 return hits.map(e => {{ const r = e.getBoundingClientRect();
                   return [r.top, r.bottom, window.innerHeight]; }})"
            ))
            .await;
        let inside = last.as_array().into_iter().flatten().any(|r| {
            let (top, bottom, height) = (r[0].as_f64(), r[1].as_f64(), r[2].as_f64());
            matches!((top, bottom, height), (Some(t), Some(b), Some(h)) if t >= -1.0 && b <= h + 1.0 && b > t)
        });
        if inside {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {css} saying {part:?} inside the viewport: {last}");
}

/// The live region's text, once it says `part` (JavaScript only).
async fn until_announced(browser: &Browser, part: &str) {
    browser
        .eventually(&format!("the live region to say {part:?}"), || async {
            browser
                .text_now("#sb-live")
                .await
                .is_some_and(|t| t.contains(part))
        })
        .await;
}

/// Saves the viewport as `{name}-{width}.png` in `SCREENSHOTS_DIR` at both sizes, when set.
async fn shoot(browser: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("SCREENSHOTS_DIR").filter(|d| !d.is_empty()) else {
        return;
    };
    for (width, height) in [(1280, 900), (390, 844)] {
        browser
            .cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1,
                        "mobile": width < 600 }),
            )
            .await;
        // The focused element or message stays in view at each width.
        browser
            .execute("const e = document.activeElement; if (e && e !== document.body) e.scrollIntoView({block: 'center'}); return true")
            .await;
        let shot = browser
            .cdp("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64");
        let file = std::path::Path::new(&dir).join(format!("{name}-{width}.png"));
        std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    }
    browser
        .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
}

/// The pressed button is disabled and says "Checking…" and its form is busy while the mock
/// holds the check; a second press (a click and a scripted submit) sends nothing.
async fn assert_checking(browser: &Browser, button: &str, server: &MockServer, before: usize) {
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = browser
            .execute(&format!(
                "const b = document.querySelector({button:?});
                 if (!b) return null;
                 const f = b.form;
                 return [b.disabled, b.textContent.trim(), f && f.getAttribute('aria-busy'),
                         !!b.querySelector('.spinner')]"
            ))
            .await;
        if seen[0] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen[0], true, "{button} disabled during the check: {seen}");
    assert!(
        seen[1].as_str().is_some_and(|t| t.starts_with("Checking…")),
        "{button} says what is happening: {seen}"
    );
    assert_eq!(seen[2], "true", "the form is aria-busy: {seen}");
    assert_eq!(seen[3], true, "a spinner: {seen}");
    shoot(browser, "interaction-checking").await;
    // A second press while the first is out: nothing more reaches the provider.
    browser
        .execute(&format!(
            "const b = document.querySelector({button:?});
             if (b) {{ b.click(); if (b.form) b.form.requestSubmit(); }}
             return true"
        ))
        .await;
    browser
        .eventually("the check to end", || async {
            browser
                .execute(&format!(
                    "const b = document.querySelector({button:?}); return !b || !b.disabled"
                ))
                .await
                == true
        })
        .await;
    tokio::time::sleep(HOLD + Duration::from_millis(300)).await;
    assert_eq!(
        checks(server).await,
        before + 1,
        "one press, one check ({button})"
    );
}

#[tokio::test]
async fn with_javascript_progress_feedback_focus_and_conflicts() {
    let app = org_with_spares(2).await;
    let server = slow_anthropic().await;
    let browser = Browser::start(JavaScript::On).await;
    browser.log_in(&app, "ada@acme.test").await;
    browser.goto(&app.url(PROVIDER)).await;

    // Item 5: keyboard only, from the tab's first control.
    browser
        .execute("document.querySelector('#content a, #content button').focus(); return true")
        .await;
    assert!(
        focus_is(&browser, "#tab-provider").await,
        "{}",
        focused(&browser).await
    );
    let mut tabs = 0;
    tab_to(&browser, "#provider-add", &mut tabs).await;
    press(&browser, Key::Enter).await;
    until_focus(&browser, "#pf-kind").await;
    // OpenAI is first; Anthropic is one down (the swap keeps focus on the select).
    press(&browser, Key::Down).await;
    // On a loaded machine the key can reach the select before its change handler is bound
    // (the form was just swapped in): press again only while the select still says OpenAI.
    for _ in 0..50 {
        let now = browser
            .execute("const s = document.querySelector('#pf-kind'); return s && s.value")
            .await;
        if now != "openai" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if browser
            .execute("const s = document.querySelector('#pf-kind'); return s && s.value")
            .await
            == "openai"
        {
            until_focus(&browser, "#pf-kind").await;
            press(&browser, Key::Down).await;
        }
    }
    browser
        .eventually("the Anthropic form", || async {
            browser
                .execute(
                    "const k = document.querySelector('input[name=kind]'); return k && k.value",
                )
                .await
                == "anthropic"
        })
        .await;
    until_focus(&browser, "#pf-kind").await;
    for (field, value) in [
        ("#pf-name", "Third"),
        ("#pf-default_model", "claude-sonnet-4-20250514"),
        ("#pf-base_url", &server.uri()),
        ("#pf-api_key", GOOD_KEY),
    ] {
        tab_to(&browser, field, &mut tabs).await;
        type_here(&browser, value).await;
    }
    browser.assert_accessible("the filled add form").await;
    // Enter in a field saves (it does not load models): item 1 on Save.
    press(&browser, Key::Enter).await;
    assert_checking(&browser, "#provider-save", &server, 0).await;
    let third = card_id(&browser, "Third").await;
    let notice = format!("#provider-{third}-notice");
    until_focus(&browser, &notice).await;
    assert_in_view(&browser, &notice, "Saved Third.").await;
    until_announced(&browser, "Saved Third.").await;
    browser.assert_accessible("the tab after saving").await;

    // Test: busy while held, then the card says so and focus is back on Test.
    let test = format!("#provider-{third} form[action$='/test'] button");
    tab_to(&browser, &test, &mut tabs).await;
    press(&browser, Key::Enter).await;
    assert_checking(&browser, &test, &server, 1).await;
    until_focus(&browser, &test).await;
    assert_in_view(&browser, &notice, "Checked just now — OK").await;
    assert!(
        browser
            .text(&format!("#provider-{third} .badge.check"))
            .await
            .contains("Verified")
    );
    until_announced(&browser, "Checked just now — OK").await;
    shoot(&browser, "interaction-tested").await;
    browser.assert_accessible("the tab after a test").await;

    // Activate: the preview's heading, then its button; busy while held.
    let activate = format!("#provider-{third} a[href$='/activate']");
    tab_to(&browser, &activate, &mut tabs).await;
    press(&browser, Key::Enter).await;
    until_focus(&browser, "#activate-heading").await;
    tab_to(&browser, "#activate-confirm", &mut tabs).await;
    press(&browser, Key::Enter).await;
    assert_checking(&browser, "#activate-confirm", &server, 2).await;
    until_focus(&browser, &notice).await;
    assert_in_view(&browser, &notice, "Third is now active.").await;
    assert!(
        tabs <= MOST_TABS,
        "add → test → activate took {tabs} Tab presses (at most {MOST_TABS})"
    );
    eprintln!("keyboard-only add → test → activate: {tabs} Tab presses");
    browser.assert_accessible("the tab after activating").await;

    // Item 2 on a long page: more cards, each action's message in view, read out.
    add_spares(&app, 3..=8).await;
    browser.goto(&app.url(PROVIDER)).await;
    let last = card_id(&browser, "Spare 8").await;
    let last_test = format!("#provider-{last} form[action$='/test'] button");
    browser
        .execute(&format!(
            "document.querySelector({last_test:?}).scrollIntoView({{block: 'center'}}); return true"
        ))
        .await;
    browser.find(&last_test).await.click().await.unwrap();
    let last_notice = format!("#provider-{last}-notice");
    assert_in_view(
        &browser,
        &last_notice,
        "Checked just now — Spare 8 failed the check",
    )
    .await;
    until_focus(&browser, &last_test).await;
    until_announced(&browser, "Spare 8 failed the check").await;

    // A failed activation (from the preview) answers on the card, scrolled into view.
    browser
        .find(&format!("#provider-{last} a[href$='/activate']"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .find("#activate-confirm")
        .await
        .click()
        .await
        .unwrap();
    assert_in_view(&browser, &last_notice, "Spare 8 failed the check").await;
    until_focus(&browser, &last_notice).await;
    shoot(&browser, "interaction-failed-activate").await;

    // Deactivate, on the active card (scrolled to the middle of the page).
    let deactivate = format!("#provider-{third} a[data-confirm^='Deactivate']");
    browser.find(&deactivate).await.click().await.unwrap();
    confirm_if_asked(&browser).await;
    assert_in_view(&browser, &notice, "Back on the platform default.").await;
    until_focus(&browser, &notice).await;
    until_announced(&browser, "Back on the platform default.").await;

    // An action whose message is at the top, far from the button: a toast in view.
    browser
        .execute(
            "document.getElementById('routing-policy-strict').click();
             document.getElementById('routing-policy-save').scrollIntoView({block: 'end'}); return true",
        )
        .await;
    browser
        .find("#routing-policy-save")
        .await
        .click()
        .await
        .unwrap();
    assert_in_view(&browser, "#sb-toast", "Routing policy is now strict.").await;
    until_focus(&browser, "#routing-policy-save").await;
    until_announced(&browser, "Routing policy is now strict.").await;
    shoot(&browser, "interaction-toast").await;
    browser.assert_accessible("the tab with a toast").await;

    // Item 4: a provider edit that conflicts shows the saved values beside the typed ones.
    provider_conflict(&browser, &app, &third, &server).await;
    skill_conflict(&browser, &app).await;

    // Refused checks answer 422 (Chromium logs the load); nothing else may be in the console.
    let unexpected: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|e| {
            e["level"] == "SEVERE"
                && !e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(" 422 ") || m.contains(" 409 "))
        })
        .collect();
    assert!(unexpected.is_empty(), "console errors: {unexpected:?}");
    browser.close().await;
}

/// Destructive actions may ask first (a `<dialog>`, issue 17 item 3): confirms it if one
/// opened.
async fn confirm_if_asked(browser: &Browser) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    browser
        .execute(
            "const d = document.querySelector('dialog[open]');
             if (d) { const b = Array.from(d.querySelectorAll('button'))
                        .find(b => !/cancel/i.test(b.textContent)); if (b) b.click(); }
             return true",
        )
        .await;
}

/// The edit form of `id` is open in the browser when someone else renames the provider;
/// the admin's save is refused with the saved values in the fields and what they typed
/// beside; saving again works.
async fn provider_conflict(browser: &Browser, app: &TestApp, id: &str, server: &MockServer) {
    let edit = format!("/orgs/acme/settings/ai/providers/{id}/edit");
    browser.goto(&app.url(&edit)).await;
    let version = browser
        .execute("return document.querySelector('input[name=lock_version]').value")
        .await;
    let version = version.as_str().expect("lock_version").to_owned();
    let res = app
        .post_form(
            &app.client,
            &edit,
            &format!("/orgs/acme/settings/ai/providers/{id}"),
            &[
                ("kind", "anthropic"),
                ("name", "Renamed elsewhere"),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &server.uri()),
                ("lock_version", &version),
                ("save_unverified", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "the other edit");
    let model = browser.find("#pf-default_model").await;
    model.clear().await.unwrap();
    model.send_keys("claude-opus-4-1").await.unwrap();
    browser.find("#provider-save").await.click().await.unwrap();
    until_focus(browser, "#provider-form-errors").await;
    assert!(
        browser
            .text("#provider-form-errors")
            .await
            .contains("Someone else changed")
    );
    assert_eq!(
        browser
            .find("#pf-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Renamed elsewhere"),
        "the saved name, not the stale one"
    );
    assert!(
        browser
            .text("#pf-default_model-typed")
            .await
            .contains("claude-opus-4-1"),
        "what was typed, beside the field"
    );
    shoot(browser, "interaction-conflict").await;
    browser
        .assert_accessible("the provider form after a conflict")
        .await;
    let model = browser.find("#pf-default_model").await;
    model.clear().await.unwrap();
    model.send_keys("claude-opus-4-1").await.unwrap();
    browser.find("#provider-save").await.click().await.unwrap();
    let notice = format!("#provider-{id}-notice");
    assert_in_view(browser, &notice, "Saved Renamed elsewhere.").await;
    assert!(
        browser
            .text(&format!("#provider-{id}"))
            .await
            .contains("claude-opus-4-1"),
        "the second save went through"
    );
}

/// The same for a skill: the instructions typed are kept beside the saved ones.
async fn skill_conflict(browser: &Browser, app: &TestApp) {
    let res = app
        .post_form(
            &app.client,
            SKILLS,
            SKILLS,
            &[
                ("name", "Tone"),
                ("instructions", "Be brief."),
                ("enabled", "on"),
                ("intent", "save"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    browser.goto(&app.url(SKILLS)).await;
    browser
        .find("#skills a[href$='/edit']")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#skill-form form").await;
    let action = browser
        .execute("return document.querySelector('#skill-form form').getAttribute('action')")
        .await;
    let action = action.as_str().expect("the form's action").to_owned();
    let res = app
        .post_form(
            &app.client,
            SKILLS,
            &action,
            &[
                ("name", "Tone of voice"),
                ("instructions", "Be brief."),
                ("enabled", "on"),
                ("lock_version", "0"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "the other edit");
    let instructions = browser.find("#sk-instructions").await;
    instructions.clear().await.unwrap();
    instructions.send_keys("Be brief and kind.").await.unwrap();
    browser.find("#skill-save").await.click().await.unwrap();
    until_focus(browser, "#skill-form-error").await;
    assert_eq!(
        browser
            .find("#sk-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Tone of voice")
    );
    assert!(
        browser
            .execute("return document.querySelector('#sk-instructions-typed pre').textContent")
            .await
            .as_str()
            .is_some_and(|t| t.contains("Be brief and kind.")),
        "what was typed is kept"
    );
    browser
        .assert_accessible("the skill form after a conflict")
        .await;
    let instructions = browser.find("#sk-instructions").await;
    instructions.clear().await.unwrap();
    instructions.send_keys("Be brief and kind.").await.unwrap();
    browser.find("#skill-save").await.click().await.unwrap();
    assert_in_view(
        browser,
        ".flash, #sb-toast",
        "Saved the skill Tone of voice.",
    )
    .await;
}

#[tokio::test]
async fn without_javascript_each_action_lands_on_its_card_in_view() {
    let app = org_with_spares(8).await;
    let server = slow_anthropic().await;
    let browser = Browser::start(JavaScript::Off).await;
    browser.log_in(&app, "ada@acme.test").await;
    let res = app
        .post_form(
            &app.client,
            PROVIDER,
            CREATE,
            &[
                ("kind", "anthropic"),
                ("name", "Claude"),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &server.uri()),
                ("api_key", GOOD_KEY),
                ("save_unverified", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    browser.goto(&app.url(PROVIDER)).await;
    let claude = card_id(&browser, "Claude").await;
    let notice = format!("#provider-{claude}-notice");
    let anchor = format!("#provider-{claude}");

    // A conflict as plain posts: the saved values, what was typed, and the next save works.
    let edit = format!("/orgs/acme/settings/ai/providers/{claude}/edit");
    browser.goto(&app.url(&edit)).await;
    let version = browser
        .execute("return document.querySelector('input[name=lock_version]').value")
        .await;
    let res = app
        .post_form(
            &app.client,
            &edit,
            &format!("/orgs/acme/settings/ai/providers/{claude}"),
            &[
                ("kind", "anthropic"),
                ("name", "Claude (renamed)"),
                ("default_model", "claude-sonnet-4-20250514"),
                ("base_url", &server.uri()),
                ("lock_version", version.as_str().expect("lock_version")),
                ("save_unverified", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "the other edit");
    browser.find("#provider-save").await.click().await.unwrap();
    browser.find("#provider-form-errors").await;
    assert_eq!(
        browser
            .find("#pf-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Claude (renamed)"),
        "the saved name, not the stale one"
    );
    assert!(browser.text("#pf-name-typed").await.contains("Claude"));
    browser
        .assert_accessible("the conflict without JavaScript")
        .await;
    browser.find("#provider-save").await.click().await.unwrap();
    assert_in_view(&browser, &notice, "Saved Claude (renamed).").await;

    // Test and activate (from its preview): each lands on the card, its message in view.
    for (what, control, says) in [
        (
            "test",
            "form[action$='/test'] button",
            "Checked just now — OK",
        ),
        (
            "activate",
            "a[href$='/activate']",
            "Claude (renamed) is now active.",
        ),
    ] {
        browser
            .find(&format!("{anchor} {control}"))
            .await
            .click()
            .await
            .unwrap();
        if what == "activate" {
            browser
                .find("#activate-confirm")
                .await
                .click()
                .await
                .unwrap();
        }
        browser
            .eventually(&format!("the card's anchor after {what}"), || async {
                browser
                    .client
                    .current_url()
                    .await
                    .is_ok_and(|u| u.path() == PROVIDER && u.fragment() == Some(&anchor[1..]))
            })
            .await;
        assert_in_view(&browser, &notice, says).await;
        // The card is the fragment's target, so the next Tab starts there: its first control.
        press(&browser, Key::Tab).await;
        assert!(
            focus_is(&browser, &format!("{anchor} a[href$='/edit']")).await,
            "Tab after {what} goes into the card: {}",
            focused(&browser).await
        );
        browser
            .assert_accessible(&format!("the tab after {what} without JavaScript"))
            .await;
    }
    shoot(&browser, "interaction-nojs-card").await;
    browser.close().await;
}
