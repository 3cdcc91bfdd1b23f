//! The operation layer called directly, as the API, MCP and jobs will call it: the
//! permission and the audit event come from the operation, not from the transport.

use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use secrecy::SecretString;
use switchboard::{
    db::schema::audit_events,
    models::{membership::Role, org::Org, user::User},
    ops::{
        Access, Caller, OpError, RequestMeta,
        accounts::{self, NewAccount},
        audit,
        insights::{self, InsightsChange, SetInsights},
        members::{self, AddMember, MembershipChange},
        orgs::{self, NewOrgInput},
    },
};

use crate::helpers::TestApp;

/// `acme` with admin `ada`, member `mia` and support `sam` (not a member).
async fn seeded(app: &TestApp) -> (Org, User, User, User) {
    let ada = app.create_user("ada@acme.test", false).await;
    let mia = app.create_user("mia@acme.test", false).await;
    let sam = app.create_user("sam@support.test", true).await;
    app.create_org("acme", &[(&ada, Role::Admin), (&mia, Role::Member)])
        .await;
    let mut conn = app.db().await;
    let org = Org::find_by_slug(&mut conn, "acme").await.unwrap().unwrap();
    (org, ada, mia, sam)
}

fn meta() -> RequestMeta {
    RequestMeta {
        request_id: Some("req-ops-test".to_owned()),
        // Only a string in the trail: nothing is sent anywhere.
        ip: Some("192.0.2.7".to_owned()),
    }
}

async fn events(app: &TestApp) -> Vec<(String, String, String, Option<String>, Option<String>)> {
    let mut conn = app.db().await;
    audit_events::table
        .order(audit_events::id.asc())
        .select((
            audit_events::action,
            audit_events::actor_kind,
            audit_events::actor_label,
            audit_events::request_id,
            audit_events::ip,
        ))
        .load(&mut conn)
        .await
        .unwrap()
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, OpError>) {
    assert!(
        result.as_ref().is_err_and(OpError::is_forbidden),
        "expected forbidden, got {result:?}"
    );
}

#[tokio::test]
async fn read_only_callers_are_refused_by_every_writing_operation_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let (org, _ada, mia, sam) = seeded(&app).await;
    let state = &app.state;
    for (user, access) in [(&mia, Access::Member), (&sam, Access::Support)] {
        let caller = Caller::in_org(user, org.clone(), access, meta());
        let on = SetInsights {
            enabled: true,
            lock_version: 0,
        };
        forbidden(insights::set_insights(state, &caller, on).await);
        let add = AddMember {
            email: "mia@acme.test".to_owned(),
            role: Role::Admin,
        };
        forbidden(members::add_member(state, &caller, add).await);
        let promote = MembershipChange::Role(Role::Admin);
        forbidden(members::change_member(state, &caller, mia.id, promote).await);
        forbidden(members::change_member(state, &caller, mia.id, MembershipChange::Remove).await);
        let new_org = NewOrgInput {
            slug: "evil".to_owned(),
            name: "Evil".to_owned(),
        };
        forbidden(orgs::create_org(state, &caller, new_org).await);
        let account = NewAccount {
            email: "new@acme.test".to_owned(),
            name: String::new(),
            support: true,
            password: SecretString::from("a long enough password"),
        };
        forbidden(accounts::create_user(state, &caller, account).await);
        forbidden(accounts::set_disabled(state, &caller, "ada@acme.test", true).await);
    }
    // Members lack `audit:read` and `members:list`; support staff have both.
    let member = Caller::in_org(&mia, org.clone(), Access::Member, meta());
    forbidden(audit::list_events(state, &member, 10).await);
    forbidden(members::list_members(state, &member).await);
    let support = Caller::in_org(&sam, org.clone(), Access::Support, meta());
    assert!(audit::list_events(state, &support, 10).await.is_ok());
    assert!(insights::get_insights(state, &member).await.is_ok());

    assert!(!app.insights_enabled("acme").await);
    assert!(
        events(&app).await.is_empty(),
        "a refused operation writes nothing"
    );
    let mut conn = app.db().await;
    assert!(
        Org::find_by_slug(&mut conn, "evil")
            .await
            .unwrap()
            .is_none()
    );
    let mia_now = User::find(&mut conn, mia.id).await.unwrap().unwrap();
    assert_eq!(
        mia_now.session_epoch, mia.session_epoch,
        "no session revoked"
    );
}

#[tokio::test]
async fn the_audit_event_comes_from_the_operation_with_the_callers_identity() {
    let app = TestApp::spawn().await;
    let (org, ada, mia, _) = seeded(&app).await;
    let admin = Caller::in_org(&ada, org.clone(), Access::Admin, meta());
    let on = SetInsights {
        enabled: true,
        lock_version: 0,
    };
    let saved = insights::set_insights(&app.state, &admin, on)
        .await
        .unwrap();
    assert!(matches!(saved, InsightsChange::Saved(ref s) if s.enabled && s.lock_version == 1));
    // The same stale version again is a conflict, never an overwrite.
    let stale = SetInsights {
        enabled: false,
        lock_version: 0,
    };
    let again = insights::set_insights(&app.state, &admin, stale).await;
    assert!(matches!(again, Err(OpError::Conflict(_))), "{again:?}");

    let promote = MembershipChange::Role(Role::Admin);
    members::change_member(&app.state, &admin, mia.id, promote)
        .await
        .unwrap();
    let operator = Caller::operator(None);
    accounts::set_disabled(&app.state, &operator, "mia@acme.test", true)
        .await
        .unwrap();

    let trail = events(&app).await;
    let expected = |action: &str, kind: &str, label: &str, from_request: bool| {
        let (rid, ip) = match from_request {
            true => (
                Some("req-ops-test".to_owned()),
                Some("192.0.2.7".to_owned()),
            ),
            false => (None, None),
        };
        (
            action.to_owned(),
            kind.to_owned(),
            label.to_owned(),
            rid,
            ip,
        )
    };
    assert_eq!(
        trail,
        vec![
            expected("insights.enabled", "user", "ada@acme.test", true),
            expected("member.role_changed", "user", "ada@acme.test", true),
            expected("user.disabled", "system", "operator", false),
        ]
    );
}
