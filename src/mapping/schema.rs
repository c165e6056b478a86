//! The JSON Schema of the mapping file (`deploy/config.schema.json`, draft 2020-12),
//! generated from the types the loader deserializes, with their doc comments as
//! descriptions. Test-only (schemars is a dev-dependency): the test below fails when the
//! committed file differs from what the types generate; `UPDATE_SCHEMA=1 cargo test --lib
//! mapping::schema` rewrites it.
//!
//! The types whose YAML form is "text or a small map" deserialize by hand; their schemas
//! are written here by hand, next to each other, from the same constants.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::fields::{ASSET_PROPERTIES, USER_PROPERTIES};
use super::{
    AssetSection, AssetTarget, CsvSection, DefaultSite, FieldRef, HaloId, Matcher, On, SiteRef,
    TypeRef, UserSection, UserTarget,
};
use crate::imports::unit::ImportKind;

/// The root of the file.
#[derive(JsonSchema)]
#[schemars(
    title = "halo-integrator mapping file",
    description = "The file INTEGRATOR_CONFIG_FILE names (docs/contracts.md, \"The mapping file\"): per-import and per-client site rules, asset-type rules, field mappings and CSV columns. YAML or JSON. Every key is optional; an empty file keeps the built-in behaviour."
)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MappingFile {
    /// The sections of each import, for every client.
    imports: Option<ImportSections>,
    /// Per-client overrides, keyed by Halo client id or name (case-insensitive; an id key
    /// wins over a name key). A client's section replaces, for that client, each key it
    /// sets; lists are not merged.
    clients: Option<BTreeMap<String, ImportSections>>,
}

/// Import name → its section: one property per registered import, with the section
/// type that import declares (`Import::Section`).
struct ImportSections;

impl JsonSchema for ImportSections {
    fn schema_name() -> Cow<'static, str> {
        "ImportSections".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut properties = serde_json::Map::new();
        for kind in ImportKind::all() {
            let section = kind.section_schema(generator);
            let description = format!(
                "The section of {} (empty = the built-in mapping).",
                kind.name()
            );
            let schema = json_schema!({
                "description": description,
                "anyOf": [section, {"type": "null"}]
            });
            properties.insert(kind.name().to_string(), schema.to_value());
        }
        json_schema!({
            "description": "Import name → its section.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false
        })
    }
}

/// The schema, as committed.
pub(super) fn generate() -> String {
    let schema = SchemaGenerator::new(schemars::generate::SchemaSettings::draft2020_12())
        .into_root_schema_for::<MappingFile>();
    let mut value = serde_json::to_value(&schema).expect("a schema serializes");
    unwrap_descriptions(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a schema serializes");
    text.push('\n');
    text
}

/// Doc comments are wrapped at 90 columns: a description is one paragraph per line.
fn unwrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

fn id_object(description: &str) -> Schema {
    json_schema!({
        "type": "object",
        "description": description,
        "properties": {"id": {"type": "integer", "minimum": 1}},
        "required": ["id"],
        "additionalProperties": false
    })
}

fn name() -> Schema {
    json_schema!({"type": "string", "minLength": 1, "pattern": "\\S"})
}

impl JsonSchema for HaloId {
    fn schema_name() -> Cow<'static, str> {
        "HaloId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Halo id: a whole number greater than 0.",
            "type": "integer",
            "minimum": 1
        })
    }
}

impl JsonSchema for Matcher {
    fn schema_name() -> Cow<'static, str> {
        "Matcher".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "What a source property must be: a value (equal, trimmed and case-insensitively), {regex: ...} (matches the trimmed value; regex-lite syntax: add (?i) for ASCII case-insensitivity; no \\p{...} classes) or {in: [...]} (equal to one of them).",
            "oneOf": [
                {"type": ["string", "number", "boolean"]},
                {
                    "type": "object",
                    "properties": {"regex": {"type": "string"}},
                    "required": ["regex"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"in": {
                        "type": "array",
                        "items": {"type": ["string", "number", "boolean"]},
                        "minItems": 1
                    }},
                    "required": ["in"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for SiteRef {
    fn schema_name() -> Cow<'static, str> {
        "SiteRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Halo site of the client: its name (exact, case-insensitive; inactive sites do not count) or {id: N}.",
            "oneOf": [name(), id_object("The site's id.")]
        })
    }
}

impl JsonSchema for TypeRef {
    fn schema_name() -> Cow<'static, str> {
        "TypeRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Halo asset type: its name (exact, case-insensitive) or {id: N}.",
            "oneOf": [name(), id_object("The asset type's id.")]
        })
    }
}

impl JsonSchema for DefaultSite {
    fn schema_name() -> Cow<'static, str> {
        "DefaultSite".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Where a record goes when no site rule matches: main (the client's main site, the default), skip (not created), a site name or {id: N}.",
            "oneOf": [name(), id_object("The site's id.")]
        })
    }
}

impl JsonSchema for On {
    fn schema_name() -> Cow<'static, str> {
        "On".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "always (the default): on create and on every update; create: only when the record is created.",
            "type": "string",
            "enum": ["always", "create"]
        })
    }
}

impl JsonSchema for FieldRef {
    fn schema_name() -> Cow<'static, str> {
        "FieldRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Halo custom field: its id or its name (exact, case-insensitive).",
            "oneOf": [{"type": "integer", "minimum": 1}, name()]
        })
    }
}

fn custom_field(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "properties": {"custom_field": generator.subschema_for::<FieldRef>()},
        "required": ["custom_field"],
        "additionalProperties": false
    })
}

impl JsonSchema for UserTarget {
    fn schema_name() -> Cow<'static, str> {
        "UserTarget".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The Halo user field written: a user property (text properties on both Users and Users_List) or {custom_field: id or name}.",
            "oneOf": [
                {"type": "string", "enum": USER_PROPERTIES},
                custom_field(generator)
            ]
        })
    }
}

impl JsonSchema for AssetTarget {
    fn schema_name() -> Cow<'static, str> {
        "AssetTarget".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The Halo asset field written: {field: id} (an asset field), {custom_field: id or name} or an asset property.",
            "oneOf": [
                {"type": "string", "enum": ASSET_PROPERTIES},
                {
                    "type": "object",
                    "properties": {"field": {"type": "integer", "minimum": 1}},
                    "required": ["field"],
                    "additionalProperties": false
                },
                custom_field(generator)
            ]
        })
    }
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/config.schema.json")
}

#[test]
fn the_committed_schema_is_what_the_types_generate() {
    let generated = generate();
    let path = committed_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write deploy/config.schema.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "deploy/config.schema.json is not what the mapping types generate; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test --lib mapping::schema` and commit it"
    );
}

#[test]
fn the_schema_names_every_import_and_every_section_key() {
    let schema: serde_json::Value = serde_json::from_str(&generate()).expect("json");
    let defs = &schema["$defs"];
    let imports: Vec<&str> = defs["ImportSections"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    let mut known: Vec<&str> = ImportKind::all().map(|k| k.name()).collect();
    known.sort_unstable();
    let mut imports_sorted = imports.clone();
    imports_sorted.sort_unstable();
    assert_eq!(imports_sorted, known);
    use super::Section;
    for (def, keys) in [
        ("UserSection", UserSection::KEYS),
        ("AssetSection", AssetSection::KEYS),
        ("CsvSection", CsvSection::KEYS),
    ] {
        let mut in_schema: Vec<&str> = defs[def]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{def}"))
            .keys()
            .map(String::as_str)
            .collect();
        in_schema.sort_unstable();
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        assert_eq!(in_schema, keys, "{def}");
        assert_eq!(defs[def]["additionalProperties"], false, "{def}");
    }
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["title"], "halo-integrator mapping file");
}
