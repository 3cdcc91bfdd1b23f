//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations. Each endpoint module lists its paths in its own `Doc`; [`document`] merges
//! them. Scopes are the security requirements of each operation.

use actix_web::HttpResponse;
use serde_json::{Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::errors::{self, ErrorBody, ErrorDetail};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("swb_…")
                    .description(Some(
                        "An API token made on the org's Tokens page or with `switchboard token create`. \
                         A personal token's scopes are cut at use time to what its creator may do now; \
                         a service token (kind `service`) belongs to the org and keeps its scopes \
                         (`ai:resolve`, `ai:relay`, and `ai:release` only from an operator on the CLI) \
                         whatever becomes of its creator.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "switchboard_session",
                "The console's session cookie (`__Host-switchboard` over https); unsafe methods also need the `X-CSRF-Token` header.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Choose and configure the LLM provider behind an organisation's AI features. \
                       Every operation is the console's, with the same rules and audit trail.",
        version = "1",
    ),
    paths(serve, super::catalog::get_catalog),
    components(
        schemas(ErrorBody, ErrorDetail),
        responses(
            errors::BadRequest,
            errors::Unauthenticated,
            errors::Forbidden,
            errors::NotFound,
            errors::MethodNotAllowed,
            errors::Conflict,
            errors::PreconditionFailed,
            errors::TooLarge,
            errors::UnsupportedMediaType
        )
    ),
    modifiers(&Security),
    tags(
        (name = "catalog", description = "Provider kinds"),
        (name = "meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// The whole document (without the seed-compatible surfaces).
pub fn document() -> utoipa::openapi::OpenApi {
    use super::{
        ai_route, audit, feature_routes, outcomes, providers, relay_doc, settings, skills,
    };
    let mut doc = ApiDoc::openapi();
    for part in [
        providers::Doc::openapi(),
        settings::Doc::openapi(),
        feature_routes::Doc::openapi(),
        skills::Doc::openapi(),
        audit::Doc::openapi(),
        ai_route::Doc::openapi(),
        outcomes::Doc::openapi(),
        relay_doc::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// The document as a server with `SWITCHBOARD_COMPAT_APIS=on` serves it: [`document`] and
/// the seed-compatible surfaces under their own tags.
pub fn document_with_compat() -> utoipa::openapi::OpenApi {
    let mut doc = document();
    doc.merge(super::compat::openapi());
    doc
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    security(()),
)]
pub async fn serve(state: actix_web::web::Data<crate::state::AppState>) -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static WITH_COMPAT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = match state.config.compat_apis {
        false => DOCUMENT.get_or_init(|| document_json().to_string()),
        true => WITH_COMPAT.get_or_init(|| document_json_with_compat().to_string()),
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}

/// The document as served: [`document`] with what utoipa's annotations can't say finished
/// here, once for every operation (see [`finish`]).
pub fn document_json() -> Value {
    let mut doc = serde_json::to_value(document()).expect("the OpenAPI document serialises");
    finish(&mut doc);
    doc
}

/// [`document_json`] with the seed-compatible surfaces.
pub fn document_json_with_compat() -> Value {
    let mut doc =
        serde_json::to_value(document_with_compat()).expect("the OpenAPI document serialises");
    finish(&mut doc);
    super::compat::add_links(&mut doc);
    super::compat::flatten_bodies(&mut doc);
    doc
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `If-Match` as the server reads it: `*` or one of its own ETags, `"v{lockVersion}"`
/// (weak or not); anything else is a 412.
const IF_MATCH: &str = r#"^(\*|(W/)?"v[0-9]{1,9}")$"#;

/// Text without control characters (`web::edge` refuses them in every query parameter and
/// JSON string: 400).
const SINGLE_LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

/// Multi-line text (`web::edge::MULTI_LINE_FIELDS`): tab, LF and CR allowed too.
const MULTI_LINE: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// A name: single-line, without the invisible characters of `ops::names`, and not blank
/// (names are trimmed, and an empty one is refused).
const NAME: &str = concat!(
    r"^[^\u0000-\u001F\u007F-\u009F\u200B\u202A-\u202E\u2066-\u2069\uFEFF]*",
    r"[^\s\u0000-\u001F\u007F-\u009F\u200B\u202A-\u202E\u2066-\u2069\uFEFF]",
    r"[^\u0000-\u001F\u007F-\u009F\u200B\u202A-\u202E\u2066-\u2069\uFEFF]*$"
);

/// An API key: no whitespace or control characters (`providers::check` refuses them: 400).
/// Whether the kind needs one and which prefix it has are the kind's (`GET
/// /api/v1/catalog`), refused with 422.
const API_KEY: &str = r"^[^\s\u0000-\u001F\u007F-\u009F]*$";

/// A page cursor of the audit trail: a positive event number (`nextCursor`), or empty
/// (absent). At most 18 digits, so it always fits the server's 64-bit integer.
const CURSOR: &str = r"^([1-9][0-9]{0,17})?$";

/// Blank text (a blank `providerId` or `model` of a route is taken as absent).
const BLANK: &str = r"^\s*$";

/// Markdown instructions: multi-line and not blank.
const INSTRUCTIONS: &str = concat!(
    r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*",
    r"[^\s\u0000-\u001F\u007F-\u009F]",
    r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
);

/// The request bodies' schemas, as strict as the server (schemathesis' positive and
/// negative phases hold the document to that): every string gets the control-character
/// rule of `web::edge`, names and instructions may not be blank, and a provider body may
/// not carry both `apiKey` and `secretId`.
fn tighten_request_schemas(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    for (schema, key_choice) in [
        ("NewProvider", true),
        ("ProviderPatch", true),
        ("ConfigInput", false),
        ("NewSkillJson", false),
        ("SkillPatch", false),
        ("SettingsPatch", false),
        ("RouteBody", false),
        ("OutcomeBody", false),
    ] {
        let Some(s) = schemas.get_mut(schema) else {
            continue;
        };
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
            for (field, p) in props.iter_mut() {
                let is_string = p["type"] == "string"
                    || p["type"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t == "string"));
                if !is_string || p.get("pattern").is_some() || p.get("enum").is_some() {
                    continue;
                }
                let pattern = match field.as_str() {
                    "name" => NAME,
                    "apiKey" => API_KEY,
                    "instructions" => INSTRUCTIONS,
                    "description" => MULTI_LINE,
                    _ => SINGLE_LINE,
                };
                p["pattern"] = json!(pattern);
            }
        }
        if key_choice {
            s["not"] = json!({
                "description": "Send either apiKey or secretId, not both.",
                "required": ["apiKey", "secretId"],
                "properties": {"apiKey": {"type": "string"}, "secretId": {"type": "string"}}
            });
        }
    }
    // A route's provider and model go with mode `provider` only, which needs the provider
    // (`ops::providers::route_choice`: blank is taken as absent).
    if let Some(s) = schemas.get_mut("RouteBody") {
        let absent = json!({"anyOf": [{"type": "null"}, {"type": "string", "pattern": BLANK}]});
        s["if"] = json!({"properties": {"mode": {"const": "provider"}}, "required": ["mode"]});
        s["then"] = json!({
            "description": "Mode provider names the provider.",
            "required": ["providerId"],
            "properties": {"providerId": {"type": "string", "pattern": r"\S"}}
        });
        s["else"] = json!({
            "description": "A provider and model go only with mode provider.",
            "properties": {"providerId": absent, "model": absent}
        });
    }
}

/// The shared parts of every operation:
/// - `If-Match` is a string (utoipa writes an optional header as `["string","null"]`, and a
///   header is never `null`);
/// - `GET …/ai/route`'s `feature` and the `{feature}` of feature routes are an enum of the
///   features (`routing::Feature`);
/// - a create answers with `links` to the record's get, update and delete, so a client
///   (schemathesis' stateful phase among them) can chain the calls;
/// - `429` (the rate limits, on every path) and `503` (the database is out, on every
///   authenticated one: the caller is looked up there) with `Retry-After`, and `500` (a
///   server fault, anywhere), as shared responses.
pub fn finish(doc: &mut Value) {
    let retry = |description: &str| {
        json!({
            "description": description,
            "headers": {"Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer", "minimum": 1}
            }},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let components = &mut doc["components"];
    components["responses"]["TooManyRequests"] =
        retry("Over the rate limit (per client address and per token)");
    components["responses"]["Unavailable"] =
        retry("The database cannot be reached right now; nothing was changed");
    components["responses"]["Internal"] = json!({
        "description": "A fault on the server's side (logged); a change in progress was not applied",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    for (create, record) in [("create_provider", "provider"), ("create_skill", "skill")] {
        add_links(doc, create, record);
    }
    tighten_request_schemas(doc);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                for p in params.iter_mut() {
                    if p["in"] == "header" && p["name"] == "If-Match" {
                        p["schema"] = json!({"type": "string", "pattern": IF_MATCH});
                    } else if p["in"] == "header" {
                        p["schema"] = json!({"type": "string"});
                    } else if (p["in"] == "query" || p["in"] == "path") && p["name"] == "feature" {
                        let features: Vec<&str> = crate::routing::Feature::ALL
                            .iter()
                            .map(|f| f.id())
                            .collect();
                        p["schema"] = json!({"type": "string", "enum": features});
                    } else if p["in"] == "query" && p["name"] == "cursor" {
                        p["schema"] = json!({"type": "string", "pattern": CURSOR});
                    } else if p["in"] == "query" && p["name"] == "family" {
                        // Empty is taken as absent.
                        let mut families = vec![""];
                        families.extend(crate::ops::trail::Family::ALL.iter().map(|f| f.as_str()));
                        p["schema"] = json!({"type": "string", "enum": families});
                    } else if p["in"] == "query" && p["name"] == "actor" {
                        p["schema"] =
                            json!({"type": "string", "maxLength": 254, "pattern": SINGLE_LINE});
                    } else if p["in"] == "query"
                        && matches!(p["name"].as_str(), Some("from" | "to"))
                    {
                        // A real day (`format: date`), or empty (taken as absent).
                        p["schema"] = json!({
                            "type": "string",
                            "pattern": r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$",
                            "anyOf": [{"format": "date"}, {"maxLength": 0}]
                        });
                    } else if p["in"] == "query" && p["schema"]["type"] == "string" {
                        p["schema"]["pattern"] = json!(SINGLE_LINE);
                    }
                }
            }
            let authenticated = op
                .get("security")
                .and_then(Value::as_array)
                .is_none_or(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
                });
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            responses["429"] = json!({"$ref": "#/components/responses/TooManyRequests"});
            responses["500"] = json!({"$ref": "#/components/responses/Internal"});
            if authenticated {
                responses["503"] = json!({"$ref": "#/components/responses/Unavailable"});
            }
        }
    }
}

/// The methods `/api/v1` serves at `pattern` (a route template such as
/// `/api/v1/orgs/{org}/providers/{id}`), for a 405's `Allow`. The seed-compatible paths are
/// among them: a request only matches their templates when they are served.
pub fn allowed(pattern: &str) -> Option<String> {
    static PATHS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let paths = PATHS.get_or_init(|| document_json_with_compat()["paths"].take());
    let item = paths.get(pattern)?;
    let methods: Vec<String> = METHODS
        .iter()
        .filter(|m| item.get(**m).is_some())
        .map(|m| m.to_uppercase())
        .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// `links` on the `201` of operation `create`, to the get, update and delete of its `record`
/// (operation ids `get_{record}`, `update_{record}`, `delete_{record}`), the new id from the
/// answer's body and the org from the request's path.
fn add_links(doc: &mut Value, create: &str, record: &str) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let Some(created) = paths
        .values_mut()
        .filter_map(|item| item.get_mut("post"))
        .find(|op| op["operationId"] == create)
        .and_then(|op| op["responses"].get_mut("201"))
    else {
        return;
    };
    let mut links = serde_json::Map::new();
    for verb in ["get", "update", "delete"] {
        links.insert(
            format!("{verb}_{record}"),
            json!({
                "operationId": format!("{verb}_{record}"),
                "parameters": {"org": "$request.path.org", "id": "$response.body#/id"},
                "description": format!("The new {record}: {verb} it by the id in this answer.")
            }),
        );
    }
    created["links"] = Value::Object(links);
}
