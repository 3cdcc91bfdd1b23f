//! The OpenAPI 3.1 document: it validates (openapi-spec-validator, from PyPI), it documents
//! exactly the routes of the table below (every route documented, nothing documented that
//! does not exist), every documented route answers, and no other method answers on its path.

use crate::api::traffic::SendChecked as _;
use std::collections::BTreeSet;

use serde_json::Value;
use switchboard::ops::Scope;

use super::{all_scopes, app_with_org, http, schemathesis::python_tools, token};

/// The API's route table, written out by hand from DESIGN.md "REST API".
const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/catalog"),
    ("get", "/api/v1/orgs/{org}/providers"),
    ("post", "/api/v1/orgs/{org}/providers"),
    ("get", "/api/v1/orgs/{org}/providers/{id}"),
    ("patch", "/api/v1/orgs/{org}/providers/{id}"),
    ("delete", "/api/v1/orgs/{org}/providers/{id}"),
    ("post", "/api/v1/orgs/{org}/providers/{id}/test"),
    ("post", "/api/v1/orgs/{org}/providers/{id}/activate"),
    ("get", "/api/v1/orgs/{org}/providers/{id}/models"),
    ("post", "/api/v1/orgs/{org}/providers/deactivate"),
    ("get", "/api/v1/orgs/{org}/ai-settings"),
    ("patch", "/api/v1/orgs/{org}/ai-settings"),
    ("put", "/api/v1/orgs/{org}/ai-settings/features/{feature}"),
    (
        "delete",
        "/api/v1/orgs/{org}/ai-settings/features/{feature}",
    ),
    ("get", "/api/v1/orgs/{org}/skills"),
    ("post", "/api/v1/orgs/{org}/skills"),
    ("get", "/api/v1/orgs/{org}/skills/{id}"),
    ("patch", "/api/v1/orgs/{org}/skills/{id}"),
    ("delete", "/api/v1/orgs/{org}/skills/{id}"),
    ("get", "/api/v1/orgs/{org}/audit-events"),
    ("get", "/api/v1/orgs/{org}/ai/route"),
    ("post", "/api/v1/orgs/{org}/ai/outcomes"),
    // The relay, outside /api/v1 (`{path}` is the provider's own path).
    ("get", "/relay/orgs/{org}/features/{feature}/{path}"),
    ("post", "/relay/orgs/{org}/features/{feature}/{path}"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Whether `concrete` is an instance of `template` (`{…}` matches one segment).
fn fits(template: &str, concrete: &str) -> bool {
    let (t, c): (Vec<_>, Vec<_>) = (template.split('/').collect(), concrete.split('/').collect());
    t.len() == c.len()
        && t.iter()
            .zip(&c)
            .all(|(t, c)| t == c || (t.starts_with('{') && t.ends_with('}')))
}

async fn document(app: &crate::helpers::TestApp) -> Value {
    let res = http()
        .get(app.url("/api/v1/openapi.json"))
        .send_checked()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_document_validates_and_matches_the_route_table() {
    let (app, org, ada, _) = app_with_org().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = tokio::process::Command::new(python_tools().await.join("bin/openapi-spec-validator"))
        .arg(&file)
        .output()
        .await
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "the document does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_string(), path.clone()))
        })
        .collect();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let undocumented: Vec<_> = table.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&table).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented but not in the route table: {unknown:?}"
    );

    // Every operation: a tag, responses with their error bodies, and scopes as security.
    for (method, path) in &table {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}: no success"
        );
        if path.contains("{org}") {
            let security = op["security"].as_array().expect("security");
            let scopes: Vec<&str> = security
                .iter()
                .filter_map(|s| s.get("bearer"))
                .flat_map(|s| s.as_array().unwrap().iter().filter_map(Value::as_str))
                .collect();
            // A scope from the vocabulary (PATCH needs the read scope too, so some list two).
            assert!(!scopes.is_empty(), "{method} {path}: no scope");
            for scope in scopes {
                assert!(Scope::parse(scope).is_some(), "{method} {path}: {scope}");
            }
            for status in ["401", "403", "404", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
            // The shared answers, not a copy of them in each operation.
            for (status, shared) in [
                ("401", "Unauthenticated"),
                ("403", "Forbidden"),
                ("404", "NotFound"),
            ] {
                assert_eq!(
                    responses[status]["$ref"],
                    format!("#/components/responses/{shared}"),
                    "{method} {path}"
                );
            }
            // The relay passes any body on to the provider: no 415 of its own.
            if op.get("requestBody").is_some() && !path.starts_with("/relay/") {
                assert_eq!(
                    responses["415"]["$ref"], "#/components/responses/UnsupportedMediaType",
                    "{method} {path}"
                );
            }
        }
        assert_eq!(
            responses["429"]["$ref"], "#/components/responses/TooManyRequests",
            "{method} {path}"
        );
        // Headers are strings (never `null`): openapi-core validates requests by them.
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "header" {
                assert_eq!(p["schema"]["type"], "string", "{p}");
            }
            if p["name"] == "If-Match" {
                assert!(p["schema"]["pattern"].is_string(), "{p}");
            }
        }
    }
    // As strict as the server, and a create links to what follows it.
    let route = &doc["paths"]["/api/v1/orgs/{org}/ai/route"]["get"]["parameters"];
    let feature = route
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "feature")
        .unwrap();
    assert_eq!(
        feature["schema"]["enum"].as_array().unwrap().len(),
        9,
        "{feature}"
    );
    let audit = &doc["paths"]["/api/v1/orgs/{org}/audit-events"]["get"]["parameters"];
    let limit = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(limit["schema"]["maximum"], 200, "{limit}");
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("NewProvider", "name"),
        ("NewProvider", "defaultModel"),
        ("ProviderPatch", "name"),
        ("NewSkillJson", "name"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["minLength"], 1,
            "{schema}.{field}"
        );
    }
    for (path, record) in [
        ("/api/v1/orgs/{org}/providers", "provider"),
        ("/api/v1/orgs/{org}/skills", "skill"),
    ] {
        let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
        for verb in ["get", "update", "delete"] {
            let link = &links[format!("{verb}_{record}")];
            let op = link["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: {links}"));
            let target = doc["paths"]
                .as_object()
                .unwrap()
                .values()
                .any(|item| METHODS.iter().any(|m| item[*m]["operationId"] == op));
            assert!(target, "{op} names no operation");
            assert_eq!(link["parameters"]["id"], "$response.body#/id");
        }
    }
    for shared in ["TooManyRequests", "Unavailable"] {
        let r = &doc["components"]["responses"][shared];
        assert!(r["headers"]["Retry-After"].is_object(), "{shared}: {r}");
    }
    let allow = &doc["components"]["responses"]["MethodNotAllowed"];
    assert!(allow["headers"]["Allow"].is_object(), "{allow}");
    // apiKey and secretId are one or the other; strings refuse control characters.
    assert_eq!(
        schemas["NewProvider"]["not"]["required"],
        serde_json::json!(["apiKey", "secretId"])
    );
    assert!(
        schemas["NewSkillJson"]["properties"]["instructions"]["pattern"].is_string(),
        "{}",
        schemas["NewSkillJson"]
    );

    // Every route answers (not "no such endpoint"), and nothing else answers on its paths.
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let c = http();
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        let concrete = path
            .replace("{org}", "acme")
            .replace("{id}", "aip_00000000000000000000000000");
        for method in METHODS {
            let res = c
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body("{}")
                .send_checked()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let allow = res
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            if status == 405 {
                // RFC 9110: a 405 says which methods the path has.
                let allow =
                    allow.unwrap_or_else(|| panic!("{method} {concrete}: 405 without Allow"));
                let listed: Vec<String> = allow.split(", ").map(str::to_lowercase).collect();
                assert!(
                    !listed.contains(&method.to_owned()),
                    "{method} {concrete}: {allow}"
                );
                for m in &listed {
                    assert!(
                        ROUTES.iter().any(|(rm, p)| rm == m && fits(p, &concrete)),
                        "{method} {concrete}: Allow {allow} names {m}"
                    );
                }
            }
            let body: Value = res.json().await.unwrap_or_default();
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let routed =
                !matches!(code.as_str(), "no_endpoint" | "method_not_allowed") && status != 405;
            // In the table under this path or another template it fits
            // (`GET …/providers/deactivate` is `GET …/providers/{id}`).
            let in_table = ROUTES
                .iter()
                .any(|(m, p)| *m == method && fits(p, &concrete));
            assert_eq!(routed, in_table, "{method} {concrete}: {status} {body}");
        }
    }
}
