//! Name resolution, pure: a section's site, asset-type and custom-field names against
//! what Halo has ([`Catalog`]) → a [`Resolved`] section holding ids only, or every name
//! that does not resolve. Names match exactly, case-insensitively, trimmed; inactive
//! sites do not count; two candidates with one name are an ambiguity; nothing is guessed.

use std::fmt;

use super::de::HaloId;
use super::fields::{AsTarget, FieldKey, FieldMap, FieldRef, FieldTarget, On};
use super::rules::{DefaultSite, Props, SiteRef, SiteRule, TypeRef, TypeRule, When};

/// A Halo site of the client, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteInfo<'a> {
    /// The site's id.
    pub id: i64,
    /// The site's name.
    pub name: &'a str,
    /// An inactive site never matches a name.
    pub inactive: bool,
}

/// A Halo record known by id and name: an asset type, a custom field definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedId<'a> {
    /// The record's id.
    pub id: i64,
    /// The record's name.
    pub name: &'a str,
}

/// What names resolve against, for one client.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    /// The client's name (for messages).
    pub client: &'a str,
    /// The client's sites, inactive ones included (they never match).
    pub sites: &'a [SiteInfo<'a>],
    /// Halo's asset types.
    pub asset_types: &'a [NamedId<'a>],
    /// The custom field definitions of the record kind (users or assets).
    pub custom_fields: &'a [NamedId<'a>],
}

/// A name or id that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// No candidate has the name.
    NotFound {
        /// `site`, `asset type` or `custom field`.
        what: &'static str,
        /// The name as written (trimmed).
        name: String,
        /// The client whose section it is.
        client: String,
        /// The names there are (active sites only), at most [`KNOWN_SHOWN`].
        known: Vec<String>,
        /// How many more there are.
        more: usize,
    },
    /// Only inactive sites have the name.
    Inactive {
        /// The site's name as written (trimmed).
        name: String,
        /// The client.
        client: String,
    },
    /// Several candidates have the name.
    Ambiguous {
        /// `site`, `asset type` or `custom field`.
        what: &'static str,
        /// The name as written (trimmed).
        name: String,
        /// The client whose section it is.
        client: String,
        /// The ids of the candidates.
        ids: Vec<i64>,
    },
    /// No candidate (no active site of the client) has the id.
    UnknownId {
        /// `site`, `asset type` or `custom field`.
        what: &'static str,
        /// The id as written.
        id: i64,
        /// The client whose section it is.
        client: String,
    },
    /// Two field mappings resolve to one field (e.g. a custom field by id and by name).
    DuplicateField {
        /// The planner's field name.
        key: String,
        /// The client whose section it is.
        client: String,
    },
}

impl ResolveError {
    /// Whether it is about a custom field: resolving against the definitions may clear it.
    pub fn is_custom_field(&self) -> bool {
        match self {
            ResolveError::NotFound { what, .. }
            | ResolveError::Ambiguous { what, .. }
            | ResolveError::UnknownId { what, .. } => *what == "custom field",
            ResolveError::Inactive { .. } | ResolveError::DuplicateField { .. } => false,
        }
    }

    /// Whether it is about a site: resolving against the client's sites may clear it.
    pub fn is_site(&self) -> bool {
        match self {
            ResolveError::NotFound { what, .. }
            | ResolveError::Ambiguous { what, .. }
            | ResolveError::UnknownId { what, .. } => *what == "site",
            ResolveError::Inactive { .. } => true,
            ResolveError::DuplicateField { .. } => false,
        }
    }
}

/// How many known names a [`ResolveError::NotFound`] lists.
pub const KNOWN_SHOWN: usize = 20;

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NotFound {
                what,
                name,
                client,
                known,
                more,
            } => {
                write!(
                    f,
                    "{what} \"{name}\" not found for client {client} (known: "
                )?;
                if known.is_empty() {
                    f.write_str("none")?;
                } else {
                    f.write_str(&known.join(", "))?;
                }
                if *more > 0 {
                    write!(f, " and {more} more")?;
                }
                f.write_str(")")
            }
            ResolveError::Inactive { name, client } => {
                write!(f, "site \"{name}\" of client {client} is inactive")
            }
            ResolveError::Ambiguous {
                what,
                name,
                client,
                ids,
            } => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                write!(
                    f,
                    "{what} \"{name}\" is ambiguous for client {client}: ids {} have that name; use {{id: N}}",
                    ids.join(", ")
                )
            }
            ResolveError::UnknownId { what, id, client } => {
                write!(f, "{what} id {id} not found for client {client}")
            }
            ResolveError::DuplicateField { key, client } => write!(
                f,
                "two field mappings of client {client} write {key}; each field is written by one mapping"
            ),
        }
    }
}

impl std::error::Error for ResolveError {}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl Catalog<'_> {
    /// The one active site of the client named `name`.
    pub fn site_named(&self, name: &str) -> Result<i64, ResolveError> {
        let matching: Vec<&SiteInfo<'_>> = self
            .sites
            .iter()
            .filter(|s| same_name(s.name, name))
            .collect();
        let active: Vec<i64> = matching
            .iter()
            .filter(|s| !s.inactive)
            .map(|s| s.id)
            .collect();
        match active.as_slice() {
            [id] => Ok(*id),
            [] if !matching.is_empty() => Err(ResolveError::Inactive {
                name: name.trim().to_string(),
                client: self.client.to_string(),
            }),
            [] => Err(self.not_found(
                "site",
                name,
                self.sites.iter().filter(|s| !s.inactive).map(|s| s.name),
            )),
            _ => Err(self.ambiguous("site", name, active)),
        }
    }

    /// The site a reference names: by name, or an id of an active site of the client.
    pub fn site(&self, site: &SiteRef) -> Result<i64, ResolveError> {
        match site {
            SiteRef::Name(name) => self.site_named(name),
            SiteRef::Id(id) => self
                .sites
                .iter()
                .any(|s| s.id == id.get() && !s.inactive)
                .then_some(id.get())
                .ok_or_else(|| self.unknown_id("site", *id)),
        }
    }

    /// The asset type a reference names.
    pub fn asset_type(&self, asset_type: &TypeRef) -> Result<i64, ResolveError> {
        match asset_type {
            TypeRef::Name(name) => self.named("asset type", self.asset_types, name),
            TypeRef::Id(id) => self.by_id("asset type", self.asset_types, *id),
        }
    }

    /// The custom field a reference names.
    pub fn custom_field(&self, field: &FieldRef) -> Result<i64, ResolveError> {
        match field {
            FieldRef::Name(name) => self.named("custom field", self.custom_fields, name),
            FieldRef::Id(id) => self.by_id("custom field", self.custom_fields, *id),
        }
    }

    /// The planner's field name of a target.
    pub fn field_key(&self, target: &FieldTarget) -> Result<FieldKey, ResolveError> {
        Ok(match target {
            FieldTarget::Property(name) => FieldKey::Property((*name).to_string()),
            FieldTarget::AssetField(id) => FieldKey::AssetField(id.get()),
            FieldTarget::CustomField(r) => FieldKey::CustomField(self.custom_field(r)?),
        })
    }

    fn named(
        &self,
        what: &'static str,
        all: &[NamedId<'_>],
        name: &str,
    ) -> Result<i64, ResolveError> {
        let ids: Vec<i64> = all
            .iter()
            .filter(|n| same_name(n.name, name))
            .map(|n| n.id)
            .collect();
        match ids.as_slice() {
            [id] => Ok(*id),
            [] => Err(self.not_found(what, name, all.iter().map(|n| n.name))),
            _ => Err(self.ambiguous(what, name, ids)),
        }
    }

    fn by_id(
        &self,
        what: &'static str,
        all: &[NamedId<'_>],
        id: HaloId,
    ) -> Result<i64, ResolveError> {
        all.iter()
            .any(|n| n.id == id.get())
            .then_some(id.get())
            .ok_or_else(|| self.unknown_id(what, id))
    }

    fn not_found<'n>(
        &self,
        what: &'static str,
        name: &str,
        known: impl Iterator<Item = &'n str>,
    ) -> ResolveError {
        let mut known: Vec<String> = known.map(|k| k.trim().to_string()).collect();
        known.sort_by_key(|k| k.to_lowercase());
        known.dedup();
        let more = known.len().saturating_sub(KNOWN_SHOWN);
        known.truncate(KNOWN_SHOWN);
        ResolveError::NotFound {
            what,
            name: name.trim().to_string(),
            client: self.client.to_string(),
            known,
            more,
        }
    }

    fn ambiguous(&self, what: &'static str, name: &str, ids: Vec<i64>) -> ResolveError {
        ResolveError::Ambiguous {
            what,
            name: name.trim().to_string(),
            client: self.client.to_string(),
            ids,
        }
    }

    fn unknown_id(&self, what: &'static str, id: HaloId) -> ResolveError {
        ResolveError::UnknownId {
            what,
            id: id.get(),
            client: self.client.to_string(),
        }
    }
}

/// A rule whose target is resolved to an id.
#[derive(Debug, Clone)]
pub struct ResolvedRule {
    /// The conditions.
    pub when: When,
    /// The site or asset type id.
    pub id: i64,
}

/// Where a record goes, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteTarget {
    /// The site with this id.
    Id(i64),
    /// The client's main site.
    Main,
    /// Not created.
    Skip,
}

/// A field mapping resolved to a planner field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedField {
    /// The source property.
    pub from: String,
    /// The planner's field name (`other3`, `field:905`, `custom:142`).
    pub key: FieldKey,
    /// When it is written.
    pub on: On,
}

/// A section with ids only (a part the import does not have is empty).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Site rules, first match wins.
    pub sites: Vec<ResolvedRule>,
    /// When no site rule matches.
    pub default_site: Option<SiteTarget>,
    /// Asset-type rules, first match wins.
    pub asset_types: Vec<ResolvedRule>,
    /// Field mappings.
    pub fields: Vec<ResolvedField>,
}

impl Resolved {
    /// The site of the first rule matching the record, else the default (`main` unless set).
    pub fn site(&self, props: &dyn Props) -> SiteTarget {
        self.sites
            .iter()
            .find(|r| r.when.matches(props))
            .map_or(self.default_site.unwrap_or(SiteTarget::Main), |r| {
                SiteTarget::Id(r.id)
            })
    }

    /// The asset type of the first rule matching the record; `None`: the import's default.
    pub fn asset_type(&self, props: &dyn Props) -> Option<i64> {
        self.asset_types
            .iter()
            .find(|r| r.when.matches(props))
            .map(|r| r.id)
    }
}

/// Collects resolution results and every error.
#[derive(Default)]
pub(crate) struct Resolver {
    pub(crate) errors: Vec<ResolveError>,
}

impl Resolver {
    fn keep<T>(&mut self, result: Result<T, ResolveError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }

    pub(crate) fn sites(
        &mut self,
        catalog: &Catalog<'_>,
        rules: &[SiteRule],
        default: &DefaultSite,
        out: &mut Resolved,
    ) {
        for rule in rules {
            if let Some(id) = self.keep(catalog.site(&rule.site)) {
                out.sites.push(ResolvedRule {
                    when: rule.when.clone(),
                    id,
                });
            }
        }
        out.default_site = match default {
            DefaultSite::Main => Some(SiteTarget::Main),
            DefaultSite::Skip => Some(SiteTarget::Skip),
            DefaultSite::Site(site) => self.keep(catalog.site(site)).map(SiteTarget::Id),
        };
    }

    pub(crate) fn asset_types(
        &mut self,
        catalog: &Catalog<'_>,
        rules: &[TypeRule],
        out: &mut Resolved,
    ) {
        for rule in rules {
            if let Some(id) = self.keep(catalog.asset_type(&rule.asset_type)) {
                out.asset_types.push(ResolvedRule {
                    when: rule.when.clone(),
                    id,
                });
            }
        }
    }

    pub(crate) fn fields<T: AsTarget>(
        &mut self,
        catalog: &Catalog<'_>,
        fields: &[FieldMap<T>],
        out: &mut Resolved,
    ) {
        for field in fields {
            if let Some(key) = self.keep(catalog.field_key(field.target())) {
                out.fields.push(ResolvedField {
                    from: field.from.clone(),
                    key,
                    on: field.on,
                });
            }
        }
    }

    pub(crate) fn finish(
        mut self,
        catalog: &Catalog<'_>,
        resolved: Resolved,
    ) -> Result<Resolved, Vec<ResolveError>> {
        for (i, field) in resolved.fields.iter().enumerate() {
            if resolved.fields[..i].iter().any(|f| f.key == field.key) {
                self.errors.push(ResolveError::DuplicateField {
                    key: field.key.to_string(),
                    client: catalog.client.to_string(),
                });
            }
        }
        if self.errors.is_empty() {
            Ok(resolved)
        } else {
            Err(self.errors)
        }
    }
}
