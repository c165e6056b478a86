//! What the asset imports (`intune-devices`, `csv-assets`) share: the plan's pseudo fields
//! `field:N` for Halo asset fields, the shaping of write items into a complete `fields`
//! array (Halo replaces that child array wholesale), and asset types by name.
//!
//! The plan knows an asset field `N` as the pseudo field `field:N`, so [`crate::sync`]
//! compares it like any other field; when one of them changes, the write item gets the
//! complete `fields` array ([`shape`]): the values read from Halo, the changed ones
//! replaced, so values the integrator does not own survive.

use serde_json::{Map, Value, json};

use crate::halo::{Asset, AssetField, AssetType, Halo};
use crate::outcome::Failure;

/// Prefix of the plan's pseudo field names for Halo asset fields (`field:12`).
pub const FIELD_PREFIX: &str = "field:";

pub fn field_key(id: i64) -> String {
    format!("{FIELD_PREFIX}{id}")
}

/// The value of asset field `id`, `null` when absent.
pub fn field_value(asset: &Asset, id: i64) -> Value {
    asset
        .fields
        .iter()
        .flatten()
        .find(|f| f.id == id)
        .map_or(Value::Null, |f| f.value.clone())
}

/// Builds a write item: moves the plan's `field:N` values into a complete `fields` array
/// (starting from `stored`, the asset's fields as read, for an update) and gives new assets
/// `asset_type` as their `assettype_id` unless the item already names one.
pub fn shape(
    stored: Option<&[AssetField]>,
    asset_type: Option<i64>,
    mut item: Map<String, Value>,
) -> Map<String, Value> {
    let keys: Vec<String> = item
        .keys()
        .filter(|k| k.starts_with(FIELD_PREFIX))
        .cloned()
        .collect();
    if !keys.is_empty() {
        let mut fields: Vec<(i64, Value)> = stored
            .unwrap_or_default()
            .iter()
            .map(|f| (f.id, f.value.clone()))
            .collect();
        for key in keys {
            let value = item.remove(&key).unwrap_or(Value::Null);
            let Ok(id) = key[FIELD_PREFIX.len()..].parse::<i64>() else {
                continue;
            };
            match fields.iter_mut().find(|(f, _)| *f == id) {
                Some(slot) => slot.1 = value,
                None => fields.push((id, value)),
            }
        }
        item.insert(
            "fields".into(),
            Value::Array(
                fields
                    .into_iter()
                    .map(|(id, value)| json!({"id": id, "value": value}))
                    .collect(),
            ),
        );
    }
    if let Some(asset_type) = asset_type {
        item.entry("assettype_id")
            .or_insert_with(|| Value::from(asset_type));
    }
    item
}

/// Halo's asset types, read once per run, found by name (trimmed, case-insensitive).
pub struct AssetTypes(Vec<AssetType>);

impl AssetTypes {
    pub fn new(types: Vec<AssetType>) -> Self {
        AssetTypes(types)
    }

    pub async fn read(halo: &Halo) -> Result<Self, Failure> {
        halo.asset_types()
            .await
            .map(AssetTypes)
            .map_err(|e| Failure::halo_read("asset types", &e))
    }

    pub fn find(&self, name: &str) -> Option<i64> {
        let wanted = name.trim();
        self.0
            .iter()
            .find(|t| {
                t.name
                    .as_deref()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted))
            })
            .map(|t| t.id)
    }

    /// The names that exist, sorted, for error messages.
    pub fn names(&self) -> String {
        let mut names: Vec<&str> = self.0.iter().filter_map(|t| t.name.as_deref()).collect();
        names.sort_unstable();
        names.join(", ")
    }

    /// The id of the type the variable `var` names; an unknown name is a configuration
    /// error listing the names that exist.
    pub fn require(&self, var: &str, name: &str) -> Result<i64, Failure> {
        self.find(name).ok_or_else(|| {
            Failure::config(format!(
                "{var}: Halo has no asset type named '{}'; the asset types are: {}",
                name.trim(),
                self.names()
            ))
        })
    }
}

/// Resolves the asset type named by `var` (once per run, before any tenant).
pub async fn resolve_asset_type(halo: &Halo, var: &str, name: &str) -> Result<i64, Failure> {
    AssetTypes::read(halo).await?.require(var, name)
}

/// `check`: the asset type `name` (from variable `var`) exists and has every field in
/// `fields` (`(variable, field id)`), so that values written to them are kept by Halo.
pub async fn check_asset_type(
    halo: &Halo,
    var: &str,
    name: &str,
    fields: &[(&str, i64)],
) -> Result<String, String> {
    let id = resolve_asset_type(halo, var, name)
        .await
        .map_err(|f| f.message)?;
    if fields.is_empty() {
        return Ok(format!("'{name}' is id {id}"));
    }
    check_type_fields(halo, name, id, fields).await
}

/// Every field in `wanted` is a field of the asset type `type_name` (id `type_id`).
async fn check_type_fields(
    halo: &Halo,
    type_name: &str,
    type_id: i64,
    wanted: &[(&str, i64)],
) -> Result<String, String> {
    let fields = halo
        .asset_type_fields(type_id)
        .await
        .map_err(|e| format!("reading the fields of asset type '{type_name}' failed: {e}"))?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(_, id)| !fields.contains(id))
        .map(|(var, id)| format!("{var}={id}"))
        .collect();
    if missing.is_empty() {
        Ok(format!(
            "asset type '{type_name}' (id {type_id}) has every configured field ({})",
            wanted
                .iter()
                .map(|(var, id)| format!("{var}={id}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        let mut have: Vec<String> = fields.iter().map(i64::to_string).collect();
        have.sort();
        Err(format!(
            "asset type '{type_name}' (id {type_id}) has no field {}; its fields are {}",
            missing.join(", "),
            have.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(json: &str) -> Asset {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn shape_keeps_fields_not_owned_and_appends_new_ones() {
        let a = asset(r#"{"id":1,"fields":[{"id":3,"value":"keep"},{"id":10,"value":"old"}]}"#);
        let mut item = Map::new();
        item.insert("field:10".into(), json!("new"));
        item.insert("field:11".into(), json!("added"));
        let shaped = shape(a.fields.as_deref(), None, item);
        assert_eq!(
            Value::Object(shaped),
            json!({"fields": [
                {"id": 3, "value": "keep"},
                {"id": 10, "value": "new"},
                {"id": 11, "value": "added"},
            ]})
        );
        assert_eq!(field_value(&a, 3), json!("keep"));
        assert_eq!(field_value(&a, 99), Value::Null);
    }

    #[test]
    fn items_without_field_changes_carry_no_fields_and_creates_get_the_type() {
        let mut item = Map::new();
        item.insert("inventory_number".into(), json!("PC"));
        let update = shape(Some(&[]), None, item.clone());
        assert_eq!(Value::Object(update), json!({"inventory_number": "PC"}));
        let create = shape(None, Some(5), item);
        assert_eq!(
            Value::Object(create),
            json!({"inventory_number": "PC", "assettype_id": 5})
        );
    }
}
