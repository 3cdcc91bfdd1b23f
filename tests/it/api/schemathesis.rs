//! Schemathesis (property-based, from PyPI) against the live API with an admin token: it
//! generates requests from `/api/v1/openapi.json` and fails on any 5xx or any answer the
//! document does not describe (status, content type, body schema).
//!
//! `.ci/run` installs it into a virtualenv and sets `SCHEMATHESIS`; without it the test
//! makes its own virtualenv under the target directory (a machine without Python fails the
//! test, saying so, rather than skipping it). The app runs with
//! `SWITCHBOARD_EGRESS_ALLOW=none`, so the provider checks that generated bodies trigger
//! send nothing anywhere, DNS included.

use std::path::PathBuf;

use switchboard::ops::{
    Caller,
    providers::{self, KeyInput, ProviderInput},
};

use super::{all_scopes, token};
use crate::helpers::TestApp;
use switchboard::models::{membership::Role, org::Org};

/// The pinned versions (the same as `.ci/run`'s); prometheus-client's OpenMetrics parser
/// reads `/metrics` in `console::operating`; openapi-core validates every exchange of the
/// API tests (`api::traffic`), and its 0.23 wants openapi-spec-validator 0.8.
const PACKAGES: [&str; 4] = [
    "schemathesis==4.32.5",
    "openapi-spec-validator==0.8.5",
    "prometheus-client==0.21.1",
    "openapi-core==0.23.1",
];

/// The virtualenv holding schemathesis, openapi-spec-validator and openapi-core: `.ci/run`'s (through
/// `SCHEMATHESIS`, its `bin/schemathesis`), else one made under the target directory.
pub async fn python_tools() -> PathBuf {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS") {
        let bin = PathBuf::from(bin);
        return bin
            .parent()
            .and_then(|b| b.parent())
            .expect("SCHEMATHESIS is <venv>/bin/schemathesis")
            .to_owned();
    }
    static MADE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    MADE.get_or_init(|| venv_with("python-tools-3", &PACKAGES, "the API checks"))
        .await
        .clone()
}

/// A virtualenv named `name` under the target directory holding `packages`, made if it is
/// missing or holds another list; `what` names who needs it when Python is missing.
pub async fn venv_with(name: &str, packages: &[&str], what: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    // Written after a complete install: a half-made virtualenv is made again.
    let marker = dir.join("installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == packages.join("\n")) {
        return dir;
    }
    let run = |program: PathBuf, args: Vec<String>| async move {
        let out = tokio::process::Command::new(&program)
            .args(&args)
            .output()
            .await
            .unwrap_or_else(|e| {
                panic!("cannot run {program:?} ({what} need Python 3 with venv): {e}")
            });
        assert!(
            out.status.success(),
            "{program:?} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        "python3".into(),
        vec!["-m".into(), "venv".into(), dir.display().to_string()],
    )
    .await;
    let mut args: Vec<String> = ["install", "--quiet", "--disable-pip-version-check"]
        .map(str::to_owned)
        .to_vec();
    args.extend(packages.iter().map(|p| (*p).to_owned()));
    run(dir.join("bin/pip"), args).await;
    std::fs::write(&marker, packages.join("\n")).expect("write the virtualenv's marker");
    dir
}

/// The run's configuration. Besides 401/403/404/409 (409 also: a name another skill or
/// provider of the org has), two answers refuse a schema-valid request because of the org's
/// state, or of what a provider's kind needs, rather than its form, so the positive-data
/// check takes them: 412 (`If-Match` names a version the record is no longer at), 422 (a
/// live check failed, a key must be entered again, the kind needs a key or field or another
/// key prefix, the secret or provider referred to does not exist, a date range can't be) —
/// and the
/// negative-data check takes 412 as the refusal of a malformed `If-Match` (RFC 9110 §13.1.1
/// answers a failed precondition with 412, whatever the header says).
/// A 304 answers a schema-valid `If-None-Match` (`*` or the current version) of `ai/route`:
/// the answer the client already holds is still current.
const CONFIG: &str = r#"[parameters]
"path.org" = "acme"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "304", "401", "403", "404", "409", "412", "422"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428"]
"#;

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let bin = python_tools().await.join("bin/schemathesis");
    let app = TestApp::spawn_with(&[
        ("SWITCHBOARD_EGRESS_ALLOW", "none"),
        ("SWITCHBOARD_API_TOKEN_RATE", "0"),
        ("SWITCHBOARD_API_IP_RATE", "0"),
    ])
    .await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    let admin_token = token(&app, &org, &ada, &all_scopes(), None).await;
    // Something to find: a provider saved without verifying.
    providers::create_provider(
        &app.state,
        &Caller::operator(Some(org.clone())),
        ProviderInput {
            kind: switchboard::providers::ProviderKind::Openai,
            name: "Seeded".to_owned(),
            default_model: "gpt-4o".to_owned(),
            base_url: None,
            deployment: None,
            api_version: None,
            region: None,
            supports_tools: false,
            key: KeyInput::New("sk-schemathesis-0000000000000000".to_owned().into()),
            extra_headers: Default::default(),
            save_unverified: true,
        },
    )
    .await
    .expect("seed a provider");

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = tokio::process::Command::new(&bin)
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--url", &app.url("")])
        .args(["-H", &format!("Authorization: Bearer {admin_token}")])
        // Every check, positive_data_acceptance included: a request the document admits is
        // never refused 400 (docs/DECISIONS.md "What the server refuses, and with which
        // status").
        .args(["--checks", "all"])
        // The relay's operations answer with the provider's own bodies; its refusals and
        // framing are driven by tests/it/relay and the official SDKs.
        .args(["--exclude-tag", "relay"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        // One worker: with two, CPython 3.11's parser, which hypothesis calls from each
        // worker thread to describe its strategies, now and then failed with "AST constructor
        // recursion depth mismatch" (a runtime error of the tool, not a finding).
        .args(["--max-examples", "30", "--workers", "1", "--seed", "11"])
        .args(["--generation-database", "none", "--no-color"])
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("/api/v1/orgs/{org}/providers"),
        "schemathesis did not test the providers endpoints:\n{stdout}"
    );
}
