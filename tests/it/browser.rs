//! The console in a real headless Chromium (Debian's `chromium` + `chromium-driver`), driven
//! through chromedriver with fantoccini: log in, switch tabs and toggle Insights with
//! JavaScript on (htmx swaps the tab body in place) and off (plain form posts), with no
//! console errors — CSP violations are console errors — and with nothing for axe-core to
//! report on any page either session visits (every `goto` runs it, and so does every test
//! after a click or a swap). axe-core comes from npm at run time, never from this repository:
//! the file `AXE_CORE_JS` names (`.ci/run` installs it into a temporary folder), or else
//! `npm install axe-core@4.14.1` into `target/tmp` on first use; its checksum is pinned.
//!
//! Chromium is slow to start on a small machine, so there are just two sessions: one with
//! JavaScript, one without. A missing Chromium fails the tests, it never skips them.

use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use switchboard::models::membership::Role;

use crate::helpers::{INSIGHTS, PASSWORD, TestApp};
use crate::provider_ops::{BAD_KEY, GOOD_KEY, anthropic_mock};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page or swap may take: generous, the whole suite shares two cores.
const PATIENCE: Duration = Duration::from_secs(30);
const AUDIT: &str = "/orgs/acme/settings/ai/audit";
const PROVIDER: &str = "/orgs/acme/settings/ai/provider";
const MEMBERS: &str = "/orgs/acme/settings/members";
/// The axe-core release the tests run, and the sha256 of its `axe.min.js` (the entry of
/// the package's `sri-history.json`): a different file fails the tests instead of silently
/// checking against other rules.
const AXE_VERSION: &str = "4.14.1";
const AXE_SHA256: &str = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c";

/// axe-core's `axe.min.js`: from `AXE_CORE_JS` when set (it must exist), else installed
/// with npm into `target/tmp` once (kept there for later runs). Fails with what to do.
fn axe_source() -> &'static str {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = match std::env::var_os("AXE_CORE_JS").filter(|v| !v.is_empty()) {
            Some(path) => std::path::PathBuf::from(path),
            None => install_axe(),
        };
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core: cannot read {} ({e}); AXE_CORE_JS must name axe-core {AXE_VERSION}'s \
                 axe.min.js (`npm install --prefix DIR axe-core@{AXE_VERSION}`)",
                path.display()
            )
        });
        let digest: String = switchboard::crypto::sha256(source.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            AXE_SHA256,
            "{} is not axe-core {AXE_VERSION}'s axe.min.js",
            path.display()
        );
        source
    })
}

/// `npm install axe-core@AXE_VERSION` into `target/tmp/axe-core-AXE_VERSION` unless it is
/// there already; returns the path of `axe.min.js`.
fn install_axe() -> std::path::PathBuf {
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("axe-core-{AXE_VERSION}"));
    let file = prefix.join("node_modules/axe-core/axe.min.js");
    if file.exists() {
        return file;
    }
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(format!("axe-core@{AXE_VERSION}"))
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "axe-core: AXE_CORE_JS is unset and npm could not run ({e}); install npm \
                 (Debian: `apt-get install nodejs npm`) or set AXE_CORE_JS to axe-core \
                 {AXE_VERSION}'s axe.min.js"
            )
        });
    assert!(
        status.success() && file.exists(),
        "axe-core: `npm install axe-core@{AXE_VERSION}` into {} failed ({status}); set \
         AXE_CORE_JS to axe-core {AXE_VERSION}'s axe.min.js instead",
        prefix.display()
    );
    file
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum JavaScript {
    On,
    Off,
}

/// chromedriver as a child process; dropping it (also when a test panics) ends the browser
/// session and kills chromedriver.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ending the session lets chromedriver stop Chromium; killing chromedriver alone
        // would leave the browser running.
        if let Some(id) = self.session.take() {
            let _ = http_blocking(self.port, "DELETE", &format!("/session/{id}"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request to chromedriver without an async runtime (for `Drop`).
fn http_blocking(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// A headless Chromium session with a fresh profile.
pub(crate) struct Browser {
    pub(crate) client: Client,
    js: JavaScript,
    /// `http://127.0.0.1:{port}/session/{id}`, for the commands fantoccini doesn't wrap.
    session_url: String,
    http: reqwest::Client,
    // Dropped after the client, in this order: chromedriver, then the profile directory.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start(js: JavaScript) -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "the browser tests need {path}, which is missing: install Debian's packages \
                 `chromium chromium-driver` (apt-get install chromium chromium-driver; .ci/run \
                 does it)"
            );
        }
        let profile = tempfile::Builder::new()
            .prefix("sb-chromium-")
            .tempdir()
            .expect("temp dir for the browser profile");
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let mut driver = Driver {
            child,
            port,
            session: None,
        };
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        wait_until_ready(&http, &base, &mut driver.child).await;

        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,800".into(),
            format!(
                "--user-data-dir={}",
                profile.path().join("user-data").display()
            ),
        ];
        if js == JavaScript::Off {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&base)
            .await
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "chromedriver could not start {CHROMIUM}: {e}\nchromedriver.log (last lines, newest first):\n{}",
                    tail.join("\n")
                )
            });
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        driver.session = Some(session.clone());
        Browser {
            client,
            js,
            session_url: format!("{base}/session/{session}"),
            http,
            driver,
            _profile: profile,
        }
    }

    /// Opens `url` and runs axe-core on it: every page a test visits is checked.
    pub(crate) async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.assert_accessible(url).await;
    }

    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// The element's text right now, if it is there (it may be mid-swap).
    pub(crate) async fn text_now(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    }

    pub(crate) async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Waits until `check` holds, polling; panics naming `what` after [`PATIENCE`].
    pub(crate) async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` through the driver (not as page script, so the CSP doesn't apply).
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("execute {script}: {e}"))
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver (viewport emulation,
    /// screenshots); fails naming the command if chromedriver refuses it.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/goog/cdp/execute", self.session_url))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .expect("chromedriver's CDP endpoint");
        let status = res.status();
        let body: Value = res.json().await.expect("CDP answer JSON");
        assert!(status.is_success(), "CDP {cmd}: {status} {body}");
        body["value"].clone()
    }

    /// axe-core's violations on the current document: its default rules (WCAG 2 A and AA
    /// and best practices, everything axe enables by default) over the whole page.
    ///
    /// axe goes in through WebDriver like [`Browser::execute`]: the driver evaluates it
    /// outside the page's CSP (`script-src 'self'` does not apply, and no CSP error is
    /// logged) and also while page scripts are off. It is injected once per document; the
    /// app never serves it.
    async fn axe_violations(&self, what: &str) -> Vec<Value> {
        let loaded = self
            .execute(
                "return typeof window.axe === 'object' && typeof window.axe.run === 'function'",
            )
            .await;
        if loaded != true {
            let inject = match self.js {
                JavaScript::On => format!("{}\n;return typeof window.axe.run", axe_source()),
                // With page scripts off Chromium runs no timer, message or `queueMicrotask`
                // callback, only promise jobs, and axe settles each rule with
                // `setTimeout(resolve, 0)`. So axe alone sees a `setTimeout` that runs short
                // delays as promise jobs and drops longer ones: those are only its watchdogs
                // (asset preload, frame pings), and the WebDriver script timeout stands in for
                // them. The page's own globals are untouched.
                JavaScript::Off => format!(
                    "(function (setTimeout, clearTimeout) {{\n{}\n}})(\
                     (run, ms, ...args) => {{ if (!(ms > 1)) Promise.resolve().then(() => run(...args)); return 0; }},\
                     () => {{}});\
                     return typeof window.axe.run",
                    axe_source()
                ),
            };
            let kind = self
                .client
                .execute(&inject, vec![])
                .await
                .unwrap_or_else(|e| panic!("inject axe-core during {what}: {e}"));
            assert_eq!(kind, "function", "axe-core loaded during {what}");
        }
        // A promise returned from a WebDriver script is awaited; the report is shrunk to
        // what a failure message needs.
        let violations = self
            .client
            .execute(
                "return axe.run(document, { resultTypes: ['violations'] }).then(r =>
                   r.violations.map(v => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.map(n => ({ target: n.target, summary: n.failureSummary })),
                   })))",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe.run during {what}: {e}"));
        match violations {
            Value::Array(violations) => violations,
            other => panic!("axe.run during {what} answered {other}"),
        }
    }

    /// Fails, naming `what`, on anything axe-core finds on the current document (see
    /// [`Browser::axe_violations`]): each rule's id, impact and help, and the failing
    /// nodes' targets with axe's summary of what to fix.
    pub(crate) async fn assert_accessible(&self, what: &str) {
        let violations = self.axe_violations(what).await;
        let report: Vec<String> = violations
            .iter()
            .map(|v| {
                let nodes: Vec<String> = v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| {
                        let summary = n["summary"].as_str().unwrap_or_default();
                        format!(
                            "    {}\n      {}",
                            n["target"],
                            summary.replace('\n', "\n      ")
                        )
                    })
                    .collect();
                format!(
                    "  {} ({}): {}\n{}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    nodes.join("\n")
                )
            })
            .collect();
        assert!(
            report.is_empty(),
            "axe-core found {} accessibility violation(s) on {} ({}):\n{}",
            report.len(),
            what,
            self.path().await,
            report.join("\n")
        );
    }

    /// The axe check can fail: a button without a name, added to the login page, is reported.
    async fn assert_axe_finds_a_nameless_button(&self, app: &TestApp) {
        self.goto(&app.url("/login")).await;
        self.execute(
            "document.querySelector('main').append(document.createElement('button')); return true",
        )
        .await;
        let violations = self.axe_violations("the axe canary").await;
        assert!(
            violations.iter().any(|v| v["id"] == "button-name"),
            "axe should report the nameless button: {violations:?}"
        );
    }

    /// Logs in through the form, waits for the Provider tab (where `/` leads a user of a
    /// single org), then opens the Insights tab these tests exercise; axe checks all three
    /// pages.
    pub(crate) async fn log_in(&self, app: &TestApp, email: &str) {
        self.goto(&app.url("/login")).await;
        self.find("#email").await;
        self.find("#email").await.send_keys(email).await.unwrap();
        self.find("#password")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        self.find("form[action='/login'] button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
        self.eventually("the Provider tab after logging in", || async {
            self.path().await == PROVIDER
        })
        .await;
        self.find("#provider-mode").await;
        self.assert_accessible(&format!("the Provider tab as {email}"))
            .await;
        self.goto(&app.url(INSIGHTS)).await;
        self.find("#insights-status").await;
    }

    /// The browser console since the last call (chromedriver hands each entry out once).
    pub(crate) async fn console(&self) -> Vec<Value> {
        let res = self
            .http
            .post(format!("{}/se/log", self.session_url))
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .expect("chromedriver log endpoint");
        let status = res.status();
        let body: Value = res.json().await.expect("log JSON");
        assert!(status.is_success(), "chromedriver log: {status} {body}");
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// Fails on any SEVERE console entry: script errors, failed loads, CSP violations.
    pub(crate) async fn assert_no_console_errors(&self, during: &str) {
        let errors: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| format!("[{}] {}", e["source"], e["message"]))
            .collect();
        assert!(
            errors.is_empty(),
            "console errors during {during}:\n{}",
            errors.join("\n")
        );
    }

    /// Ends the session, which stops Chromium (dropping the browser also does).
    pub(crate) async fn close(mut self) {
        self.client.clone().close().await.expect("end the session");
        self.driver.session = None;
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

async fn wait_until_ready(http: &reqwest::Client, base: &str, child: &mut Child) {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{CHROMEDRIVER} exited at start: {status}");
        }
        if let Ok(res) = http.get(format!("{base}/status")).send().await
            && let Ok(body) = res.json::<Value>().await
            && body["value"]["ready"] == true
        {
            return;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{CHROMEDRIVER} not ready after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An app whose provider checks may reach loopback (the wiremock provider), seeded.
async fn seeded_app() -> TestApp {
    let app = TestApp::spawn_with(&[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    seed(&app).await;
    app
}

/// Adds an Anthropic provider against a wiremock endpoint: the wrong key fails the check
/// and the form comes back, the right one saves; then activate and deactivate. The same
/// clicks work with JavaScript (htmx swaps) and without (plain posts and redirects).
async fn add_activate_deactivate_a_provider(browser: &Browser, app: &TestApp, js: JavaScript) {
    let server = anthropic_mock().await;
    let no_key_in_page = || async {
        let html = browser
            .execute("return document.documentElement.outerHTML")
            .await;
        assert!(
            !html.as_str().unwrap_or_default().contains("CANARY"),
            "a key is in the page"
        );
    };
    browser.goto(&app.url(PROVIDER)).await;
    browser
        .execute("window.sbProvider = 'same document'; return true")
        .await;
    browser.find("#provider-add").await.click().await.unwrap();
    browser.find("#pf-kind").await;
    browser.assert_accessible("the add-provider form").await;
    browser
        .find("#pf-kind")
        .await
        .select_by_value("anthropic")
        .await
        .unwrap();
    if js == JavaScript::Off {
        browser
            .find("form.kind-switch button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
    }
    browser
        .eventually("the Anthropic form", || async {
            browser
                .execute("return document.querySelector('input[name=kind]').value")
                .await
                == "anthropic"
        })
        .await;
    for (field, value) in [
        ("#pf-name", "Claude"),
        ("#pf-default_model", "claude-sonnet-4-20250514"),
        ("#pf-base_url", server.uri().as_str()),
        ("#pf-api_key", BAD_KEY),
    ] {
        let input = browser.find(field).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    browser.find("#provider-save").await.click().await.unwrap();
    let failure = browser.text("#provider-check-failure").await;
    assert!(failure.contains("auth_rejected"), "{failure}");
    no_key_in_page().await;
    browser
        .assert_accessible("the add-provider form after a failed check")
        .await;
    assert_eq!(
        browser
            .find("#pf-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Claude"),
        "the form keeps what was typed"
    );
    assert_eq!(app.audit_count("provider.created").await, 0);
    // The refused save answered 422, which Chromium logs as a failed load; anything else
    // in the console is an error.
    let unexpected: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|e| {
            e["level"] == "SEVERE"
                && !e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("/settings/ai/providers ") && m.contains("422"))
        })
        .collect();
    assert!(unexpected.is_empty(), "console errors: {unexpected:?}");

    browser
        .find("#pf-api_key")
        .await
        .send_keys(GOOD_KEY)
        .await
        .unwrap();
    browser.find("#provider-save").await.click().await.unwrap();
    browser
        .eventually("the saved provider's card", || async {
            browser
                .text_now("#providers .provider .key")
                .await
                .as_deref()
                == Some("sk-ant-...WXYZ")
        })
        .await;
    assert_eq!(browser.path().await, PROVIDER);
    no_key_in_page().await;
    browser
        .assert_accessible("the Provider tab with a provider card")
        .await;

    // Activate first previews what would change, then asks to confirm.
    browser
        .find("#providers a[href$='/activate']")
        .await
        .click()
        .await
        .unwrap();
    browser.find("#activate-preview").await;
    assert!(
        browser
            .text("#activate-changes")
            .await
            .contains("Your provider: Claude"),
        "the preview lists the features Claude would serve"
    );
    browser.assert_accessible("the activation preview").await;
    browser
        .find("#activate-confirm")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the provider to be active", || async {
            browser
                .text_now("#provider-mode-status")
                .await
                .is_some_and(|t| t.starts_with("Your provider: Claude"))
        })
        .await;
    browser
        .assert_accessible("the Provider tab with the provider active")
        .await;
    crate::browser_confirm::press_and_confirm(
        browser,
        js,
        "#providers a[href$='/provider/deactivate']",
    )
    .await;
    browser
        .eventually("the platform default again", || async {
            browser
                .text_now("#provider-mode-status")
                .await
                .is_some_and(|t| t.starts_with("Platform default"))
        })
        .await;
    no_key_in_page().await;
    let marker = browser.execute("return window.sbProvider || null").await;
    match js {
        JavaScript::On => assert_eq!(marker, "same document", "htmx swapped every step"),
        JavaScript::Off => assert_eq!(marker, Value::Null, "plain posts loaded new pages"),
    }
    for action in [
        "provider.created",
        "provider.activated",
        "provider.deactivated",
    ] {
        assert_eq!(app.audit_count(action).await, 1, "{action}");
    }
    browser
        .assert_no_console_errors("adding, activating and deactivating a provider")
        .await;
}

/// Org `acme` with an admin and a member.
async fn seed(app: &TestApp) {
    let admin = app.create_user("admin@acme.test", false).await;
    let member = app.create_user("member@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin), (&member, Role::Member)])
        .await;
}

/// Logs out through the header's button, which lands on the login page.
pub(crate) async fn log_out(browser: &Browser) {
    browser
        .find("form[action='/logout'] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the login page after logging out", || async {
            browser.path().await == "/login"
        })
        .await;
}

#[tokio::test]
async fn with_javascript_tabs_and_the_toggle_swap_in_place() {
    let app = seeded_app().await;
    let browser = Browser::start(JavaScript::On).await;

    // The console check can fail: a style attribute set on the page breaks `style-src 'self'`
    // and shows up in the log as a SEVERE security entry.
    browser.goto(&app.url("/login")).await;
    browser
        .execute("document.body.setAttribute('style', 'color: red'); return true")
        .await;
    let canary = browser.console().await;
    assert!(
        canary.iter().any(|e| e["level"] == "SEVERE"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("Content Security Policy"))),
        "the browser log should report a CSP violation: {canary:?}"
    );
    browser.assert_axe_finds_a_nameless_button(&app).await;

    browser.log_in(&app, "admin@acme.test").await;
    assert_eq!(browser.text("#insights-status").await, "Insights are off");
    assert_eq!(
        browser.execute("return typeof window.htmx").await,
        "object",
        "htmx loaded"
    );
    browser.assert_no_console_errors("login").await;

    // A marker on `window` survives only as long as the document does.
    browser
        .execute("window.sbMarker = 'same document'; return true")
        .await;
    let marker = "return window.sbMarker || null";

    browser.find("#tab-audit").await.click().await.unwrap();
    browser.find("#audit").await;
    browser
        .eventually("the pushed Audit URL", || async {
            browser.path().await == AUDIT
        })
        .await;
    assert_eq!(
        browser
            .find("#tab-audit")
            .await
            .attr("aria-current")
            .await
            .unwrap()
            .as_deref(),
        Some("page")
    );
    assert_eq!(
        browser.execute(marker).await,
        "same document",
        "the tab swapped without a reload"
    );
    browser.assert_accessible("the empty Audit tab").await;

    browser.find("#tab-insights").await.click().await.unwrap();
    browser.find("#insights-status").await;
    assert_eq!(browser.path().await, INSIGHTS);

    browser
        .find("#insights-toggle")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("Insights to read on", || async {
            browser.text_now("#insights-status").await.as_deref() == Some("Insights are on")
        })
        .await;
    assert_eq!(browser.execute(marker).await, "same document", "no reload");
    assert_eq!(browser.path().await, INSIGHTS);
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Proactive AI Insights are now on.")
    );
    assert_eq!(browser.text("#insights-toggle").await, "Turn insights off");
    assert!(app.insights_enabled("acme").await);
    assert_eq!(app.audit_count("insights.enabled").await, 1);
    browser
        .assert_accessible("the Insights tab after the toggle")
        .await;
    browser.assert_no_console_errors("tabs and toggle").await;

    let png = browser.client.screenshot().await.expect("screenshot");
    let shot = std::env::temp_dir().join("insights.png");
    std::fs::write(&shot, png).expect("write the screenshot");
    eprintln!("screenshot of the Insights tab: {}", shot.display());

    // The Provider tab's add form: the kind switch swaps in that kind's fields in place.
    browser.find("#tab-provider").await.click().await.unwrap();
    browser.find("#provider-mode").await;
    browser.find("#provider-add").await.click().await.unwrap();
    browser
        .find("#pf-name")
        .await
        .send_keys("Prod")
        .await
        .unwrap();
    browser
        .find("#pf-kind")
        .await
        .select_by_value("azure")
        .await
        .unwrap();
    browser.find("#pf-deployment").await;
    browser.find("#pf-api_version").await;
    assert_eq!(
        browser
            .execute("return document.getElementById('pf-name').value")
            .await,
        "Prod",
        "the typed name survives the switch"
    );
    assert_eq!(browser.execute(marker).await, "same document", "no reload");
    browser
        .assert_accessible("the add-provider form switched to Azure")
        .await;
    browser
        .assert_no_console_errors("the provider form's kind switch")
        .await;

    add_activate_deactivate_a_provider(&browser, &app, JavaScript::On).await;

    browser.goto(&app.url(AUDIT)).await;
    browser.find("#audit table").await;

    // A member sees the same tabs read-only (`log_in` has axe check both).
    log_out(&browser).await;
    browser.log_in(&app, "member@acme.test").await;
    assert!(
        browser.text_now("#insights-toggle").await.is_none(),
        "a member has no toggle"
    );
    browser
        .assert_no_console_errors("the read-only pages of a member")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn without_javascript_the_form_post_toggles() {
    let app = seeded_app().await;
    let browser = Browser::start(JavaScript::Off).await;

    browser.assert_axe_finds_a_nameless_button(&app).await;
    browser.log_in(&app, "admin@acme.test").await;
    assert_eq!(browser.text("#insights-status").await, "Insights are off");
    assert_eq!(
        browser.execute("return typeof window.htmx").await,
        "undefined",
        "page scripts are off"
    );
    browser.execute("window.sbMarker = 1; return true").await;

    browser
        .find("#insights-toggle")
        .await
        .click()
        .await
        .unwrap();
    browser
        .eventually("the reloaded page to read on", || async {
            browser.text_now("#insights-status").await.as_deref() == Some("Insights are on")
        })
        .await;
    assert_eq!(
        browser.execute("return window.sbMarker || null").await,
        Value::Null,
        "a new document: the form posted and the 303 was followed"
    );
    assert_eq!(browser.path().await, INSIGHTS);
    assert!(
        browser
            .text(".flash.ok")
            .await
            .contains("Proactive AI Insights are now on.")
    );
    assert!(app.insights_enabled("acme").await);
    assert_eq!(app.audit_count("insights.enabled").await, 1);
    browser
        .assert_accessible("the Insights tab after the toggle")
        .await;
    browser
        .assert_no_console_errors("the plain form post")
        .await;

    add_activate_deactivate_a_provider(&browser, &app, JavaScript::Off).await;

    for (path, ready) in [
        (AUDIT, "#audit table"),
        (MEMBERS, "#members"),
        ("/account/password", "#current_password"),
    ] {
        // `goto` runs axe on each.
        browser.goto(&app.url(path)).await;
        browser.find(ready).await;
    }
    browser.close().await;
}
