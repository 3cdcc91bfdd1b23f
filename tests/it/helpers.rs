//! `TestApp`: the real application on a loopback port, over a fresh PostgreSQL database
//! cloned from a migrated template and dropped afterwards. PostgreSQL comes from
//! `DATABASE_URL` when set, otherwise from the same embedded-cluster code production uses.

use std::{sync::OnceLock, time::Duration};

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use switchboard::{
    clock::Clock,
    config::Config,
    db::{
        self,
        embedded::{EmbeddedCluster, StartOptions},
    },
    models::{
        membership::{self, Role},
        org::NewOrg,
        user::{NewUser, User},
    },
    startup::{Application, Options},
};
use tokio::sync::OnceCell;

/// The password every seeded user gets.
pub const PASSWORD: &str = "correct horse battery staple";
/// The Insights tab of the seeded org `acme`.
pub const INSIGHTS: &str = "/orgs/acme/settings/ai/insights";

/// The master keyring every test app and CLI run uses (`SWITCHBOARD_MASTER_KEYS`), so no
/// test writes a `data/master.key`.
pub const MASTER_KEYS: &str = "test1:c3dpdGNoYm9hcmQtdGVzdC1tYXN0ZXIta2V5LTAwMDE=";

/// Builds the URL of a database on the test server from its name.
type UrlFor = Box<dyn Fn(&str) -> String + Send + Sync>;

struct DbServer {
    /// A URL to a maintenance database, for CREATE/DROP DATABASE.
    admin_url: String,
    /// Builds the URL of database `name`.
    url_for: UrlFor,
    template: String,
    /// Builds the URL the application under test connects with: the embedded cluster's
    /// non-superuser application role; `None` (a configured `DATABASE_URL`): that URL.
    app_url_for: Option<UrlFor>,
}

static DB_SERVER: OnceCell<DbServer> = OnceCell::const_new();
static CLUSTER: OnceLock<EmbeddedCluster> = OnceLock::new();

async fn db_server() -> &'static DbServer {
    DB_SERVER
        .get_or_init(|| async {
            let (admin_url, url_for, app_url_for): (String, UrlFor, Option<UrlFor>) =
                match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
                    Some(url) => {
                        let base = url::Url::parse(&url).expect("DATABASE_URL is a URL");
                        let f = move |name: &str| {
                            let mut u = base.clone();
                            u.set_path(&format!("/{name}"));
                            u.to_string()
                        };
                        (f("postgres"), Box::new(f), None)
                    }
                    None => {
                        let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("it-pg");
                        let cluster = tokio::task::spawn_blocking(move || {
                            EmbeddedCluster::start(&root, StartOptions { ephemeral: true })
                        })
                        .await
                        .expect("embedded cluster thread")
                        .unwrap_or_else(|e| panic!("tests need PostgreSQL: {e}"));
                        let cluster = CLUSTER.get_or_init(|| cluster);
                        (
                            cluster.url("postgres"),
                            Box::new(|name: &str| CLUSTER.get().unwrap().url(name)),
                            Some(Box::new(|name: &str| {
                                CLUSTER.get().unwrap().url_as(name, db::roles::APP_ROLE)
                            })),
                        )
                    }
                };
            let template = format!("sb_it_tpl_{}", std::process::id());
            let mut conn = AsyncPgConnection::establish(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {template}"))
                .execute(&mut conn)
                .await
                .expect("drop old template");
            diesel::sql_query(format!("CREATE DATABASE {template}"))
                .execute(&mut conn)
                .await
                .expect("create template");
            db::run_migrations(&url_for(&template))
                .await
                .expect("migrate template");
            if app_url_for.is_some() {
                // As production's embedded cluster: the app's tables belong to its own
                // non-superuser role (clones of the template keep their owners).
                db::roles::grant_app_role(&url_for(&template))
                    .await
                    .expect("set up the application's role");
            }
            DbServer {
                admin_url,
                url_for,
                template,
                app_url_for,
            }
        })
        .await
}

/// A running application and a client that behaves like a browser without JavaScript.
pub struct TestApp {
    pub address: String,
    pub db_name: String,
    /// A superuser's URL of the database (arranging, asserting, playing the attacker).
    pub db_url: String,
    /// The URL the application itself connects with (a non-superuser role on the embedded
    /// cluster; `db_url` with a configured `DATABASE_URL`).
    pub app_db_url: String,
    pub clock: Clock,
    pub client: reqwest::Client,
    pub setup_token: Option<String>,
    /// The running app's state: tests call operations directly through it.
    pub state: actix_web::web::Data<switchboard::state::AppState>,
    handle: actix_web::dev::ServerHandle,
    /// Whether dropping this app drops its database (not for [`TestApp::spawn_sharing`]).
    owns_db: bool,
}

impl TestApp {
    /// Starts the app on a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts the app with extra configuration variables.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        switchboard::providers::check::install_crypto_provider();
        let server = db_server().await;
        let db_name = format!("sb_it_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut conn = AsyncPgConnection::establish(&server.admin_url)
            .await
            .expect("connect");
        diesel::sql_query(format!(
            "CREATE DATABASE {db_name} TEMPLATE {}",
            server.template
        ))
        .execute(&mut conn)
        .await
        .expect("clone template");
        let db_url = (server.url_for)(&db_name);
        Self::start(db_name, db_url, vars, true).await
    }

    /// Starts a second instance of the app on `other`'s database (several instances behind
    /// one load balancer): it shares the data, not the process. The database is dropped by
    /// `other`, not by this one.
    pub async fn spawn_sharing(other: &TestApp, vars: &[(&str, &str)]) -> TestApp {
        Self::start(other.db_name.clone(), other.db_url.clone(), vars, false).await
    }

    async fn start(
        db_name: String,
        db_url: String,
        vars: &[(&str, &str)],
        owns_db: bool,
    ) -> TestApp {
        let mut map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("SWITCHBOARD_BIND".into())
            .or_insert_with(|| "127.0.0.1:0".into());
        map.entry("SWITCHBOARD_MASTER_KEYS".into())
            .or_insert_with(|| MASTER_KEYS.into());
        let config = Config::from_lookup(|k| map.get(k).cloned()).expect("test config");
        let clock = Clock::default();
        let options = Options {
            clock: clock.clone(),
            workers: Some(2),
            pool_size: 4,
        };
        let server = db_server().await;
        let app_db_url = server
            .app_url_for
            .as_ref()
            .map_or_else(|| db_url.clone(), |f| f(&db_name));
        let app = Application::build(config, &app_db_url, options)
            .await
            .expect("build app");
        let port = app.port();
        let setup_token = app.setup_token();
        let state = app.state();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            db_name,
            db_url,
            app_db_url,
            clock,
            client: client(),
            setup_token,
            state,
            handle,
            owns_db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A direct database connection for arranging and asserting.
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("connect to test db")
    }

    /// A user with [`PASSWORD`].
    pub async fn create_user(&self, email: &str, support: bool) -> User {
        let hash = switchboard::crypto::password::hash_blocking(&PASSWORD.to_owned().into());
        let mut conn = self.db().await;
        NewUser {
            email,
            name: "",
            password_hash: &hash,
            support,
        }
        .insert(&mut conn)
        .await
        .expect("insert user")
    }

    /// An org with the given members.
    pub async fn create_org(&self, slug: &str, members: &[(&User, Role)]) {
        let mut conn = self.db().await;
        let org = NewOrg {
            slug,
            name: &format!("Org {slug}"),
        }
        .insert(&mut conn)
        .await
        .expect("insert org");
        for (user, role) in members {
            membership::add(&mut conn, org.id, user.id, *role)
                .await
                .expect("add member");
        }
    }

    /// An org `acme` with admin `admin@acme.test`, logged in on `self.client`.
    pub async fn seed_and_login_admin(&self) -> User {
        let admin = self.create_user("admin@acme.test", false).await;
        self.create_org("acme", &[(&admin, Role::Admin)]).await;
        let res = self.login(&self.client, "admin@acme.test", PASSWORD).await;
        assert_eq!(res.status(), 303, "admin login");
        admin
    }

    /// GETs `path` with `client`.
    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("GET")
    }

    /// The CSRF token of `client`'s session (from the login page, which creates one if needed).
    pub async fn csrf(&self, client: &reqwest::Client, page: &str) -> String {
        let html = self.get(client, page).await.text().await.expect("body");
        meta_csrf(&html).unwrap_or_else(|| panic!("no csrf meta on {page}"))
    }

    /// Logs in through the form.
    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let token = self.csrf(client, "/login").await;
        client
            .post(self.url("/login"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .expect("POST /login")
    }

    /// POSTs a form with the session's CSRF token (taken from `page`).
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf(client, page).await;
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf_token", &token));
        client
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts the Insights form as `client` (plain form, CSRF token from the tab): on, at
    /// `lock_version` 0.
    pub async fn turn_insights_on(&self, client: &reqwest::Client) -> reqwest::Response {
        self.post_form(
            client,
            INSIGHTS,
            INSIGHTS,
            &[("enabled", "true"), ("lock_version", "0")],
        )
        .await
    }

    /// Whether Proactive AI Insights are on for org `slug`, read from the database.
    pub async fn insights_enabled(&self, slug: &str) -> bool {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use switchboard::db::schema::{org_ai_settings, orgs};
        let mut conn = self.db().await;
        org_ai_settings::table
            .inner_join(orgs::table)
            .filter(orgs::slug.eq(slug))
            .select(org_ai_settings::insights_enabled)
            .first(&mut conn)
            .await
            .expect("read insights setting")
    }

    /// Counts audit events with `action` in this app's database.
    pub async fn audit_count(&self, action: &str) -> i64 {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use switchboard::db::schema::audit_events;
        let mut conn = self.db().await;
        audit_events::table
            .filter(audit_events::action.eq(action))
            .count()
            .get_result(&mut conn)
            .await
            .expect("count audit events")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let db_name = self.owns_db.then(|| self.db_name.clone());
        // Drop runs inside the test's runtime: stop and clean up on a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), handle.stop(false)).await;
                if let Some(db_name) = db_name
                    && let Some(server) = DB_SERVER.get()
                    && let Ok(mut conn) = AsyncPgConnection::establish(&server.admin_url).await
                {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A client like a browser with JavaScript off: cookies kept, redirects not followed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

/// The `<meta name="csrf-token">` of a page.
pub fn meta_csrf(html: &str) -> Option<String> {
    let start = html.find("<meta name=\"csrf-token\" content=\"")? + 33;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_owned()).filter(|t| !t.is_empty())
}

/// The `Location` header of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
