//! Bad bodies on the write endpoints (`POST …/providers`, `PATCH …/ai-settings`):
//! malformed JSON, wrong types, unknown fields, an oversized body, a wrong or missing
//! content type ⇒ 400/413/415 with the error JSON, nothing written, never a 500 — and a key
//! sent in the wrong place never comes back in the error.

use reqwest::Method;
use serde_json::json;

use super::{
    all_scopes, app_with_org,
    providers::{Recorder, counts},
    token,
};
use crate::provider_ops::{GOOD_KEY, anthropic_mock};

/// (what, content type, body, expected status, expected code)
type Case = (
    &'static str,
    Option<&'static str>,
    String,
    u16,
    &'static str,
);

fn cases(valid: &serde_json::Value, big_field: &str, wrong_type: serde_json::Value) -> Vec<Case> {
    let json = Some("application/json");
    let mut oversized = valid.clone();
    oversized[big_field] = json!("x".repeat(70 * 1024));
    vec![
        (
            "malformed",
            json,
            "{\"name\": ".to_owned(),
            400,
            "validation",
        ),
        (
            "not an object",
            json,
            "[1, 2]".to_owned(),
            400,
            "validation",
        ),
        (
            "wrong type",
            json,
            wrong_type.to_string(),
            400,
            "validation",
        ),
        (
            "unknown field",
            json,
            {
                let mut v = valid.clone();
                v["colour"] = json!("blue");
                v.to_string()
            },
            400,
            "validation",
        ),
        ("over 64 KiB", json, oversized.to_string(), 413, "too_large"),
        (
            "text/plain",
            Some("text/plain"),
            valid.to_string(),
            415,
            "unsupported_media_type",
        ),
        (
            "form",
            Some("application/x-www-form-urlencoded"),
            "name=x".to_owned(),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            None,
            valid.to_string(),
            415,
            "unsupported_media_type",
        ),
    ]
}

async fn run(
    app: &crate::helpers::TestApp,
    api: &mut Recorder,
    token: &str,
    method: Method,
    path: &str,
    cases: Vec<Case>,
) {
    for (what, content_type, body, status, code) in cases {
        let before = counts(app).await;
        let mut req = api.req(method.clone(), path, Some(token)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = api.send(req).await;
        assert_eq!(
            res.status.as_u16(),
            status,
            "{method} {path} {what}: {}",
            res.body
        );
        assert_eq!(res.error_code(), code, "{method} {path} {what}");
        assert_eq!(
            counts(app).await,
            before,
            "{method} {path} {what}: nothing written"
        );
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_with_the_error_json_and_write_nothing() {
    let (app, org, ada, _) = app_with_org().await;
    let mock = anthropic_mock().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);

    let provider = json!({
        "provider": "anthropic",
        "name": "Claude",
        "defaultModel": "claude-sonnet-4-20250514",
        "baseUrl": mock.uri(),
        "apiKey": GOOD_KEY,
    });
    let mut wrong = provider.clone();
    wrong["saveUnverified"] = json!("yes");
    run(
        &app,
        &mut api,
        &admin,
        Method::POST,
        "/providers",
        cases(&provider, "name", wrong),
    )
    .await;

    let settings = json!({"routingPolicy": "strict", "insightsEnabled": true});
    run(
        &app,
        &mut api,
        &admin,
        Method::PATCH,
        "/ai-settings",
        cases(&settings, "routingPolicy", json!({"insightsEnabled": "on"})),
    )
    .await;

    // Values the body can't carry: null for a field that can't be cleared, an unknown kind
    // or policy — 400, nothing written.
    for (path, method, body) in [
        (
            "/ai-settings",
            Method::PATCH,
            json!({"insightsEnabled": null}),
        ),
        (
            "/ai-settings",
            Method::PATCH,
            json!({"routingPolicy": "lenient"}),
        ),
        ("/providers", Method::POST, {
            let mut v = provider.clone();
            v["provider"] = json!("openia");
            v
        }),
        ("/providers", Method::POST, {
            let mut v = provider.clone();
            v["config"] = json!({"temperature": 1});
            v
        }),
    ] {
        let before = counts(&app).await;
        let res = api
            .call(method.clone(), path, &admin, Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{method} {path} {body}: {}", res.body);
        assert_eq!(res.error_code(), "validation");
        assert_eq!(counts(&app).await, before);
    }
    // What the kind refuses of well-formed fields — no key for a kind that needs one, a key
    // without the kind's prefix — is 422 (the document can't say it per kind), nothing
    // written.
    for key in ["", "sk-proj-not-an-anthropic-key"] {
        let mut body = provider.clone();
        body["apiKey"] = json!(key);
        let before = counts(&app).await;
        let res = api
            .call(Method::POST, "/providers", &admin, Some(body))
            .await;
        assert_eq!(res.status, 422, "{key:?}: {}", res.body);
        assert_eq!(res.error_code(), "unprocessable");
        assert_eq!(counts(&app).await, before);
    }

    // The endpoints still work after all that.
    let ok = api
        .call(Method::POST, "/providers", &admin, Some(provider))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    // A partial update can't null what can't be absent.
    let path = format!("/providers/{}", ok.body["id"].as_str().unwrap());
    for body in [
        json!({"name": null}),
        json!({"apiKey": null}),
        json!({"provider": null}),
        json!({"name": 7}),
    ] {
        let before = counts(&app).await;
        let res = api
            .call(Method::PATCH, &path, &admin, Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert_eq!(res.error_code(), "validation");
        assert_eq!(counts(&app).await, before);
    }
    let unchanged = api.call(Method::GET, &path, &admin, None).await;
    assert_eq!(unchanged.body["name"], "Claude");
    api.assert_never_saw(GOOD_KEY);
}

#[tokio::test]
async fn a_key_sent_in_the_wrong_field_is_not_echoed_in_the_error() {
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let mut api = Recorder::new(&app);
    let base = json!({"provider": "anthropic", "name": "Claude", "defaultModel": "m"});
    let mut bodies = Vec::new();
    for field in ["saveUnverified", "provider", "config"] {
        let mut v = base.clone();
        v[field] = json!(GOOD_KEY);
        bodies.push(("/providers", Method::POST, v));
    }
    let mut nested = base.clone();
    nested["config"] = json!({"supportsTools": GOOD_KEY});
    bodies.push(("/providers", Method::POST, nested));
    for field in ["routingPolicy", "insightsEnabled"] {
        bodies.push(("/ai-settings", Method::PATCH, json!({ field: GOOD_KEY })));
    }
    for (path, method, body) in bodies {
        let before = counts(&app).await;
        let res = api
            .call(method.clone(), path, &admin, Some(body.clone()))
            .await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert_eq!(res.error_code(), "validation");
        assert_eq!(counts(&app).await, before);
    }
    api.assert_never_saw(GOOD_KEY);
    api.assert_never_saw("CANARY");
}
