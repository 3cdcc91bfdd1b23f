//! A client for the API tests that keeps every answer it got (to look for the canary key in
//! all of them), and the bodies and counts the provider and settings tests share.

use crate::api::traffic::SendChecked as _;
use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use switchboard::ops::Scope;

use crate::{api::http, helpers::TestApp};

/// One answer of the API.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `ETag` header.
    pub fn etag(&self) -> &str {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no ETag on a {} answer", self.status))
    }

    /// The error code of an error answer, after checking the error's shape.
    pub fn error_code(&self) -> &str {
        let error = &self.body["error"];
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error shape: {}",
            self.body
        );
        error["code"].as_str().expect("error code")
    }
}

/// A client that keeps every answer (status line, headers, body) it got, so a test can
/// look for the canary key in all of them at the end.
pub struct Recorder {
    pub base: String,
    pub client: reqwest::Client,
    pub seen: Vec<String>,
}

impl Recorder {
    pub fn new(app: &TestApp) -> Self {
        Self::with_client(app, http())
    }

    pub fn with_client(app: &TestApp, client: reqwest::Client) -> Self {
        Self {
            base: app.url("/api/v1/orgs/acme"),
            client,
            seen: Vec::new(),
        }
    }

    /// A request to `path` under `/api/v1/orgs/acme`, with `token` when given.
    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Sends `req` and records the answer.
    pub async fn send(&mut self, req: RequestBuilder) -> Answer {
        let res = req.send_checked().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let mut record = format!("{status}\n");
        for (name, value) in &headers {
            record.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        record.push_str(&text);
        self.seen.push(record);
        let body = match text.is_empty() {
            true => Value::Null,
            false => serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{status} answered non-JSON: {text}")),
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `method path` with `token` and, when given, a JSON body.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.req(method, path, Some(token));
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    /// Fails if `secret` shows up in any answer so far.
    pub fn assert_never_saw(&self, secret: &str) {
        for answer in &self.seen {
            assert!(!answer.contains(secret), "leaked in an answer:\n{answer}");
        }
    }
}

/// Rows in `providers`, `secrets` and `audit_events`.
pub async fn counts(app: &TestApp) -> (i64, i64, i64) {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use switchboard::db::schema::{audit_events, providers, secrets};
    let mut conn = app.db().await;
    (
        providers::table
            .count()
            .get_result(&mut conn)
            .await
            .unwrap(),
        secrets::table.count().get_result(&mut conn).await.unwrap(),
        audit_events::table
            .count()
            .get_result(&mut conn)
            .await
            .unwrap(),
    )
}

/// The body of a new Anthropic provider at `uri` with `key`.
pub fn new_anthropic(name: &str, uri: &str, key: &str) -> Value {
    json!({
        "provider": "anthropic",
        "name": name,
        "defaultModel": "claude-sonnet-4-20250514",
        "baseUrl": uri,
        "apiKey": key,
    })
}

/// The read scopes a member's token gets.
pub const MEMBER_SCOPES: [Scope; 3] = [
    Scope::AiProvidersList,
    Scope::AiProvidersGet,
    Scope::SettingsGet,
];
