//! Halo records as the integrator reads them, deserialized leniently: ids may arrive as
//! floats (`12.0`) or strings, optional strings as `null` or `""`.

use serde::{Deserialize, Deserializer};

/// A number sent as an integer, a float or a numeric string.
pub fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        F(f64),
        S(String),
    }
    match Option::<Num>::deserialize(d)? {
        None => Ok(None),
        Some(Num::F(f)) => Ok(Some(f)),
        Some(Num::S(s)) if s.trim().is_empty() => Ok(None),
        Some(Num::S(s)) => s
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got '{s}'"))),
    }
}

/// A whole-number id (`12`, `12.0` or `"12"`).
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_id(d)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

/// An optional whole-number id; `0` and absent mean "none".
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match lenient_f64(d)? {
        None => Ok(None),
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64).filter(|&i| i != 0)),
        Some(f) => Err(serde::de::Error::custom(format!(
            "expected a whole-number id, got {f}"
        ))),
    }
}

/// A string that may be `null`, a number, or absent; empty becomes `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s).filter(|s| !s.trim().is_empty())),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string, got {other}"
        ))),
    }
}

/// `true`/`false`, also as `1`/`0` or a string; absent or null is `false`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_flag(d)?.unwrap_or(false))
}

/// `true`/`false`, also as `1`/`0` (SQL bit columns) or a string; absent or null is `None`.
pub fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.as_f64().is_some_and(|f| f != 0.0))),
        Some(serde_json::Value::String(s)) => Ok(Some(matches!(s.trim(), "true" | "True" | "1"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected true or false, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AzureTenant {
    #[serde(default, deserialize_with = "opt_string")]
    pub azure_tenant_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub azure_tenant_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Client {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub inactive: bool,
    #[serde(default, deserialize_with = "opt_id")]
    pub main_site_id: Option<i64>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub azure_tenants: Vec<AzureTenant>,
}

impl Client {
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} (id {})", self.id),
            None => format!("client {}", self.id),
        }
    }
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct User {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub firstname: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub surname: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub emailaddress: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub azureoid: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub site_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<i64>,
    #[serde(default, deserialize_with = "flag")]
    pub inactive: bool,
    #[serde(default, deserialize_with = "opt_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub phonenumber: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub mobilenumber: Option<String>,
    /// The user's custom field values; `None` when the response had no `customfields`
    /// (unknown, not empty).
    #[serde(default)]
    pub customfields: Option<Vec<CustomFieldValue>>,
    /// Every other property as sent (e.g. `other5`, where `LDAP_LINK_FIELD` may point).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl User {
    /// A text field by name: the typed ones, else [`User::other`]; blank is `None`.
    pub fn text(&self, field: &str) -> Option<String> {
        let typed = match field {
            "name" => &self.name,
            "firstname" => &self.firstname,
            "surname" => &self.surname,
            "emailaddress" => &self.emailaddress,
            "title" => &self.title,
            "phonenumber" => &self.phonenumber,
            "mobilenumber" => &self.mobilenumber,
            _ => {
                return match self.other.get(field) {
                    Some(serde_json::Value::String(s)) => {
                        Some(s.trim().to_string()).filter(|s| !s.is_empty())
                    }
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
            }
        };
        typed.clone()
    }
}

/// One value of a record's `customfields` child array (Halo's `CustomField`, of which only
/// `id`, `name` and `value` are read); the value is kept as Halo sent it, so that values the
/// integrator does not own are sent back unchanged (the array is replaced wholesale).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CustomFieldValue {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A site of a client (`Site_List`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Site {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub inactive: bool,
}

/// One value of an asset's `fields` child array (`{id, value}`); the value is kept as Halo
/// sent it, so that values the integrator does not own are sent back unchanged.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AssetField {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Asset {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub inventory_number: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub key_field: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub assettype_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<i64>,
    /// The asset's site (on both `Device` and `Device_List`).
    #[serde(default, deserialize_with = "opt_id")]
    pub site_id: Option<i64>,
    /// The asset's status (on both `Device` and `Device_List`).
    #[serde(default, deserialize_with = "opt_id")]
    pub status_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub intune_id: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub inactive: bool,
    /// `None` when the response had no `fields` (listed without `includeassetfields`, or
    /// left out of a list item).
    #[serde(default)]
    pub fields: Option<Vec<AssetField>>,
    /// The asset's custom field values; `None` when the response had none (unknown).
    #[serde(default)]
    pub customfields: Option<Vec<CustomFieldValue>>,
}

/// A ticket (`Faults`) as the problem tickets read them back.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Ticket {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub client_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AssetType {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_shapes_are_accepted() {
        let u: User = serde_json::from_str(
            r#"{"id":12.0,"name":"Ann","emailaddress":"","azureoid":null,"site_id":"7","client_id":3,"inactive":0,"phonenumber":12345}"#,
        )
        .unwrap();
        assert_eq!(u.id, 12);
        assert_eq!(u.emailaddress, None);
        assert_eq!(u.azureoid, None);
        assert_eq!(u.site_id, Some(7));
        assert_eq!(u.client_id, Some(3));
        assert!(!u.inactive);
        assert_eq!(u.phonenumber.as_deref(), Some("12345"));
        let c: Client =
            serde_json::from_str(r#"{"id":"4","name":"Contoso","azure_tenants":null}"#).unwrap();
        assert_eq!(c.id, 4);
        assert!(c.azure_tenants.is_empty());
    }

    /// Any JSON value.
    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Fuzzing of the lenient record parsing: any value in any field gives a record
        /// or an error, never a panic, and a record always has a whole-number id.
        #[test]
        fn any_field_values_parse_or_fail_cleanly(fields in proptest::collection::btree_map(
            proptest::sample::select(vec!["id", "name", "emailaddress", "azureoid", "site_id", "client_id", "inactive", "main_site_id", "azure_tenants"]),
            json_value(),
            0..9,
        )) {
            let value = serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
            if let Ok(user) = serde_json::from_value::<User>(value.clone()) {
                proptest::prop_assert!(user.id != 0);
            }
            let _ = serde_json::from_value::<Client>(value);
        }
    }

    #[test]
    fn assets_keep_field_values_as_sent() {
        let a: Asset = serde_json::from_str(
            r#"{"id":5.0,"inventory_number":"PC-1","intune_id":"","inactive":false,
                "fields":[{"id":"12","value":"SN1"},{"id":13,"value":42}]}"#,
        )
        .unwrap();
        assert_eq!(a.id, 5);
        assert_eq!(a.intune_id, None);
        let fields = a.fields.unwrap();
        assert_eq!(fields[0].id, 12);
        assert_eq!(fields[1].value, serde_json::json!(42));
        let bare: Asset = serde_json::from_str(r#"{"id":6}"#).unwrap();
        assert_eq!(bare.fields, None, "absent, not empty");
    }

    #[test]
    fn wrong_types_are_errors_not_guesses() {
        for bad in [
            r#"{"name":"no id"}"#,
            r#"{"id":12.5}"#,
            r#"{"id":"twelve"}"#,
            r#"{"id":1,"name":{"first":"Ann"}}"#,
            r#"{"id":1,"inactive":[true]}"#,
        ] {
            assert!(serde_json::from_str::<User>(bad).is_err(), "{bad}");
        }
    }
}
