//! Invitations over HTTP: the one answer whatever the email is, the link shown once and
//! stored only as a hash, joining as a new or an existing user, refusals of closed links and
//! of support accounts, the race of two accepts, and the trail (token-free, readable).

use std::time::Duration;

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use switchboard::{
    db::schema::{audit_events, invitations, memberships, users},
    models::membership::Role,
};

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, client, location};

const MEMBERS: &str = "/orgs/acme/settings/members";
const INVITE: &str = "/orgs/acme/settings/members/invitations";
const NEW_PASSWORD: &str = "a newcomer's long password";

/// Invites `email` as `role` through the form; returns the answer's status, body and token.
async fn invite(app: &TestApp, email: &str, role: &str) -> (u16, String, String) {
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            INVITE,
            &[("email", email), ("role", role)],
        )
        .await;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    let token = token_in(&body).unwrap_or_default();
    (status, body, token)
}

/// The token of the invitation link shown on a page.
fn token_in(html: &str) -> Option<String> {
    let start = html.find("id=\"invitation-link\" type=\"text\" readonly value=\"")?;
    let rest = &html[start..];
    let link_start = rest.find("value=\"")? + 7;
    let link = &rest[link_start..link_start + rest[link_start..].find('"')?];
    Some(link.split_once("?token=")?.1.to_owned())
}

fn link(token: &str) -> String {
    format!("/invitations?token={token}")
}

/// Seeds `acme` with its admin logged in on `app.client`.
async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    app
}

async fn is_member(app: &TestApp, email: &str) -> bool {
    let mut conn = app.db().await;
    let n: i64 = memberships::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    n > 0
}

async fn user_count(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    users::table.count().get_result(&mut conn).await.unwrap()
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
async fn the_answer_is_the_same_whatever_the_email_belongs_to() {
    let app = seeded().await;
    app.create_user("bob@other.test", false).await;
    app.create_user("sam@support.test", true).await;
    let mia = app.create_user("mia@acme.test", false).await;
    {
        let mut conn = app.db().await;
        let org = switchboard::models::org::Org::find_by_slug(&mut conn, "acme")
            .await
            .unwrap()
            .unwrap();
        switchboard::models::membership::add(&mut conn, org.id, mia.id, Role::Member)
            .await
            .unwrap();
    }
    let mut shapes = Vec::new();
    for email in [
        "nobody@nowhere.test",
        "bob@other.test",
        "sam@support.test",
        "mia@acme.test",
    ] {
        let (status, body, token) = invite(&app, email, "member").await;
        assert_eq!(status, 201, "{email}");
        assert!(body.contains("Invitation created"), "{email}");
        assert_eq!(token.len(), 43, "{email}: a link with a token");
        // The answer names the email, the link and the expiry; with those (and the
        // invitation's id) set aside, every answer is the same page.
        let mut conn = app.db().await;
        let (id, expires): (i64, chrono::DateTime<chrono::Utc>) = invitations::table
            .filter(invitations::email.eq(email))
            .select((invitations::id, invitations::expires_at))
            .first(&mut conn)
            .await
            .unwrap();
        // The members table is the same for every answer, and it names mia: cut it out
        // before setting the email aside.
        let members_at = body.find("id=\"members\"").unwrap();
        let table_end = members_at + body[members_at..].find("</table>").unwrap();
        let body = format!("{}{}", &body[..members_at], &body[table_end..]);
        let shape = body
            .replace(&token, "TOKEN")
            .replace(email, "EMAIL")
            .replace(&expires.format("%Y-%m-%d %H:%M UTC").to_string(), "EXPIRES")
            .replace(
                &format!("/invitations/{id}/revoke"),
                "/invitations/ID/revoke",
            );
        shapes.push((email, shape));
        // Revoked, so that each answer lists exactly one open invitation.
        diesel::update(invitations::table.find(id))
            .set(invitations::revoked_at.eq(chrono::Utc::now()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for (email, shape) in &shapes[1..] {
        assert_eq!(
            shape, &shapes[0].1,
            "the answer for {email} differs from the one for an email without an account"
        );
    }
    // A bad email is the one refusal, and it is about the text alone.
    let (status, body, token) = invite(&app, "not an email", "member").await;
    assert_eq!(status, 400);
    assert!(body.contains("valid email") && token.is_empty());
    let (status, _, _) = invite(&app, "x@acme.test", "owner").await;
    assert_eq!(status, 400, "unknown role");
}

#[tokio::test]
async fn the_link_is_shown_once_and_only_its_hash_is_stored() {
    let app = seeded().await;
    let (status, body, token) = invite(&app, "New@Acme.test", "admin").await;
    assert_eq!(status, 201);
    assert!(body.contains("new@acme.test (admin)"));

    for _ in 0..2 {
        let page = app.get(&app.client, MEMBERS).await.text().await.unwrap();
        assert!(!page.contains(&token), "the link is never shown again");
        assert!(token_in(&page).is_none());
        assert!(page.contains("Pending invitations") && page.contains("new@acme.test"));
        assert!(page.contains("admin@acme.test"), "who invited");
        assert!(page.contains("/revoke"), "a revoke button");
    }

    let mut conn = app.db().await;
    let hash: Vec<u8> = invitations::table
        .select(invitations::token_hash)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(hash, switchboard::crypto::sha256(token.as_bytes()).to_vec());
    let row: String = diesel::sql_query("SELECT row_to_json(i)::text AS j FROM invitations i")
        .load::<JsonRow>(&mut conn)
        .await
        .unwrap()
        .remove(0)
        .j;
    assert!(!row.contains(&token), "the token itself is not stored");
    let trail = trail(&app).await;
    assert!(trail.contains("invitation.created") && !trail.contains(&token));

    // A member of the org (read-only) never gets here; support staff read without forms.
    app.create_user("sam@support.test", true).await;
    let sam = client();
    app.login(&sam, "sam@support.test", PASSWORD).await;
    let page = app.get(&sam, MEMBERS).await.text().await.unwrap();
    assert!(
        page.contains("new@acme.test") && !page.contains("<form method=\"post\" action=\"/orgs")
    );
    let res = app
        .post_form(
            &sam,
            MEMBERS,
            INVITE,
            &[("email", "x@y.test"), ("role", "admin")],
        )
        .await;
    assert_eq!(res.status(), 403);
}

#[derive(diesel::QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    j: String,
}

#[tokio::test]
async fn a_new_user_sets_a_name_and_password_joins_and_can_log_in() {
    let app = seeded().await;
    let (_, _, token) = invite(&app, "nina@new.test", "member").await;
    let nina = client();
    let res = app.get(&nina, &link(&token)).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("Join Org acme") && page.contains("nina@new.test"));
    assert!(page.contains("as <strong>member</strong>"));

    let users_before = user_count(&app).await;
    let sign_up = |name: &'static str, password: &'static str, confirm: &'static str| {
        let token = token.clone();
        let nina = nina.clone();
        let app = &app;
        async move {
            app.post_form(
                &nina,
                &link(&token),
                "/invitations/sign-up",
                &[
                    ("token", &token),
                    ("name", name),
                    ("password", password),
                    ("confirm_password", confirm),
                ],
            )
            .await
        }
    };
    let res = sign_up("Nina", NEW_PASSWORD, "something else entirely").await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("The two passwords differ.") && !body.contains(NEW_PASSWORD));
    assert!(body.contains("value=\"Nina\""), "the name is kept");
    let res = sign_up("Nina", "short", "short").await;
    assert_eq!(res.status(), 400);
    let res = sign_up("", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), 400);
    assert_eq!(user_count(&app).await, users_before, "nothing written");

    let res = sign_up("Nina", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    let page = app.get(&nina, INSIGHTS).await;
    assert_eq!(page.status(), 200, "logged in and in the org");
    assert!(page.text().await.unwrap().contains("Welcome to Org acme"));
    assert!(is_member(&app, "nina@new.test").await);

    let again = client();
    assert_eq!(
        app.login(&again, "nina@new.test", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(app.get(&again, INSIGHTS).await.status(), 200);

    // The link is spent.
    let res = app.get(&client(), &link(&token)).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("used already"));
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
    assert!(!trail(&app).await.contains(&token));
}

#[tokio::test]
async fn an_existing_user_logs_in_on_the_invitation_and_joins() {
    let app = seeded().await;
    app.create_user("bob@other.test", false).await;
    let (_, _, token) = invite(&app, "bob@other.test", "admin").await;
    let bob = client();
    assert_eq!(app.get(&bob, &link(&token)).await.status(), 200);

    let log_in = |password: &'static str| {
        let (token, bob, app) = (token.clone(), bob.clone(), &app);
        async move {
            app.post_form(
                &bob,
                &link(&token),
                "/invitations/log-in",
                &[("token", &token), ("password", password)],
            )
            .await
        }
    };
    let res = log_in("not bob's password").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Invalid email or password.")
    );
    assert!(!is_member(&app, "bob@other.test").await);
    assert_eq!(app.audit_count("login.failed").await, 1, "a failed login");

    let res = log_in(PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/orgs/acme/settings/ai");
    let page = app.get(&bob, INSIGHTS).await.text().await.unwrap();
    assert!(page.contains("Turn insights on"), "bob joined as admin");
}

#[tokio::test]
async fn a_logged_in_user_accepts_and_another_account_is_refused() {
    let app = seeded().await;
    app.create_user("carol@other.test", false).await;
    app.create_user("dave@other.test", false).await;
    let (_, _, token) = invite(&app, "carol@other.test", "member").await;

    let dave = client();
    app.login(&dave, "dave@other.test", PASSWORD).await;
    let page = app.get(&dave, &link(&token)).await.text().await.unwrap();
    assert!(page.contains("this invitation is for carol@other.test"));
    let res = app
        .post_form(
            &dave,
            &link(&token),
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(!is_member(&app, "dave@other.test").await);

    let carol = client();
    app.login(&carol, "carol@other.test", PASSWORD).await;
    let page = app.get(&carol, &link(&token)).await.text().await.unwrap();
    assert!(page.contains("id=\"accept\""));
    let res = app
        .post_form(
            &carol,
            &link(&token),
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(is_member(&app, "carol@other.test").await);
    assert_eq!(app.get(&carol, INSIGHTS).await.status(), 200);
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
}

#[tokio::test]
async fn revoked_expired_used_and_unknown_links_are_refused_and_write_nothing() {
    let app = seeded().await;
    let (_, _, revoked) = invite(&app, "r@new.test", "member").await;
    let (_, _, expiring) = invite(&app, "e@new.test", "member").await;
    let mut conn = app.db().await;
    let id: i64 = invitations::table
        .filter(invitations::email.eq("r@new.test"))
        .select(invitations::id)
        .first(&mut conn)
        .await
        .unwrap();
    let revoke = format!("{INVITE}/{id}/revoke");
    let res = app.post_form(&app.client, MEMBERS, &revoke, &[]).await;
    assert_eq!(res.status(), 303);
    let page = app.get(&app.client, MEMBERS).await.text().await.unwrap();
    assert!(page.contains("Invitation for r@new.test revoked"));
    assert!(!page.contains("<td>r@new.test</td>"), "no longer pending");
    let res = app.post_form(&app.client, MEMBERS, &revoke, &[]).await;
    assert_eq!(res.status(), 404, "revoked already");

    let res = app.get(&client(), &link(&revoked)).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("withdrawn"));

    assert_eq!(app.get(&client(), &link(&expiring)).await.status(), 200);
    app.clock.advance(Duration::from_secs(7 * 24 * 3600 + 60));
    let res = app.get(&client(), &link(&expiring)).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("expired"));
    let page = app.get(&app.client, MEMBERS).await.text().await.unwrap();
    assert!(
        !page.contains("<td>e@new.test</td>"),
        "expired ones are not pending"
    );

    let users_before = user_count(&app).await;
    let anyone = client();
    for token in [&revoked, &expiring] {
        let res = app
            .post_form(
                &anyone,
                "/login",
                "/invitations/sign-up",
                &[
                    ("token", token),
                    ("name", "Eve"),
                    ("password", NEW_PASSWORD),
                    ("confirm_password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), 410);
    }
    for bad in ["nope", "", &"A".repeat(43)] {
        let res = app.get(&anyone, &format!("/invitations?token={bad}")).await;
        assert_eq!(res.status(), 404, "{bad}");
    }
    assert_eq!(app.get(&anyone, "/invitations").await.status(), 404);
    assert_eq!(user_count(&app).await, users_before, "nothing written");
    assert_eq!(app.audit_count("invitation.accepted").await, 0);
    assert_eq!(app.audit_count("invitation.revoked").await, 1);
}

#[tokio::test]
async fn support_accounts_never_join() {
    let app = seeded().await;
    app.create_user("sam@support.test", true).await;
    let (status, _, token) = invite(&app, "sam@support.test", "admin").await;
    assert_eq!(status, 201, "the admin is told nothing about the account");
    let sam = client();
    let res = app
        .post_form(
            &sam,
            &link(&token),
            "/invitations/log-in",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    assert!(body.contains("support account"), "{body}");
    assert!(!is_member(&app, "sam@support.test").await);
    assert_eq!(app.audit_count("invitation.accepted").await, 0);
    // Nothing was used up: the link is still open (and still refused).
    assert_eq!(app.get(&sam, &link(&token)).await.status(), 200);
}

#[tokio::test]
async fn an_email_already_a_member_is_told_so_at_accept() {
    let app = seeded().await;
    let (status, _, token) = invite(&app, "admin@acme.test", "member").await;
    assert_eq!(status, 201);
    let res = app
        .post_form(
            &app.client,
            &link(&token),
            "/invitations/accept",
            &[("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("already a member"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accepts_of_one_link_make_one_membership() {
    let app = seeded().await;
    app.create_user("bob@other.test", false).await;
    let (_, _, token) = invite(&app, "bob@other.test", "member").await;
    let (one, two) = (client(), client());
    app.login(&one, "bob@other.test", PASSWORD).await;
    app.login(&two, "bob@other.test", PASSWORD).await;
    let csrf_one = app.csrf(&one, &link(&token)).await;
    let csrf_two = app.csrf(&two, &link(&token)).await;
    let post = |c: &reqwest::Client, csrf: &str| {
        c.post(app.url("/invitations/accept"))
            .form(&[("token", token.as_str()), ("csrf_token", csrf)])
            .send()
    };
    let (a, b) = tokio::join!(post(&one, &csrf_one), post(&two, &csrf_two));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 410]);
    let mut conn = app.db().await;
    let n: i64 = memberships::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2, "the admin and bob, once");
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
}

#[tokio::test]
async fn the_trail_tells_invitations_and_role_changes_in_words() {
    let app = seeded().await;
    let (_, _, token) = invite(&app, "nina@new.test", "admin").await;
    let nina = client();
    let res = app
        .post_form(
            &nina,
            &link(&token),
            "/invitations/sign-up",
            &[
                ("token", &token),
                ("name", "Nina"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let mut conn = app.db().await;
    let nina_id: i64 = users::table
        .filter(users::email.eq("nina@new.test"))
        .select(users::id)
        .first(&mut conn)
        .await
        .unwrap();
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{nina_id}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.get(&nina, INSIGHTS).await.status(),
        303,
        "demoted ⇒ signed out"
    );
    let audit = app
        .get(&app.client, "/orgs/acme/settings/ai/audit")
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Invitation created for",
        "joined the org",
        "Changed the role of",
        "out everywhere (sessions revoked)",
    ] {
        assert!(audit.contains(text), "{text} in the Audit tab");
    }
    assert!(!audit.contains(&token) && !trail(&app).await.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sign_ups_on_one_link_make_one_account() {
    let app = seeded().await;
    let (_, _, token) = invite(&app, "nina@new.test", "member").await;
    let (one, two) = (client(), client());
    let csrf_one = app.csrf(&one, &link(&token)).await;
    let csrf_two = app.csrf(&two, &link(&token)).await;
    let post = |c: &reqwest::Client, csrf: &str, name: &str| {
        c.post(app.url("/invitations/sign-up"))
            .form(&[
                ("token", token.as_str()),
                ("name", name),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
                ("csrf_token", csrf),
            ])
            .send()
    };
    let (a, b) = tokio::join!(post(&one, &csrf_one, "One"), post(&two, &csrf_two, "Two"));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert!(
        statuses == [303, 409] || statuses == [303, 410],
        "one account, the other refused: {statuses:?}"
    );
    let mut conn = app.db().await;
    let n: i64 = users::table
        .filter(users::email.eq("nina@new.test"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(app.audit_count("invitation.accepted").await, 1);
}
