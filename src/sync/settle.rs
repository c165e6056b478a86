//! [`Settle`]: drops, as Halo's records arrive, the field values the planner would compare
//! without finding a difference, so that the records already in sync (the usual 99%) are
//! not held with their fields on either side while a tenant is planned.
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
    /// Hash of a source id → index of a desired record with it (a collision costs only a
    /// missed settlement: the source id is compared before anything is dropped).
    by_source_id: FxHashMap<u64, usize>,
}

fn key(source_id: &str) -> u64 {
    let mut hasher = FxHasher::default();
    source_id.hash(&mut hasher);
    hasher.finish()
}

impl<'a> Settle<'a> {
    pub fn new(spec: &'a EntitySpec, desired: &'a mut [Desired]) -> Settle<'a> {
        let by_source_id = desired
            .iter()
            .enumerate()
            .map(|(i, d)| (key(&d.source_id), i))
            .collect();
        Settle {
            spec,
            desired,
            by_source_id,
        }
    }

    /// Drops the fields of `current` and of the desired record it is linked to when the
    /// plan would write none of them. Returns whether it did.
    pub fn record(&mut self, current: &mut Current) -> bool {
        let Some(link) = link_of(current) else {
            return false;
        };
        let Some(&i) = self.by_source_id.get(&key(link)) else {
            return false;
        };
        let d = &mut self.desired[i];
        if d.source_id != link || !changed_fields(self.spec, d, current).is_empty() {
            return false;
        }
        d.fields = Fields::new();
        current.fields = Fields::new();
        true
    }
}
