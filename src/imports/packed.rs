//! Source records as kept while Halo's side of a tenant is read: a [`Desired`] with all its
//! texts in one allocation (about 250 bytes a user instead of about 800), settled against
//! each Halo record as it arrives ([`crate::sync::Settle`]) and unpacked for the plan —
//! without fields when settled. Only the records of imports whose mapping yields text (or
//! null) field values and no create-only fields are packed (`entra-users`,
//! `intune-devices`, whose people are added after unpacking).

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

/// The packed source records of one tenant, settled against Halo's records as they arrive.
pub struct PackedSource<const P: usize> {
    records: Vec<Packed<P>>,
    names: Vec<Name>,
    settle: Settle,
}

impl<const P: usize> PackedSource<P> {
    pub fn new(records: Vec<Packed<P>>, names: Vec<Name>) -> Self {
        let settle = Settle::new(records.iter().map(Packed::source_id));
        PackedSource {
            records,
            names,
            settle,
        }
    }

    /// Settles `current` if it is in sync with its source record (see [`Settle`]): its
    /// fields are dropped, and its source record will be unpacked without them. Returns
    /// whether it was.
    pub fn settle(&mut self, spec: &EntitySpec, current: &mut Current) -> bool {
        self.settle_completed(spec, current, |_, _| {})
    }

    /// [`PackedSource::settle`] with `complete` adding to source record `i`, unpacked, what
    /// the packed record does not hold (e.g. fields of the mapping file), so that it is
    /// compared whole.
    pub fn settle_completed(
        &mut self,
        spec: &EntitySpec,
        current: &mut Current,
        complete: impl FnOnce(usize, &mut Desired),
    ) -> bool {
        let Some(i) = self.settle.candidate(current) else {
            return false;
        };
        let mut desired = self.records[i].unpack(&self.names, true);
        complete(i, &mut desired);
        self.settle.record(spec, i, &desired, current)
    }

    /// Which records were settled so far, in source order.
    pub fn settled(&self) -> &[bool] {
        self.settle.settled()
    }

    /// The desired records in source order, settled ones without fields.
    pub fn into_desired(self) -> Vec<Desired> {
        let settled = self.settle.settled();
        self.records
            .into_iter()
            .zip(settled)
            .map(|(record, &settled)| record.unpack(&self.names, !settled))
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
