//! The fault suite of issue 23: two `switchboard serve` processes on one database behind a
//! real nginx (the `location /` block of `deploy/nginx.conf`, the file docs/DEPLOYMENT.md
//! shows), mixed load through nginx (pages, probes, skill saves, failed logins), one
//! instance killed with SIGKILL mid-run and started again. Asserts: GET/HEAD errors at most
//! the requests in flight on the killed instance, every write answered 2xx is in the
//! database and its audit trail, the load goes on, the restarted instance takes traffic;
//! sessions and CSRF work across instances, `X-Forwarded-For` is believed from nginx only,
//! the login throttle holds across instances. Bounded: ~25 s. Prints its counts.

use std::{
    collections::BTreeMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel_async::RunQueryDsl as _;
use tokio::process::{Child, Command};

use crate::helpers::{MASTER_KEYS, PASSWORD, TestApp, client, meta_csrf};

/// Readers and writers running at once (the bound on errors at the kill).
const READERS: usize = 4;
const WRITERS: usize = 2;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_binary() -> std::path::PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("the balancer suite needs nginx (Debian package nginx-light; .ci/run installs it)");
}

/// The `location / { … }` block of `deploy/nginx.conf`.
fn deployed_location() -> String {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf"))
        .expect("deploy/nginx.conf");
    let start = conf.find("    location / {").expect("a location / block");
    let end = start + conf[start..].find("\n    }\n").expect("its end") + 7;
    conf[start..end].to_owned()
}

/// Starts nginx in the foreground on `port` in front of `upstreams`, all under `dir`.
fn start_nginx(dir: &std::path::Path, port: u16, upstreams: &[u16]) -> Child {
    let servers: String = upstreams
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;\n"))
        .collect();
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    let d = dir.display();
    let conf = format!(
        "{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             upstream switchboard {{\n{servers}        keepalive 32;\n    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        client_max_body_size 1m;\n\
         {location}\n    }}\n}}\n",
        user = if root { "user root;\n" } else { "" },
        location = deployed_location(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    Command::new(nginx_binary())
        .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start nginx")
}

/// A `switchboard serve` on `db_url` listening on `port`.
fn start_instance(db_url: &str, port: u16, session_key: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("DATABASE_URL", db_url)
        .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_MASTER_KEYS", MASTER_KEYS)
        .env("SWITCHBOARD_SESSION_KEY", session_key)
        .env("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.1/32")
        .env("SWITCHBOARD_RECHECK_INTERVAL", "0")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard serve")
}

async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = http.get(url).send().await
            && res.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Statuses seen (0 = no answer at all), by kind of request.
#[derive(Default)]
struct Tally {
    reads: BTreeMap<u16, usize>,
    writes: BTreeMap<u16, usize>,
    acknowledged: Vec<String>,
}

async fn login(base: &str, http: &reqwest::Client) {
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let token = meta_csrf(&page.text().await.unwrap()).unwrap();
    let res = http
        .post(format!("{base}/login"))
        .form(&[
            ("email", "admin@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login through nginx");
}

#[tokio::test]
async fn n_instances_behind_nginx_survive_a_killed_instance() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    app.create_org(
        "acme",
        &[(&admin, switchboard::models::membership::Role::Admin)],
    )
    .await;
    let session_key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let ports = [free_port(), free_port()];
    let mut instances: Vec<Child> = ports
        .iter()
        .map(|p| start_instance(&app.db_url, *p, &session_key))
        .collect();
    for p in ports {
        wait_ready(&format!("http://127.0.0.1:{p}/readyz")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let nginx_port = free_port();
    let mut nginx = start_nginx(dir.path(), nginx_port, &ports);
    let base = format!("http://127.0.0.1:{nginx_port}");
    wait_ready(&format!("{base}/readyz")).await;

    // Sessions and CSRF across instances: one login, then pages and forms on either one.
    let browser = client();
    login(&base, &browser).await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for r in 0..READERS {
        let (http, base, tally, stop) =
            (browser.clone(), base.clone(), tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !std::sync::atomic::AtomicBool::load(&stop, std::sync::atomic::Ordering::Relaxed)
            {
                i += 1;
                let res = match (r + i) % 3 {
                    0 => http.get(format!("{base}/healthz")).send().await,
                    1 => {
                        http.get(format!("{base}/orgs/acme/settings/ai/provider"))
                            .send()
                            .await
                    }
                    _ => {
                        http.get(format!("{base}/orgs/acme/settings/ai/skills"))
                            .send()
                            .await
                    }
                };
                let status = res.map_or(0, |r| r.status().as_u16());
                *tally.lock().unwrap().reads.entry(status).or_default() += 1;
            }
        }));
    }
    for w in 0..WRITERS {
        let (http, base, tally, stop) =
            (browser.clone(), base.clone(), tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !std::sync::atomic::AtomicBool::load(&stop, std::sync::atomic::Ordering::Relaxed)
            {
                i += 1;
                let Ok(page) = http
                    .get(format!("{base}/orgs/acme/settings/ai/skills/new"))
                    .send()
                    .await
                else {
                    continue;
                };
                let Some(token) = meta_csrf(&page.text().await.unwrap_or_default()) else {
                    continue;
                };
                let name = format!("Skill w{w} n{i}");
                let res = http
                    .post(format!("{base}/orgs/acme/settings/ai/skills"))
                    .form(&[
                        ("name", name.as_str()),
                        ("description", "fault suite"),
                        ("instructions", "Answer briefly."),
                        ("csrf_token", &token),
                    ])
                    .send()
                    .await;
                let status = res.map_or(0, |r| r.status().as_u16());
                let mut t = tally.lock().unwrap();
                *t.writes.entry(status).or_default() += 1;
                if (200..400).contains(&status) {
                    t.acknowledged.push(name);
                }
            }
        }));
    }

    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    instances[0].start_kill().unwrap(); // SIGKILL
    instances[0].wait().await.unwrap();
    let killed_at = Instant::now();
    let before_kill = {
        let t = tally.lock().unwrap();
        t.reads.values().sum::<usize>() + t.writes.values().sum::<usize>()
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_kill = {
        let t = tally.lock().unwrap();
        t.reads.values().sum::<usize>() + t.writes.values().sum::<usize>()
    };
    assert!(
        after_kill > before_kill + 20,
        "the load went on after the kill"
    );

    // Start it again; it takes traffic once nginx tries it again.
    instances[0] = start_instance(&app.db_url, ports[0], &session_key);
    wait_ready(&format!("http://127.0.0.1:{}/readyz", ports[0])).await;
    let restarted_at = Instant::now();
    let served = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("switchboard_http_request_duration_seconds_count{"))
            .filter(|l| l.contains("route=\"/orgs/{org}/settings/ai/"))
            .count()
    };
    let recovered = loop {
        let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", ports[0]))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if served(&metrics) > 0 {
            break restarted_at.elapsed();
        }
        assert!(
            restarted_at.elapsed() < Duration::from_secs(15),
            "the restarted instance took no traffic"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();

    // Every acknowledged write is in the database and in its audit trail.
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    let mut conn = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let stored: Vec<Name> = diesel::sql_query(
        "SELECT s.name FROM skills s JOIN audit_events a \
           ON a.action = 'skill.created' AND a.target = 'skill:' || s.id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().map(|n| n.name).collect();
    let found = tally
        .acknowledged
        .iter()
        .filter(|n| stored.contains(*n))
        .count();

    let read_errors: usize = tally
        .reads
        .iter()
        .filter(|(s, _)| **s == 0 || **s >= 500)
        .map(|(_, n)| n)
        .sum();
    let write_errors: usize = tally
        .writes
        .iter()
        .filter(|(s, _)| **s == 0 || **s >= 500)
        .map(|(_, n)| n)
        .sum();
    println!(
        "balancer suite: {} requests in {:.1} s; reads by status {:?}; writes by status {:?}; \
         writes acknowledged {} / found with audit {}; killed after {:.1} s; restarted \
         instance served traffic {:.1} s after it was ready",
        tally.reads.values().sum::<usize>() + tally.writes.values().sum::<usize>(),
        elapsed.as_secs_f64(),
        tally.reads,
        tally.writes,
        tally.acknowledged.len(),
        found,
        killed_at.duration_since(started).as_secs_f64(),
        recovered.as_secs_f64(),
    );
    assert_eq!(
        found,
        tally.acknowledged.len(),
        "an acknowledged write is missing"
    );
    assert!(tally.acknowledged.len() > 10, "writes went through");
    assert!(
        read_errors <= READERS,
        "{read_errors} GET errors: more than were in flight on the killed instance"
    );
    assert!(write_errors <= WRITERS, "{write_errors} write errors");
    // Reads never bounced to the login page (the session held on both instances) nor
    // failed otherwise: 200 or, at the kill, no answer / 502.
    assert!(
        tally.reads.keys().all(|s| matches!(s, 0 | 200 | 502..)),
        "reads by status {:?}",
        tally.reads
    );

    // X-Forwarded-For from nginx is believed: the client's claimed address reaches the
    // audit trail as the right-most untrusted hop; and the throttle holds across instances.
    let stranger = client();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let page = stranger.get(format!("{base}/login")).send().await.unwrap();
        let token = meta_csrf(&page.text().await.unwrap()).unwrap();
        let res = stranger
            .post(format!("{base}/login"))
            .header("x-forwarded-for", "127.0.0.9")
            .form(&[
                ("email", "admin@acme.test"),
                ("password", "wrong password"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    let limit = switchboard::models::login_throttle::ACCOUNT_LIMIT as usize;
    assert!(
        statuses[..limit].iter().all(|s| *s == 401) && statuses[limit..].iter().all(|s| *s == 429),
        "the throttle across instances: {statuses:?}"
    );
    #[derive(diesel::QueryableByName)]
    struct Ip {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        ip: Option<String>,
    }
    let ips: Vec<Ip> = diesel::sql_query(
        "SELECT ip FROM audit_events WHERE action = 'login.failed' AND org_id IS NULL",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert!(!ips.is_empty());
    assert!(
        ips.iter().all(|r| r.ip.as_deref() == Some("127.0.0.9")),
        "{:?}",
        ips.iter().map(|r| r.ip.clone()).collect::<Vec<_>>()
    );

    let _ = nginx.start_kill();
    let _ = nginx.wait().await;
    for mut i in instances {
        let _ = i.start_kill();
        let _ = i.wait().await;
    }
}
