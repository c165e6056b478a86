//! [`Settle`]: finds, as Halo's records arrive, the records already in sync with their source
//! record (the usual 99%), so that neither side keeps the field values the planner would
//! compare without finding a difference while a tenant is planned.
//!
//! A current record linked to source id `s` can only ever be matched by link, and only to
//! the desired records with `source_id == s`: [`super::plan`] either skips them (duplicate
//! in the source, several records linked to `s`) and reads no fields, or updates the record
//! with the fields of `d` that differ from it. When none differs ([`in_sync`]), both
//! records' fields are dead weight: removing them changes no plan (the property tests plan
//! both ways), since a desired record matched by link is never created.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use super::{Current, Desired, EntitySpec, Fields, changed_fields, link_of};

/// Whether `current` is linked to `desired`'s source id and the plan would write none of
/// `desired`'s fields to it: then neither record's fields can matter to [`super::plan`].
pub fn in_sync(spec: &EntitySpec, desired: &Desired, current: &Current) -> bool {
    link_of(current) == Some(desired.source_id.as_str())
        && changed_fields(spec, desired, current).is_empty()
}

/// The key of a source id in an index of source ids by hash (a collision costs only a
/// comparison: the id itself is checked before anything is matched or dropped).
pub fn source_key(source_id: &str) -> u64 {
    let mut hasher = FxHasher::default();
    source_id.hash(&mut hasher);
    hasher.finish()
}

/// The source ids of one tenant's desired records, and which of those records were found in
/// sync. Holds no records: the caller keeps them in the form it likes (e.g. packed) and
/// hands over the one [`Settle::candidate`] names.
pub struct Settle {
    /// [`source_key`] → index of a desired record with that source id.
    by_source_id: FxHashMap<u64, usize>,
    settled: Vec<bool>,
}

impl Settle {
    pub fn new<'s>(source_ids: impl ExactSizeIterator<Item = &'s str>) -> Settle {
        let settled = vec![false; source_ids.len()];
        let by_source_id = source_ids
            .enumerate()
            .map(|(i, id)| (source_key(id), i))
            .collect();
        Settle {
            by_source_id,
            settled,
        }
    }

    /// The desired record `current` may be in sync with: the one whose source id its link
    /// hashes to ([`Settle::record`] checks the id itself).
    pub fn candidate(&self, current: &Current) -> Option<usize> {
        let link = link_of(current)?;
        self.by_source_id.get(&source_key(link)).copied()
    }

    /// When `desired`, record `i`, is [`in_sync`] with `current`: drops `current`'s fields
    /// and remembers `i` as settled. Returns whether it did.
    pub fn record(
        &mut self,
        spec: &EntitySpec,
        i: usize,
        desired: &Desired,
        current: &mut Current,
    ) -> bool {
        if !in_sync(spec, desired, current) {
            return false;
        }
        current.fields = Fields::new();
        self.settled[i] = true;
        true
    }

    /// Which desired records were settled: their fields are no longer needed, and they are
    /// matched by link, so never created (what only a create needs can be left out too).
    pub fn settled(&self) -> &[bool] {
        &self.settled
    }

    /// [`Settle::settled`], the index by source id dropped.
    pub fn into_settled(self) -> Vec<bool> {
        self.settled
    }
}
