//! The API tokens page over HTTP: an admin creates a token (plain form and htmx), sees it in
//! that one answer and never again, uses it on the API, revokes it (then the API answers
//! 401); the token is in no table but as its hash — the session store included — nor in
//! the audit trail; members and support get 403, outsiders 404; bad input is a 400 that
//! writes nothing. The CLI's `token create|list|revoke` on the same database.

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use switchboard::{
    db::schema::{api_tokens, audit_events, sessions},
    models::membership::Role,
};

use super::cli::switchboard;
use crate::{
    canary::{scan, spellings},
    helpers::{INSIGHTS, PASSWORD, TestApp, client, location},
};

const TOKENS: &str = "/orgs/acme/settings/tokens";

/// The `swb_…` tokens in `text`, each as often as it occurs.
fn tokens_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("swb_") {
        let tail = &rest[at..];
        let len = tail
            .char_indices()
            .skip(4)
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            .map_or(tail.len(), |(i, _)| i);
        // A whole token (`swb_` + 43 characters), not a shown prefix (`swb_AbCd…`).
        if len == 47 {
            found.push(tail[..len].to_owned());
        }
        rest = &tail[4..];
    }
    found
}

/// `acme` with admin ada (logged in on `app.client`), member mia, and support sam.
async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    app.create_user("sam@support.test", true).await;
    app.create_org("acme", &[(&admin, Role::Admin), (&mia, Role::Member)])
        .await;
    app.create_user("olga@other.test", false).await;
    app.create_org("other", &[]).await;
    assert_eq!(
        app.login(&app.client, "admin@acme.test", PASSWORD)
            .await
            .status(),
        303
    );
    app
}

/// A form's fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// The creation form's fields.
fn form<'a>(name: &'a str, scopes: &[&'a str], expires: &'a str) -> Fields<'a> {
    let mut fields = vec![("name", name), ("expires", expires)];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    fields
}

/// Creates a token with a plain form post; the answer's status, headers' cache control and body.
async fn create_plain(app: &TestApp, fields: &[(&str, &str)]) -> (u16, String, String) {
    let res = app.post_form(&app.client, TOKENS, TOKENS, fields).await;
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, res.text().await.unwrap())
}

/// GETs the catalog with `token`; the status.
async fn catalog_with(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn token_rows(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    api_tokens::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// Every audit event as JSON text.
async fn trail(app: &TestApp) -> String {
    let mut conn = app.db().await;
    let rows: Vec<(
        String,
        String,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
    )> = audit_events::table
        .order(audit_events::id.asc())
        .select((
            audit_events::action,
            audit_events::target,
            audit_events::before,
            audit_events::after,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    serde_json::to_string(&rows).unwrap()
}

#[tokio::test]
async fn a_token_is_shown_once_works_on_the_api_and_stops_when_revoked() {
    let app = seeded().await;
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    assert!(page.contains("id=\"no-tokens\""));
    for legend in [
        "AI providers (aiProviders)",
        "AI settings (settings)",
        "Skills (skills)",
    ] {
        assert!(
            page.contains(&format!("<legend>{legend}</legend>")),
            "{legend}"
        );
    }
    assert!(
        !page.contains("members:"),
        "console-only scopes are not offered"
    );

    // A plain form post: 201 with the token in the page, not in a redirect.
    let (status, cache, body) = create_plain(
        &app,
        &form(
            "deploy pipeline",
            &["aiProviders:list", "settings:get"],
            "30d",
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(cache, "no-store");
    assert!(body.contains("<html"), "a whole page without JavaScript");
    assert!(body.contains("Copy it now; it won't be shown again."));
    let found = tokens_in(&body);
    assert_eq!(found.len(), 1, "the token appears exactly once: {found:?}");
    let plain = found[0].clone();
    assert!(body.contains("id=\"token-secret\""));

    // With htmx: the fragment, with its own token.
    let csrf = app.csrf(&app.client, TOKENS).await;
    let res = app
        .client
        .post(app.url(TOKENS))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .form(&form("mcp client", &["ai:resolve"], "never"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html"), "htmx gets the fragment");
    let found = tokens_in(&fragment);
    assert_eq!(found.len(), 1, "{found:?}");
    let htmx = found[0].clone();
    assert_ne!(plain, htmx);

    // Each works on the API; using one records when (to the minute).
    assert_eq!(catalog_with(&app, &plain).await, 200);
    assert_eq!(catalog_with(&app, &htmx).await, 200);
    assert_eq!(catalog_with(&app, "swb_not-a-token").await, 401);

    // The list shows them — name, owner, scopes, prefix, expiry, last use — never the token.
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    for token in [&plain, &htmx] {
        assert!(
            page.contains(&format!("<code>{}…</code>", &token[..8])),
            "prefix"
        );
        assert!(
            !page.contains(&token[8..]),
            "the secret part is never shown again"
        );
    }
    assert!(tokens_in(&page).is_empty());
    assert!(page.contains("deploy pipeline") && page.contains("mcp client"));
    assert!(page.contains("admin@acme.test"), "the owner");
    assert!(page.contains("<code>aiProviders:list</code> <code>settings:get</code>"));
    assert!(page.contains("<code>ai:resolve</code>"));
    assert_eq!(
        page.matches("<td>never</td>").count(),
        1,
        "both were used (last used is a time); one never expires"
    );
    let in_30_days = (chrono::Utc::now() + chrono::TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(page.contains(&in_30_days), "the expiry of the 30-day token");
    assert_eq!(page.matches("data-confirm=\"Revoke the token").count(), 2);

    // Only hashes are stored: no spelling of either token in any table — the session store
    // included (the answer was rendered, never queued in the session) — nor in the trail.
    let mut conn = app.db().await;
    let hashes: Vec<Vec<u8>> = api_tokens::table
        .order(api_tokens::id.asc())
        .select(api_tokens::token_hash)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        hashes,
        [&plain, &htmx]
            .map(|t| switchboard::crypto::sha256(t.as_bytes()).to_vec())
            .to_vec()
    );
    let session_states: Vec<String> = sessions::table
        .select(sessions::state)
        .load(&mut conn)
        .await
        .unwrap();
    assert!(
        session_states.iter().any(|s| s.contains("csrf")),
        "the admin's session is stored (and scanned below too)"
    );
    for state in &session_states {
        assert!(!state.contains(&plain[8..]) && !state.contains(&htmx[8..]));
    }
    let database = scan(&app).await;
    let events = trail(&app).await;
    for token in [&plain, &htmx] {
        for spelling in spellings(token) {
            assert!(!database.contains(&spelling), "{spelling} in the database");
            assert!(!events.contains(&spelling), "{spelling} in the trail");
        }
        assert!(!database.contains(&token[8..]));
    }
    assert!(events.contains("token.created") && events.contains("deploy pipeline"));
    assert_eq!(app.audit_count("token.created").await, 2);

    // Revoke: a plain post goes back to the page with a message; the token is dead at once.
    let id: i64 = api_tokens::table
        .filter(api_tokens::name.eq("deploy pipeline"))
        .select(api_tokens::id)
        .first(&mut conn)
        .await
        .unwrap();
    let revoke = format!("{TOKENS}/{id}/revoke");
    let res = app.post_form(&app.client, TOKENS, &revoke, &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), TOKENS);
    assert_eq!(catalog_with(&app, &plain).await, 401);
    assert_eq!(
        catalog_with(&app, &htmx).await,
        200,
        "the other still works"
    );
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    assert!(page.contains("Revoked the token deploy pipeline"));
    assert!(page.contains("<td>revoked</td>"));
    assert_eq!(page.matches("data-confirm=\"Revoke the token").count(), 1);
    // Again: it is revoked already, so there is nothing to revoke.
    let res = app.post_form(&app.client, TOKENS, &revoke, &[]).await;
    assert_eq!(res.status(), 404);

    // Revoke with htmx: the fragment with the message.
    let other: i64 = api_tokens::table
        .filter(api_tokens::name.eq("mcp client"))
        .select(api_tokens::id)
        .first(&mut conn)
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url(&format!("{TOKENS}/{other}/revoke")))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("Revoked the token mcp client"));
    assert_eq!(catalog_with(&app, &htmx).await, 401);
    assert_eq!(app.audit_count("token.revoked").await, 2);
    let events = trail(&app).await;
    assert!(events.contains("token.revoked"));
    for token in [&plain, &htmx] {
        assert!(!events.contains(&token[8..]));
    }
}

#[tokio::test]
async fn only_admins_reach_the_page_and_only_theirs_link_it() {
    let app = seeded().await;
    let admin_page = app.get(&app.client, INSIGHTS).await.text().await.unwrap();
    assert!(admin_page.contains(&format!("<a href=\"{TOKENS}\">API tokens</a>")));
    let fields = form("sneaky", &["aiProviders:list"], "30d");

    for (email, get, post) in [
        ("mia@acme.test", 403, 403),
        ("sam@support.test", 403, 403),
        ("olga@other.test", 404, 404),
    ] {
        let other = client();
        assert_eq!(app.login(&other, email, PASSWORD).await.status(), 303);
        assert_eq!(app.get(&other, TOKENS).await.status(), get, "{email} GET");
        let csrf = app.csrf(&other, "/account/password").await;
        let mut with_csrf = fields.clone();
        with_csrf.push(("csrf_token", &csrf));
        let res = other
            .post(app.url(TOKENS))
            .form(&with_csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), post, "{email} POST");
        let res = other
            .post(app.url(&format!("{TOKENS}/1/revoke")))
            .form(&[("csrf_token", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), post, "{email} revoke");
        if email != "olga@other.test" {
            let page = app.get(&other, INSIGHTS).await.text().await.unwrap();
            assert!(page.contains("Proactive"), "{email} reads the tab");
            assert!(!page.contains(TOKENS), "{email}'s nav has no tokens link");
        }
    }
    assert_eq!(token_rows(&app).await, 0);
    assert_eq!(app.audit_count("token.created").await, 0);
}

#[tokio::test]
async fn bad_input_is_a_400_that_writes_nothing() {
    let app = seeded().await;
    let long = "n".repeat(101);
    let cases: Vec<(&str, Fields, &str)> = vec![
        (
            "no scope",
            form("ci", &[], "30d"),
            "Choose at least one scope.",
        ),
        (
            "an unknown scope",
            form("ci", &["aiProviders:list", "aiProviders:fly"], "30d"),
            "Unknown scope &#39;aiProviders:fly&#39;. A token may carry: aiProviders:list,",
        ),
        (
            "a console-only scope",
            form("ci", &["members:manage"], "30d"),
            "Unknown scope",
        ),
        (
            "no name",
            form("  ", &["settings:get"], "30d"),
            "Give the token a name.",
        ),
        (
            "a long name",
            form(&long, &["settings:get"], "30d"),
            "at most 100 characters",
        ),
        (
            "a control character",
            form("ci\u{7}bell", &["settings:get"], "30d"),
            // (the console's edge refuses it first, as for every field)
            "contains a control character",
        ),
        (
            "too long a life",
            form("ci", &["settings:get"], "400d"),
            "at most a year",
        ),
        (
            "no life",
            form("ci", &["settings:get"], "0d"),
            "in the future",
        ),
        (
            "a bad expiry",
            form("ci", &["settings:get"], "1y"),
            "number of days or hours",
        ),
        (
            "two names",
            [form("ci", &["settings:get"], "30d"), vec![("name", "cd")]].concat(),
            "name is given twice",
        ),
    ];
    for (what, fields, message) in cases {
        let (status, _, body) = create_plain(&app, &fields).await;
        assert_eq!(status, 400, "{what}");
        assert!(body.contains(message), "{what}: {message} in {body}");
        assert!(tokens_in(&body).is_empty(), "{what}");
    }
    // A refusal keeps what was typed and ticked.
    let (_, _, body) = create_plain(
        &app,
        &form("keep me", &["skills:get", "aiProviders:fly"], "7d"),
    )
    .await;
    assert!(body.contains("value=\"keep me\""));
    assert!(body.contains("value=\"skills:get\" checked"));
    assert!(body.contains("<option value=\"7d\" selected>"));
    assert_eq!(token_rows(&app).await, 0, "nothing written");
    assert_eq!(app.audit_count("token.created").await, 0);
    // A revoke of no such token is a 404, of a non-number too.
    for id in ["424242", "abc"] {
        let res = app
            .post_form(&app.client, TOKENS, &format!("{TOKENS}/{id}/revoke"), &[])
            .await;
        assert_eq!(res.status(), 404, "{id}");
    }
}

#[tokio::test]
async fn the_cli_prints_a_working_token_and_nothing_else() {
    let app = seeded().await;
    let (code, out, err) = switchboard(
        &app,
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--email",
            "mia@acme.test",
            "--scopes",
            "aiProviders:list,settings:get",
            "--name",
            "nightly export",
            "--expires",
            "12h",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let token = out.trim_end_matches('\n');
    assert_eq!(
        tokens_in(&out),
        vec![token.to_owned()],
        "stdout is the token alone"
    );
    assert!(
        err.contains("nightly export") && err.contains("mia@acme.test"),
        "{err}"
    );
    assert!(!err.contains(token), "the details don't repeat it");
    assert_eq!(catalog_with(&app, token).await, 200);

    // The default expiry is 90 days.
    let (code, out, err) = switchboard(
        &app,
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--email",
            "admin@acme.test",
            "--scopes",
            "ai:resolve",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(tokens_in(&out).len(), 1);
    let mut conn = app.db().await;
    let lifetime: Vec<Option<chrono::DateTime<chrono::Utc>>> = api_tokens::table
        .order(api_tokens::id.asc())
        .select(api_tokens::expires_at)
        .load(&mut conn)
        .await
        .unwrap();
    let hours_left =
        |at: Option<chrono::DateTime<chrono::Utc>>| (at.unwrap() - chrono::Utc::now()).num_hours();
    assert!((11..=12).contains(&hours_left(lifetime[0])));
    assert!((89 * 24..=90 * 24).contains(&hours_left(lifetime[1])));

    // A scope the owner's role doesn't carry: refused by the operation (exit 1).
    let (code, out, err) = switchboard(
        &app,
        &[
            "token",
            "create",
            "--org",
            "acme",
            "--email",
            "mia@acme.test",
            "--scopes",
            "aiProviders:create",
        ],
        "",
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        out.is_empty() && err.contains("mia@acme.test is a member"),
        "{err}"
    );

    // Usage errors exit 2 and name the valid scopes.
    for (args, says) in [
        (
            vec!["--scopes", "aiProviders:fly"],
            "A token may carry: aiProviders:list,",
        ),
        (vec!["--scopes", "members:list"], "ai:resolve"),
        (
            vec!["--scopes", "settings:get", "--expires", "2y"],
            "number of days or hours",
        ),
        (
            vec!["--scopes", "settings:get", "--expires", "500d"],
            "at most a year",
        ),
    ] {
        let mut full = vec![
            "token",
            "create",
            "--org",
            "acme",
            "--email",
            "mia@acme.test",
        ];
        full.extend(args.iter());
        let (code, out, err) = switchboard(&app, &full, "").await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty() && err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(token_rows(&app).await, 2);

    // list shows them without the token; revoke kills it.
    let (code, out, err) = switchboard(&app, &["token", "list", "--org", "acme"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nightly export") && out.contains(&format!("{}…", &token[..8])));
    assert!(!out.contains(&token[8..]));
    let id: i64 = api_tokens::table
        .filter(api_tokens::name.eq("nightly export"))
        .select(api_tokens::id)
        .first(&mut conn)
        .await
        .unwrap();
    let id = id.to_string();
    let (code, out, err) =
        switchboard(&app, &["token", "revoke", "--org", "acme", "--id", &id], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked token"));
    assert_eq!(catalog_with(&app, token).await, 401);
    let (code, _, err) =
        switchboard(&app, &["token", "revoke", "--org", "acme", "--id", &id], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("no live token"), "{err}");
    assert_eq!(app.audit_count("token.revoked").await, 1);
}
