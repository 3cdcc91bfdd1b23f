//! The members page: admins change roles and remove members; the last admin stays; every
//! change is audited; removal revokes the member's sessions, a promotion doesn't.

use switchboard::models::membership::Role;

use crate::helpers::{INSIGHTS, PASSWORD, TestApp, client, location};

const MEMBERS: &str = "/orgs/acme/settings/members";

#[tokio::test]
async fn admins_promote_demote_and_remove_members() {
    let app = TestApp::spawn().await;
    let admin = app.create_user("admin@acme.test", false).await;
    let bob = app.create_user("bob@acme.test", false).await;
    app.create_org("acme", &[(&admin, Role::Admin), (&bob, Role::Member)])
        .await;
    app.login(&app.client, "admin@acme.test", PASSWORD).await;

    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/role", bob.id),
            &[("role", "owner")],
        )
        .await;
    assert_eq!(res.status(), 400, "unknown role");

    // Bob logs in as a member, then is promoted: his session stays, with the new rights.
    let bobs = client();
    assert_eq!(
        app.login(&bobs, "bob@acme.test", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.get(&bobs, INSIGHTS).await.status(), 200);
    let role_url = format!("{MEMBERS}/{}/role", bob.id);
    let res = app
        .post_form(&app.client, MEMBERS, &role_url, &[("role", "admin")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), MEMBERS);
    let page = app.get(&bobs, INSIGHTS).await.text().await.unwrap();
    assert!(
        page.contains("Turn insights on"),
        "bob is admin now, same session"
    );

    // Now two admins: the first may step down... but not the last one.
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/remove", bob.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/role", admin.id),
            &[("role", "member")],
        )
        .await;
    assert_eq!(res.status(), 409, "the last admin cannot be demoted");
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/remove", admin.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 409, "the last admin cannot be removed");
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/999999/remove",),
            &[],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .post_form(&app.client, MEMBERS, &format!("{MEMBERS}/abc/remove"), &[])
        .await;
    assert_eq!(res.status(), 404);

    assert_eq!(app.audit_count("member.role_changed").await, 1);
    assert_eq!(app.audit_count("member.removed").await, 1);
    assert_eq!(app.audit_count("session.revoked").await, 1, "removal only");
    assert_eq!(
        app.get(&bobs, INSIGHTS).await.status(),
        303,
        "removed ⇒ revoked"
    );
}

#[tokio::test]
async fn members_of_another_org_cannot_be_changed_from_this_one() {
    let app = TestApp::spawn().await;
    app.seed_and_login_admin().await;
    let other_admin = app.create_user("olga@other.test", false).await;
    app.create_org("other", &[(&other_admin, Role::Admin)])
        .await;
    let res = app
        .post_form(
            &app.client,
            MEMBERS,
            &format!("{MEMBERS}/{}/remove", other_admin.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.audit_count("member.removed").await, 0);
}
