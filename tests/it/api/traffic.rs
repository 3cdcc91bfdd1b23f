//! Every exchange the API tests have with `/api/v1` is checked against the OpenAPI document
//! by openapi-core (PyPI, in the virtualenv of [`super::schemathesis::python_tools`]):
//! the request (path, query, headers, cookies, body) and the answer (status, headers, body).
//!
//! A request the document refuses must be answered 4xx (a test sending bad input on
//! purpose is fine; the server taking it is not); every answer must be one the document
//! describes for that operation; a method or path the document lacks must be 401, 404 or
//! 405. A mismatch fails the test that made the exchange, naming it.
//!
//! One validator process (`openapi_traffic.py`) serves the whole test binary: it reads one
//! exchange per line and answers one verdict per line. With `SWITCHBOARD_API_TRAFFIC` set to
//! a file, every exchange is also appended there (JSON Lines), and the same script checks
//! such a file on its own: `python tests/it/api/openapi_traffic.py openapi.json FILE`.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Mutex,
};

use base64::Engine as _;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};

/// Sends a request and checks the exchange against the OpenAPI document (see the module).
pub trait SendChecked {
    /// [`RequestBuilder::send`], then the check; the answer comes back whole.
    fn send_checked(self) -> impl Future<Output = reqwest::Result<Response>> + Send;
}

impl SendChecked for RequestBuilder {
    async fn send_checked(self) -> reqwest::Result<Response> {
        send(self).await
    }
}

/// [`SendChecked::send_checked`] as a function.
pub async fn send(req: RequestBuilder) -> reqwest::Result<Response> {
    let (client, request) = req.build_split();
    let request = request?;
    let url = request.url().clone();
    let method = request.method().to_string();
    let headers = pairs(request.headers());
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let res = client.execute(request).await?;
    let status = res.status();
    let version = res.version();
    let response_headers = res.headers().clone();
    let response_body = res.bytes().await?;
    if url.path().starts_with("/api/v1/") {
        let b64 = base64::engine::general_purpose::STANDARD;
        let exchange = json!({
            "method": method,
            "path": url.path(),
            "query": url.query_pairs().collect::<Vec<_>>(),
            "headers": headers,
            "body": b64.encode(&body),
            "status": status.as_u16(),
            "responseHeaders": pairs(&response_headers),
            "responseBody": b64.encode(&response_body),
        });
        let line = exchange.to_string();
        let verdict = check(line).await;
        if let Some(problems) = verdict["problems"].as_array() {
            let problems: Vec<&str> = problems.iter().filter_map(Value::as_str).collect();
            panic!(
                "openapi-core: {method} {url} ⇒ {status} disagrees with /api/v1/openapi.json:\n{}\n\
                 answer: {}",
                problems.join("\n"),
                String::from_utf8_lossy(&response_body)
            );
        }
    }
    let mut answer = http::Response::builder().status(status).version(version);
    *answer.headers_mut().expect("a fresh builder") = response_headers;
    Ok(Response::from(
        answer.body(response_body).expect("the answer rebuilds"),
    ))
}

fn pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

struct Validator {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static VALIDATOR: Mutex<Option<Validator>> = Mutex::new(None);

/// The validator's verdict on one exchange (a JSON line).
async fn check(line: String) -> Value {
    let venv = super::schemathesis::python_tools().await;
    tokio::task::spawn_blocking(move || {
        if let Some(path) = std::env::var_os("SWITCHBOARD_API_TRAFFIC") {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("SWITCHBOARD_API_TRAFFIC {path:?}: {e}"));
            writeln!(file, "{line}").expect("append to SWITCHBOARD_API_TRAFFIC");
        }
        // A test that panicked while holding the lock leaves the validator usable: each
        // exchange is one whole line out and one whole line back.
        let mut slot = VALIDATOR.lock().unwrap_or_else(|e| e.into_inner());
        let validator = slot.get_or_insert_with(|| start(&venv));
        writeln!(validator.stdin, "{line}").expect("write to the openapi-core validator");
        validator.stdin.flush().expect("flush to the validator");
        let mut verdict = String::new();
        validator
            .stdout
            .read_line(&mut verdict)
            .expect("read the validator's verdict");
        if verdict.is_empty() {
            *slot = None;
            panic!("the openapi-core validator stopped (its error is above)");
        }
        serde_json::from_str(&verdict).expect("the validator answers JSON")
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn start(venv: &std::path::Path) -> Validator {
    // The document with the seed-compatible surfaces: a superset, so the compat tests (switch
    // on) are checked too; with the switch off those paths answer 404, which they document.
    let spec = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("openapi-{}.json", std::process::id()));
    std::fs::write(
        &spec,
        switchboard::api::openapi::document_json_with_compat().to_string(),
    )
    .expect("write the OpenAPI document");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/api/openapi_traffic.py"
    );
    let mut child = Command::new(venv.join("bin/python"))
        .arg(script)
        .arg(&spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the openapi-core validator: {e}"));
    Validator {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        _child: child,
    }
}

/// The verdict on a made-up exchange (no server involved).
async fn verdict_on(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    status: u16,
    body: &str,
) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let exchange = json!({
        "method": method,
        "path": path,
        "query": query,
        "headers": [["authorization", "Bearer swb_made_up"]],
        "body": "",
        "status": status,
        "responseHeaders": [["content-type", "application/json"]],
        "responseBody": b64.encode(body),
    });
    check(exchange.to_string()).await
}

#[tokio::test]
async fn the_validator_fails_what_the_document_does_not_describe() {
    // An answer with a status the operation does not list, and one whose body breaks the
    // schema.
    let teapot = verdict_on("GET", "/api/v1/catalog", &[], 418, "{}").await;
    assert!(teapot["problems"].to_string().contains("418"), "{teapot}");
    let shape = verdict_on("GET", "/api/v1/catalog", &[], 200, r#"{"kinds": 7}"#).await;
    assert!(shape["problems"].is_array(), "{shape}");
    // A request the document refuses (limit 0) that the server took.
    let took = verdict_on(
        "GET",
        "/api/v1/orgs/acme/audit-events",
        &[("limit", "0")],
        200,
        r#"{"events": []}"#,
    )
    .await;
    assert!(
        took["problems"]
            .to_string()
            .contains("a request the document refuses"),
        "{took}"
    );
    // The same request refused: as it should be.
    let refused = verdict_on(
        "GET",
        "/api/v1/orgs/acme/audit-events",
        &[("limit", "0")],
        400,
        r#"{"error": {"code": "validation", "message": "limit is 1 to 200"}}"#,
    )
    .await;
    assert!(refused["problems"].is_null(), "{refused}");
    // A path the document lacks must be 404 (or 401/405).
    let ghost = verdict_on("GET", "/api/v1/ghosts", &[], 200, "{}").await;
    assert!(
        ghost["problems"].to_string().contains("undocumented"),
        "{ghost}"
    );
}
