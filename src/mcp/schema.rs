//! The JSON Schemas of the MCP tools and the two wrappers that keep them portable
//! (MCP 2025-11-25; the Inspector's `--strict` portability rules):
//!
//! - one JSON type per field: an optional field is left out, never `null`, so a schema never
//!   says `["string","null"]` or `anyOf: [X, {type: null}]` — [`Parameters`] publishes its
//!   input that way and [`Out`] both publishes and writes its output that way;
//! - subschemas are inlined (no `$defs`), so a client that maps tool schemas onto a simpler
//!   dialect needs no reference resolution;
//! - arguments that don't fit the input schema are a tool error the model can act on
//!   (`isError: true`), not a JSON-RPC error.

use std::borrow::Cow;

use rmcp::{
    ErrorData,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::error::AppError;

/// A tool's arguments, parsed into `T`, or the reason they don't fit (a tool error). rmcp's
/// own `Parameters` would answer a wrong type with a JSON-RPC error quoting serde's message,
/// which quotes the submitted value: a key sent in the wrong field would come back. This
/// one names the problem without the value. (The `tool` macro finds the input schema by
/// this type's name.)
pub struct Parameters<T>(pub Result<T, AppError>);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        portable::<T>(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Parameters(
            serde_json::from_value(Value::Object(arguments))
                .map_err(|e| AppError::Validation(describe(&e))),
        ))
    }
}

/// serde's message without the submitted values (the API's redaction: quoted values become
/// `…`, only short names stay), saying where the schema is.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    format!(
        "The arguments don't fit the tool's input schema: {}. Fix them and call again.",
        crate::api::json::redact_quoted(text)
    )
}

/// A tool's output: `T` as JSON with every `null` member left out, described by `T`'s
/// schema without `null` types (those fields are optional instead).
pub struct Out<T>(pub T);

impl<T: Serialize> Serialize for Out<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        drop_nulls(&mut value);
        value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for Out<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        portable::<T>(generator)
    }
}

/// `T`'s schema with the generator's settings, inlined and with one type per field.
fn portable<T: JsonSchema>(generator: &SchemaGenerator) -> Schema {
    let mut settings = generator.settings().clone();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let root = settings.into_generator().into_root_schema_for::<T>();
    let mut value = root.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("$schema");
        map.remove("$defs");
    }
    one_type(&mut value);
    Schema::try_from(value).expect("a schema object stays one")
}

/// Whether `schema` admits `null` (a `null` type or branch).
fn admits_null(schema: &Value) -> bool {
    let is_null = |v: &Value| v.get("type") == Some(&Value::String("null".into()));
    match schema.get("type") {
        Some(Value::Array(types)) if types.iter().any(|t| t == "null") => return true,
        _ => {}
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|b| b.iter().any(is_null))
    })
}

/// Rewrites `schema` (recursively) to one JSON type per field: `null` types, branches and
/// enum values go, and a property that admitted `null` is no longer required.
fn one_type(schema: &mut Value) {
    match schema {
        Value::Array(items) => items.iter_mut().for_each(one_type),
        Value::Object(map) => {
            // First this object's own `null` (a merged branch may bring `properties`), then
            // its properties' (still unrewritten, so their `null` shows).
            strip_null(map);
            if let Some(Value::Object(props)) = map.get("properties") {
                let nullable: Vec<String> = props
                    .iter()
                    .filter(|(_, s)| admits_null(s))
                    .map(|(k, _)| k.clone())
                    .collect();
                if let Some(Value::Array(required)) = map.get_mut("required") {
                    required.retain(|r| !nullable.iter().any(|n| r == n.as_str()));
                    if required.is_empty() {
                        map.remove("required");
                    }
                }
            }
            for value in map.values_mut() {
                one_type(value);
            }
        }
        _ => {}
    }
}

/// The `null` parts of one schema object.
fn strip_null(map: &mut Map<String, Value>) {
    if map.get("default").is_some_and(Value::is_null) {
        map.remove("default");
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get_mut(key) else {
            continue;
        };
        branches.retain(|b| b.get("type") != Some(&Value::String("null".into())));
        if branches.len() == 1 {
            let Some(Value::Object(only)) = map
                .remove(key)
                .and_then(|mut b| b.as_array_mut().and_then(|a| a.pop()))
            else {
                continue;
            };
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
}

/// `value` without `null` members, at any depth.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn null_types_and_branches_become_optional_single_types() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"anyOf": [{"type": "object", "properties": {"c": {"type": ["integer", "null"]}}, "required": ["c"]}, {"type": "null"}], "description": "B"},
                "d": {"type": "string", "enum": ["x", null], "default": null},
                "e": {"type": "boolean"}
            },
            "required": ["a", "b", "e"]
        });
        super::one_type(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string"},
                    "b": {"type": "object", "properties": {"c": {"type": "integer"}}, "description": "B"},
                    "d": {"type": "string", "enum": ["x"]},
                    "e": {"type": "boolean"}
                },
                "required": ["e"]
            })
        );
    }

    #[test]
    fn outputs_leave_out_null_members() {
        let mut value = json!({"a": null, "b": [{"c": null, "d": 1}], "e": "x"});
        super::drop_nulls(&mut value);
        assert_eq!(value, json!({"b": [{"d": 1}], "e": "x"}));
    }
}
