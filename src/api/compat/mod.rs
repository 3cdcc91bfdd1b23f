//! The seed-compatible surfaces (DESIGN.md "Seed-compatible surfaces"; issue 24 item 1): the
//! APIs that the documents Switchboard was specified from describe for themselves, so a
//! client written from either document works unchanged.
//!
//! - [`ai_providers`]: seed 001's AI Providers Module, `/api/v1/ai-providers…` (camelCase,
//!   `projectId` = the org's slug).
//! - [`llm_providers`]: seed 002's custom LLM providers, `/api/v1/llm-providers…`
//!   (snake_case, `kind`, `key_set`, `last4`).
//!
//! Served only with `SWITCHBOARD_COMPAT_APIS=on` (the routes are not even registered
//! otherwise, so every path answers the API's `no_endpoint` 404), and only to API tokens: a
//! token belongs to one org, which is the org these paths act on. Every handler is a thin
//! translation over the operations the native `/api/v1/orgs/{org}/providers…` endpoints call
//! (`ops::providers`), with the native request types where the field names agree: no rule
//! is decided here twice. docs/DECISIONS.md "Seed-compatible surfaces" lists where a
//! document and DESIGN.md disagreed and which won, and what was decided where a document is
//! silent.

pub mod ai_providers;
pub mod caller;
pub mod llm_providers;

pub use caller::TokenCaller;

use actix_web::web;
use serde_json::{Value, json};
use utoipa::OpenApi as _;

/// The routes of both surfaces, relative to `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(ai_providers::routes)
        .configure(llm_providers::routes);
}

/// Both surfaces' part of the OpenAPI document (added only when they are served).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ai_providers::Doc::openapi();
    doc.merge(llm_providers::Doc::openapi());
    doc
}

/// Seed 001's bodies are the native ones plus `projectId`. utoipa writes such a flattened
/// body as `allOf: [{projectId}, $ref native]`, and the native schema's
/// `additionalProperties: false` then refuses `projectId` in a validator (openapi-core, a
/// generated client) although the server takes it. Each is rewritten here as the one object
/// the server reads: every part's properties and required fields, nothing else allowed.
pub fn flatten_bodies(doc: &mut Value) {
    for name in ["NewAiProvider", "AiProviderPatch"] {
        let Some(parts) = doc["components"]["schemas"][name]["allOf"]
            .as_array()
            .cloned()
        else {
            continue;
        };
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = match part["$ref"].as_str() {
                Some(r) => {
                    let target = r.trim_start_matches("#/components/schemas/");
                    doc["components"]["schemas"][target].clone()
                }
                None => part,
            };
            if let Some(props) = part["properties"].as_object() {
                properties.extend(props.clone());
            }
            if let Some(req) = part["required"].as_array() {
                required.extend(req.iter().cloned());
            }
        }
        let description = doc["components"]["schemas"][name]["description"].clone();
        let mut merged = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            merged["required"] = Value::Array(required);
        }
        if !description.is_null() {
            merged["description"] = description;
        }
        doc["components"]["schemas"][name] = merged;
    }
    // Seed 001 unlinks a provider's key with `secretId: null` (the native `removeKey`).
    let secret = &mut doc["components"]["schemas"]["AiProviderPatch"]["properties"]["secretId"];
    if let Some(kind) = secret.get("type").cloned().filter(Value::is_string) {
        secret["type"] = json!([kind, "null"]);
        secret["description"] = json!(
            "A stored key to use (the id of one of the org's secrets); null unlinks the provider's key."
        );
    }
}

/// `links` on each surface's create, to the operations on the record it made (the new id
/// from the answer's body), so a client can chain the calls.
pub fn add_links(doc: &mut Value) {
    let surfaces: [(&str, &str, &[&str]); 2] = [
        (
            "/api/v1/ai-providers",
            "aiProviderId",
            &[
                "get_ai_provider",
                "update_ai_provider",
                "delete_ai_provider",
            ],
        ),
        (
            "/api/v1/llm-providers",
            "id",
            &[
                "update_llm_provider",
                "delete_llm_provider",
                "activate_llm_provider",
                "test_llm_provider",
            ],
        ),
    ];
    for (path, param, targets) in surfaces {
        let Some(created) = doc["paths"][path]["post"]["responses"].get_mut("201") else {
            continue;
        };
        let links: serde_json::Map<String, Value> = targets
            .iter()
            .map(|op| {
                let link = json!({
                    "operationId": op,
                    "parameters": {param: "$response.body#/id"},
                    "description": "The new provider, by the id in this answer."
                });
                ((*op).to_owned(), link)
            })
            .collect();
        created["links"] = Value::Object(links);
    }
}
