//! The section of `csv-assets`: which CSV columns carry the site, the user and the status,
//! the status values → Halo status ids, and everything an asset section has.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::assets::AssetRules;
use super::de::{self, HaloId};
use super::fields::{AssetTarget, FieldMap, duplicate_targets};
use super::resolve::{Catalog, ResolveError, Resolved, Resolver};
use super::rules::{DefaultSite, SiteRule, SiteRules, TypeRule};
use super::{Section, overlay, properties, site_rules};

/// CSV header names of columns with a meaning of their own (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CsvColumns {
    /// The column naming the asset's Halo site (a site name of the row's client).
    #[serde(default, deserialize_with = "de::some_non_empty")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub site: Option<String>,
    /// The column naming the asset's user (e-mail address or name).
    #[serde(default, deserialize_with = "de::some_non_empty")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub user: Option<String>,
    /// The column with the asset's status, mapped by `statuses`.
    #[serde(default, deserialize_with = "de::some_non_empty")]
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub status: Option<String>,
}

/// `imports.csv-assets` (and a client's override of it). Each key is optional; a client's
/// section replaces each key it sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CsvSection {
    /// CSV header names of the site, user and status columns.
    pub columns: Option<CsvColumns>,
    /// Status column value (compared trimmed, case-insensitively) → Halo status id.
    pub statuses: Option<BTreeMap<String, HaloId>>,
    /// Asset-type rules for new assets whose row names no type: the first rule whose
    /// `when` matches gives the type; else `CSV_ASSETS_TYPE`.
    pub asset_types: Option<Vec<TypeRule>>,
    /// Site rules for new assets: the first rule whose `when` matches gives the site.
    pub sites: Option<Vec<SiteRule>>,
    /// The site of new assets no rule matches: `main` (the client's main site, the
    /// default), `skip` (not created), a site name or `{id: N}`.
    pub default_site: Option<DefaultSite>,
    /// Field mappings: a column `from` written to `{field: id}`, `{custom_field: id or
    /// name}` or an asset property (`inventory_number`).
    pub fields: Option<Vec<FieldMap<AssetTarget>>>,
}

impl CsvSection {
    /// The special columns (all unset when the key is).
    pub fn columns(&self) -> CsvColumns {
        self.columns.clone().unwrap_or_default()
    }

    /// The Halo status id of a status column value (trimmed, case-insensitive).
    pub fn status_id(&self, value: &str) -> Option<i64> {
        let value = value.trim().to_lowercase();
        self.statuses
            .iter()
            .flatten()
            .find(|(k, _)| k.trim().to_lowercase() == value)
            .map(|(_, id)| id.get())
    }

    /// The site rules with their default.
    pub fn sites(&self) -> SiteRules<'_> {
        site_rules(&self.sites, &self.default_site)
    }
}

impl AssetRules for CsvSection {
    fn asset_types(&self) -> &[TypeRule] {
        self.asset_types.as_deref().unwrap_or_default()
    }

    fn fields(&self) -> &[FieldMap<AssetTarget>] {
        self.fields.as_deref().unwrap_or_default()
    }
}

impl Section for CsvSection {
    const KEYS: &'static [&'static str] = &[
        "columns",
        "statuses",
        "asset_types",
        "sites",
        "default_site",
        "fields",
    ];

    fn overlay(self, over: Self) -> Self {
        CsvSection {
            columns: overlay(self.columns, over.columns),
            statuses: overlay(self.statuses, over.statuses),
            asset_types: overlay(self.asset_types, over.asset_types),
            sites: overlay(self.sites, over.sites),
            default_site: overlay(self.default_site, over.default_site),
            fields: overlay(self.fields, over.fields),
        }
    }

    /// The columns the section reads: `when`s, `from`s and the special columns.
    fn properties(&self) -> Vec<String> {
        let columns = self.columns();
        let special = [columns.site, columns.user, columns.status];
        let mut names = properties(
            self.asset_types()
                .iter()
                .map(|r| &r.when)
                .chain(self.sites().rules.iter().map(|r| &r.when)),
            self.fields().iter().map(|f| f.from.as_str()),
        );
        for column in special.into_iter().flatten() {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&column)) {
                names.push(column);
            }
        }
        names
    }

    fn check(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = duplicate_targets(self.fields())
            .into_iter()
            .map(|(i, message)| (format!("fields[{i}].to"), message))
            .collect();
        let keys: Vec<&String> = self.statuses.iter().flat_map(|s| s.keys()).collect();
        for (i, key) in keys.iter().enumerate() {
            if let Some(first) = keys[..i]
                .iter()
                .find(|k| k.trim().to_lowercase() == key.trim().to_lowercase())
            {
                problems.push((
                    "statuses".to_string(),
                    format!(
                        "\"{key}\" and \"{first}\" are the same status (values compare case-insensitively)"
                    ),
                ));
            }
        }
        problems
    }

    fn resolve(&self, catalog: &Catalog<'_>) -> Result<Resolved, Vec<ResolveError>> {
        let mut out = Resolved::default();
        let mut resolver = Resolver::default();
        resolver.asset_types(catalog, self.asset_types(), &mut out);
        let sites = self.sites();
        resolver.sites(catalog, sites.rules, sites.default, &mut out);
        resolver.fields(catalog, self.fields(), &mut out);
        resolver.finish(catalog, out)
    }
}
