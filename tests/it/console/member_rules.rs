//! Membership rules under races and changing roles: concurrent adds conflict once (never a
//! 500), the acting admin's role is checked inside the changing transaction, the last-admin
//! rule counts enabled admins, granting a role keeps sessions while demotion ends them, and
//! support staff are never members (refused at creation, reported by `migrate`).

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use switchboard::{
    db::schema::{memberships, users},
    models::{membership::Role, org::Org, user::User},
    ops::{
        Access, Caller, OpError, RequestMeta,
        invitations::{self, CreateInvitation},
        members::{self, AddMember, MembershipChange},
    },
};

use super::cli::switchboard;
use crate::helpers::{INSIGHTS, PASSWORD, TestApp, client};

const MEMBERS: &str = "/orgs/acme/settings/members";

async fn org(app: &TestApp, slug: &str) -> Org {
    let mut conn = app.db().await;
    Org::find_by_slug(&mut conn, slug).await.unwrap().unwrap()
}

async fn role_of(app: &TestApp, user: &User) -> Option<String> {
    use diesel::OptionalExtension as _;
    let mut conn = app.db().await;
    memberships::table
        .filter(memberships::user_id.eq(user.id))
        .select(memberships::role)
        .first(&mut conn)
        .await
        .optional()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_of_one_member_are_one_add_and_one_conflict() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    app.create_org("empty", &[]).await;
    for (slug, n) in [("acme", 8), ("empty", 8)] {
        let operator = Caller::operator(Some(org(&app, slug).await));
        for i in 0..n {
            let email = format!("u{i}-{slug}@acme.test");
            app.create_user(&email, false).await;
            let add = || {
                members::add_member(
                    &app.state,
                    &operator,
                    AddMember {
                        email: email.clone(),
                        role: Role::Member,
                    },
                )
            };
            let (a, b) = tokio::join!(add(), add());
            let conflicts = [&a, &b]
                .iter()
                .filter(|r| matches!(r, Err(OpError::Conflict(_))))
                .count();
            assert!(
                a.is_ok() != b.is_ok() && conflicts == 1,
                "{email}: one add and one conflict, got {a:?} and {b:?}"
            );
        }
    }
    assert_eq!(app.audit_count("member.added").await, 16);
}

#[tokio::test]
async fn an_admin_demoted_meanwhile_is_refused_inside_the_transaction() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    let bo = app.create_user("bo@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    app.create_org(
        "acme",
        &[
            (&ada, Role::Admin),
            (&bo, Role::Admin),
            (&mia, Role::Member),
        ],
    )
    .await;
    let acme = org(&app, "acme").await;
    // Ada's request was let in as an admin; before her change runs, Bo demotes her.
    let ada_caller = Caller::in_org(&ada, acme.clone(), Access::Admin, RequestMeta::default());
    let bo_caller = Caller::in_org(&bo, acme.clone(), Access::Admin, RequestMeta::default());
    members::change_member(
        &app.state,
        &bo_caller,
        ada.id,
        MembershipChange::Role(Role::Member),
    )
    .await
    .unwrap();
    let events_before = app.audit_count("member.role_changed").await;

    for change in [
        MembershipChange::Role(Role::Admin),
        MembershipChange::Remove,
    ] {
        let result = members::change_member(&app.state, &ada_caller, mia.id, change).await;
        assert!(
            result.as_ref().is_err_and(OpError::is_forbidden),
            "{change:?}: {result:?}"
        );
    }
    let invite = CreateInvitation {
        email: "x@new.test".to_owned(),
        role: Role::Admin,
    };
    let result = invitations::create_invitation(&app.state, &ada_caller, invite).await;
    assert!(
        result.as_ref().is_err_and(OpError::is_forbidden),
        "{result:?}"
    );
    assert_eq!(role_of(&app, &mia).await.as_deref(), Some("member"));
    assert_eq!(
        app.audit_count("member.role_changed").await,
        events_before,
        "nothing written"
    );
    assert_eq!(app.audit_count("invitation.created").await, 0);

    // Over HTTP the same: Ada logged in as admin, demoted, then posts ⇒ 403 (the guard
    // re-reads her role per request; the operation re-checks it under lock).
    let res = app.login(&app.client, "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let res = app
        .post_form(
            &app.client,
            INSIGHTS,
            &format!("{MEMBERS}/{}/remove", mia.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_step_down_while_the_other_admin_is_disabled() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    let bo = app.create_user("bo@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin), (&bo, Role::Admin)])
        .await;
    {
        let mut conn = app.db().await;
        User::set_disabled(&mut conn, bo.id, true).await.unwrap();
    }
    let acme = org(&app, "acme").await;
    let ada_caller = Caller::in_org(&ada, acme, Access::Admin, RequestMeta::default());
    for change in [
        MembershipChange::Role(Role::Member),
        MembershipChange::Remove,
    ] {
        let result = members::change_member(&app.state, &ada_caller, ada.id, change).await;
        assert!(
            matches!(result, Err(OpError::Conflict(ref m)) if m.contains("enabled admin")),
            "{change:?}: {result:?}"
        );
    }
    assert_eq!(role_of(&app, &ada).await.as_deref(), Some("admin"));
    // The disabled admin may be demoted: Ada stays.
    let result = members::change_member(
        &app.state,
        &ada_caller,
        bo.id,
        MembershipChange::Role(Role::Member),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn granting_a_role_keeps_sessions_and_demotion_ends_them() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    let bob = app.create_user("bob@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin), (&bob, Role::Member)])
        .await;
    app.login(&app.client, "ada@acme.test", PASSWORD).await;
    let (laptop, phone) = (client(), client());
    app.login(&laptop, "bob@acme.test", PASSWORD).await;
    app.login(&phone, "bob@acme.test", PASSWORD).await;
    let role_url = format!("{MEMBERS}/{}/role", bob.id);

    let res = app
        .post_form(&app.client, MEMBERS, &role_url, &[("role", "admin")])
        .await;
    assert_eq!(res.status(), 303);
    for session in [&laptop, &phone] {
        let page = app.get(session, INSIGHTS).await;
        assert_eq!(page.status(), 200, "promotion keeps every session");
        assert!(page.text().await.unwrap().contains("Turn insights on"));
    }
    assert_eq!(app.audit_count("session.revoked").await, 0);

    let res = app
        .post_form(&app.client, MEMBERS, &role_url, &[("role", "member")])
        .await;
    assert_eq!(res.status(), 303);
    let page = app.get(&app.client, MEMBERS).await.text().await.unwrap();
    assert!(page.contains("they have been signed out everywhere"));
    for session in [&laptop, &phone] {
        assert_eq!(
            app.get(session, INSIGHTS).await.status(),
            303,
            "demotion ends every session"
        );
    }
    assert_eq!(app.audit_count("session.revoked").await, 1);
    assert_eq!(
        app.get(&app.client, INSIGHTS).await.status(),
        200,
        "the acting admin's own session stays"
    );
}

#[tokio::test]
async fn support_staff_and_membership_never_combine() {
    let app = TestApp::spawn().await;
    let ada = app.create_user("ada@acme.test", false).await;
    app.create_org("acme", &[(&ada, Role::Admin)]).await;
    let sam = app.create_user("sam@support.test", true).await;
    let pw = format!("{PASSWORD}\n");

    // `user create --support` for an email that is a member.
    let (code, _, err) = switchboard(
        &app,
        &[
            "user",
            "create",
            "--email",
            "ada@acme.test",
            "--support",
            "--password-stdin",
        ],
        &pw,
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("is a member of acme") && err.contains("support staff are never members"),
        "{err}"
    );
    // `member add` of a support account.
    let (code, _, err) = switchboard(
        &app,
        &[
            "member",
            "add",
            "--org",
            "acme",
            "--email",
            "sam@support.test",
            "--role",
            "member",
        ],
        "",
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("support account"), "{err}");
    assert_eq!(role_of(&app, &sam).await, None);
    let mut conn = app.db().await;
    let ada_support: bool = users::table
        .find(ada.id)
        .select(users::support)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(!ada_support);

    // `migrate` reports the combination where older data holds it.
    let (code, out, err) = switchboard(&app, &["migrate"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("up to date") && !err.contains("warning"),
        "{err}"
    );
    let acme = org(&app, "acme").await;
    switchboard::models::membership::add(&mut conn, acme.id, sam.id, Role::Member)
        .await
        .unwrap();
    let (code, _, err) = switchboard(&app, &["migrate"], "").await;
    assert_eq!(code, 0, "a warning, not a failure");
    assert!(
        err.lines().any(|l| l
            .starts_with("warning: sam@support.test is a support account and a member of acme")),
        "{err}"
    );
}
