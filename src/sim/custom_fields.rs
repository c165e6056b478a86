//! Custom fields on users and assets, and asset statuses: their definitions in the world,
//! how records answer them and how writes set them.
//!
//! Halo's contract (`tests/fixtures/halo-openapi-subset.json`) types `customfields` as
//! `array<CustomField>` on `Users`, `Users_List`, `Device` and `Device_List`; the simulator
//! answers the `CustomField` properties `id`, `name`, `label` and `value` only. Evidence for
//! the shapes, from public clients of Halo's API:
//!
//! * reads carry `id`, `name` and `value`: AegisComputers/DattoRMM-Alert-HaloPSA
//!   (`Modules/TicketHandler.psm1` picks `customfields | ? id -eq …` then `.value`;
//!   `Modules/ContractHelper.psm1` picks `customfields | ? name -eq "CFDevicesSupported"`),
//!   homotechsual/HaloAPI issue #14 (`$_.customfields.name -eq 'CFCustomerTest' -and
//!   $_.customfields.value -eq 'Test'`); netaryx/pyhalopsa (`halopsa/models/_common.py`,
//!   `CustomField{id, name, value, type, display, label}`) and redanthrax/halopsa-node
//!   (`nodes/HaloPSA/actions/interfaces/client.ts`, `CustomField{id, name, label, value…}`)
//!   model the same item;
//! * writes send `customfields: [{id, value}]`: AegisComputers/DattoRMM-Alert-HaloPSA
//!   (`Receive-Alert/run.ps1`, a ticket created with `customfields = @(@{id = …; value = …})`);
//! * a write's array replaces the stored values wholesale (what is not sent is emptied):
//!   homotechsual/HaloAPI issues #13 and #14 ("you have to re-post the full array of custom
//!   fields … otherwise Halo will just empty the array and only set the single field");
//! * the field's name is accepted on writes as well: Halo's guide "Custom Fields"
//!   (halopsa.com/guides/article?kbid=1938: the name, prefixed `CF`, "is also referenced in
//!   the API when updating the Custom Field data", e.g. `cfmoney`; hence matched
//!   case-insensitively). So an item names its field by `id` or, without one, by `name`.
//!
//! Which fields a record lists is the simulator's choice (no captured Halo response settles
//! it): the full model (single GET, write answers) lists every custom field defined for the
//! entity, `value` omitted when the record has none (the simulator omits nulls; captured
//! PowerShell output of an asset write shows `customfields` present even when empty,
//! homotechsual/HaloAPI issue #13), so a client can discover ids and names from any one
//! record; the list models (`Users_List`, `Device_List`) list only the fields the record
//! has a value for (`customfields: []` when none), so a field missing from a list item
//! means "no value", never "unknown".
//!
//! The simulated custom fields are text fields: a value is a string (a number is kept as its
//! text, as Halo's model binding does for asset `fields`); `null` or `""` means no value;
//! any other JSON type is a 400.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::halo::{Item, Reject, record};

/// A custom field definition (Halo's `FieldInfo`; on records a `CustomField`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloCustomFieldDef {
    pub id: i64,
    /// The database name, `CF` + the name given in Halo's setup (e.g. `CFDepartment`).
    pub name: String,
    /// What agents see (e.g. `Department`).
    pub label: String,
}

/// One value of a record's `customfields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloCustomFieldValue {
    pub id: i64,
    pub value: String,
}

/// An asset status (`status_id` / `status_name` on `Device` and `Device_List`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaloAssetStatus {
    pub id: i64,
    pub name: String,
}

/// The standard user custom fields of [`super::World::empty`].
pub const USER_CF_DEPARTMENT: i64 = 142;
pub const USER_CF_OFFICE: i64 = 143;
pub const USER_CF_EMPLOYEE_ID: i64 = 144;
/// The standard asset custom fields of [`super::World::empty`].
pub const ASSET_CF_PHONE_NUMBER: i64 = 161;
pub const ASSET_CF_IMEI: i64 = 162;

/// The standard asset statuses of [`super::World::empty`].
pub const ASSET_STATUS_ACTIVE: i64 = 1;
pub const ASSET_STATUS_IN_REPAIR: i64 = 2;
pub const ASSET_STATUS_RETIRED: i64 = 4;

/// The standard user custom fields: `CFDepartment`, `CFOffice`, `CFEmployeeId`.
pub fn standard_user_custom_fields() -> Vec<HaloCustomFieldDef> {
    defs(&[
        (USER_CF_DEPARTMENT, "CFDepartment", "Department"),
        (USER_CF_OFFICE, "CFOffice", "Office"),
        (USER_CF_EMPLOYEE_ID, "CFEmployeeId", "Employee ID"),
    ])
}

/// The standard asset custom fields: `CFPhoneNumber`, `CFIMEI`.
pub fn standard_asset_custom_fields() -> Vec<HaloCustomFieldDef> {
    defs(&[
        (ASSET_CF_PHONE_NUMBER, "CFPhoneNumber", "Phone Number"),
        (ASSET_CF_IMEI, "CFIMEI", "IMEI"),
    ])
}

/// The standard asset statuses: 1 Active, 2 In Repair, 4 Retired. Also what a world JSON
/// without `asset_statuses` gets.
pub fn standard_asset_statuses() -> Vec<HaloAssetStatus> {
    [
        (ASSET_STATUS_ACTIVE, "Active"),
        (ASSET_STATUS_IN_REPAIR, "In Repair"),
        (ASSET_STATUS_RETIRED, "Retired"),
    ]
    .into_iter()
    .map(|(id, name)| HaloAssetStatus {
        id,
        name: name.to_string(),
    })
    .collect()
}

/// What an asset without a stored status (older world JSON) has: Active.
pub fn default_asset_status() -> i64 {
    ASSET_STATUS_ACTIVE
}

fn defs(items: &[(i64, &str, &str)]) -> Vec<HaloCustomFieldDef> {
    items
        .iter()
        .map(|(id, name, label)| HaloCustomFieldDef {
            id: *id,
            name: (*name).to_string(),
            label: (*label).to_string(),
        })
        .collect()
}

/// Sets custom field `id` to `value` in `values` (replacing an earlier value; an empty
/// value removes it).
pub fn set_custom_field(values: &mut Vec<HaloCustomFieldValue>, id: i64, value: &str) {
    values.retain(|v| v.id != id);
    if !value.is_empty() {
        values.push(HaloCustomFieldValue {
            id,
            value: value.to_string(),
        });
    }
}

/// A record's `customfields` as the API answers them: with `all_defined` (the full model)
/// every definition, `value` omitted where the record has none; otherwise (the list models)
/// only the fields with a value. In definition order.
pub(super) fn customfields_json(
    defs: &[HaloCustomFieldDef],
    values: &[HaloCustomFieldValue],
    all_defined: bool,
) -> Value {
    let items = defs
        .iter()
        .filter_map(|def| {
            let value = values
                .iter()
                .find(|v| v.id == def.id)
                .map(|v| v.value.as_str());
            (all_defined || value.is_some()).then(|| {
                record([
                    ("id", json!(def.id)),
                    ("name", json!(def.name)),
                    ("label", json!(def.label)),
                    ("value", json!(value)),
                ])
            })
        })
        .collect();
    Value::Array(items)
}

/// The `customfields` of a write item, if sent: `None` when absent (keep the stored values),
/// else the complete new set (an array replaces the stored values wholesale; `null` clears
/// them). Each item names a defined field by `id`, or without an id by `name`
/// (case-insensitive); an unknown one or a value that is not a string (or number) is a 400
/// naming it.
pub(super) fn parse_customfields(
    item: &Item<'_>,
    defs: &[HaloCustomFieldDef],
) -> Result<Option<Vec<HaloCustomFieldValue>>, Reject> {
    let items = match item.map.get("customfields") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(item.err(format!("customfields {other} is not an array"))),
    };
    let mut values: Vec<HaloCustomFieldValue> = Vec::with_capacity(items.len());
    for value in items {
        let Value::Object(map) = value else {
            return Err(item.err(format!("customfields: {value} is not an object")));
        };
        let id = field_id(item, defs, map)?;
        let text = match map.get("value") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(item.err(format!(
                    "customfields: value {other} of custom field {id} is not a string"
                )));
            }
        };
        // The last value sent for a field wins.
        set_custom_field(&mut values, id, &text);
    }
    Ok(Some(values))
}

/// The definition id a `customfields[]` item names: its `id`, else its `name`.
fn field_id(
    item: &Item<'_>,
    defs: &[HaloCustomFieldDef],
    map: &Map<String, Value>,
) -> Result<i64, Reject> {
    let child = Item {
        index: item.index,
        map,
    };
    if let Some(id) = child.int("id")?.filter(|id| *id != 0) {
        return if defs.iter().any(|d| d.id == id) {
            Ok(id)
        } else {
            Err(item.err(format!("customfields: custom field id {id} does not exist")))
        };
    }
    match child.string("name")?.flatten() {
        Some(name) => defs
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
            .map(|d| d.id)
            .ok_or_else(|| {
                item.err(format!(
                    "customfields: custom field name '{name}' does not exist"
                ))
            }),
        None => Err(item.err("customfields: id (or name) is required".to_string())),
    }
}
