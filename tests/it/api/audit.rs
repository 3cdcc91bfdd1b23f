//! `GET /api/v1/orgs/{org}/audit-events`: keyset pages newest first that cover the trail
//! exactly once, filters, and key previews shown to admins only (support staff see "set").

use crate::api::traffic::SendChecked as _;
use serde_json::Value;
use switchboard::ops::{
    Access, Caller, RequestMeta, Scope,
    providers::{self as ops, KeyInput},
    skills::{self, SkillInput},
};

use super::{app_with_org, http, token};
use crate::{
    helpers::{PASSWORD, TestApp},
    provider_ops::{GOOD_KEY, anthropic, anthropic_mock},
};

const EVENTS: &str = "/api/v1/orgs/acme/audit-events";

/// The shown form of [`GOOD_KEY`]'s preview (`sk-ant-...WXYZ`).
const PREVIEW_TAIL: &str = "...WXYZ";

async fn page(app: &TestApp, req: reqwest::RequestBuilder) -> Value {
    let res = req.send_checked().await.unwrap();
    assert_eq!(res.status(), 200);
    let _ = app;
    res.json().await.unwrap()
}

#[tokio::test]
async fn pages_walk_the_whole_trail_newest_first_exactly_once() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    for i in 0..7 {
        skills::create_skill(
            &app.state,
            &admin,
            SkillInput {
                name: format!("Skill {i}"),
                description: String::new(),
                instructions: "Do it well.".to_owned(),
                enabled: true,
            },
        )
        .await
        .unwrap();
    }
    let t = token(&app, &org, &ada, &[Scope::AuditRead], None).await;
    // 7 skills + the token's creation.
    let total = 8;

    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{EVENTS}?limit=3");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let body = page(&app, http().get(app.url(&url)).bearer_auth(&t)).await;
        pages += 1;
        let events = body["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        for e in events {
            seqs.push(e["seq"].as_i64().unwrap());
            assert!(e["id"].is_i64() && e["occurredAt"].is_string());
        }
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(body["nextCursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seqs.len(), total);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert_eq!(*seqs.last().unwrap(), 1);

    let newest = page(&app, http().get(app.url(EVENTS)).bearer_auth(&t)).await;
    let first = &newest["events"][0];
    assert_eq!(first["action"], "token.created");
    assert_eq!(first["actor"]["kind"], "operator");
    assert_eq!(first["actor"]["label"], "operator");
    let skill = &newest["events"][1];
    assert_eq!(skill["action"], "skill.created");
    assert_eq!(skill["actor"]["kind"], "user");
    assert_eq!(skill["actor"]["label"], "ada@acme.test");
    assert!(skill["target"].as_str().unwrap().starts_with("skill:skl_"));
    assert_eq!(skill["after"]["name"], "Skill 6");
    assert!(skill["before"].is_null());
    assert_eq!(skill["family"], "skills");

    let filtered = page(
        &app,
        http()
            .get(app.url(&format!("{EVENTS}?family=api")))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(filtered["events"].as_array().unwrap().len(), 1);
    for bad in [
        "?cursor=abc",
        "?limit=0",
        "?limit=201",
        "?family=nope",
        "?from=yesterday",
    ] {
        let res = http()
            .get(app.url(&format!("{EVENTS}{bad}")))
            .bearer_auth(&t)
            .send_checked()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn key_previews_reach_admins_only_and_members_may_not_read_the_trail() {
    let (app, org, ada, mia) = app_with_org().await;
    let server = anthropic_mock().await;
    let admin = Caller::in_org(&ada, org.clone(), Access::Admin, RequestMeta::default());
    ops::create_provider(
        &app.state,
        &admin,
        anthropic("Claude", &server, KeyInput::New(GOOD_KEY.to_owned().into())),
    )
    .await
    .unwrap();
    let created = |body: &Value| {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "provider.created")
            .cloned()
            .unwrap()
    };

    let t = token(&app, &org, &ada, &[Scope::AuditRead], None).await;
    let res = http()
        .get(app.url(EVENTS))
        .bearer_auth(&t)
        .send_checked()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains(GOOD_KEY));
    let body: Value = serde_json::from_str(&text).unwrap();
    let key = created(&body)["after"]["key"].as_str().unwrap().to_owned();
    assert!(
        key.ends_with(PREVIEW_TAIL) && key.starts_with("sk-ant-"),
        "{key}"
    );

    // Support staff read the trail (through their session) without previews.
    app.create_user("sam@support.test", true).await;
    let sam = crate::helpers::client();
    assert_eq!(
        app.login(&sam, "sam@support.test", PASSWORD).await.status(),
        303
    );
    let res = sam.get(app.url(EVENTS)).send_checked().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(PREVIEW_TAIL) && !text.contains(GOOD_KEY),
        "{text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created(&body)["after"]["key"], "set");

    // A member's token can't carry audit:read, and a read token of hers is refused.
    let member = token(&app, &org, &mia, &[Scope::AiProvidersList], None).await;
    let res = http()
        .get(app.url(EVENTS))
        .bearer_auth(&member)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.text().await.unwrap().contains(PREVIEW_TAIL));
}
