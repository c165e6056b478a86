//! The pure sync planner: compares the records a source wants in Halo ("desired", e.g. the
//! Entra users of one tenant) with the records Halo holds for the mapped client ("current",
//! inactive ones included) and returns a [`Plan`] of creates, updates, reactivations and
//! deactivations. No I/O, no async, no logging: the caller reads, calls [`plan`], logs and
//! applies. It is generic over entities and knows Halo records only by field name.
//!
//! The rules are those of docs/contracts.md, Sync semantics; see [`plan`] for the full
//! list, including the choices made where that page leaves room.

mod compare;
mod fields;
mod settle;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

// The planner only looks keys up, never iterates its maps, so the hasher cannot change a
// plan; Fx is several times faster than SipHash on the short ids and e-mails it hashes
// (100k-record tenants). The large indexes are sorted (hash, index) vectors ([`KeyIndex`]).
use rustc_hash::FxHashMap as HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use fields::{Fields, Name};
pub use settle::{Settle, in_sync, source_key};

/// The Halo field that marks a record inactive; written as `false` on reactivation.
pub const INACTIVE_FIELD: &str = "inactive";

/// Static description of one entity kind.
#[derive(Clone, Copy, Debug)]
pub struct EntitySpec {
    /// Entity name for logs and metrics: `"user"`, `"asset"`.
    pub entity: &'static str,
    /// Halo field holding the source id (the primary match key): `"azureoid"`, `"intune_id"`.
    pub link_field: &'static str,
    /// Fields compared case-insensitively, e.g. `&["emailaddress"]`.
    pub case_insensitive: &'static [&'static str],
}

/// One record as the source wants it in Halo.
#[derive(Clone, Debug)]
pub struct Desired {
    /// Primary match key (e.g. the Entra object id). Must not be empty; a record with an
    /// empty id is skipped ([`SkipReason::MissingSourceId`]).
    pub source_id: String,
    /// Secondary match key (e-mail, serial); compared trimmed and case-insensitively.
    /// `None` or blank = absent.
    pub secondary: Option<String>,
    /// Human key for logs and plans, e.g. the UPN or device name.
    pub label: String,
    /// `false` = disabled in the source (a leaver).
    pub enabled: bool,
    /// The Halo fields the integrator owns, without the link field (a link field here is
    /// ignored: the planner owns it). `null` or blank = "the source has no value", which
    /// never clears a Halo value.
    pub fields: Fields,
    /// Fields written only when the record is created, never compared or written on update
    /// (e.g. an asset's people, which Halo's list read does not carry: unknown is not
    /// "different"). Blank values are left out of the create.
    pub create_only: Fields,
}

/// One record as Halo holds it.
#[derive(Clone, Debug)]
pub struct Current {
    /// Halo record id.
    pub id: i64,
    /// Value of the link field; `None` or blank = not linked (e.g. made by hand).
    pub source_id: Option<String>,
    /// Secondary match key as stored in Halo.
    pub secondary: Option<String>,
    /// Whether Halo has the record marked inactive.
    pub inactive: bool,
    /// Current values of the owned fields (a missing key is the same as `null` and `""`).
    pub fields: Fields,
}

/// Options that change what [`plan`] may deactivate.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// `INTEGRATOR_DEACTIVATE_MISSING`: without it nothing is ever deactivated.
    pub deactivate_missing: bool,
    /// `false` if any source page failed: then no deactivations at all.
    pub source_complete: bool,
    /// `INTEGRATOR_MAX_DEACTIVATIONS` (default 50).
    pub max_deactivations: u64,
    /// `INTEGRATOR_MAX_DEACTIVATION_PERCENT` (default 10) of the linked active records.
    pub max_deactivation_percent: f64,
}

/// What to do for one entity kind in one tenant. Serialized as-is by `--plan-file`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// [`EntitySpec::entity`] of the spec the plan was made with.
    pub entity: &'static str,
    /// New records, in desired order.
    pub creates: Vec<Create>,
    /// Changed, newly linked or reactivated records, in desired order.
    pub updates: Vec<Update>,
    /// Records to set inactive, in current order.
    pub deactivations: Vec<Deactivate>,
    /// Matched records that need no write.
    pub unchanged: usize,
    /// Source records that were not synced, with the reason, in desired order.
    pub skipped: Vec<Skip>,
    /// Why deactivation candidates were not planned, if they were not.
    pub withheld: Option<Withheld>,
}

/// A record to create. The caller adds the client (and site) fields.
#[derive(Clone, Debug, Serialize)]
pub struct Create {
    pub source_id: String,
    pub label: String,
    /// Desired fields without blank values, plus the link field.
    pub fields: Fields,
}

/// A write to an existing record.
#[derive(Clone, Debug, Serialize)]
pub struct Update {
    pub id: i64,
    pub source_id: String,
    pub label: String,
    /// Only the fields to write: changed values, the link field when the record was matched
    /// by its secondary key, and `"inactive": false` on reactivation.
    pub changes: Fields,
    /// What Halo held before, for each field of `changes` (`null` = no value): the plan
    /// file shows every change as old → new.
    pub previous: Fields,
    /// The record was inactive and is reactivated by this update.
    pub reactivate: bool,
}

/// A record to set inactive.
#[derive(Clone, Debug, Serialize)]
pub struct Deactivate {
    pub id: i64,
    /// The source id the record is (or is being) linked to.
    pub source_id: String,
    /// The source label for disabled accounts; the record's secondary key (e-mail, serial)
    /// for records missing from the source, which have no source label.
    pub label: String,
    pub reason: DeactivateReason,
}

/// Why a record is deactivated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivateReason {
    /// The source record exists but is disabled.
    DisabledInSource,
    /// The record is linked to a source id the (complete) source no longer has.
    MissingFromSource,
}

impl fmt::Display for DeactivateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DisabledInSource => "disabled in the source",
            Self::MissingFromSource => "no longer in the source",
        })
    }
}

/// A source record that was not synced.
#[derive(Clone, Debug, Serialize)]
pub struct Skip {
    pub source_id: String,
    pub label: String,
    pub reason: SkipReason,
}

/// A Halo record linked to some source id, named in a [`SkipReason`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkedRecord {
    pub id: i64,
    pub source_id: String,
}

/// Why a source record was not synced. `Display` says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// The source record has an empty id, so it could never be matched again.
    MissingSourceId,
    /// The same source id appears more than once in the source data; none of the copies
    /// is synced, and the Halo records linked to that id are left alone.
    DuplicateInSource,
    /// Disabled in the source and not in Halo: disabled accounts are never created.
    DisabledNotInHalo,
    /// Several Halo records are linked to this source id; none of them is touched.
    AmbiguousLink { ids: Vec<i64> },
    /// Several unlinked Halo records have this secondary key (normalized in `key`).
    AmbiguousSecondary { key: String, ids: Vec<i64> },
    /// No record is linked to this source id, and the Halo records with this secondary key
    /// are linked to other source ids.
    ///
    /// Chosen behaviour: skip. Linking would steal a record that belongs to another source
    /// identity, and creating would put a second record with the same e-mail (or serial)
    /// into the client, which breaks e-mail matching in Halo and is what "no duplicates"
    /// forbids. The usual cause is an account deleted and recreated in the source: the old
    /// record is then missing from the source (and deactivated as such, if enabled); the
    /// operator clears its link field, and the next run links the new account to it by
    /// e-mail, keeping the history.
    SecondaryLinkedToOther {
        key: String,
        linked: Vec<LinkedRecord>,
    },
    /// Not in Halo, and the mapping file places it on no site (no site rule matches and
    /// `default_site` is `skip`): not created.
    NoSite,
    /// Several source records claim the same unlinked Halo record by secondary key; none of
    /// them is linked to it, so neither clobbers the other.
    ContestedSecondary {
        key: String,
        id: i64,
        source_ids: Vec<String>,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSourceId => {
                f.write_str("the source record has no id; fix it in the source")
            }
            Self::DuplicateInSource => f.write_str(
                "the source id appears more than once in the source data; none of the copies \
                 was synced; fix the source",
            ),
            Self::DisabledNotInHalo => f.write_str(
                "disabled in the source and not in Halo; disabled records are never created",
            ),
            Self::NoSite => f.write_str(
                "not in Halo, and no site rule of the mapping file matches it (default_site: \
                 skip); add a rule or a default site to create it",
            ),
            Self::AmbiguousLink { ids } => write!(
                f,
                "Halo records {} are all linked to this source id; clear the link field on all \
                 but one (none was changed)",
                join(ids)
            ),
            Self::AmbiguousSecondary { key, ids } => write!(
                f,
                "unlinked Halo records {} all have the secondary key {key:?}; merge or \
                 deactivate the duplicates, or set the link field on the right one",
                join(ids)
            ),
            Self::SecondaryLinkedToOther { key, linked } => {
                let linked: Vec<String> = linked
                    .iter()
                    .map(|r| format!("{} (linked to {})", r.id, r.source_id))
                    .collect();
                write!(
                    f,
                    "the secondary key {key:?} belongs to Halo record {} linked to another \
                     source id; not creating a duplicate; if that source record is gone, clear \
                     the link field on the Halo record so this one can be linked",
                    linked.join(", ")
                )
            }
            Self::ContestedSecondary {
                key,
                id,
                source_ids,
            } => write!(
                f,
                "source records {} all claim unlinked Halo record {id} by the secondary key \
                 {key:?}; none was linked; fix the source or set the link field on record {id}",
                source_ids.join(", ")
            ),
        }
    }
}

fn join(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    ids.join(", ")
}

/// Why deactivation candidates were not planned. The caller exits 4 on `Threshold`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Withheld {
    /// The source read was incomplete: a partial read is never evidence that someone left.
    SourceIncomplete { candidates: usize },
    /// More candidates than `max_deactivations`, or more than `max_percent` % of the linked
    /// active records (current records linked and active once the plan's updates are
    /// applied, so those it links by secondary key or reactivates count too).
    Threshold {
        candidates: usize,
        linked_active: usize,
        max_deactivations: u64,
        max_percent: f64,
    },
}

impl fmt::Display for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SourceIncomplete { candidates } => write!(
                f,
                "{candidates} deactivation(s) withheld: the source read was incomplete"
            ),
            Self::Threshold {
                candidates,
                linked_active,
                max_deactivations,
                max_percent,
            } => write!(
                f,
                "{candidates} deactivation(s) withheld: more than the safety threshold of \
                 {max_deactivations} or {max_percent}% of {linked_active} linked active records"
            ),
        }
    }
}

/// Summary counts of a plan, as printed by `--dry-run`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub create: usize,
    /// Updates that do not reactivate.
    pub update: usize,
    pub deactivate: usize,
    /// Updates that reactivate.
    pub reactivate: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

impl std::ops::Add for PlanCounts {
    type Output = PlanCounts;
    fn add(self, o: PlanCounts) -> PlanCounts {
        PlanCounts {
            create: self.create + o.create,
            update: self.update + o.update,
            deactivate: self.deactivate + o.deactivate,
            reactivate: self.reactivate + o.reactivate,
            unchanged: self.unchanged + o.unchanged,
            skipped: self.skipped + o.skipped,
        }
    }
}

impl fmt::Display for PlanCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "create={} update={} deactivate={} reactivate={} unchanged={} skipped={}",
            self.create,
            self.update,
            self.deactivate,
            self.reactivate,
            self.unchanged,
            self.skipped
        )
    }
}

impl Plan {
    /// The counts of each kind of action.
    pub fn counts(&self) -> PlanCounts {
        let reactivate = self.updates.iter().filter(|u| u.reactivate).count();
        PlanCounts {
            create: self.creates.len(),
            update: self.updates.len() - reactivate,
            deactivate: self.deactivations.len(),
            reactivate,
            unchanged: self.unchanged,
            skipped: self.skipped.len(),
        }
    }

    /// True when the plan writes nothing (no creates, updates or deactivations).
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.deactivations.is_empty()
    }
}

/// Plans the writes that make Halo match the source, for one entity kind and one
/// tenant (one Halo client).
///
/// Matching, for each desired record:
/// 1. the current record whose link field equals `source_id` exactly; several →
///    [`SkipReason::AmbiguousLink`], none of them touched;
/// 2. else the *unlinked* current record with the same secondary key (trimmed,
///    case-insensitive); several → [`SkipReason::AmbiguousSecondary`]; a match writes the
///    link field; if several desired records claim the same record this way →
///    [`SkipReason::ContestedSecondary`] for each of them;
/// 3. else, if records with that secondary key exist but are linked to other source ids →
///    [`SkipReason::SecondaryLinkedToOther`] (see there for why);
/// 4. else create (enabled) or [`SkipReason::DisabledNotInHalo`] (disabled).
///
/// Matching is the same for enabled and disabled records; only the action differs. A
/// source id that occurs more than once in `desired` → [`SkipReason::DuplicateInSource`]
/// for each occurrence.
///
/// Actions on a matched record:
/// * enabled: write the changed non-blank fields; an inactive record is reactivated
///   (`"inactive": false`) whatever [`PlanOptions::deactivate_missing`] says;
/// * disabled: no field changes (only the link field if matched by secondary key); an
///   active record is a deactivation candidate ([`DeactivateReason::DisabledInSource`]).
///
/// Active, linked current records whose source id does not occur in `desired` at all are
/// candidates too ([`DeactivateReason::MissingFromSource`]). Records linked to a source id
/// that *is* in `desired`, even one skipped as ambiguous or duplicate, are never candidates:
/// the source still has them. Unlinked records (made by hand) are never candidates.
///
/// Candidates exist only with `deactivate_missing`, and are planned all or none: none if
/// the source is incomplete ([`Withheld::SourceIncomplete`]) or if their number is above
/// `max_deactivations` or above `max_deactivation_percent` % of the current records that are
/// linked and active once this plan's updates are applied ([`Withheld::Threshold`]). The base
/// thus includes records this plan links by secondary key or reactivates (not creates), so
/// that every candidate is part of it: counted before the updates, an active record linked
/// by e-mail whose account is disabled would be "1 of 0 linked" and trip any percentage.
/// Everything else is planned regardless.
///
/// Matched records without any write and not deactivated count as `unchanged`. Creates,
/// updates and skips follow the order of `desired`, deactivations that of `current`.
pub fn plan(
    spec: &EntitySpec,
    desired: &[Desired],
    current: &[Current],
    opts: &PlanOptions,
) -> Plan {
    let index = CurrentIndex::new(current);
    let source_ids = SourceIds::new(desired);
    let outcomes = resolve_all(desired, current, &index, &source_ids);

    let mut plan = Plan {
        entity: spec.entity,
        ..Plan::default()
    };
    // Current index → desired index, for disabled desired records matched to active ones.
    let mut disabled_active: HashMap<usize, usize> = HashMap::default();
    // Disabled, active, matched records without an update: unchanged unless deactivated.
    let mut quiet_disabled = 0;
    // Current records linked and active once the updates are applied: the threshold base.
    let mut linked_active: Vec<bool> = current
        .iter()
        .map(|c| link_of(c).is_some() && !c.inactive)
        .collect();

    for (di, (d, outcome)) in desired.iter().zip(outcomes).enumerate() {
        let matched = match outcome {
            Err(reason) => {
                plan.skipped.push(skip(d, *reason));
                continue;
            }
            Ok(None) if d.enabled => {
                plan.creates.push(create(spec, d));
                continue;
            }
            Ok(None) => {
                plan.skipped.push(skip(d, SkipReason::DisabledNotInHalo));
                continue;
            }
            Ok(Some(matched)) => matched,
        };
        let c = &current[matched.current];
        let mut changes = Fields::new();
        if matched.by_secondary {
            changes.insert(spec.link_field, Value::String(d.source_id.clone()));
        }
        let reactivate = d.enabled && c.inactive;
        linked_active[matched.current] = !c.inactive || reactivate;
        if d.enabled {
            changes.extend(changed_fields(spec, d, c));
            if reactivate {
                changes.insert(INACTIVE_FIELD, Value::Bool(false));
            }
        } else if !c.inactive {
            disabled_active.insert(matched.current, di);
        }
        if !changes.is_empty() {
            let previous = changes
                .keys()
                .map(|&name| {
                    let before = match &*name {
                        INACTIVE_FIELD => Value::Bool(c.inactive),
                        link if link == spec.link_field => {
                            c.source_id.clone().map_or(Value::Null, Value::String)
                        }
                        _ => c.fields.get(&name).cloned().unwrap_or(Value::Null),
                    };
                    (name, before)
                })
                .collect();
            plan.updates.push(Update {
                id: c.id,
                source_id: d.source_id.clone(),
                label: d.label.clone(),
                changes,
                previous,
                reactivate,
            });
        } else if disabled_active.contains_key(&matched.current) {
            quiet_disabled += 1;
        } else {
            plan.unchanged += 1;
        }
    }

    let candidates = if opts.deactivate_missing {
        deactivation_candidates(desired, current, &source_ids, &disabled_active)
    } else {
        Vec::new()
    };
    let linked_active = linked_active.into_iter().filter(|&b| b).count();
    plan.withheld = withhold(candidates.len(), linked_active, opts);
    if plan.withheld.is_none() {
        plan.deactivations = candidates;
    }
    // Candidates are planned all or none, so either every quiet disabled record is being
    // deactivated or none is.
    if plan.deactivations.is_empty() {
        plan.unchanged += quiet_disabled;
    }
    plan
}

/// How a desired record matched a current one.
#[derive(Clone, Copy)]
struct Match {
    /// Index into `current`.
    current: usize,
    /// Matched by the secondary key, so the link field must be written.
    by_secondary: bool,
}

/// `Ok(Some)` = matched, `Ok(None)` = no match (create), `Err` = skip (boxed: one outcome
/// per desired record is held, and skips are rare).
type Outcome = Result<Option<Match>, Box<SkipReason>>;

/// The current records under one key, in `current` order: almost always one, which is held
/// without an allocation.
enum Indexes {
    One(usize),
    Many(Vec<usize>),
}

impl Indexes {
    fn as_slice(&self) -> &[usize] {
        match self {
            Indexes::One(i) => std::slice::from_ref(i),
            Indexes::Many(many) => many,
        }
    }
}

/// Current records by a text key, as (hash of the key, index) pairs in order: 16 bytes a
/// record, where a hash map with its keys took about 80 (a 100k-record tenant is indexed
/// twice). A lookup checks each candidate's own key, so a hash collision costs a comparison,
/// never a wrong match.
struct KeyIndex(Vec<(u64, u32)>);

impl KeyIndex {
    fn new(entries: impl Iterator<Item = (u64, usize)>) -> KeyIndex {
        let mut entries: Vec<(u64, u32)> = entries
            .map(|(hash, i)| (hash, u32::try_from(i).expect("fewer than 4G records")))
            .collect();
        // By hash, then by index: equal keys stay in `current` order.
        entries.sort_unstable();
        KeyIndex(entries)
    }

    /// The records under `key` (those of its hash for which `has_key` holds), if any.
    fn get(&self, key: &str, has_key: impl Fn(usize) -> bool) -> Option<Indexes> {
        let hash = source_key(key);
        let first = self.0.partition_point(|&(h, _)| h < hash);
        let mut found = self.0[first..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .map(|&(_, i)| i as usize)
            .filter(|&i| has_key(i));
        let one = found.next()?;
        Some(match found.next() {
            None => Indexes::One(one),
            Some(two) => Indexes::Many([one, two].into_iter().chain(found).collect()),
        })
    }
}

/// The source ids of the desired records, to count them (duplicates) and to find them (a
/// linked record whose source id is gone).
struct SourceIds<'a> {
    desired: &'a [Desired],
    index: KeyIndex,
}

impl<'a> SourceIds<'a> {
    fn new(desired: &'a [Desired]) -> Self {
        let index = KeyIndex::new(
            desired
                .iter()
                .enumerate()
                .map(|(i, d)| (source_key(&d.source_id), i)),
        );
        SourceIds { desired, index }
    }

    /// How many desired records have this source id.
    fn count(&self, source_id: &str) -> usize {
        self.index
            .get(source_id, |i| self.desired[i].source_id == source_id)
            .map_or(0, |found| found.as_slice().len())
    }
}

/// Lookups over the current records.
struct CurrentIndex<'a> {
    current: &'a [Current],
    by_link: KeyIndex,
    unlinked_by_secondary: KeyIndex,
    linked_by_secondary: KeyIndex,
}

impl<'a> CurrentIndex<'a> {
    fn new(current: &'a [Current]) -> Self {
        let by_link = KeyIndex::new(
            current
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((source_key(link_of(c)?), i))),
        );
        let by_secondary = |linked: bool| {
            KeyIndex::new(current.iter().enumerate().filter_map(move |(i, c)| {
                let key = normalize_secondary(c.secondary.as_deref())?;
                (link_of(c).is_some() == linked).then(|| (source_key(&key), i))
            }))
        };
        CurrentIndex {
            current,
            by_link,
            unlinked_by_secondary: by_secondary(false),
            linked_by_secondary: by_secondary(true),
        }
    }

    /// The records linked to `source_id`.
    fn linked(&self, source_id: &str) -> Option<Indexes> {
        self.by_link
            .get(source_id, |i| link_of(&self.current[i]) == Some(source_id))
    }

    /// The records of `index` whose secondary key, normalized, is `key`.
    fn by_secondary(&self, index: &KeyIndex, key: &str) -> Option<Indexes> {
        index.get(key, |i| {
            normalize_secondary(self.current[i].secondary.as_deref()).as_deref() == Some(key)
        })
    }

    /// Matches one desired record on its own (claims by other desired records are resolved
    /// afterwards, in [`resolve_all`]).
    ///
    /// `renamed` maps the source id of each enabled desired record to its secondary key
    /// where that differs from its linked record's: a linked record whose own source record
    /// now has another key gives up its old one in this plan, so the old key is free for
    /// someone else. (A source id missing from it keeps its record's key, which is also
    /// what an entry with the same key would say: the map holds only the rare renames.)
    fn resolve(
        &self,
        d: &Desired,
        current: &[Current],
        renamed: &HashMap<&str, Cow<'_, str>>,
    ) -> Result<Option<Match>, SkipReason> {
        if let Some(linked) = self.linked(&d.source_id) {
            return match linked.as_slice() {
                [only] => Ok(Some(Match {
                    current: *only,
                    by_secondary: false,
                })),
                many => Err(SkipReason::AmbiguousLink {
                    ids: ids(many, current),
                }),
            };
        }
        let Some(key) = normalize_secondary(d.secondary.as_deref()) else {
            return Ok(None);
        };
        if let Some(unlinked) = self.by_secondary(&self.unlinked_by_secondary, &key) {
            return match unlinked.as_slice() {
                [only] => Ok(Some(Match {
                    current: *only,
                    by_secondary: true,
                })),
                many => Err(SkipReason::AmbiguousSecondary {
                    ids: ids(many, current),
                    key: key.into_owned(),
                }),
            };
        }
        let keeps_key = |i: &&usize| {
            link_of(&current[**i])
                .and_then(|link| renamed.get(link))
                .is_none_or(|new_key| *new_key == key)
        };
        let linked_to_others = self.by_secondary(&self.linked_by_secondary, &key);
        let linked: Vec<&usize> = linked_to_others
            .as_ref()
            .map(|l| l.as_slice().iter().filter(keeps_key).collect())
            .unwrap_or_default();
        if !linked.is_empty() {
            return Err(SkipReason::SecondaryLinkedToOther {
                key: key.into_owned(),
                linked: linked
                    .into_iter()
                    .map(|&i| LinkedRecord {
                        id: current[i].id,
                        source_id: link_of(&current[i]).unwrap_or_default().to_owned(),
                    })
                    .collect(),
            });
        }
        Ok(None)
    }
}

/// Matches every desired record, then turns duplicate source ids and contested secondary
/// claims into skips.
fn resolve_all(
    desired: &[Desired],
    current: &[Current],
    index: &CurrentIndex<'_>,
    source_ids: &SourceIds<'_>,
) -> Vec<Outcome> {
    let seen = |d: &Desired| source_ids.count(&d.source_id);
    let renamed: HashMap<&str, Cow<'_, str>> = desired
        .iter()
        // Only a record its source record will really update by link: enabled, unique
        // in the source, linked to exactly one Halo record.
        .filter(|d| d.enabled && seen(d) == 1)
        .filter_map(|d| {
            let &[linked] = index.linked(&d.source_id)?.as_slice() else {
                return None;
            };
            let key = normalize_secondary(d.secondary.as_deref())?;
            let old = normalize_secondary(current[linked].secondary.as_deref());
            (old.as_deref() != Some(&*key)).then_some((d.source_id.as_str(), key))
        })
        .collect();
    let mut outcomes: Vec<Outcome> = desired
        .iter()
        .map(|d| {
            if d.source_id.trim().is_empty() {
                Err(SkipReason::MissingSourceId)
            } else if seen(d) > 1 {
                Err(SkipReason::DuplicateInSource)
            } else {
                index.resolve(d, current, &renamed)
            }
            .map_err(Box::new)
        })
        .collect();

    // Only secondary matches can collide: link matches of distinct source ids hit distinct
    // records, and a linked record is never matched by secondary key.
    let mut claims: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (di, outcome) in outcomes.iter().enumerate() {
        if let Ok(Some(m)) = outcome
            && m.by_secondary
        {
            claims.entry(m.current).or_default().push(di);
        }
    }
    for (ci, claimants) in claims {
        if claimants.len() < 2 {
            continue;
        }
        let source_ids: Vec<String> = claimants
            .iter()
            .map(|&di| desired[di].source_id.clone())
            .collect();
        let key = normalize_secondary(current[ci].secondary.as_deref()).unwrap_or_default();
        for di in claimants {
            outcomes[di] = Err(Box::new(SkipReason::ContestedSecondary {
                key: key.clone().into_owned(),
                id: current[ci].id,
                source_ids: source_ids.clone(),
            }));
        }
    }
    outcomes
}

/// Deactivation candidates in `current` order.
fn deactivation_candidates(
    desired: &[Desired],
    current: &[Current],
    source_ids: &SourceIds<'_>,
    disabled_active: &HashMap<usize, usize>,
) -> Vec<Deactivate> {
    let mut candidates = Vec::new();
    for (ci, c) in current.iter().enumerate() {
        if let Some(&di) = disabled_active.get(&ci) {
            candidates.push(Deactivate {
                id: c.id,
                source_id: desired[di].source_id.clone(),
                label: desired[di].label.clone(),
                reason: DeactivateReason::DisabledInSource,
            });
        } else if let Some(link) = link_of(c)
            && !c.inactive
            && source_ids.count(link) == 0
        {
            candidates.push(Deactivate {
                id: c.id,
                source_id: link.to_owned(),
                label: c.secondary.clone().unwrap_or_default(),
                reason: DeactivateReason::MissingFromSource,
            });
        }
    }
    candidates
}

/// Whether the candidates must be withheld, and why.
fn withhold(candidates: usize, linked_active: usize, opts: &PlanOptions) -> Option<Withheld> {
    if candidates == 0 {
        return None;
    }
    if !opts.source_complete {
        return Some(Withheld::SourceIncomplete { candidates });
    }
    let over_count = candidates as u64 > opts.max_deactivations;
    let over_percent =
        candidates as f64 * 100.0 > opts.max_deactivation_percent * linked_active as f64;
    (over_count || over_percent).then_some(Withheld::Threshold {
        candidates,
        linked_active,
        max_deactivations: opts.max_deactivations,
        max_percent: opts.max_deactivation_percent,
    })
}

/// The desired fields whose non-blank value differs from the current one.
fn changed_fields(spec: &EntitySpec, d: &Desired, c: &Current) -> Fields {
    owned_fields(spec, d)
        .filter(|(name, value)| {
            let ci = spec.case_insensitive.contains(&name.as_str());
            !compare::same(value, c.fields.get(name), ci)
        })
        .map(|(name, value)| (*name, value.clone()))
        .collect()
}

/// The desired fields the planner may write: non-blank, and not the link field.
fn owned_fields<'d>(
    spec: &EntitySpec,
    d: &'d Desired,
) -> impl Iterator<Item = (&'d Name, &'d Value)> {
    let link_field = spec.link_field;
    d.fields
        .iter()
        .filter(move |(name, value)| name.as_str() != link_field && !compare::is_blank(value))
}

fn create(spec: &EntitySpec, d: &Desired) -> Create {
    let create_only = d
        .create_only
        .iter()
        .filter(|(name, value)| name.as_str() != spec.link_field && !compare::is_blank(value));
    let mut fields: Fields = create_only
        .chain(owned_fields(spec, d))
        .map(|(name, value)| (*name, value.clone()))
        .collect();
    fields.insert(spec.link_field, Value::String(d.source_id.clone()));
    Create {
        source_id: d.source_id.clone(),
        label: d.label.clone(),
        fields,
    }
}

fn skip(d: &Desired, reason: SkipReason) -> Skip {
    Skip {
        source_id: d.source_id.clone(),
        label: d.label.clone(),
        reason,
    }
}

/// The record's link, if it has a non-blank one.
fn link_of(c: &Current) -> Option<&str> {
    c.source_id.as_deref().filter(|s| !s.trim().is_empty())
}

/// Secondary keys compare trimmed and case-insensitively; blank = absent. Borrowed when
/// the key is already in that form (ASCII without capitals), else lower-cased into a copy.
fn normalize_secondary(key: Option<&str>) -> Option<Cow<'_, str>> {
    key.map(str::trim).filter(|k| !k.is_empty()).map(|k| {
        if k.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            Cow::Borrowed(k)
        } else {
            Cow::Owned(k.to_lowercase())
        }
    })
}

fn ids(indexes: &[usize], current: &[Current]) -> Vec<i64> {
    indexes.iter().map(|&i| current[i].id).collect()
}
