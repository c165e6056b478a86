//! Source records as kept while Halo's side of a tenant is read: a [`Desired`] with all its
//! texts in one allocation (about 250 bytes a user instead of about 800), settled against
//! each Halo record as it arrives ([`crate::sync::Settle`]) and unpacked for the plan —
//! without fields when settled. What a record cannot hold in its packed texts (the mapping
//! file's site, custom fields, create-only fields) is kept beside it ([`Extra`]), so only
//! the records of clients with a mapping pay for it (`entra-users`, `intune-devices`).
//!
//! A record may also carry *trailing texts* after its fields, which are not fields (a
//! device's primary-user UPN and e-mail, for the people of a create, added after
//! planning): read back only for the records that are not settled
//! ([`PackedSource::trailing`]), never unpacked into the [`Desired`].

use serde_json::Value;

use super::text;
use crate::sync::{Current, Desired, EntitySpec, Fields, Name, Settle};

/// One packed record with room for `P - 3` fields and trailing texts.
pub struct Packed<const P: usize> {
    /// The source id, the secondary key (empty = none), the label, then the values of the
    /// import's fields in the order of its names (empty = null), then the trailing texts
    /// (empty = none), one after the other.
    text: Box<str>,
    /// Where each part ends in `text`.
    ends: [u32; P],
    enabled: bool,
}

impl<const P: usize> Packed<P> {
    /// Packs `d`, whose fields must all be among `names` and hold a text or null (as
    /// [`text`] makes them), and which has no create-only fields.
    pub fn new(d: Desired, names: &[Name]) -> Packed<P> {
        Packed::with_trailing(d, names, &[])
    }

    /// [`Packed::new`] with `trailing` texts after the fields ([`PackedSource::trailing`]
    /// reads them back).
    pub fn with_trailing(d: Desired, names: &[Name], trailing: &[Option<&str>]) -> Packed<P> {
        assert!(
            names.len() + trailing.len() + 3 <= P
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
        )
        .chain(trailing.iter().copied());
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

    /// Drops the field values and trailing texts, which a settled record no longer needs:
    /// what is left (source id, secondary key, label) is about a third of a record's texts.
    fn settle(&mut self) {
        let keep = self.ends[2];
        self.text = self.text[..keep as usize].into();
        self.ends[3..].fill(keep);
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
    /// Whether a settled record's texts are cut to its keys at once.
    shrink_settled: bool,
}

impl<const P: usize> PackedSource<P> {
    pub fn new(records: Vec<Packed<P>>, names: Vec<Name>) -> Self {
        let settle = Settle::new(records.iter().map(Packed::source_id));
        PackedSource {
            records,
            extras: Vec::new(),
            names,
            settle,
            shrink_settled: false,
        }
    }

    /// [`PackedSource::new`], cutting each settled record's texts to its keys (source id,
    /// secondary key, label) as it is settled, and dropping what it kept beside them
    /// ([`Extra`]: a settled record is matched by its link, never created, and in sync, so
    /// it needs none). Whether that lowers the peak depends on the allocator and the
    /// sizes: with musl's (the image's), freed texts are not reused by what is allocated
    /// later, and lower the peak only when most of a record is freed while Halo is still
    /// being read. Measured at 100k (musl build): devices (fields and the primary user's
    /// texts, most of a record) 57.8 → 53.5 MiB; users (whose keys, an id and two e-mail
    /// addresses, are half of a record) 63.2 → 69.3 MiB, so users are not cut.
    pub fn shrinking_settled(records: Vec<Packed<P>>, names: Vec<Name>) -> Self {
        PackedSource {
            shrink_settled: true,
            ..PackedSource::new(records, names)
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
    /// fields are dropped, and its source record will be unpacked without them (and is cut
    /// to its keys at once, see [`PackedSource::shrinking_settled`]). Returns whether it
    /// was.
    pub fn settle(&mut self, spec: &EntitySpec, current: &mut Current) -> bool {
        let Some(i) = self.settle.candidate(current) else {
            return false;
        };
        if self.settle.settled()[i] {
            // A second record linked to the same source id (the plan skips both as an
            // ambiguous link): the field values to compare it with may be gone, so it
            // keeps its own.
            return false;
        }
        let desired = self.unpack(i, true);
        let settled = self.settle.record(spec, i, &desired, current);
        if settled && self.shrink_settled {
            self.records[i].settle();
            if let Ok(at) = self.extras.binary_search_by_key(&i, |(j, _)| *j) {
                self.extras[at].1 = Extra::default();
            }
        }
        settled
    }

    /// Which records were settled so far, in source order.
    pub fn settled(&self) -> &[bool] {
        self.settle.settled()
    }

    /// Record `i`'s source id.
    pub fn source_id(&self, i: usize) -> &str {
        self.records[i].source_id()
    }

    /// Record `i`'s trailing text `j` (as given to [`Packed::with_trailing`]); empty =
    /// `None` (and may be `None` once the record is settled).
    pub fn trailing(&self, i: usize, j: usize) -> Option<&str> {
        Some(self.records[i].part(3 + self.names.len() + j)).filter(|s| !s.is_empty())
    }

    /// The desired records in source order, settled ones without fields (nor what was kept
    /// beside them).
    pub fn into_desired(self) -> Vec<Desired> {
        let PackedSource {
            mut records,
            mut extras,
            names,
            settle,
            ..
        } = self;
        // The index by source id goes first.
        let settled = settle.into_settled();
        let mut desired = Vec::with_capacity(records.len());
        // Unpacked from the back, the packed records' vector shrinking as it goes (a large
        // one shrinks in place): the two vectors are never both held whole. What was kept
        // beside them is sorted by index, so it is taken from the back too.
        let step = (records.len() / 8).max(1024);
        while let Some(record) = records.pop() {
            let i = records.len();
            let with_fields = !settled[i];
            let mut d = record.unpack(&names, with_fields);
            if let Some((_, extra)) = extras.pop_if(|(j, _)| *j == i)
                && with_fields
            {
                extra.merge_into(&mut d, true);
            }
            desired.push(d);
            if i % step == 0 {
                records.shrink_to_fit();
            }
        }
        desired.reverse();
        desired
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
    fn trailing_texts_are_read_back_but_never_unpacked() {
        let d = desired(
            "abc-1",
            None,
            Fields::from([
                ("name", json!("Ann")),
                ("emailaddress", Value::Null),
                ("field:12", Value::Null),
            ]),
        );
        let packed = Packed::<8>::with_trailing(d.clone(), &names(), &[None, Some("ann@x")]);
        let source = PackedSource::new(vec![packed], names());
        assert_eq!(source.source_id(0), "abc-1");
        assert_eq!(source.trailing(0, 0), None, "empty = none");
        assert_eq!(source.trailing(0, 1), Some("ann@x"));
        let unpacked = source.into_desired();
        assert_eq!(format!("{:?}", unpacked[0]), format!("{d:?}"));
    }

    fn current(id: i64, link: &str, fields: Fields) -> Current {
        Current {
            id,
            source_id: Some(link.into()),
            secondary: None,
            inactive: false,
            fields,
        }
    }

    const SPEC: EntitySpec = EntitySpec {
        entity: "user",
        link_field: "azureoid",
        case_insensitive: &[],
    };

    #[test]
    fn a_settled_record_keeps_only_its_keys() {
        let fields = Fields::from([
            ("name", json!("Ann")),
            ("emailaddress", json!("ann@x")),
            ("field:12", Value::Null),
        ]);
        let d = desired("abc-1", Some("ann@x"), fields.clone());
        let packed = Packed::<8>::with_trailing(d.clone(), &names(), &[Some("upn")]);
        let mut source = PackedSource::shrinking_settled(vec![packed], names());
        let mut other = current(1, "abc-1", Fields::from([("name", json!("Bob"))]));
        assert!(
            !source.settle(&SPEC, &mut other),
            "a difference: not settled"
        );
        let mut same = current(2, "abc-1", fields.clone());
        assert!(source.settle(&SPEC, &mut same));
        assert!(same.fields.is_empty());
        assert_eq!(&*source.records[0].text, "abc-1ann@xlabel abc-1");
        assert_eq!(source.trailing(0, 0), None);
        let mut again = current(3, "abc-1", fields);
        assert!(
            !source.settle(&SPEC, &mut again),
            "a second record linked to the same id is not compared with the dropped values"
        );
        assert!(!again.fields.is_empty());
        let unpacked = source.into_desired();
        assert!(unpacked[0].fields.is_empty());
        assert_eq!(
            (&*unpacked[0].source_id, unpacked[0].secondary.as_deref()),
            ("abc-1", Some("ann@x"))
        );
        assert_eq!(unpacked[0].label, "label abc-1");
    }

    /// What the mapping file adds beside a record: compared when settling, merged back into
    /// the records that are not settled (unpacked from the back), dropped with a settled
    /// record's texts.
    #[test]
    fn what_is_kept_beside_a_record_survives_shrinking_the_settled_ones() {
        let record = |id: &str| {
            let mut d = desired(
                id,
                None,
                Fields::from([
                    ("name", json!(id)),
                    ("site_id", json!(4)),
                    ("emailaddress", Value::Null),
                    ("field:12", Value::Null),
                ]),
            );
            d.create_only = Fields::from([("assettype_id", json!(9))]);
            let extra = Extra::split(&mut d, &names()).expect("a site and a type");
            (
                Packed::<8>::with_trailing(d, &names(), &[Some("upn")]),
                extra,
            )
        };
        let (packed, extras): (Vec<_>, Vec<_>) = ["a", "b", "c"]
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let (packed, extra) = record(id);
                (packed, (i, extra))
            })
            .unzip();
        let mut source = PackedSource::shrinking_settled(packed, names()).with_extras(extras);
        let in_sync = Fields::from([
            ("name", json!("b")),
            ("site_id", json!(4)),
            ("emailaddress", Value::Null),
            ("field:12", Value::Null),
        ]);
        let mut b = current(2, "b", in_sync.clone());
        assert!(source.settle(&SPEC, &mut b), "compared with its site too");
        let mut moved = current(3, "c", in_sync);
        moved.fields.insert("name", json!("c"));
        moved.fields.insert("site_id", json!(5));
        assert!(!source.settle(&SPEC, &mut moved), "another site");
        assert!(source.extras[1].1.fields.is_empty(), "dropped when settled");
        let unpacked = source.into_desired();
        let ids: Vec<&str> = unpacked.iter().map(|d| d.source_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        for i in [0, 2] {
            assert_eq!(unpacked[i].fields["site_id"], json!(4));
            assert_eq!(unpacked[i].create_only["assettype_id"], json!(9));
        }
        assert!(unpacked[1].fields.is_empty() && unpacked[1].create_only.is_empty());
    }

    #[test]
    #[should_panic(expected = "cannot hold")]
    fn too_many_trailing_texts_are_refused() {
        let d = desired("a", None, Fields::new());
        let _ = Packed::<6>::with_trailing(d, &names(), &[None]);
    }

    #[test]
    #[should_panic(expected = "cannot hold")]
    fn a_value_that_is_not_text_is_refused() {
        let d = desired("a", None, Fields::from([("field:12", json!(8))]));
        let _ = Packed::<8>::new(d, &names());
    }
}
