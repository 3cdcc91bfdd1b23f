//! Skills through `/api/v1/orgs/{org}/skills`: create (201, Location, ETag), list, get,
//! partial PATCH with and without `If-Match`, DELETE; 412 on a stale `If-Match`, 400s for
//! bad input with nothing written, and each change audited once.

use crate::api::traffic::SendChecked as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::ops::Scope;

use super::{all_scopes, app_with_org, http, token};
use crate::helpers::TestApp;

const SKILLS: &str = "/api/v1/orgs/acme/skills";

async fn send(
    app: &TestApp,
    t: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut req = http().request(method, app.url(path)).bearer_auth(t);
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send_checked().await.unwrap()
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

async fn skill_rows(app: &TestApp) -> i64 {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    let mut conn = app.db().await;
    switchboard::db::schema::skills::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn skills_are_created_read_patched_and_deleted_with_etags() {
    let (app, org, ada, _) = app_with_org().await;
    let t = token(&app, &org, &ada, &all_scopes(), None).await;
    use reqwest::Method as M;

    let created = send(
        &app,
        &t,
        M::POST,
        SKILLS,
        Some(
            json!({"name": "Tone", "description": "How we write", "instructions": "Be **brief**."}),
        ),
        None,
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let tag = etag(&created);
    assert_eq!(tag, "\"v0\"");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{SKILLS}/{id}"));
    assert_eq!(body["enabled"], true, "enabled by default");
    assert_eq!(body["instructions"], "Be **brief**.");

    let got = send(&app, &t, M::GET, &location, None, None).await;
    assert_eq!(got.status(), 200);
    assert_eq!(etag(&got), tag);
    let list: Value = send(&app, &t, M::GET, SKILLS, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["skills"][0]["name"], "Tone");
    assert_eq!(list["skills"][0]["instructionsChars"], 13);
    assert!(list["skills"][0].get("instructions").is_none());

    // Partial: only the description changes; the rest is kept.
    let patched = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"description": "House style"})),
        Some(&tag),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let new_tag = etag(&patched);
    assert_eq!(new_tag, "\"v1\"");
    let body: Value = patched.json().await.unwrap();
    assert_eq!(
        (&body["name"], &body["description"], &body["instructions"]),
        (
            &json!("Tone"),
            &json!("House style"),
            &json!("Be **brief**.")
        )
    );

    // The old ETag is stale now: 412, nothing written.
    let stale = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"name": "Voice"})),
        Some(&tag),
    )
    .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["error"]["code"], "precondition_failed");
    let gone = send(&app, &t, M::DELETE, &location, None, Some(&tag)).await;
    assert_eq!(gone.status(), StatusCode::PRECONDITION_FAILED);
    let bad_tag = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"name": "Voice"})),
        Some("\"nonsense\""),
    )
    .await;
    assert_eq!(bad_tag.status(), StatusCode::PRECONDITION_FAILED);

    // Without If-Match a PATCH applies to the current version; `enabled` alone is a toggle.
    let off = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"enabled": false})),
        None,
    )
    .await;
    assert_eq!(off.status(), 200);
    assert_eq!(etag(&off), "\"v2\"");
    assert_eq!(off.json::<Value>().await.unwrap()["enabled"], false);

    let deleted = send(&app, &t, M::DELETE, &location, None, Some("\"v2\"")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        send(&app, &t, M::GET, &location, None, None).await.status(),
        404
    );
    assert_eq!(
        send(&app, &t, M::DELETE, &location, None, None)
            .await
            .status(),
        404
    );

    for (action, n) in [
        ("skill.created", 1),
        ("skill.updated", 1),
        ("skill.disabled", 1),
        ("skill.deleted", 1),
    ] {
        assert_eq!(app.audit_count(action).await, n, "{action}");
    }
}

#[tokio::test]
async fn bad_skill_input_is_a_400_and_writes_nothing() {
    let (app, org, ada, mia) = app_with_org().await;
    let t = token(&app, &org, &ada, &all_scopes(), None).await;
    use reqwest::Method as M;
    let first = send(
        &app,
        &t,
        M::POST,
        SKILLS,
        Some(json!({"name": "Tone", "instructions": "Be brief."})),
        None,
    )
    .await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();

    // A name another skill has (any case) is the org's state, not the body's form: 409.
    let taken = send(
        &app,
        &t,
        M::POST,
        SKILLS,
        Some(json!({"name": "tone", "instructions": "x"})),
        None,
    )
    .await;
    assert_eq!(taken.status(), 409);
    let err: Value = taken.json().await.unwrap();
    assert_eq!(err["error"]["code"], "conflict");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already called tone"),
        "{err}"
    );
    for (body, field) in [
        (json!({"name": "  ", "instructions": "x"}), "name"),
        (json!({"name": "A", "instructions": "   "}), "instructions"),
        (
            json!({"name": "A", "instructions": "x".repeat(20_001)}),
            "20000",
        ),
        (
            json!({"name": "A", "instructions": "x", "owner": 1}),
            "owner",
        ),
        (json!({"name": 5, "instructions": "x"}), "invalid"),
        (json!({"instructions": "x"}), "name"),
    ] {
        let res = send(&app, &t, M::POST, SKILLS, Some(body.clone()), None).await;
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "validation");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    // Renaming onto another skill's name (any case) is refused too.
    send(
        &app,
        &t,
        M::POST,
        SKILLS,
        Some(json!({"name": "Format", "instructions": "Lists."})),
        None,
    )
    .await;
    let clash = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"name": "FORMAT"})),
        None,
    )
    .await;
    assert_eq!(clash.status(), 409);
    let unknown = send(
        &app,
        &t,
        M::PATCH,
        &location,
        Some(json!({"lockVersion": 3})),
        None,
    )
    .await;
    assert_eq!(unknown.status(), 400);
    let text = http()
        .post(app.url(SKILLS))
        .bearer_auth(&t)
        .header("content-type", "text/plain")
        .body("name=x")
        .send_checked()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    assert_eq!(skill_rows(&app).await, 2);
    assert_eq!(app.audit_count("skill.updated").await, 0);

    // A member's token reads, never writes.
    let member = token(
        &app,
        &org,
        &mia,
        &[Scope::SkillsList, Scope::SkillsGet],
        None,
    )
    .await;
    assert_eq!(
        send(&app, &member, M::GET, SKILLS, None, None)
            .await
            .status(),
        200
    );
    let refused = send(
        &app,
        &member,
        M::PATCH,
        &location,
        Some(json!({"enabled": false})),
        None,
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        send(&app, &member, M::DELETE, &location, None, None)
            .await
            .status(),
        403
    );
    assert_eq!(skill_rows(&app).await, 2);
}
