//! Org-owned service tokens (DESIGN.md "Platform services" → Service tokens), over real
//! HTTP: a service token keeps working when the admin who made it is demoted, disabled or
//! removed (a personal token doesn't); any admin of the org revokes it; the Tokens page
//! shows its kind (plain HTTP: the page works without JS); `ai:release` is granted only by
//! an operator on the CLI, and only to a service token; the audit trail names the kind.

use diesel::{ExpressionMethods as _, QueryDsl as _, TextExpressionMethods as _};
use diesel_async::RunQueryDsl as _;
use switchboard::{
    db::schema::{api_tokens, audit_events, memberships, users},
    models::membership::Role,
};

use super::cli::switchboard;
use crate::helpers::{PASSWORD, TestApp, client, location};

const TOKENS: &str = "/orgs/acme/settings/tokens";
const ROUTE: &str = "/api/v1/orgs/acme/ai/route?feature=summaries";

/// `acme` with admins ada (logged in on `app.client`) and bob, and member mia.
async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    let bob = app.create_user("bob@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    app.create_org(
        "acme",
        &[
            (&ada, Role::Admin),
            (&bob, Role::Admin),
            (&mia, Role::Member),
        ],
    )
    .await;
    let res = app.login(&app.client, "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    app
}

/// The whole `swb_…` token in a page (not a shown prefix).
fn secret_in(page: &str) -> String {
    let at = page.find("value=\"swb_").expect("the token is shown once") + "value=\"".len();
    let token: String = page[at..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(token.len(), 47, "{token}");
    token
}

/// Creates a token on the page as ada (plain form post); status and body.
async fn create(app: &TestApp, name: &str, kind: &str, scopes: &[&str]) -> (u16, String) {
    let mut fields = vec![("name", name), ("expires", "30d"), ("kind", kind)];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    let res = app.post_form(&app.client, TOKENS, TOKENS, &fields).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The route answer's status for `token`.
async fn route_with(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url(ROUTE))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn ada_id(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    users::table
        .filter(users::email.eq("ada@acme.test"))
        .select(users::id)
        .first(&mut conn)
        .await
        .unwrap()
}

/// The `token.*` events: (action, actor label, after, before) as JSON text.
async fn token_events(app: &TestApp) -> Vec<(String, String, String)> {
    let mut conn = app.db().await;
    let rows: Vec<(
        String,
        String,
        Option<serde_json::Value>,
        Option<serde_json::Value>,
    )> = audit_events::table
        .filter(audit_events::action.like("token.%"))
        .order(audit_events::id.asc())
        .select((
            audit_events::action,
            audit_events::actor_label,
            audit_events::after,
            audit_events::before,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(action, actor, after, before)| {
            (action, actor, after.or(before).unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_service_token_outlives_its_creator_and_any_admin_revokes_it() {
    let app = seeded().await;
    let (status, page) = create(&app, "summariser", "service", &["ai:resolve", "ai:relay"]).await;
    assert_eq!(status, 201, "{page}");
    let service = secret_in(&page);
    let (status, page) = create(&app, "ada's script", "personal", &["ai:resolve"]).await;
    assert_eq!(status, 201, "{page}");
    let personal = secret_in(&page);
    assert_eq!(route_with(&app, &service).await, 200);
    assert_eq!(route_with(&app, &personal).await, 200);

    // The page (plain HTTP, as without JS) shows the kind and who made it.
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    assert!(
        page.contains("<td class=\"kind\">Service token</td>"),
        "{page}"
    );
    assert!(page.contains("<td class=\"kind\">Personal</td>"));
    assert!(page.contains("the org (created by ada@acme.test)"));

    // Ada is demoted: her personal token is cut to a member's reads; the service token works.
    let ada = ada_id(&app).await;
    let mut conn = app.db().await;
    diesel::update(memberships::table.filter(memberships::user_id.eq(ada)))
        .set(memberships::role.eq("member"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(route_with(&app, &personal).await, 403);
    assert_eq!(route_with(&app, &service).await, 200);

    // Ada leaves the org.
    diesel::delete(memberships::table.filter(memberships::user_id.eq(ada)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(route_with(&app, &personal).await, 403);
    assert_eq!(route_with(&app, &service).await, 200);

    // Her account is disabled: a personal token fails to authenticate, the org's doesn't.
    diesel::update(users::table.filter(users::id.eq(ada)))
        .set(users::disabled.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(route_with(&app, &personal).await, 401);
    assert_eq!(route_with(&app, &service).await, 200);

    // Bob, another admin, sees it on the page and revokes it (plain form: 303 back).
    let bob = client();
    assert_eq!(
        app.login(&bob, "bob@acme.test", PASSWORD).await.status(),
        303
    );
    let page = app.get(&bob, TOKENS).await.text().await.unwrap();
    assert!(page.contains("the org (created by ada@acme.test)"));
    let id: i64 = api_tokens::table
        .filter(api_tokens::name.eq("summariser"))
        .select(api_tokens::id)
        .first(&mut conn)
        .await
        .unwrap();
    let revoke = format!("{TOKENS}/{id}/revoke");
    let res = app.post_form(&bob, TOKENS, &revoke, &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), TOKENS);
    assert_eq!(route_with(&app, &service).await, 401);

    // The trail names the kind of each creation and of the revocation, and who did it.
    let events = token_events(&app).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let (action, _, after) = &events[0];
    assert_eq!(action, "token.created");
    assert!(
        after.contains("\"kind\":\"service\"") && after.contains("ada@acme.test"),
        "{after}"
    );
    assert!(
        events[1].2.contains("\"kind\":\"personal\""),
        "{:?}",
        events[1]
    );
    let (action, actor, before) = &events[2];
    assert_eq!(action, "token.revoked");
    assert!(before.contains("\"kind\":\"service\""), "{before}");
    assert!(actor.contains("bob@acme.test"), "{actor}");
    for (_, _, change) in &events {
        assert!(!change.contains(&service[8..]) && !change.contains(&personal[8..]));
    }
}

#[tokio::test]
async fn ai_release_is_granted_only_by_an_operator_on_the_cli() {
    let app = seeded().await;
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    assert!(page.contains("value=\"ai:relay\""));
    assert!(page.contains("id=\"kind-service\""));
    assert!(
        !page.contains("value=\"ai:release\""),
        "the console never offers ai:release"
    );

    // Asked of the console anyway: 403 naming the CLI, nothing written.
    for kind in ["service", "personal"] {
        let (status, page) = create(&app, "keys", kind, &["ai:resolve", "ai:release"]).await;
        assert_eq!(status, 403, "{kind}");
        assert!(
            page.contains("granted only by an operator") && page.contains("--service"),
            "{page}"
        );
        assert!(!page.contains("value=\"swb_"));
    }
    // A service token carries only the service scopes.
    let (status, page) = create(&app, "admin", "service", &["aiProviders:update"]).await;
    assert_eq!(status, 400);
    assert!(page.contains("A service token carries only"), "{page}");
    // An unknown kind.
    let (status, _) = create(&app, "x", "shared", &["ai:resolve"]).await;
    assert_eq!(status, 400);
    let mut conn = app.db().await;
    let n: i64 = api_tokens::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(app.audit_count("token.created").await, 0);

    let cli = |extra: &'static [&'static str], scopes: &'static str| {
        let mut args = vec![
            "token",
            "create",
            "--org",
            "acme",
            "--email",
            "ada@acme.test",
            "--scopes",
            scopes,
        ];
        args.extend(extra);
        args
    };
    // The CLI without --service: a personal token never carries ai:release.
    let (code, out, err) = switchboard(&app, &cli(&[], "ai:release"), "").await;
    assert_eq!(code, 1, "{err}");
    assert!(
        out.is_empty() && err.contains("only to a service token"),
        "{err}"
    );
    // --service with an admin scope: refused.
    let (code, out, err) = switchboard(&app, &cli(&["--service"], "skills:create"), "").await;
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty() && err.contains("A service token carries only"));
    // --service by an operator: granted.
    let (code, out, err) = switchboard(
        &app,
        &cli(&["--service", "--name", "sdk"], "ai:release,ai:resolve"),
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("created service token"), "{err}");
    let token = out.trim_end_matches('\n');
    assert_eq!(route_with(&app, token).await, 200);
    let (kind, scopes): (String, Vec<String>) = api_tokens::table
        .select((api_tokens::kind, api_tokens::scopes))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(kind, "service");
    assert_eq!(scopes, ["ai:release", "ai:resolve"]);
    let (code, out, _) = switchboard(&app, &["token", "list", "--org", "acme"], "").await;
    assert_eq!(code, 0);
    assert!(out.contains("\tsdk\tservice\t"), "{out}");
    // The console shows it.
    let page = app.get(&app.client, TOKENS).await.text().await.unwrap();
    assert!(page.contains("<code>ai:release</code>"));
}
