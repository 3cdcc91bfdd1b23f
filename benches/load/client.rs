//! The load side: logged-in keep-alive connections (one reqwest client, cookie jar and TCP
//! connection each), the requests of each scenario, and latency samples.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use reqwest::{Client, StatusCode, header::LOCATION};

/// One client with its own cookie jar and at most one idle (keep-alive) connection.
pub fn http() -> anyhow::Result<Client> {
    builder().cookie_store(true).build().map_err(Into::into)
}

/// Like [`http`] but without cookies, as a load balancer's or orchestrator's probe.
pub fn probe() -> anyhow::Result<Client> {
    builder().build().map_err(Into::into)
}

fn builder() -> reqwest::ClientBuilder {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .no_proxy()
}

/// What one connection does in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `GET /readyz` without the session cookie, as a probe sends it.
    Readyz,
    /// `GET /orgs/{org}/settings/ai/insights` (the whole page).
    Page,
    /// The same with `HX-Request: true` (the tab body).
    Fragment,
    /// `POST …/insights` with htmx headers, flipping the switch each time.
    Toggle,
    /// `GET /orgs/{org}/settings/ai/provider` (the whole page).
    ProviderPage,
    /// The same with `HX-Request: true` (the tab body).
    ProviderFragment,
    /// `POST …/providers/{id}/test` with htmx headers: a live check against the mock,
    /// through the org's providers in turn.
    ProviderTest,
    /// `GET /v1/models` of the mock straight from the bench (no Switchboard in between).
    MockDirect,
    /// `GET /orgs/{org}/settings/ai/skills` (the whole page; 50 skills of 2 000 characters).
    SkillsPage,
    /// `GET /api/v1/orgs/{org}/providers` with the org's API token (10 providers).
    ApiProviders,
    /// `GET /api/v1/orgs/{org}/ai/route?feature=summaries` with the org's `ai:resolve`
    /// token: a keyless answer (`credentialWithheld`; `route.rs` measures the release).
    AiRoute,
    /// The same, every connection on one org (`bench-00`) with its token.
    AiRouteOneOrg,
}

/// A logged-in admin of one org, on its own connection.
pub struct Session {
    http: Client,
    /// A cookie-less client on a connection of its own, for `/readyz`.
    probe: Client,
    base: String,
    org: String,
    csrf: String,
    lock_version: i32,
    /// The `enabled` value the tab's form would submit next (the opposite of the current one).
    next_enabled: String,
    /// The org's provider ids, and which one the next Test checks.
    providers: Vec<String>,
    next_test: usize,
    /// The org's API token (`aiProviders:list`, `ai:resolve`), and `bench-00`'s.
    api: ApiTokens,
}

/// The bearer tokens a session sends to `/api/v1`.
#[derive(Clone)]
pub struct ApiTokens {
    pub own: String,
    pub first_org: String,
}

/// What one request came to.
pub enum Outcome {
    Ok,
    /// 409: a stale `lock_version`.
    Conflict,
    Error(String),
}

impl Session {
    /// Logs in on a fresh client and reads the org's Insights tab. `providers` are the ids
    /// the Test action cycles through.
    pub async fn open(
        base: &str,
        email: &str,
        password: &str,
        org: &str,
        providers: Vec<String>,
        api: ApiTokens,
    ) -> anyhow::Result<Self> {
        let http = http()?;
        log_in(&http, base, email, password).await?;
        let mut session = Self {
            http,
            probe: probe()?,
            base: base.to_owned(),
            org: org.to_owned(),
            csrf: String::new(),
            lock_version: 0,
            next_enabled: String::new(),
            providers,
            next_test: 0,
            api,
        };
        let page = session
            .http
            .get(session.tab_url())
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        session.csrf = attr_after(&page, "<meta name=\"csrf-token\" content=\"")
            .context("no csrf-token meta on the Insights page")?;
        session.absorb_form(&page)?;
        Ok(session)
    }

    fn tab_url(&self) -> String {
        format!("{}/orgs/{}/settings/ai/insights", self.base, self.org)
    }

    fn skills_tab_url(&self) -> String {
        format!("{}/orgs/{}/settings/ai/skills", self.base, self.org)
    }

    fn provider_tab_url(&self) -> String {
        format!("{}/orgs/{}/settings/ai/provider", self.base, self.org)
    }

    /// The Test action of the org's next provider.
    fn next_test_url(&mut self) -> anyhow::Result<String> {
        ensure!(!self.providers.is_empty(), "no providers to test");
        let id = &self.providers[self.next_test % self.providers.len()];
        self.next_test += 1;
        Ok(format!(
            "{}/orgs/{}/settings/ai/providers/{id}/test",
            self.base, self.org
        ))
    }

    /// Keeps the `lock_version` and next `enabled` value of a rendered tab.
    fn absorb_form(&mut self, html: &str) -> anyhow::Result<()> {
        self.lock_version = attr_after(html, "name=\"lock_version\" value=\"")
            .and_then(|v| v.parse().ok())
            .context("no lock_version in the Insights tab")?;
        self.next_enabled = attr_after(html, "name=\"enabled\" value=\"")
            .context("no enabled field in the Insights tab")?;
        Ok(())
    }

    /// Sends one request of `kind` and reads the whole response.
    pub async fn once(&mut self, kind: Kind) -> Outcome {
        match self.request(kind).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Error(format!("{e:#}")),
        }
    }

    async fn request(&mut self, kind: Kind) -> anyhow::Result<Outcome> {
        let request = match kind {
            Kind::Readyz => self.probe.get(format!("{}/readyz", self.base)),
            Kind::Page => self.http.get(self.tab_url()),
            Kind::Fragment => self.http.get(self.tab_url()).header("HX-Request", "true"),
            Kind::Toggle => self
                .http
                .post(self.tab_url())
                .header("HX-Request", "true")
                .header("X-CSRF-Token", &self.csrf)
                .form(&[
                    ("enabled", self.next_enabled.clone()),
                    ("lock_version", self.lock_version.to_string()),
                ]),
            Kind::ProviderPage => self.http.get(self.provider_tab_url()),
            Kind::SkillsPage => self.http.get(self.skills_tab_url()),
            Kind::ProviderFragment => self
                .http
                .get(self.provider_tab_url())
                .header("HX-Request", "true"),
            Kind::ProviderTest => {
                let url = self.next_test_url()?;
                self.http
                    .post(url)
                    .header("HX-Request", "true")
                    .header("X-CSRF-Token", &self.csrf)
                    .form::<[(&str, &str)]>(&[])
            }
            Kind::ApiProviders => self
                .probe
                .get(format!("{}/api/v1/orgs/{}/providers", self.base, self.org))
                .bearer_auth(&self.api.own),
            Kind::AiRoute => self
                .probe
                .get(format!(
                    "{}/api/v1/orgs/{}/ai/route?feature=summaries",
                    self.base, self.org
                ))
                .bearer_auth(&self.api.own),
            Kind::AiRouteOneOrg => self
                .probe
                .get(format!(
                    "{}/api/v1/orgs/{}/ai/route?feature=summaries",
                    self.base,
                    crate::seed::org_slug(0)
                ))
                .bearer_auth(&self.api.first_org),
            Kind::MockDirect => anyhow::bail!("the mock is measured by mock::direct_loop"),
        };
        let response = request.send().await?;
        let status = response.status();
        let body = response.text().await?;
        if kind == Kind::Toggle && matches!(status, StatusCode::OK | StatusCode::CONFLICT) {
            // Both carry the current state; a conflict is counted, then we go on from it.
            self.absorb_form(&body)?;
        }
        // Since issue 21 an `ai:resolve` token's answer withholds the key.
        let routed = matches!(kind, Kind::AiRoute | Kind::AiRouteOneOrg);
        if routed
            && status == StatusCode::OK
            && (!body.contains("\"credentialWithheld\":true") || body.contains("apiKey"))
        {
            return Ok(Outcome::Error(
                "ai/route answered with a key, or without saying it withheld one".to_owned(),
            ));
        }
        Ok(match status {
            StatusCode::OK => Outcome::Ok,
            StatusCode::CONFLICT => Outcome::Conflict,
            other => Outcome::Error(format!("HTTP {other}")),
        })
    }
}

/// `GET /login` for the form's token, then `POST /login`; returns the POST's latency.
pub async fn log_in(
    http: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<Duration> {
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let csrf = attr_after(&form, "name=\"csrf_token\" value=\"")
        .context("no csrf_token in the login form")?;
    let started = Instant::now();
    let response = http
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    let status = response.status();
    let location = response.headers().get(LOCATION).cloned();
    let _ = response.bytes().await?;
    let took = started.elapsed();
    ensure!(
        status == StatusCode::SEE_OTHER && location.is_some(),
        "login answered {status}, not a 303"
    );
    Ok(took)
}

/// The text after `prefix` up to the next `"`.
fn attr_after(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_owned()).filter(|v| !v.is_empty())
}

/// Latencies and outcomes of many requests.
#[derive(Default)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    pub conflicts: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Samples {
    pub fn record(&mut self, took: Duration, outcome: Outcome) {
        self.latencies.push(took);
        match outcome {
            Outcome::Ok => {}
            Outcome::Conflict => self.conflicts += 1,
            Outcome::Error(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.conflicts += other.conflicts;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn count(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// The `q`-quantile (0..=1) by sorting: the smallest latency with at least `q` of the
    /// samples at or below it.
    pub fn quantile(&mut self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort_unstable();
        let n = self.latencies.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1]
    }
}
