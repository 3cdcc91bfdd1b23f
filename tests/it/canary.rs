//! The canary: a key saved, edited, tested, activated, deactivated and deleted, then looked
//! for everywhere — every text, bytea and jsonb column of every table (in clear, base64 and
//! hex), every log line written meanwhile, and every answer of the operations.

use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl as _;
use switchboard::ops::{
    Access, Caller, RequestMeta,
    providers::{self as ops, KeyInput},
};

use crate::provider_ops::{GOOD_KEY, anthropic, anthropic_mock, app_with_org};

/// Everything logged in this test process from the first call on.
pub(crate) fn log_capture() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let sink = buffer.clone();
            // The production subscriber (its caps and sampling), as text without colours.
            let subscriber = switchboard::telemetry::logs::subscriber(
                tracing_subscriber::EnvFilter::new("debug"),
                false,
                false,
                move || Writer(sink.clone()),
            );
            // Another test binary module may have set one first; then this test can't see
            // the logs and says so by failing below.
            tracing::subscriber::set_global_default(subscriber).expect("log capture installed");
            buffer
        })
        .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The spellings a leaked key could take in text: clear, hex, and base64 at each of the
/// three byte alignments (the middle of the encoding, which doesn't depend on neighbours).
pub(crate) fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_owned(),
        hex(secret.as_bytes()),
        hex(secret.as_bytes()).to_uppercase(),
    ];
    for shift in 0..3 {
        let padded = [&b"xx"[..shift], secret.as_bytes()].concat();
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ] {
            let encoded = engine.encode(&padded);
            out.push(encoded[4..encoded.len() - 4].to_owned());
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

#[derive(diesel::QueryableByName)]
struct Cell {
    #[diesel(sql_type = Nullable<Text>)]
    v: Option<String>,
}

#[tokio::test]
async fn the_key_is_nowhere_in_clear_after_its_whole_life() {
    let logs = log_capture();
    tracing::info!("log capture on");
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    let state = &app.state;
    let mut answers = Vec::new();

    let p = ops::create_provider(
        state,
        &admin,
        anthropic("Claude", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    answers.push(format!("{p:?}"));
    let p = ops::update_provider(
        state,
        &admin,
        &p.id,
        p.lock_version,
        anthropic("Claude 2", &server, KeyInput::Keep),
    )
    .await
    .unwrap();
    answers.push(format!("{p:?}"));
    let (tested, outcome) = ops::test_provider(state, &admin, &p.id).await.unwrap();
    answers.push(format!("{tested:?} {outcome:?} {outcome}"));
    answers.push(format!(
        "{:?}",
        ops::activate_provider(state, &admin, &p.id).await.unwrap()
    ));
    // The database is scanned while the key is stored, too.
    let scanned_live = scan(&app).await;
    answers.push(format!(
        "{:?}",
        ops::list_providers(state, &admin).await.unwrap()
    ));
    ops::deactivate(state, &admin).await.unwrap();
    ops::delete_provider(state, &admin, &p.id).await.unwrap();
    let scanned_after = scan(&app).await;

    let spellings = spellings(GOOD_KEY);
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("provider check finished"),
        "the log capture works"
    );
    for (place, text) in [
        ("the database while stored", &scanned_live),
        ("the database after", &scanned_after),
        ("the logs", &logged),
    ]
    .into_iter()
    .chain(answers.iter().map(|a| ("an operation's answer", a)))
    {
        for spelling in &spellings {
            assert!(
                !text.contains(spelling.as_str()),
                "the key ({spelling}) is in {place}"
            );
        }
    }
    assert!(
        scanned_live.contains("sk-ant-...WXYZ"),
        "the scan sees the stored preview"
    );
}

/// Every text, bytea (as hex and as lossy text) and jsonb value of every table, joined.
pub(crate) async fn scan(app: &crate::helpers::TestApp) -> String {
    let mut conn = app.db().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'jsonb', 'character varying')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert!(
        columns
            .iter()
            .any(|c| c.table_name == "secrets" && c.column_name == "envelope")
    );
    let mut all = String::new();
    for c in columns {
        let expr = match c.data_type.as_str() {
            "bytea" => format!("encode(\"{}\", 'hex')", c.column_name),
            _ => format!("\"{}\"::text", c.column_name),
        };
        let cells: Vec<Cell> =
            diesel::sql_query(format!("SELECT {expr} AS v FROM \"{}\"", c.table_name))
                .load(&mut conn)
                .await
                .unwrap();
        for v in cells.into_iter().filter_map(|c| c.v) {
            if c.data_type == "bytea" {
                let bytes: Vec<u8> = (0..v.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).ok())
                    .collect();
                all.push_str(&String::from_utf8_lossy(&bytes));
                all.push('\n');
            }
            all.push_str(&v);
            all.push('\n');
        }
    }
    all
}

/// Every answer of a key's life through the console — plain and htmx, as admin, member
/// and support — holds no spelling of it, in the body or any header.
#[tokio::test]
async fn the_key_is_in_no_console_answer() {
    use diesel::QueryDsl as _;
    use switchboard::{db::schema::providers, models::membership::Role};

    use crate::helpers::{PASSWORD, client};

    let app =
        crate::helpers::TestApp::spawn_with(&[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    app.seed_and_login_admin().await;
    let server = anthropic_mock().await;
    const TAB: &str = "/orgs/acme/settings/ai/provider";
    const PROVIDERS: &str = "/orgs/acme/settings/ai/providers";
    let mut seen = Vec::new();
    async fn record(seen: &mut Vec<String>, res: reqwest::Response) -> u16 {
        let status = res.status().as_u16();
        let headers = format!("{:?}", res.headers());
        seen.push(format!("{headers}\n{}", res.text().await.unwrap()));
        status
    }
    let uri = server.uri();
    let form = |key: &'static str| {
        vec![
            ("kind", "anthropic"),
            ("name", "Claude"),
            ("default_model", "claude-sonnet-4-20250514"),
            ("base_url", uri.as_str()),
            ("api_key", key),
        ]
    };
    let bad = crate::provider_ops::BAD_KEY;
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, PROVIDERS, &form(bad)).await
        )
        .await,
        422
    );
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, PROVIDERS, &form(GOOD_KEY))
                .await
        )
        .await,
        303
    );
    let mut conn = app.db().await;
    let (id, version): (String, i32) = providers::table
        .select((providers::id, providers::lock_version))
        .first(&mut conn)
        .await
        .unwrap();
    let provider = format!("{PROVIDERS}/{id}");
    let version = version.to_string();
    let mut keep = form("");
    keep.push(("lock_version", &version));
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, &provider, &keep).await
        )
        .await,
        303
    );
    for action in ["test", "activate"] {
        let path = format!("{provider}/{action}");
        assert_eq!(
            record(&mut seen, app.post_form(&app.client, TAB, &path, &[]).await).await,
            303,
            "{action}"
        );
    }
    // The htmx answers and every page that shows the provider.
    let token = app.csrf(&app.client, TAB).await;
    let htmx = app
        .client
        .post(app.url(&format!("{provider}/test")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(record(&mut seen, htmx).await, 200);
    for page in [
        TAB.to_owned(),
        format!("{provider}/edit"),
        "/orgs/acme/settings/ai/audit".to_owned(),
    ] {
        record(&mut seen, app.get(&app.client, &page).await).await;
        let fragment = app
            .client
            .get(app.url(&page))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        record(&mut seen, fragment).await;
    }
    // Members and support staff read the same tab.
    let mia = app.create_user("mia@acme.test", false).await;
    app.create_user("sam@support.test", true).await;
    let mut conn = app.db().await;
    let org = switchboard::models::org::Org::find_by_slug(&mut conn, "acme")
        .await
        .unwrap()
        .unwrap();
    switchboard::models::membership::add(&mut conn, org.id, mia.id, Role::Member)
        .await
        .unwrap();
    for email in ["mia@acme.test", "sam@support.test"] {
        let other = client();
        app.login(&other, email, PASSWORD).await;
        let res = app.get(&other, TAB).await;
        let body_has_set = {
            let status = record(&mut seen, res).await;
            status == 200 && seen.last().unwrap().contains("Key set")
        };
        assert!(body_has_set, "{email} sees that a key is set");
        assert!(
            !seen.last().unwrap().contains("sk-ant-..."),
            "{email} sees no preview"
        );
    }
    let deactivate = "/orgs/acme/settings/ai/provider/deactivate";
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, deactivate, &[]).await
        )
        .await,
        303
    );
    let remove = format!("{provider}/remove-key");
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, &remove, &[]).await
        )
        .await,
        303
    );
    let delete = format!("{provider}/delete");
    assert_eq!(
        record(
            &mut seen,
            app.post_form(&app.client, TAB, &delete, &[]).await
        )
        .await,
        303
    );
    record(&mut seen, app.get(&app.client, TAB).await).await;

    assert!(
        seen.iter().any(|s| s.contains("sk-ant-...WXYZ")),
        "the admin saw the preview"
    );
    for spelling in spellings(GOOD_KEY).iter().chain(spellings(bad).iter()) {
        for answer in &seen {
            assert!(
                !answer.contains(spelling.as_str()),
                "a key ({spelling}) in: {answer}"
            );
        }
    }
}

/// The spellings of an Ed25519 seed entry `id:base64`: the entry, its base64 part, and the
/// 32 raw bytes in hex and in each base64 alphabet (also at the three alignments).
fn seed_spellings(entry: &str) -> Vec<String> {
    let (_, b64) = entry.split_once(':').unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut out = spellings(entry);
    out.extend(spellings(b64));
    out.push(hex(&raw));
    out.push(hex(&raw).to_uppercase());
    for shift in 0..3 {
        let padded = [&b"xx"[..shift], &raw[..]].concat();
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            let encoded = engine.encode(&padded);
            out.push(encoded[4..encoded.len() - 4].to_owned());
        }
    }
    out
}

/// The audit signing key (`SWITCHBOARD_AUDIT_SIGNING_KEY`, issue 22) through checkpoints
/// signed, a full verification, a rewrite the job refuses to sign over, the CLI's verify,
/// public-key and mark-restore, the console's Audit tab and the REST audit list: its
/// secret half is in no answer, log line, table, checkpoint file or `Debug` output.
#[tokio::test]
async fn the_audit_signing_key_is_nowhere_but_in_its_variable() {
    use secrecy::ExposeSecret as _;
    use switchboard::{crypto::signing::AuditSigner, ops::trail::signing};

    let logs = log_capture();
    let dir = tempfile::tempdir().unwrap();
    let entry = AuditSigner::generate_entry("canary")
        .unwrap()
        .expose_secret()
        .to_owned();
    let app = crate::helpers::TestApp::spawn_with(&[
        ("SWITCHBOARD_AUDIT_SIGNING_KEY", &entry),
        (
            "SWITCHBOARD_AUDIT_CHECKPOINTS",
            dir.path().to_str().unwrap(),
        ),
        ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8"),
    ])
    .await;
    let admin = app.seed_and_login_admin().await;
    let state = &app.state;
    let mut answers = vec![
        format!("{:?}", state.config),
        format!("{:?}", state.config.audit_signer),
    ];
    let seed = |n| {
        let app = &app;
        async move { crate::console::audit_trail::seed_events(&mut app.db().await, "acme", n).await }
    };
    seed(5).await;
    let signed = signing::sign_due(state).await.unwrap();
    assert!(signed.signed >= 1);
    answers.push(format!("{signed:?}"));
    let report = signing::verify_scheduled(state, std::time::Duration::from_secs(86_400))
        .await
        .unwrap();
    answers.push(format!("{report:?}"));

    // The CLI: public key, verify against the files, mark-restore; every output kept.
    let cli = async |args: &[&str]| {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .env("DATABASE_URL", &app.db_url)
            .env("SWITCHBOARD_MASTER_KEYS", crate::helpers::MASTER_KEYS)
            .env("SWITCHBOARD_AUDIT_SIGNING_KEY", &entry)
            .env("SWITCHBOARD_AUDIT_CHECKPOINTS", dir.path())
            .env("RUST_LOG", "debug")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        format!(
            "{}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let public = cli(&["audit", "public-key"]).await;
    assert!(public.contains("canary:"), "{public}");
    answers.push(public);
    let checkpoints = dir.path().to_str().unwrap().to_owned();
    answers.push(cli(&["audit", "verify", "--checkpoints", &checkpoints]).await);
    answers.push(cli(&["audit", "mark-restore"]).await);

    // A rewrite by the superuser after the last checkpoint: the job alerts (logs an
    // ERROR) and does not sign.
    seed(1).await;
    let mut db = app.db().await;
    for sql in [
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "UPDATE audit_events SET target = 'forged' WHERE id = (SELECT max(id) FROM audit_events)",
        "ALTER TABLE audit_events ENABLE TRIGGER USER",
    ] {
        diesel::sql_query(sql).execute(&mut db).await.unwrap();
    }
    let refused = signing::sign_due(state).await.unwrap();
    assert!(!refused.alerts.is_empty());
    answers.push(format!("{refused:?}"));
    answers.push(cli(&["audit", "verify", "--checkpoints", &checkpoints]).await);

    // The console's Audit tab and the REST audit list.
    let page = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signing stopped at"), "{page}");
    answers.push(page);
    let org = switchboard::models::org::Org::find_by_slug(&mut db, "acme")
        .await
        .unwrap()
        .unwrap();
    let token = crate::api::token(
        &app,
        &org,
        &admin,
        &[switchboard::ops::Scope::AuditRead],
        None,
    )
    .await;
    let listed = reqwest::Client::new()
        .get(app.url("/api/v1/orgs/acme/audit-events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    answers.push(format!("{:?}", listed.headers()));
    answers.push(listed.text().await.unwrap());

    let mut files = String::new();
    for file in std::fs::read_dir(dir.path()).unwrap() {
        files.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
    }
    assert!(
        files.contains("canary"),
        "the checkpoint files were written"
    );
    let scanned = scan(&app).await;
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logged.contains("NOT signing it"),
        "the log capture saw the job's alert"
    );
    for spelling in seed_spellings(&entry) {
        for (place, text) in [
            ("the database", &scanned),
            ("the checkpoint files", &files),
            ("the logs", &logged),
        ]
        .into_iter()
        .chain(answers.iter().map(|a| ("an answer or a Debug output", a)))
        {
            assert!(
                !text.contains(spelling.as_str()),
                "the signing key ({spelling}) is in {place}: {text}"
            );
        }
    }
}
