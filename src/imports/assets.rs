//! What the asset imports (`intune-devices`, `csv-assets`) share: the plan's pseudo fields
//! `field:N` for Halo asset fields, the shaping of write items into a complete `fields`
//! array (Halo replaces that child array wholesale), asset types by name, the mapping
//! file's asset-type rules and asset-field mappings applied to a source record
//! ([`AssetMapping`]), their `check`, and the index of a client's users by e-mail (an
//! asset's people on create).
//!
//! The plan knows an asset field `N` as the pseudo field `field:N`, so [`crate::sync`]
//! compares it like any other field; when one of them changes, the write item gets the
//! complete `fields` array ([`shape`]): the values read from Halo, the changed ones
//! replaced, so values the integrator does not own survive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::mapped::{ClientMapping, complete_customfields};
use crate::halo::{Asset, AssetField, AssetType, CustomFieldValue, Halo, User};
use crate::mapping::AssetRules;
use crate::mapping::{
    AssetTarget, Catalog, FILE_VAR, FieldMap, FieldTarget, NamedId, Props, TypeRule,
};
use crate::outcome::Failure;
use crate::sync::{Desired, Fields};

/// Prefix of the plan's pseudo field names for Halo asset fields (`field:12`).
pub const FIELD_PREFIX: &str = "field:";

/// The plan's name of asset field `id` (`field:12`).
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

/// An asset's child arrays as read, which an update sends back complete.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stored<'a> {
    /// Its asset fields.
    pub fields: &'a [AssetField],
    /// Its custom fields.
    pub customfields: &'a [CustomFieldValue],
}

impl<'a> Stored<'a> {
    /// The child arrays of `asset` (none that it was read without).
    pub fn of(asset: &'a Asset) -> Self {
        Stored {
            fields: asset.fields.as_deref().unwrap_or_default(),
            customfields: asset.customfields.as_deref().unwrap_or_default(),
        }
    }
}

/// Builds a write item: moves the plan's `field:N` values into a complete `fields` array
/// and its `custom:N` values into a complete `customfields` array (starting from `stored`,
/// the asset's arrays as read, for an update; from nothing for a create) and gives new
/// assets `asset_type` as their `assettype_id` unless the item already names one.
pub fn shape(
    stored: Stored<'_>,
    asset_type: Option<i64>,
    mut item: Map<String, Value>,
) -> Map<String, Value> {
    complete_customfields(&mut item, stored.customfields);
    let keys: Vec<String> = item
        .keys()
        .filter(|k| k.starts_with(FIELD_PREFIX))
        .cloned()
        .collect();
    if !keys.is_empty() {
        let mut fields: Vec<(i64, Value)> = stored
            .fields
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
        item.entry(ASSET_TYPE)
            .or_insert_with(|| Value::from(asset_type));
    }
    item
}

/// Halo's asset types, read once per run, found by name (trimmed, case-insensitive).
#[derive(Debug, Default)]
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

    /// The id of the type named `name` (trimmed, case-insensitive).
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

    /// The types as the mapping file's names resolve against them ([`Catalog`]).
    pub fn named(&self) -> Vec<NamedId<'_>> {
        self.0
            .iter()
            .map(|t| NamedId {
                id: t.id,
                name: t.name.as_deref().unwrap_or_default(),
            })
            .collect()
    }

    /// The name of type `id`, for messages.
    fn name_of(&self, id: i64) -> String {
        self.0
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.name.clone())
            .unwrap_or_else(|| format!("id {id}"))
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

/// Lays onto `desired` what the client's mapping says for its source record `props`: the
/// mapped fields and the site ([`ClientMapping::apply`]) and, when the record names no
/// type itself (no `assettype_id` value), the type of the first matching asset-type rule,
/// on create only (none matching: the import's default, added by [`shape`]). Returns
/// `false` when a new asset would be placed on no site (`default_site: skip`).
pub fn apply_mapping(mapping: &ClientMapping, props: &dyn Props, desired: &mut Desired) -> bool {
    let placed = mapping.apply(props, desired);
    let typed = desired.fields.get(ASSET_TYPE).is_some_and(|v| !v.is_null());
    if let Some(id) = mapping.asset_type(props).filter(|_| !typed) {
        desired.fields.remove(ASSET_TYPE);
        desired.create_only.insert(ASSET_TYPE, Value::from(id));
    }
    placed
}

/// Whether the mapping compares asset fields (then the assets' `fields` must be read).
pub fn compares_asset_fields(mapping: &ClientMapping) -> bool {
    mapping
        .compared()
        .any(|name| name.starts_with(FIELD_PREFIX))
}

/// The planner's name of an asset's type.
pub const ASSET_TYPE: &str = "assettype_id";

/// Active Halo users of one client by lower-cased e-mail: an asset's people on create.
pub struct UserIndex(HashMap<String, Vec<i64>>);

impl UserIndex {
    /// The index of `(e-mail, id)` entries, as [`UserIndex::entry`] makes them.
    pub fn new(entries: impl IntoIterator<Item = Option<(String, i64)>>) -> Self {
        let mut index: HashMap<String, Vec<i64>> = HashMap::new();
        for (email, id) in entries.into_iter().flatten() {
            index.entry(email).or_default().push(id);
        }
        UserIndex(index)
    }

    /// What the index keeps of a Halo user, mapped as its page arrives: the lower-cased
    /// e-mail and the id of an active user with an e-mail.
    pub fn entry(user: User) -> Option<(String, i64)> {
        let email = user.emailaddress.filter(|_| !user.inactive)?;
        Some((email.trim().to_lowercase(), user.id))
    }

    /// The one user with this e-mail (trimmed, case-insensitive); none (or several) → `None`.
    pub fn find(&self, email: Option<&str>) -> Option<i64> {
        let email = email.map(str::trim).filter(|e| !e.is_empty())?;
        match self.0.get(&email.to_lowercase())?.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// The asset's people on create (`users: [{id}]`), for a user found.
pub fn people(user: Option<i64>) -> Fields {
    user.map(|id| ("users", json!([{ "id": id }])))
        .into_iter()
        .collect()
}

/// What `check` verifies of one client's section: the asset types new assets may get (the
/// default and the rules') exist, and each has every configured and mapped asset field.
pub struct TypeCheck<'a> {
    /// The client, for messages.
    pub client: String,
    /// The section's asset-type rules.
    pub rules: &'a [TypeRule],
    /// The section's field mappings.
    pub fields: &'a [FieldMap<AssetTarget>],
}

impl<'a> TypeCheck<'a> {
    /// What `check` verifies of `section`, the one in force for `client`.
    pub fn of(client: String, section: &'a impl AssetRules) -> Self {
        TypeCheck {
            client,
            rules: section.asset_types(),
            fields: section.fields(),
        }
    }
}

/// `check`: every asset type the sections' rules name exists (for each client it applies
/// to), and every asset type new assets may get — `default` (its variable and name) and the
/// rules' — has every field of `configured` (`(variable, field id)`) and of the sections'
/// `{field: N}` mappings, so that values written to them are kept by Halo.
pub async fn check_mapped_types(
    halo: &Halo,
    default: (&str, &str),
    configured: &[(&str, i64)],
    sections: &[TypeCheck<'_>],
) -> Result<String, String> {
    let types = AssetTypes::read(halo).await.map_err(|f| f.message)?;
    let (var, name) = default;
    let default_id = types.require(var, name).map_err(|f| f.message)?;
    // Type id → the fields it must have, each with what asks for it.
    let mut wanted: BTreeMap<i64, BTreeSet<(String, i64)>> = BTreeMap::new();
    let builtin = || configured.iter().map(|(v, id)| ((*v).to_string(), *id));
    wanted.entry(default_id).or_default().extend(builtin());
    let named = types.named();
    let mut problems = Vec::new();
    for section in sections {
        let catalog = Catalog {
            client: &section.client,
            sites: &[],
            asset_types: &named,
            custom_fields: &[],
        };
        let mapped = section.fields.iter().filter_map(|f| match f.target() {
            FieldTarget::AssetField(id) => Some((FILE_VAR.to_string(), id.get())),
            _ => None,
        });
        let mapped: Vec<(String, i64)> = mapped.collect();
        let mut ids = vec![default_id];
        for rule in section.rules {
            match catalog.asset_type(&rule.asset_type) {
                Ok(id) => ids.push(id),
                Err(e) => problems.push(e.to_string()),
            }
        }
        for id in ids {
            let set = wanted.entry(id).or_default();
            set.extend(builtin());
            set.extend(mapped.iter().cloned());
        }
    }
    let mut good = Vec::new();
    for (id, fields) in &wanted {
        let name = types.name_of(*id);
        let fields: Vec<(&str, i64)> = fields.iter().map(|(v, id)| (v.as_str(), *id)).collect();
        if fields.is_empty() {
            good.push(format!("'{name}' is id {id}"));
            continue;
        }
        match check_type_fields(halo, &name, *id, &fields).await {
            Ok(line) => good.push(line),
            Err(e) => problems.push(e),
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(good.join("; "))
    } else {
        Err(problems.join("; "))
    }
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
        let shaped = shape(Stored::of(&a), None, item);
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
        let update = shape(Stored::default(), None, item.clone());
        assert_eq!(Value::Object(update), json!({"inventory_number": "PC"}));
        let create = shape(Stored::default(), Some(5), item);
        assert_eq!(
            Value::Object(create),
            json!({"inventory_number": "PC", "assettype_id": 5})
        );
    }
}
