//! Field mappings (`fields:`): a source property written to a Halo field, always or only
//! when the record is created, and the one conversion of their targets into the
//! planner's field names ([`FieldKey`]: `other3`, `field:905`, `custom:142`).

use std::fmt;

use serde::Deserialize;

use super::de::{self, HaloId};

/// The Halo user properties a user import may write (`to: other3`): the writable text
/// properties that both Halo's `Users` and `Users_List` models carry, so that the paged
/// read shows what a run compares. Never an id, a link or a flag.
pub const USER_PROPERTIES: &[&str] = &[
    "name",
    "firstname",
    "surname",
    "initials",
    "emailaddress",
    "title",
    "phonenumber",
    "mobilenumber",
    "mobilenumber2",
    "homenumber",
    "fax",
    "other1",
    "other2",
    "other3",
    "other4",
    "other5",
];

/// The Halo asset properties an asset import may write by name (`to: inventory_number`):
/// writable text properties on both `Device` and `Device_List`.
pub const ASSET_PROPERTIES: &[&str] = &["inventory_number"];

/// When a field mapping writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum On {
    /// `always` (the default): on create and on every update where the value differs.
    #[default]
    Always,
    /// `create`: only when the record is created (Halo's value is then left alone).
    Create,
}

impl<'de> Deserialize<'de> for On {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text(d, "one of always, create", |text| match text.trim() {
            "always" => Some(On::Always),
            "create" => Some(On::Create),
            _ => None,
        })
    }
}

/// A Halo custom field: by id, or by its name (e.g. `CFDepartment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// The custom field's id.
    Id(HaloId),
    /// The custom field's name, trimmed; resolved exactly, case-insensitively.
    Name(String),
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Id(id) => write!(f, "id {id}"),
            FieldRef::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

impl<'de> Deserialize<'de> for FieldRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FieldRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a custom field id (a whole number greater than 0) or name")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FieldRef, E> {
                HaloId::new(v)
                    .map(FieldRef::Id)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FieldRef, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(HaloId::new)
                    .map(FieldRef::Id)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldRef, E> {
                de::name(v)
                    .map(FieldRef::Name)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Where a field mapping writes, whatever the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTarget {
    /// A record property by name (one of [`USER_PROPERTIES`] or [`ASSET_PROPERTIES`]).
    Property(&'static str),
    /// `{field: N}`: the asset field with id N.
    AssetField(HaloId),
    /// `{custom_field: N}` or `{custom_field: "Name"}`.
    CustomField(FieldRef),
}

impl fmt::Display for FieldTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldTarget::Property(name) => f.write_str(name),
            FieldTarget::AssetField(id) => write!(f, "asset field {id}"),
            FieldTarget::CustomField(r) => write!(f, "custom field {r}"),
        }
    }
}

/// A field name of the planner (`sync::plan` knows records only by field name): the one
/// place a mapping target becomes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldKey {
    /// A record property: its name (`other3`, `inventory_number`).
    Property(String),
    /// Asset field N: `field:N` (the convention of the asset imports).
    AssetField(i64),
    /// Custom field N: `custom:N`.
    CustomField(i64),
}

impl fmt::Display for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldKey::Property(name) => f.write_str(name),
            FieldKey::AssetField(id) => write!(f, "field:{id}"),
            FieldKey::CustomField(id) => write!(f, "custom:{id}"),
        }
    }
}

/// A property name exactly as Halo spells it (lower case).
fn property(allowed: &'static [&'static str], text: &str) -> Option<FieldTarget> {
    let text = text.trim();
    allowed
        .iter()
        .find(|p| **p == text)
        .map(|p| FieldTarget::Property(p))
}

/// `to:` of a user import (`entra-users`, `ldap-users`): a user property or a custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTarget(FieldTarget);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserTargetMap {
    custom_field: FieldRef,
}

impl<'de> Deserialize<'de> for UserTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text_or_map(
            d,
            "a user property (name, firstname, surname, initials, emailaddress, title, \
             phonenumber, mobilenumber, mobilenumber2, homenumber, fax, other1 ... other5) \
             or {custom_field: id or name}",
            |text| property(USER_PROPERTIES, text).map(UserTarget),
            |m: UserTargetMap| Ok(UserTarget(FieldTarget::CustomField(m.custom_field))),
        )
    }
}

/// `to:` of an asset import (`intune-devices`, `csv-assets`): an asset field, a custom
/// field or an asset property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetTarget(FieldTarget);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetTargetMap {
    field: Option<HaloId>,
    custom_field: Option<FieldRef>,
}

impl<'de> Deserialize<'de> for AssetTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text_or_map(
            d,
            "{field: id}, {custom_field: id or name} or an asset property (inventory_number)",
            |text| property(ASSET_PROPERTIES, text).map(AssetTarget),
            |m: AssetTargetMap| match (m.field, m.custom_field) {
                (Some(id), None) => Ok(AssetTarget(FieldTarget::AssetField(id))),
                (None, Some(r)) => Ok(AssetTarget(FieldTarget::CustomField(r))),
                _ => Err("expected exactly one of `field` or `custom_field`".to_string()),
            },
        )
    }
}

/// One field mapping: the source property `from` written to `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "FieldMapTo{T}"))]
pub struct FieldMap<T> {
    /// The source property: a Graph property, an LDAP attribute or a CSV column (looked up
    /// case-insensitively).
    #[serde(deserialize_with = "de::non_empty")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub from: String,
    /// The Halo field written.
    pub to: T,
    /// `always` (the default) or `create` (written only when the record is created).
    #[serde(default)]
    pub on: On,
}

impl<T: AsTarget> FieldMap<T> {
    /// The target, whatever the import.
    pub fn target(&self) -> &FieldTarget {
        self.to.as_target()
    }
}

/// A `to:` type of some import.
pub trait AsTarget {
    /// The target, whatever the import.
    fn as_target(&self) -> &FieldTarget;
}

impl AsTarget for UserTarget {
    fn as_target(&self) -> &FieldTarget {
        &self.0
    }
}

impl AsTarget for AssetTarget {
    fn as_target(&self) -> &FieldTarget {
        &self.0
    }
}

/// Load-time check of a `fields` list: no target twice (`(index, message)` per duplicate).
pub(crate) fn duplicate_targets<T: AsTarget>(fields: &[FieldMap<T>]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if let Some(first) = fields[..i].iter().position(|o| o.target() == f.target()) {
            out.push((
                i,
                format!(
                    "{} is already the target of fields[{first}]; each field is written by one mapping",
                    f.target()
                ),
            ));
        }
    }
    out
}
