//! [`Settle`]: drops, as Halo's records arrive, the field values the planner would compare
//! without finding a difference, so that the records already in sync (the usual 99%) are
//! not held with their fields on either side while a tenant is planned. [`in_sync`] is its
//! test, for an import that keeps its desired records in another form while Halo is read.
//!
//! A current record linked to source id `s` can only ever be matched by link, and only to
//! the desired records with `source_id == s`: [`super::plan`] either skips them (duplicate
//! in the source, several records linked to `s`) and reads no fields, or updates the record
//! with the fields of `d` that differ from it. When none differs, both records' fields are
//! dead weight: removing them changes no plan (the property tests plan both ways), since a
//! desired record matched by link is never created.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use super::{Current, Desired, EntitySpec, Fields, changed_fields, link_of};

/// The desired records of one tenant, indexed by source id, against which current records
/// are settled one by one.
pub struct Settle<'a> {
    spec: &'a EntitySpec,
    desired: &'a mut [Desired],
    /// [`source_key`] → index of a desired record with that source id.
    by_source_id: FxHashMap<u64, usize>,
    /// Which desired records were settled.
    settled: Vec<bool>,
}

/// Whether `current` is linked to `desired`'s source id and the plan would write none of
/// `desired`'s fields to it: then neither record's fields can matter to [`super::plan`].
pub fn in_sync(spec: &EntitySpec, desired: &Desired, current: &Current) -> bool {
    link_of(current) == Some(desired.source_id.as_str())
        && changed_fields(spec, desired, current).is_empty()
}

/// The key of a source id in an index of source ids by hash (a collision costs only a
/// missed settlement: the source id is compared before anything is dropped).
pub fn source_key(source_id: &str) -> u64 {
    let mut hasher = FxHasher::default();
    source_id.hash(&mut hasher);
    hasher.finish()
}

impl<'a> Settle<'a> {
    pub fn new(spec: &'a EntitySpec, desired: &'a mut [Desired]) -> Settle<'a> {
        let by_source_id = desired
            .iter()
            .enumerate()
            .map(|(i, d)| (source_key(&d.source_id), i))
            .collect();
        Settle {
            spec,
            settled: vec![false; desired.len()],
            desired,
            by_source_id,
        }
    }

    /// Which desired records were settled: matched by link, so never created (what only a
    /// create needs, such as create-only fields, can be left out of them).
    pub fn into_settled(self) -> Vec<bool> {
        self.settled
    }

    /// Drops the fields of `current` and of the desired record it is linked to when the
    /// plan would write none of them. Returns whether it did.
    pub fn record(&mut self, current: &mut Current) -> bool {
        let Some(&i) = link_of(current).and_then(|link| self.by_source_id.get(&source_key(link)))
        else {
            return false;
        };
        let d = &mut self.desired[i];
        if !in_sync(self.spec, d, current) {
            return false;
        }
        d.fields = Fields::new();
        current.fields = Fields::new();
        self.settled[i] = true;
        true
    }
}
