//! The gateway's extra headers in the provider form, in a real headless Chromium: the edit
//! form of a gateway with a stored header fits a phone and axe finds nothing at either
//! width; with htmx, a header typed into a blank row is saved and then listed by name; the
//! value is on no page. With `SCREENSHOTS_DIR` set, the form is photographed at both widths
//! (`admin-providers-edit-gateway-{390,1280}.jpg`).

use secrecy::SecretString;
use serde_json::json;
use switchboard::{
    ops::{
        Access, Caller, RequestMeta,
        providers::{self as ops, HeadersInput, KeyInput, ProviderInput},
    },
    providers::ProviderKind,
};

use crate::browser::{Browser, JavaScript};
use crate::provider_ops::app_with_org;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);
const TENANT: &str = "tenant-CANARY-browser-0123456789";
const TEAM: &str = "team-CANARY-browser-9876543210";

async fn viewport(browser: &Browser, (width, height): (u32, u32), tall: bool) {
    let height = match tall {
        true => browser
            .execute("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .map_or(height, |h| {
                u32::try_from(h.clamp(u64::from(height), 2400)).unwrap()
            }),
        false => height,
    };
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1,
                    "mobile": width < 600 }),
        )
        .await;
}

/// Width, axe, and (with `SCREENSHOTS_DIR`) a picture, at `size`.
async fn check_at(browser: &Browser, size: (u32, u32)) {
    viewport(browser, size, false).await;
    let widths = browser
        .execute("const d = document.documentElement; return [d.scrollWidth, d.clientWidth]")
        .await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the form scrolls sideways at {} px: {widths}",
        size.0
    );
    browser
        .assert_accessible(&format!("the gateway's edit form at {} px", size.0))
        .await;
    if let Some(dir) = std::env::var_os("SCREENSHOTS_DIR").filter(|d| !d.is_empty()) {
        use base64::Engine as _;
        viewport(browser, size, true).await;
        let shot = browser
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "jpeg", "quality": 70}),
            )
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let file =
            std::path::Path::new(&dir).join(format!("admin-providers-edit-gateway-{}.jpg", size.0));
        std::fs::write(&file, bytes).unwrap();
        viewport(browser, size, false).await;
    }
}

#[tokio::test]
async fn the_gateway_form_lists_headers_by_name_fits_a_phone_and_passes_axe() {
    let (app, org, ada, _) = app_with_org().await;
    let caller = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    let saved = ops::create_provider(
        &app.state,
        &caller,
        ProviderInput {
            kind: ProviderKind::Gateway,
            name: "Company gateway".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: Some("http://127.0.0.1:9/v1".to_owned()),
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: true,
            key: KeyInput::New(SecretString::from("gw-CANARY-browser-key-0123WXYZ")),
            extra_headers: HeadersInput {
                set: vec![("X-Gateway-Tenant".to_owned(), SecretString::from(TENANT))],
                ..HeadersInput::default()
            },
            save_unverified: true,
        },
    )
    .await
    .expect("saved without verifying");
    assert_eq!(saved.extra_header_names, ["X-Gateway-Tenant"]);

    let browser = Browser::start(JavaScript::On).await;
    browser.log_in(&app, "ada@acme.test").await;
    let edit = format!("/orgs/acme/settings/ai/providers/{}/edit", saved.id);
    browser.goto(&app.url(&edit)).await;
    browser.find("#pf-extra_headers").await;
    let legend = browser.text("#pf-extra_headers legend").await;
    assert_eq!(legend, "Extra headers");
    let stored = browser.text("label[for='pf-hdr_value_0']").await;
    assert!(stored.contains("X-Gateway-Tenant"), "{stored}");
    check_at(&browser, PHONE).await;
    check_at(&browser, DESKTOP).await;

    // Add one in the first blank row and save (htmx): back on the tab, the header is stored.
    browser
        .find("#pf-hdr_name_1")
        .await
        .send_keys("X-Gateway-Team")
        .await
        .unwrap();
    browser
        .find("#pf-hdr_value_1")
        .await
        .send_keys(TEAM)
        .await
        .unwrap();
    browser
        .find("#pf-save_unverified")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#provider-save").await.click().await.unwrap();
    browser
        .eventually("the tab after saving", || async {
            browser.path().await == "/orgs/acme/settings/ai/provider"
        })
        .await;
    let view = ops::get_provider(&app.state, &caller, &saved.id)
        .await
        .unwrap();
    assert_eq!(
        view.extra_header_names,
        ["X-Gateway-Tenant", "X-Gateway-Team"]
    );
    browser.goto(&app.url(&edit)).await;
    let html = browser
        .execute("return document.documentElement.outerHTML")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        html.contains("New value for <code>X-Gateway-Team</code>"),
        "{html}"
    );
    assert!(!html.contains(TENANT) && !html.contains(TEAM));
    browser.assert_no_console_errors("the gateway form").await;
    browser.close().await;
}
