//! The MCP tools for what REST has beyond providers and settings (catalog, skills, audit
//! events), and the vocabulary MCP shares with REST (`secretId`, `removeKey`), over real
//! HTTP on loopback with the same tokens and scopes.

use serde_json::{Value, json};
use switchboard::ops::Scope;

use super::{
    all_scopes, app_with_org,
    mcp::{Mcp, assert_no_canary, bodies, counts, create_args},
    token,
};
use crate::provider_ops::{GOOD_KEY, anthropic_mock};

#[tokio::test]
async fn the_catalog_skills_and_audit_tools_answer_as_rest_does() {
    let (app, org, ada, _) = app_with_org().await;
    let seen = bodies();
    let mcp = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );

    // The catalog names config fields as create-ai-provider takes them.
    let catalog = mcp.ok("get-catalog", json!({})).await;
    let kinds = catalog["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 10);
    let field_names = |slug: &str| -> Vec<String> {
        kinds.iter().find(|k| k["slug"] == slug).unwrap()["extraFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(field_names("azure"), ["deployment", "apiVersion"]);
    assert!(field_names("ollama").contains(&"supportsTools".to_owned()));
    let rest: Value = super::http()
        .get(app.url("/api/v1/catalog"))
        .bearer_auth(mcp.token.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(without_nulls(rest), catalog, "one catalog, one shape");

    // Skills: create, get, update (stale version refused), switch, delete.
    let created = mcp
        .ok(
            "create-skill",
            json!({"name": "Terse", "instructions": "Answer in one sentence."}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["enabled"], true);
    assert_eq!(created["description"], "");
    let got = mcp.ok("get-skill", json!({"id": id})).await;
    assert_eq!(got["instructions"], "Answer in one sentence.");
    let listed = mcp.ok("list-skills", json!({})).await;
    assert_eq!(listed["skills"][0]["instructionsChars"], 23);
    let taken = mcp
        .call(
            "create-skill",
            json!({"name": "terse", "instructions": "x"}),
        )
        .await
        .unwrap_err();
    // A name another skill has: 409, as in REST.
    assert_eq!(taken["error"]["status"], 409, "{taken}");
    assert_eq!(taken["error"]["code"], "conflict", "{taken}");
    let version = mcp.ok("get-skill", json!({"id": id})).await["lockVersion"].clone();
    assert!(
        version.is_null(),
        "SkillJson has no lockVersion: REST keeps it in the ETag"
    );
    let updated = mcp
        .ok(
            "update-skill",
            json!({"id": id, "description": "Short answers"}),
        )
        .await;
    assert_eq!(updated["description"], "Short answers");
    assert_eq!(updated["instructions"], "Answer in one sentence.", "kept");
    let stale = mcp
        .call(
            "update-skill",
            json!({"id": id, "lockVersion": 0, "name": "X"}),
        )
        .await
        .unwrap_err();
    assert_eq!(stale["error"]["code"], "conflict", "{stale}");
    let off = mcp
        .ok("update-skill", json!({"id": id, "enabled": false}))
        .await;
    assert_eq!(off["enabled"], false);
    let bad = mcp
        .call("create-skill", json!({"name": "", "instructions": "x"}))
        .await
        .unwrap_err();
    assert_eq!(bad["error"]["status"], 400, "{bad}");
    let deleted = mcp.ok("delete-skill", json!({"id": id})).await;
    assert_eq!(deleted, json!({"id": id, "deleted": true}));
    let gone = mcp.call("get-skill", json!({"id": id})).await.unwrap_err();
    assert_eq!(gone["error"]["code"], "not_found");

    // Audit events, paged newest first; the cursor walks to the end.
    let first = mcp.ok("list-audit-events", json!({"limit": 2})).await;
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "skill.deleted");
    assert_eq!(events[0]["actor"]["kind"], "token");
    assert!(events[0].get("after").is_none(), "left out, not null");
    let cursor = first["nextCursor"].as_str().unwrap();
    let mut actions: Vec<String> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = Some(cursor.to_owned());
    while let Some(c) = cursor {
        let page = mcp
            .ok("list-audit-events", json!({"limit": 2, "cursor": c}))
            .await;
        for e in page["events"].as_array().unwrap() {
            actions.push(e["action"].as_str().unwrap().to_owned());
        }
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("skill.")).count(),
        4,
        "{actions:?}"
    );
    let only = mcp
        .ok(
            "list-audit-events",
            json!({"family": "skills", "limit": 200}),
        )
        .await;
    assert_eq!(only["events"].as_array().unwrap().len(), 4);
    for bad in [
        json!({"limit": 0}),
        json!({"limit": 201}),
        json!({"family": "nope"}),
    ] {
        let err = mcp
            .call("list-audit-events", bad.clone())
            .await
            .unwrap_err();
        assert_eq!(err["error"]["status"], 400, "{bad}: {err}");
    }

    // Without the scopes: errors naming them, nothing written.
    let reader = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &[Scope::SkillsList], None).await),
        seen,
    );
    let before = counts(&app).await;
    for (tool, args, scope) in [
        (
            "create-skill",
            json!({"name": "A", "instructions": "b"}),
            "skills:create",
        ),
        ("get-skill", json!({"id": "skl_x"}), "skills:get"),
        ("delete-skill", json!({"id": "skl_x"}), "skills:delete"),
        ("list-audit-events", json!({}), "audit:read"),
    ] {
        let err = reader.call(tool, args).await.unwrap_err();
        assert_eq!(err["error"]["status"], 403, "{tool}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(scope),
            "{tool}: {err}"
        );
    }
    assert_eq!(counts(&app).await, before);
    assert_no_canary(seen);
}

#[tokio::test]
async fn providers_share_a_key_by_secret_id_and_remove_it_as_rest_does() {
    let (app, org, ada, _) = app_with_org().await;
    let server = anthropic_mock().await;
    let seen = bodies();
    let mcp = Mcp::new(
        &app,
        Some(&token(&app, &org, &ada, &all_scopes(), None).await),
        seen,
    );
    let first = mcp
        .ok("create-ai-provider", create_args(&server, "First"))
        .await;
    let secret = first["secretId"].as_str().unwrap().to_owned();
    let mut args = create_args(&server, "Second");
    args.as_object_mut().unwrap().remove("apiKey");
    args["secretId"] = json!(secret);
    let second = mcp.ok("create-ai-provider", args.clone()).await;
    assert_eq!(second["secretId"], secret.as_str());
    assert_eq!(second["keySet"], true);
    args["name"] = json!("Third");
    args["apiKey"] = json!(GOOD_KEY);
    let both = mcp.call("create-ai-provider", args).await.unwrap_err();
    assert_eq!(both["error"]["status"], 400, "{both}");
    let mut linked = create_args(&server, "Fourth");
    linked.as_object_mut().unwrap().remove("apiKey");
    linked["linkKeyFrom"] = first["id"].clone();
    let err = mcp.call("create-ai-provider", linked).await.unwrap_err();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `linkKeyFrom`"),
        "{err}"
    );

    // removeKey is a change of its own.
    let id = second["id"].as_str().unwrap();
    let mixed = mcp
        .call(
            "update-ai-provider",
            json!({"id": id, "removeKey": true, "name": "X"}),
        )
        .await
        .unwrap_err();
    assert_eq!(mixed["error"]["status"], 422, "{mixed}");
    let removed = mcp
        .ok("update-ai-provider", json!({"id": id, "removeKey": true}))
        .await;
    assert_eq!(removed["keySet"], false);
    assert!(removed.get("secretId").is_none());
    let kept = mcp.ok("get-ai-provider", json!({"id": first["id"]})).await;
    assert_eq!(
        kept["secretId"],
        secret.as_str(),
        "the other still holds it"
    );
    assert_no_canary(seen);
}

/// `value` with its `null` members left out (MCP's spelling of an absent value).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
