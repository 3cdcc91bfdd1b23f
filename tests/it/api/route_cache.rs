//! Route answers without keys, cacheable (issue 21 item 3): a keyless answer withholds the
//! key and may be reused; its version (`ETag`) moves with everything that decides it and
//! nothing else; `If-None-Match` is a 304 that writes nothing; a release is recorded once per
//! (token, secret, hour) with its calls counted in memory and flushed; start-up warns while
//! tokens carry `ai:release`.

use crate::api::traffic::SendChecked as _;
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use serde_json::Value;
use switchboard::{
    db::schema::{audit_events, providers, route_releases},
    models::{membership::Role, org::Org, user::User},
    ops::{
        Caller, Scope,
        providers::{self as ops, KeyInput, RouteChoice, SetRoute, release as route},
        tokens,
    },
    routing::Feature,
};

use super::ai_route::{ROUTE, active_anthropic, admin, get, release_token, released};
use super::{http, token};
use crate::{
    helpers::TestApp,
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock},
};

/// `app_with_org` with more configuration.
async fn app_with(vars: &[(&str, &str)]) -> (TestApp, Org, User) {
    let mut all = vec![("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")];
    all.extend_from_slice(vars);
    let app = TestApp::spawn_with(&all).await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    (app, org, ada)
}

async fn get_if(app: &TestApp, token: &str, query: &str, etag: &str) -> reqwest::Response {
    http()
        .get(app.url(&format!("{ROUTE}{query}")))
        .bearer_auth(token)
        .header("if-none-match", etag)
        .send_checked()
        .await
        .unwrap()
}

/// The answer's ETag, after checking it is the quoted `version` of the body.
async fn etag_of(res: reqwest::Response) -> (String, Value) {
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", body["version"].as_str().unwrap()));
    (etag, body)
}

async fn audit_rows(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    audit_events::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// (buckets, calls) in `route_releases`.
async fn release_rows(app: &TestApp) -> (i64, i64) {
    let mut conn = app.db().await;
    let calls: Vec<i64> = route_releases::table
        .select(route_releases::calls)
        .load(&mut conn)
        .await
        .unwrap();
    (calls.len() as i64, calls.iter().sum())
}

/// Waits for the flushed counts to read `want` (a background flush may be writing them).
async fn wait_for_rows(app: &TestApp, want: (i64, i64)) {
    let deadline = std::time::Instant::now() + route::FLUSH_EVERY * 3;
    loop {
        let rows = release_rows(app).await;
        if rows == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "counts not flushed: {rows:?}, want {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_keyless_answer_withholds_the_key_names_the_relay_and_may_be_reused() {
    let logs = crate::canary::log_capture();
    let (app, org, ada) = app_with(&[
        ("SWITCHBOARD_PUBLIC_URL", "https://sb.example"),
        ("SWITCHBOARD_ROUTE_TTL", "45"),
    ])
    .await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let before = audit_rows(&app).await;

    let res = http()
        .get(app.url(&format!("{ROUTE}?feature=summaries")))
        .bearer_auth(&resolver)
        // The relay's URL never comes from the request.
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "private, max-age=45");
    let text = res.text().await.unwrap();
    for spelling in crate::canary::spellings(GOOD_KEY) {
        assert!(!text.contains(&spelling), "the key is in a keyless answer");
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["servedBy"], "byo");
    assert_eq!(body["provider"]["id"], id.as_str());
    assert!(body.get("credential").is_none(), "{body}");
    assert_eq!(body["credentialWithheld"], true);
    assert_eq!(
        body["relayUrl"],
        "https://sb.example/relay/orgs/acme/features/summaries"
    );
    assert!(body["version"].as_str().unwrap().len() >= 16);
    assert_eq!(
        audit_rows(&app).await,
        before,
        "a keyless answer writes nothing"
    );
    assert_eq!(release_rows(&app).await, (0, 0));

    // SWITCHBOARD_RELAY_URL wins over the public URL.
    let relay = TestApp::spawn_sharing(
        &app,
        &[
            ("SWITCHBOARD_PUBLIC_URL", "https://sb.example"),
            ("SWITCHBOARD_RELAY_URL", "https://relay.internal:8443/"),
        ],
    )
    .await;
    let body: Value = get(&relay, &resolver, "?feature=summaries")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["relayUrl"],
        "https://relay.internal:8443/relay/orgs/acme/features/summaries"
    );
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for spelling in crate::canary::spellings(GOOD_KEY) {
        assert!(!logged.contains(&spelling), "the key is in the logs");
    }
}

#[tokio::test]
async fn the_version_moves_with_what_decides_the_answer_and_nothing_else() {
    let (app, org, ada) = app_with(&[]).await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let releaser = release_token(&app, &org, &ada).await;
    let etag = async || {
        etag_of(get(&app, &resolver, "?feature=summaries").await)
            .await
            .0
    };

    let v0 = etag().await;
    assert!(v0.starts_with('"') && v0.ends_with('"') && !v0.starts_with("W/"));
    assert_eq!(etag().await, v0, "the same answer, the same version");

    // Nothing that decides summaries: another provider, another feature's route, time.
    let caller = admin(&ada, &org);
    ops::create_provider(
        &app.state,
        &caller,
        anthropic("Spare", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    ops::set_feature_route(
        &app.state,
        &caller,
        SetRoute {
            feature: Feature::Triage,
            choice: RouteChoice::Platform,
            lock_version: 0,
        },
    )
    .await
    .unwrap();
    app.clock.advance(std::time::Duration::from_secs(7200));
    assert_eq!(etag().await, v0, "unrelated changes keep the version");

    // The token's ai:release: another answer (the key in it), another version.
    let (release_tag, body) = etag_of(get(&app, &releaser, "?feature=summaries").await).await;
    assert_eq!(body["credential"]["apiKey"], GOOD_KEY);
    assert_ne!(release_tag, v0);

    // The settings: policy strict (summaries still served, but decided on other settings).
    let mut conn = app.db().await;
    let bump_settings = diesel::sql_query(
        "UPDATE org_ai_settings SET routing_policy = 'strict', lock_version = lock_version + 1",
    );
    bump_settings.execute(&mut conn).await.unwrap();
    let v1 = etag().await;
    assert_ne!(v1, v0, "settings");

    // The provider (renamed).
    diesel::update(providers::table.find(&id))
        .set((
            providers::name.eq("Claude (EU)"),
            providers::lock_version.eq(providers::lock_version + 1),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let v2 = etag().await;
    assert_ne!(v2, v1, "provider");

    // Its key (entered again: a new secret).
    let row: (i32,) = providers::table
        .find(&id)
        .select((providers::lock_version,))
        .first(&mut conn)
        .await
        .unwrap();
    ops::update_provider(
        &app.state,
        &caller,
        &id,
        row.0,
        switchboard::ops::providers::ProviderInput {
            name: "Claude (EU)".to_owned(),
            ..anthropic(
                "Claude (EU)",
                &server,
                KeyInput::New(GOOD_KEY.to_owned().into()),
            )
        },
    )
    .await
    .unwrap();
    let v3 = etag().await;
    assert_ne!(v3, v2, "key");

    // The feature's own route (summaries to the platform, under fallback again).
    diesel::sql_query(
        "UPDATE org_ai_settings SET routing_policy = 'fallback', lock_version = lock_version + 1",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let v3 = etag().await;
    ops::set_feature_route(
        &app.state,
        &caller,
        SetRoute {
            feature: Feature::Summaries,
            choice: RouteChoice::Platform,
            lock_version: 0,
        },
    )
    .await
    .unwrap();
    let (v4, body) = etag_of(get(&app, &resolver, "?feature=summaries").await).await;
    assert_eq!(body["servedBy"], "platform");
    assert_ne!(v4, v3, "route");
    assert_eq!(etag().await, v4);
}

#[tokio::test]
async fn if_none_match_is_a_304_that_writes_nothing() {
    let (app, org, ada) = app_with(&[]).await;
    let server = anthropic_mock().await;
    active_anthropic(&app, &org, &ada, &server).await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let releaser = release_token(&app, &org, &ada).await;

    // Keyless.
    let (etag, _) = etag_of(get(&app, &resolver, "?feature=summaries").await).await;
    let before = audit_rows(&app).await;
    for presented in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let res = get_if(&app, &resolver, "?feature=summaries", &presented).await;
        assert_eq!(res.status(), 304, "{presented}");
        assert_eq!(res.headers()["etag"], etag.as_str());
        assert_eq!(res.headers()["cache-control"], "private, max-age=30");
        assert!(res.bytes().await.unwrap().is_empty());
    }
    let stale = get_if(&app, &resolver, "?feature=summaries", "\"stale\"").await;
    assert_eq!(stale.status(), 200, "another version: the full answer");
    // Another feature's answer is another version.
    assert_eq!(
        get_if(&app, &resolver, "?feature=assistant", &etag)
            .await
            .status(),
        200
    );

    // With the key: the first answer records the release; 304s after it write nothing,
    // not even a count.
    let (etag, body) = etag_of(get(&app, &releaser, "?feature=summaries").await).await;
    assert_eq!(body["credential"]["apiKey"], GOOD_KEY);
    let after_release = audit_rows(&app).await;
    assert_eq!(after_release, before + 1, "one credential.released");
    for _ in 0..5 {
        let res = get_if(&app, &releaser, "?feature=summaries", &etag).await;
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(!res.text().await.unwrap().contains(GOOD_KEY));
    }
    route::flush_release_counts(&app.state).await.unwrap();
    assert_eq!(audit_rows(&app).await, after_release, "304s append nothing");
    wait_for_rows(&app, (1, 1)).await;
    tokio::time::sleep(route::FLUSH_EVERY).await;
    assert_eq!(release_rows(&app).await, (1, 1), "304s count no release");

    // A bad If-None-Match is as if absent.
    let res = get_if(&app, &resolver, "?feature=summaries", "garbage").await;
    assert_eq!(res.status(), 200);
    assert!(route::matches_version("\"abc\"", "abc"));
    assert!(
        !route::matches_version("abc", "abc"),
        "unquoted is no entity tag"
    );
    assert!(!route::matches_version("\"abcd\"", "abc"));
}

#[tokio::test]
async fn a_release_is_recorded_once_per_token_secret_and_hour_and_its_calls_are_counted() {
    let (app, org, ada) = app_with(&[]).await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let releaser = release_token(&app, &org, &ada).await;
    let second = release_token(&app, &org, &ada).await;

    for _ in 0..20 {
        let res = get(&app, &releaser, "?feature=summaries").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["credential"]["apiKey"], GOOD_KEY);
    }
    // Another feature on the same key, same hour: the same bucket.
    assert_eq!(
        get(&app, &releaser, "?feature=assistant").await.status(),
        200
    );
    assert_eq!(released(&app).await.len(), 1, "one event for the bucket");
    // Another token: its own bucket and event.
    assert_eq!(get(&app, &second, "?feature=summaries").await.status(), 200);
    assert_eq!(released(&app).await.len(), 2);

    // The counts reach the database within a few seconds (the background flush).
    wait_for_rows(&app, (2, 22)).await;

    // The next hour: a new bucket, a new event before the key leaves.
    app.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(
        get(&app, &releaser, "?feature=summaries").await.status(),
        200
    );
    let events = released(&app).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].1, format!("provider:{id}"));
    route::flush_release_counts(&app.state).await.unwrap();
    wait_for_rows(&app, (3, 23)).await;

    // A second instance on the same database: its first release of the bucket finds the
    // row there and appends nothing.
    let other = TestApp::spawn_sharing(&app, &[]).await;
    other.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(
        get(&other, &releaser, "?feature=summaries").await.status(),
        200
    );
    assert_eq!(
        released(&app).await.len(),
        3,
        "one event per bucket across instances"
    );
    route::flush_release_counts(&other.state).await.unwrap();
    wait_for_rows(&app, (3, 24)).await;

    // The key in no event, no log, no table.
    let dump = crate::canary::scan(&app).await;
    for spelling in crate::canary::spellings(GOOD_KEY) {
        assert!(!dump.contains(&spelling), "the key is stored: {spelling}");
    }
}

#[tokio::test]
async fn start_up_warns_while_tokens_carry_ai_release() {
    let logs = crate::canary::log_capture();
    let (app, org, ada) = app_with(&[]).await;
    let _resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    assert_eq!(
        route::warn_about_release_tokens(&app.state).await.unwrap(),
        0,
        "an ai:resolve token without ai:release does not count"
    );

    release_token(&app, &org, &ada).await;
    let listed = tokens::list_tokens(&app.state, &Caller::operator(Some(org.clone())))
        .await
        .unwrap();
    let release_id = listed
        .iter()
        .find(|t| t.scopes.iter().any(|s| s == "ai:release"))
        .unwrap()
        .id;
    // A restart (another instance starting on the database) says so, naming the token.
    let _restarted = TestApp::spawn_sharing(&app, &[]).await;
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let line = logged
        .lines()
        .find(|l| l.contains("carry ai:release") && l.contains(&format!("token {release_id} ")))
        .unwrap_or_else(|| panic!("no start-up warning naming token {release_id}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("relay"), "{line}");

    // Revoked: no more warning.
    tokens::revoke_token(&app.state, &admin(&ada, &org), release_id)
        .await
        .unwrap();
    assert_eq!(
        route::warn_about_release_tokens(&app.state).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn the_one_statement_path_keeps_every_token_check() {
    let (app, org, ada) = app_with(&[]).await;
    let server = anthropic_mock().await;
    active_anthropic(&app, &org, &ada, &server).await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    assert_eq!(
        get(&app, &resolver, "?feature=summaries").await.status(),
        200
    );

    // A token of another org: 404 (the org in the path is not its own).
    app.create_org("beta", &[(&ada, Role::Admin)]).await;
    let mut conn = app.db().await;
    let beta = Org::find_by_slug(&mut conn, "beta").await.unwrap().unwrap();
    let other = token(&app, &beta, &ada, &[Scope::AiResolve], None).await;
    assert_eq!(get(&app, &other, "?feature=summaries").await.status(), 404);

    // Unknown, malformed, or not a bearer: 401, before the feature is looked at.
    for (auth, query) in [
        (
            "Bearer swb_unknownunknownunknownunknownunknownunknown0",
            "?feature=summaries",
        ),
        ("Bearer not-a-token", "?feature=summaries"),
        (
            "Bearer swb_unknownunknownunknownunknownunknownunknown0",
            "?feature=chat",
        ),
        ("Basic YWRhOnB3", "?feature=summaries"),
    ] {
        let res = http()
            .get(app.url(&format!("{ROUTE}{query}")))
            .header("authorization", auth)
            .send_checked()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{auth} {query}");
    }
    // A known token with an unknown feature: 400 after the token passed.
    assert_eq!(get(&app, &resolver, "?feature=chat").await.status(), 400);
    assert_eq!(get(&app, &other, "?feature=chat").await.status(), 404);

    // Revoked: 401 at once.
    let id = tokens::list_tokens(&app.state, &Caller::operator(Some(org.clone())))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.scopes == ["ai:resolve"])
        .unwrap()
        .id;
    tokens::revoke_token(&app.state, &admin(&ada, &org), id)
        .await
        .unwrap();
    assert_eq!(
        get(&app, &resolver, "?feature=summaries").await.status(),
        401
    );

    // Expired: 401.
    let brief = token(
        &app,
        &org,
        &ada,
        &[Scope::AiResolve],
        Some(chrono::TimeDelta::hours(1)),
    )
    .await;
    assert_eq!(get(&app, &brief, "?feature=summaries").await.status(), 200);
    app.clock.advance(std::time::Duration::from_secs(7200));
    assert_eq!(get(&app, &brief, "?feature=summaries").await.status(), 401);

    // A service token keeps answering when its creator is disabled; a personal one doesn't.
    let service = release_token(&app, &org, &ada).await;
    let personal = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    diesel::update(switchboard::db::schema::users::table.find(ada.id))
        .set(switchboard::db::schema::users::disabled.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        get(&app, &service, "?feature=summaries").await.status(),
        200
    );
    assert_eq!(
        get(&app, &personal, "?feature=summaries").await.status(),
        401
    );
}

/// What an instance remembers of a token and its routes (`models::route_cache`) is used only
/// while the org's epoch holds: a change made on another instance, or by hand in SQL, is
/// seen by the next call; a token revoked anywhere is refused at once; and the minute stamp
/// of a token's use moves no epoch (or every call would read everything again).
#[tokio::test]
async fn remembered_rows_never_outlive_a_change_made_anywhere() {
    let (app, org, ada) = app_with(&[]).await;
    let other = TestApp::spawn_sharing(&app, &[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let resolver = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    let epoch = async || {
        let mut conn = app.db().await;
        switchboard::models::release::org_epoch(&mut conn, org.id)
            .await
            .unwrap()
            .expect("every org has an epoch row")
    };

    // The first call reads the rows and stamps the token's use; the stamp moves no epoch.
    let before = epoch().await;
    let (v0, _) = etag_of(get(&app, &resolver, "?feature=summaries").await).await;
    assert_eq!(epoch().await, before, "a use's stamp raises no epoch");
    assert_eq!(app.state.route_cache.len(), 1, "the token is remembered");
    assert_eq!(
        get_if(&app, &resolver, "?feature=summaries", &v0)
            .await
            .status(),
        304
    );

    // The other instance moves summaries to the platform: this one answers anew at once.
    ops::set_feature_route(
        &other.state,
        &admin(&ada, &org),
        SetRoute {
            feature: Feature::Summaries,
            choice: RouteChoice::Platform,
            lock_version: 0,
        },
    )
    .await
    .unwrap();
    assert!(epoch().await > before);
    let res = get_if(&app, &resolver, "?feature=summaries", &v0).await;
    let (v1, body) = etag_of(res).await;
    assert_ne!(v1, v0);
    assert_eq!(body["servedBy"], "platform");

    // A change by hand in SQL (the provider renamed), with summaries back on it.
    let mut conn = app.db().await;
    diesel::sql_query("DELETE FROM feature_routes")
        .execute(&mut conn)
        .await
        .unwrap();
    let (v2, _) = etag_of(get(&app, &resolver, "?feature=summaries").await).await;
    diesel::update(providers::table.find(&id))
        .set(providers::name.eq("Claude (by hand)"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (v3, body) = etag_of(get_if(&app, &resolver, "?feature=summaries", &v2).await).await;
    assert_ne!(v3, v2);
    assert_eq!(body["provider"]["name"], "Claude (by hand)");

    // Revoked on the other instance: refused here at once, on the remembered path too.
    let token_id = tokens::list_tokens(&app.state, &Caller::operator(Some(org.clone())))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.scopes == ["ai:resolve"])
        .unwrap()
        .id;
    tokens::revoke_token(&other.state, &admin(&ada, &org), token_id)
        .await
        .unwrap();
    assert_eq!(
        get_if(&app, &resolver, "?feature=summaries", &v3)
            .await
            .status(),
        401
    );

    // A personal token remembered here, its creator disabled by hand: refused at once.
    let personal = token(&app, &org, &ada, &[Scope::AiResolve], None).await;
    assert_eq!(
        get(&app, &personal, "?feature=summaries").await.status(),
        200
    );
    diesel::update(switchboard::db::schema::users::table.find(ada.id))
        .set(switchboard::db::schema::users::disabled.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        get(&app, &personal, "?feature=summaries").await.status(),
        401
    );
}

/// The API's providers list answers a token from the rows this instance read at the epoch
/// the token was judged at: a change made on another instance or by hand is in the next
/// list, a token revoked elsewhere is refused at once, and no list shows the 24 h usage.
#[tokio::test]
async fn the_api_list_is_remembered_only_while_the_org_is_unchanged() {
    let (app, org, ada) = app_with(&[]).await;
    let other = TestApp::spawn_sharing(&app, &[("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")]).await;
    let server = anthropic_mock().await;
    let id = active_anthropic(&app, &org, &ada, &server).await;
    let lister = token(&app, &org, &ada, &[Scope::AiProvidersList], None).await;
    let list = async || {
        http()
            .get(app.url("/api/v1/orgs/acme/providers"))
            .bearer_auth(&lister)
            .send_checked()
            .await
            .unwrap()
    };
    let names = async || {
        let res = list().await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let text = body.to_string();
        assert!(
            !text.contains("\"calls\"") && !text.contains("usage"),
            "{text}"
        );
        body["providers"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    let first = names().await;
    assert_eq!(names().await, first, "the same list again");

    // Created on the other instance: in this one's next list.
    ops::create_provider(
        &other.state,
        &admin(&ada, &org),
        anthropic("Spare", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    let second = names().await;
    assert_eq!(second.len(), first.len() + 1, "{second:?}");
    assert!(second.contains(&"Spare".to_owned()));

    // Renamed by hand in SQL: in the next list.
    let mut conn = app.db().await;
    diesel::update(providers::table.find(&id))
        .set(providers::name.eq("Renamed by hand"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(names().await.contains(&"Renamed by hand".to_owned()));

    // Revoked on the other instance: refused here at once.
    let token_id = tokens::list_tokens(&app.state, &Caller::operator(Some(org.clone())))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.scopes == ["aiProviders:list"])
        .unwrap()
        .id;
    tokens::revoke_token(&other.state, &admin(&ada, &org), token_id)
        .await
        .unwrap();
    assert_eq!(list().await.status(), 401);
}
