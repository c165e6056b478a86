//! Source records as kept while Halo's side of a tenant is read: a [`Desired`] with all its
//! texts in one allocation (about 250 bytes a user instead of about 800), settled against
//! each Halo record as it arrives ([`crate::sync::Settle`]) and unpacked for the plan —
//! without fields when settled. What a record cannot hold in its packed texts (the mapping
//! file's site, custom fields, create-only fields) is kept beside it ([`Extra`]), so only
//! the records of clients with a mapping pay for it (`entra-users`, `intune-devices`).

use serde_json::Value;

use super::text;
use crate::sync::{Current, Desired, EntitySpec, Fields, Name, Settle};

/// One packed record with room for `P - 3` fields.
pub struct Packed<const P: usize> {
    /// The source id, the secondary key (empty = none), the label, then the values of the
    /// import's fields in the order of its names (empty = null), one after the other.
    text: Box<str>,
    /// Where each part ends in `text`.
    ends: [u32; P],
    enabled: bool,
}

impl<const P: usize> Packed<P> {
    /// Packs `d`, whose fields must all be among `names` and hold a text or null (as
    /// [`text`] makes them), and which has no create-only fields.
    pub fn new(d: Desired, names: &[Name]) -> Packed<P> {
        assert!(
            names.len() + 3 <= P
                && d.create_only.is_empty()
                && d.fields.iter().all(|(name, value)| {
                    names.contains(name) && (value.is_null() || value.is_string())
                }),
            "a record packed with fields it cannot hold"
        );
        let mut parts = [
            Some(d.source_id.as_str()),
            d.secondary.as_deref(),
            Some(d.label.as_str()),
        ]
        .into_iter()
        .chain(
            names
                .iter()
                .map(|name| d.fields.get(name).and_then(Value::as_str)),
        );
        let mut text = String::new();
        let mut ends = [0; P];
        // Slots beyond the import's fields end where the last part ends: empty.
        for end in &mut ends {
            if let Some(part) = parts.next() {
                text.push_str(part.unwrap_or_default());
            }
            *end = u32::try_from(text.len()).expect("a record's texts fit in 4 GB");
        }
        Packed {
            text: text.into_boxed_str(),
            ends,
            enabled: d.enabled,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start as usize..self.ends[i] as usize]
    }

    pub fn source_id(&self) -> &str {
        self.part(0)
    }

    /// The desired record, with its fields or, once settled, without them.
    pub fn unpack(&self, names: &[Name], with_fields: bool) -> Desired {
        let fields = if with_fields {
            names
                .iter()
                .enumerate()
                .map(|(i, &name)| (name, text(Some(self.part(3 + i)))))
                .collect()
        } else {
            Fields::new()
        };
        Desired {
            source_id: self.source_id().to_owned(),
            secondary: Some(self.part(1))
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            label: self.part(2).to_owned(),
            enabled: self.enabled,
            fields,
            create_only: Fields::new(),
        }
    }
}

/// What a packed record cannot hold: the fields the mapping file adds beyond the import's
/// names (a site id, custom fields) and its create-only fields. Kept beside the record,
/// only for the records that have any (none without a mapping file).
#[derive(Debug, Default)]
pub struct Extra {
    fields: Fields,
    create_only: Fields,
}

impl Extra {
    /// Moves out of `d` what [`Packed::new`] cannot hold: fields not among `names` or not
    /// text, and the create-only fields. `None` when there is nothing.
    pub fn split(d: &mut Desired, names: &[Name]) -> Option<Extra> {
        let extra: Vec<Name> = d
            .fields
            .iter()
            .filter(|(name, value)| {
                !names.contains(name) || !(value.is_null() || value.is_string())
            })
            .map(|(name, _)| *name)
            .collect();
        if extra.is_empty() && d.create_only.is_empty() {
            return None;
        }
        let mut fields = Fields::new();
        for name in extra {
            if let Some(value) = d.fields.remove(&name) {
                fields.insert(name, value);
            }
        }
        Some(Extra {
            fields,
            create_only: std::mem::take(&mut d.create_only),
        })
    }

    fn merge_into(&self, d: &mut Desired, with_create_only: bool) {
        for (name, value) in self.fields.iter() {
            d.fields.insert(*name, value.clone());
        }
        if with_create_only {
            d.create_only = self.create_only.clone();
        }
    }
}

/// The packed source records of one tenant, settled against Halo's records as they arrive.
pub struct PackedSource<const P: usize> {
    records: Vec<Packed<P>>,
    /// (index of the record, what it could not hold), by index.
    extras: Vec<(usize, Extra)>,
    names: Vec<Name>,
    settle: Settle,
}

impl<const P: usize> PackedSource<P> {
    pub fn new(records: Vec<Packed<P>>, names: Vec<Name>) -> Self {
        let settle = Settle::new(records.iter().map(Packed::source_id));
        PackedSource {
            records,
            extras: Vec::new(),
            names,
            settle,
        }
    }

    /// The same records with what they could not hold ([`Extra::split`]), by index.
    pub fn with_extras(mut self, mut extras: Vec<(usize, Extra)>) -> Self {
        extras.sort_unstable_by_key(|(i, _)| *i);
        self.extras = extras;
        self
    }

    /// Record `i` unpacked, with its extra fields (and, for a record that may be created,
    /// its create-only fields) when `with_fields`.
    fn unpack(&self, i: usize, with_fields: bool) -> Desired {
        let mut d = self.records[i].unpack(&self.names, with_fields);
        if with_fields && let Ok(at) = self.extras.binary_search_by_key(&i, |(j, _)| *j) {
            self.extras[at].1.merge_into(&mut d, true);
        }
        d
    }

    /// Settles `current` if it is in sync with its source record (see [`Settle`]): its
    /// fields are dropped, and its source record will be unpacked without them. Returns
    /// whether it was.
    pub fn settle(&mut self, spec: &EntitySpec, current: &mut Current) -> bool {
        let Some(i) = self.settle.candidate(current) else {
            return false;
        };
        let desired = self.unpack(i, true);
        self.settle.record(spec, i, &desired, current)
    }

    /// Which records were settled so far, in source order.
    pub fn settled(&self) -> &[bool] {
        self.settle.settled()
    }

    /// The desired records in source order, settled ones without fields.
    pub fn into_desired(self) -> Vec<Desired> {
        let settled = self.settle.settled();
        (0..self.records.len())
            .map(|i| self.unpack(i, !settled[i]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Vec<Name> {
        ["name", "emailaddress", "field:12"]
            .map(Name::from)
            .to_vec()
    }

    fn desired(id: &str, secondary: Option<&str>, fields: Fields) -> Desired {
        Desired {
            source_id: id.into(),
            secondary: secondary.map(str::to_string),
            label: format!("label {id}"),
            enabled: id != "off",
            fields,
            create_only: Fields::new(),
        }
    }

    #[test]
    fn a_packed_record_unpacks_as_it_was() {
        for d in [
            desired(
                "abc-1",
                Some("ann@x.example"),
                Fields::from([
                    ("name", json!("Ann Lee")),
                    ("emailaddress", json!("ann@x.example")),
                    ("field:12", json!("Bö Ünïcode")),
                ]),
            ),
            desired(
                "off",
                None,
                Fields::from([
                    ("name", Value::Null),
                    ("emailaddress", Value::Null),
                    ("field:12", json!("x")),
                ]),
            ),
        ] {
            let packed = Packed::<8>::new(d.clone(), &names());
            assert_eq!(packed.source_id(), d.source_id);
            assert_eq!(
                format!("{:?}", packed.unpack(&names(), true)),
                format!("{d:?}")
            );
            let settled = packed.unpack(&names(), false);
            assert!(settled.fields.is_empty());
            assert_eq!(
                (settled.source_id, settled.secondary, settled.label),
                (d.source_id, d.secondary, d.label)
            );
        }
    }

    #[test]
    #[should_panic(expected = "cannot hold")]
    fn a_value_that_is_not_text_is_refused() {
        let d = desired("a", None, Fields::from([("field:12", json!(8))]));
        let _ = Packed::<8>::new(d, &names());
    }
}
