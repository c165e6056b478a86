//! [`Fields`], the field values of one record, kept compact because a tenant's records are
//! all held at once (100k users are 200k records): a vector sorted by name instead of a
//! B-tree map, and names interned as [`Name`]s (one pointer and length, no allocation per
//! record) instead of a `String` per field and record. It iterates, serializes and compares
//! like the `BTreeMap<String, Value>` it replaces: in name order, one value per name.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::{Deref, Index};
use std::sync::Mutex;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A Halo field name. Names come from the code (`"emailaddress"`) and the configuration
/// (`field:12`, an LDAP mapping), a handful per process: a name given as a `String` is
/// interned once and kept for the life of the process; a `&'static str` costs nothing.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(&'static str);

/// The names interned so far.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl Name {
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    fn interned(name: &str) -> Name {
        let mut names = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = names.get(name) {
            return Name(known);
        }
        let name: &'static str = Box::leak(name.into());
        names.insert(name);
        Name(name)
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Name {
        Name(name)
    }
}

impl From<String> for Name {
    fn from(name: String) -> Name {
        Name::interned(&name)
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// Halo field values keyed by Halo field name, in name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(Vec<(Name, Value)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// Sets `name` to `value`; returns the value it replaces.
    pub fn insert(&mut self, name: impl Into<Name>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.position(name).ok().map(|i| self.0.remove(i).1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Name, &Value)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// The names in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Name> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The fields as a JSON object, e.g. a write item.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }
}

impl Index<&str> for Fields {
    type Output = Value;
    /// Panics if the field is missing, as `BTreeMap`'s index does.
    fn index(&self, name: &str) -> &Value {
        self.get(name)
            .unwrap_or_else(|| panic!("no field {name:?} in the record"))
    }
}

impl<N: Into<Name>> Extend<(N, Value)> for Fields {
    /// Later values replace earlier ones of the same name, as in a map.
    fn extend<I: IntoIterator<Item = (N, Value)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.insert(name, value);
        }
    }
}

impl<N: Into<Name>> FromIterator<(N, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (N, Value)>>(iter: I) -> Fields {
        let mut fields: Vec<(Name, Value)> = iter.into_iter().map(|(n, v)| (n.into(), v)).collect();
        // Stable, so that of equal names the last one is kept by the dedup below, as a
        // map's `collect` keeps the last value.
        fields.sort_by_key(|(n, _)| n.as_str());
        fields.reverse();
        fields.dedup_by_key(|(n, _)| *n);
        fields.reverse();
        fields.shrink_to_fit();
        Fields(fields)
    }
}

impl<N: Into<Name>, const K: usize> From<[(N, Value); K]> for Fields {
    fn from(fields: [(N, Value); K]) -> Fields {
        fields.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a Name, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Name, Value)>,
        fn(&'a (Name, Value)) -> (&'a Name, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl IntoIterator for Fields {
    type Item = (Name, Value);
    type IntoIter = std::vec::IntoIter<(Name, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn behaves_as_the_map_it_replaces() {
        let mut fields = Fields::from([
            ("title", json!("CTO")),
            ("name", json!("Ann")),
            ("title", json!("CEO")),
        ]);
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            r#"{"name":"Ann","title":"CEO"}"#,
            "name order, the last of equal names kept"
        );
        assert_eq!(
            fields.insert("name".to_string(), json!("Bo")),
            Some(json!("Ann"))
        );
        assert_eq!(fields.insert("field:12", json!(1)), None);
        assert_eq!(fields["name"], "Bo");
        assert!(fields.contains_key("field:12") && !fields.contains_key("x"));
        assert_eq!(fields.remove("field:12"), Some(json!(1)));
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["name", "title"]);
    }

    #[test]
    fn names_are_interned_once() {
        let a = Name::from(format!("field:{}", 9001));
        let b = Name::from("field:9001".to_string());
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
    }
}
